"""Learned failure-rate baselines: what `bfplan baseline` learns from, the file, and how the gate reads it."""

from __future__ import annotations

from types import SimpleNamespace

import yaml

from bfplan.baseline import dump, learn
from bfplan.gates.baseline import load_baseline

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
