"""Gates inside ``bfplan run``: a blocking failure blocks downstream; severity warn does not."""

from __future__ import annotations

import json

from tests.gates.conftest import write_plan


def test_blocking_gate_blocks_downstream_and_warn_severity_lets_the_run_continue(pipeline):
    # the processor records a PROCESSING_ERROR for p03: failure_rate and coverage (INVESTIGATE) fail
    write_plan(pipeline.folder, error_entity="p03", error_date="2021-11-05")
    blocked = pipeline.run("run", pipeline.plan, "--from", "form", "--force", "--json")
    assert blocked.exit_code == 1, blocked.output
    doc = json.loads(blocked.stdout)
    assert doc["status"] == "failed"
    assert doc["gates"]["failed"] == 2
    assert doc["partitions"]["blocked"] == 6  # report, every date
    assert pipeline.sql("SELECT count(*) FROM bfplan.partition_log WHERE processor = 'report' "
                        "AND status = 'blocked'") == [(6,)]
    first_run = doc["run_id"]

    write_plan(pipeline.folder, error_entity="p03", error_date="2021-11-05", severity="warn")
    warned = pipeline.run("run", pipeline.plan, "--from", "form", "--force", "--json")
    assert warned.exit_code == 0, warned.output
    doc = json.loads(warned.stdout)
    assert doc["status"] == "succeeded" and doc["gates"]["failed"] == 0 and doc["gates"]["warned"] >= 2
    assert doc["partitions"]["blocked"] == 0

    # one gate result per run, history kept: the blocking failure, then the warned one
    rows = pipeline.sql("SELECT run_id, status, severity, findings FROM bfplan.gate_results "
                        "WHERE gate = 'failure_rate' AND status != 'running' ORDER BY recorded_ns")
    assert [(r[0], r[1], r[2]) for r in rows[-2:]] == [(first_run, "fail", "block"), (doc["run_id"], "fail", "warn")]
    findings = json.loads(rows[-1][3])
    assert [(f["processor"], f["date"], f["entities"]) for f in findings if f["status"] == "fail"] == [
        ("form", "2021-11-05", ["p03"])]
