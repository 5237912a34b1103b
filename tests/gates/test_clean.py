"""The clean pipeline passes every gate; run_checks' report, ledger records and usage errors."""

from __future__ import annotations

import json

from tests.gates.conftest import failing, write_plan


def test_clean_pipeline_passes_every_gate_with_no_failing_finding(pipeline):
    report = pipeline.check()
    assert report.status in ("pass", "warn")
    assert report.exit_code == 0
    stages = [(g["gate"], g["stage"]) for g in report.gates]
    assert stages == [
        ("preflight", "before phase load"),
        ("preflight", "before phase compute"), ("freshness", "before phase compute"),
        ("coverage", "after phase compute"), ("contamination", "after phase compute"),
        ("failure_rate", "after phase compute"), ("sql", "after phase compute"),
        ("preflight", "before phase publish"),
    ]
    for g in report.gates:
        assert failing(g) == [], g
    print(json.dumps(report.as_dict(), indent=1, default=str))


def test_gate_options_are_checked_when_the_plan_loads(pipeline):
    text = pipeline.plan.read_text(encoding="utf-8")
    pipeline.plan.write_text(text.replace("{coverage: {reconcile: true}}", "{coverage: {reconcil: true}}")
                             .replace("{contamination: {strict: true}}", "{contamination: {strict: maybe}}"),
                             encoding="utf-8")
    result = pipeline.run("validate", pipeline.plan)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if "plan.yaml:" in line]
    assert len(lines) == 2, result.output
    assert lines[0].endswith(":17:23: phases[1].gates.after[0].coverage: unknown key 'reconcil' "
                             "(did you mean 'reconcile'?)")
    assert lines[1].endswith(":18:36: phases[1].gates.after[1].contamination.strict: expected true or false, "
                             "got a string 'maybe'")


def test_a_clean_run_with_its_learned_baseline_checks_with_no_warning_at_all(pipeline):
    learned = pipeline.run("baseline", pipeline.plan, "-o", pipeline.folder / "baseline.yaml")
    assert learned.exit_code == 0, learned.output
    write_plan(pipeline.folder, failure_rate="baseline: baseline.yaml, strict: true")
    report = pipeline.check()
    assert report.status == "pass"
    assert {g["gate"]: [f["detail"] for f in g["findings"]] for g in report.gates if g["findings"]} == {}
    # the first day (every player INSUFFICIENT_DATA, no rows) is expected, not NO_DATA
    (contamination,) = [g for g in report.gates if g["gate"] == "contamination"]
    assert "1 EXPLAINED" in contamination["summary"]
