"""run_checks: the check --json shape, severity and --strict, date narrowing, ledger history."""

from __future__ import annotations

from datetime import date

import pytest

from bfplan.errors import UsageError
from tests.gates.conftest import write_plan

PROCESSING_ERROR = ("INSERT INTO gt.failures (processor_name, analysis_date, entity_id, failure_category) "
                    "VALUES ('form', DATE '2021-11-06', 'p02', 'PROCESSING_ERROR')")


def test_report_has_the_check_json_shape(pipeline):
    pipeline.sql("UPDATE gt.form SET points_avg = NULL WHERE day = DATE '2021-11-02'")
    report = pipeline.check(gate="contamination")
    doc = report.as_dict()
    assert doc["status"] == "fail" and report.exit_code == 1
    assert doc["run_id"].startswith("check-")
    (gate,) = doc["gates"]
    assert {"gate", "stage", "status", "findings"} <= set(gate)
    assert (gate["gate"], gate["stage"], gate["status"]) == ("contamination", "after phase compute", "fail")
    bad = [f for f in gate["findings"] if f["status"] == "fail"]
    assert [{k: f[k] for k in ("processor", "table", "date")} for f in bad] == [
        {"processor": "form", "table": "gt.form", "date": "2021-11-02"}]
    assert all(isinstance(f["detail"], str) for f in gate["findings"])


def test_severity_warn_downgrades_a_failure_unless_strict(pipeline):
    write_plan(pipeline.folder, severity="warn")
    pipeline.sql(PROCESSING_ERROR)
    lenient = pipeline.check(gate="failure_rate")
    assert (lenient.status, lenient.exit_code) == ("warn", 0)
    assert lenient.gates[0]["gate_status"] == "fail" and lenient.gates[0]["severity"] == "warn"
    strict = pipeline.check(gate="failure_rate", strict=True)
    assert (strict.status, strict.exit_code) == ("fail", 1)


def test_start_and_end_narrow_the_dates(pipeline):
    pipeline.sql("DELETE FROM gt.form WHERE day = DATE '2021-11-04'")
    assert pipeline.check(gate="coverage").status == "fail"
    assert pipeline.check(gate="coverage", start=date(2021, 11, 5)).status == "pass"
    assert pipeline.check(gate="coverage", end=date(2021, 11, 3)).status == "pass"


def test_each_check_is_recorded_in_the_ledger(pipeline):
    first = pipeline.check(gate="sql")
    second = pipeline.check(gate="sql")
    rows = pipeline.sql("SELECT run_id, gate, stage, status FROM bfplan.gate_results "
                        "WHERE run_id LIKE 'check-%' AND status != 'running' ORDER BY recorded_ns")
    # each evaluation also says it started: a gate whose process dies leaves that record last
    assert pipeline.sql("SELECT count(*) FROM bfplan.gate_results WHERE status = 'running' AND run_id LIKE 'check-%'") == [(2,)]
    assert rows == [(first.run_id, "sql", "after phase compute", "pass"),
                    (second.run_id, "sql", "after phase compute", "pass")]
    assert first.run_id != second.run_id


def test_unknown_gate_is_a_usage_error_with_a_suggestion(pipeline):
    with pytest.raises(UsageError) as err:
        pipeline.check(gate="coverag")
    assert str(err.value) == ("--gate: 'coverag' is not a gate (did you mean 'coverage'?) (gates in this plan: "
                              "preflight, freshness, coverage, contamination, failure_rate, sql)")


def test_a_gate_that_raises_fails_and_the_others_still_run(pipeline, monkeypatch):
    gate = pipeline.session.registry.gates["sql"]

    def boom(ctx):
        raise RuntimeError("boom")

    monkeypatch.setattr(gate, "check", boom)
    report = pipeline.check()
    by_gate = {g["gate"]: g for g in report.gates}
    line = boom.__code__.co_firstlineno + 1
    assert by_gate["sql"]["status"] == "fail"
    assert by_gate["sql"]["summary"] == f"gate 'sql' (plugin builtin, {__file__}:{line}) raised RuntimeError: boom"
    assert by_gate["coverage"]["status"] == "pass"
    assert report.exit_code == 1


def test_strict_counts_a_failing_finding_of_a_gate_that_only_warns(pipeline, monkeypatch):
    from bfplan.gates.base import Finding, GateResult

    gate = pipeline.session.registry.gates["sql"]
    monkeypatch.setattr(gate, "check", lambda ctx: GateResult("warn", [Finding("bad row", "fail")], "lenient"))
    assert pipeline.check(gate="sql").exit_code == 0
    assert pipeline.check(gate="sql", strict=True).exit_code == 1
