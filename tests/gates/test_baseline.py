"""Learned failure-rate baselines: what `bfplan baseline` learns from, the file, and how the gate reads it."""

from __future__ import annotations

from types import SimpleNamespace

import yaml

from bfplan.baseline import dump, learn
from bfplan.gates.baseline import load_baseline
from bfplan.gates.failure_rate import DEFAULT_BANDS, band_of, bands_for
from tests.gates.conftest import write_plan

BAND = {"from_day": 1, "min_pct": 10.0, "max_pct": 20.0}


def test_processor_names_yaml_would_read_as_other_values_round_trip(tmp_path):
    names = ["on", "yes", "No", "null", "1.5", "2021-11-01", "# x", "a: b", "plain_name"]
    doc = {"learned_from": {"plan": "p"}, "processors": {n: [BAND] for n in names}}
    text = dump(doc)
    assert list(yaml.safe_load(text)["processors"]) == names
    assert "  plain_name:" in text  # plain names stay bare
    path = tmp_path / "baseline.yaml"
    path.write_text(text, encoding="utf-8")
    learned = load_baseline(SimpleNamespace(options={"baseline": str(path)}, plan=None))
    assert list(learned) == names and learned["on"] == [BAND]


def test_a_processor_learned_with_no_band_falls_back_to_the_runbook_table(pipeline):
    (pipeline.folder / "baseline.yaml").write_text("processors:\n  form: []\n  team:\n", encoding="utf-8")
    # 17.6% in week 1 is outside the runbook's 90-100%: the band check is on, not off
    result = pipeline.gate("failure_rate", {"baseline": "baseline.yaml", "strict": True})
    assert result.status == "fail" and "expected 90-100% ±5" in result.findings[0].detail


def test_a_processor_with_nothing_measured_in_the_window_is_left_out_of_the_file(pipeline):
    import dataclasses

    from bfplan.check import gate_contexts

    reg = pipeline.session.registry
    team = reg.processors["team"]
    reg.processors["team"] = dataclasses.replace(  # tracks entities, none expected in the window
        team, failures_table="gt.failures",
        expected_entities_sql="SELECT day AS partition_date, team AS entity_id FROM gt.box WHERE FALSE")
    try:
        s = pipeline.session
        doc = learn(gate_contexts(s.plan, reg, s.warehouse, "failure_rate"))
    finally:
        reg.processors["team"] = team
    assert list(doc["processors"]) == ["form"]
    assert "team" not in dump(doc)


def test_a_window_with_no_date_of_the_gates_is_a_one_line_error(pipeline):
    result = pipeline.run("baseline", pipeline.plan, "--start", "2022-01-01")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: the window holds no dates of the plan's failure_rate gates: nothing to learn from"]


def _unbuild(pipeline, day: str) -> None:
    """form's output and failures of ``day`` gone, as if it was never built."""
    pipeline.sql(f"DELETE FROM gt.form WHERE day = DATE '{day}'")
    pipeline.sql(f"DELETE FROM gt.failures WHERE processor_name = 'form' AND analysis_date = DATE '{day}'")


def test_only_dates_the_ledger_calls_done_and_fully_accounted_teach(pipeline):
    # 2021-11-04 blocked, 11-05 and 11-06 never run: no rows, no failures — not "0% failed"
    for day in ("2021-11-04", "2021-11-05", "2021-11-06"):
        _unbuild(pipeline, day)
    pipeline.sql("DELETE FROM bfplan.partition_log WHERE processor = 'form' AND partition_date >= DATE '2021-11-05'")
    pipeline.sql("INSERT INTO bfplan.partition_log (run_id, plan_name, processor, table_name, partition_date, status, "
                 "attempt, recorded_ns) VALUES ('r', 'gates', 'form', 'gt.form', DATE '2021-11-04', 'blocked', 1, "
                 "9000000000000000000)")
    # 2021-11-03: done, but p01 has neither a row nor a failure
    pipeline.sql("DELETE FROM gt.form WHERE day = DATE '2021-11-03' AND player_id = 'p01'")
    out = pipeline.folder / "baseline.yaml"
    result = pipeline.run("baseline", pipeline.plan, "-o", out)
    assert result.exit_code == 0, result.output
    # 11-01 and 11-02 only: 5 of 10 failed, not 6 of 34 (the unbuilt dates as 0%)
    assert "- {from_day: 1, min_pct: 50.0, max_pct: 50.0}" in out.read_text()
    assert ("skipped 4 processor-date(s): 3 not done in the ledger (blocked 1, never run 2: form 2021-11-04, "
            "form 2021-11-05, form 2021-11-06); 1 with expected entities neither written nor failed "
            "(form 2021-11-03)") in result.output
    assert "skipped: {not_done: 3, unaccounted: 1}" in out.read_text()
    # on stdout the YAML stays clean: the note goes to stderr
    shown = pipeline.run("baseline", pipeline.plan)
    assert "skipped 4 processor-date(s)" in shown.stderr and "skipped 4" not in shown.stdout


def test_a_warehouse_the_ledger_knows_nothing_of_teaches_nothing(pipeline):
    pipeline.sql("DELETE FROM bfplan.partition_log")
    result = pipeline.run("baseline", pipeline.plan)
    assert result.exit_code == 2
    assert ("nothing to learn from: skipped 6 processor-date(s): 6 not done in the ledger (never run 6: "
            "form 2021-11-01") in result.output


def test_learning_from_mid_season_starts_the_first_band_at_the_first_measured_week(pipeline):
    # from 2021-10-25 the plan's dates are days 8-13: season week 2
    write_plan(pipeline.folder, failure_rate="season_start: 2021-10-25")
    out = pipeline.folder / "baseline.yaml"
    assert pipeline.run("baseline", pipeline.plan, "-o", out).exit_code == 0
    assert yaml.safe_load(out.read_text())["processors"]["form"] == [
        {"from_day": 8, "min_pct": 17.6, "max_pct": 17.7}]


def test_days_no_learned_band_covers_fall_back_to_the_runbook_table(pipeline):
    learned = {"form": [{"from_day": 8, "min_pct": 0.0, "max_pct": 5.0}]}
    bands = bands_for({}, learned, "form")
    assert bands[band_of(bands, 3)] == DEFAULT_BANDS[0] and bands[band_of(bands, 9)] == learned["form"][0]
    (pipeline.folder / "baseline.yaml").write_text(dump({"learned_from": {}, "processors": learned}))
    # from 2021-10-29: 11-01..11-04 are days 4-7 (the runbook's 90-100%), 11-05..11-06 days 8-9 (0-5%)
    result = pipeline.gate("failure_rate", {"baseline": "baseline.yaml", "season_start": "2021-10-29"})
    assert result.status == "warn"
    (finding,) = result.findings
    assert finding.detail.startswith("form season week 1 (2021-11-01..2021-11-04): failure rate 27.3% "
                                     "(6 of 22 entity-dates), expected 90-100% ±5 for days 1-14")


def test_a_relearned_baseline_file_makes_the_next_run_evaluate_the_gate_again(pipeline):
    def evaluations() -> int:
        rows = pipeline.sql("SELECT count(*) FROM bfplan.gate_results WHERE gate = 'failure_rate' "
                            "AND status != 'running'")
        pipeline.close()
        return rows[0][0]

    out = pipeline.folder / "baseline.yaml"
    assert pipeline.run("baseline", pipeline.plan, "-o", out).exit_code == 0
    write_plan(pipeline.folder, failure_rate="baseline: baseline.yaml, strict: true")
    assert pipeline.run("run", pipeline.plan, "--json").exit_code == 0  # new options: evaluated
    before = evaluations()
    assert pipeline.run("run", pipeline.plan, "--json").exit_code == 0  # nothing changed: not again
    assert evaluations() == before
    # the same path, other bands (a re-learned file): evaluated again, and the new bands judge
    out.write_text(out.read_text().replace("min_pct: 17.6, max_pct: 17.7", "min_pct: 50.0, max_pct: 60.0"))
    rerun = pipeline.run("run", pipeline.plan, "--json")
    assert evaluations() == before + 1
    assert rerun.exit_code == 1, rerun.output  # strict: 17.6% is far below 50-60%
