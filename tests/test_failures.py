"""Entity failures that know what is expected: correctable reruns, RESOLVED, PERMANENT, breakers."""

from __future__ import annotations

import duckdb

from tests.conftest import as_json

PLAN = """
name: ent
dates: {{start: 2021-11-01, end: 2021-11-02}}
mode: {mode}
warehouse: {{type: duckdb, path: w.duckdb}}
plugins: ["{{toy}}"]
vars: {{today: 2021-11-03}}
defaults: {{batch_days: 1, circuit_breaker: {{max_failures: 3}}}}
params: {{missing: {missing}}}
phases:
  - name: only
    processors: [ent]
"""


def _failures(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        return con.execute("SELECT analysis_date::VARCHAR, entity_id, failure_category, failure_type, is_correctable, "
                           "resolution_status, resolved_at IS NOT NULL FROM toy.failures "
                           "ORDER BY 1, 2, 6").fetchall()
    finally:
        con.close()


def test_correctable_failures_rerun_and_resolve_while_dnp_stays_permanent(write_plan, bfplan, tmp_path):
    plan = write_plan(PLAN.format(mode="backfill", missing='["1", "3"]'))
    first = as_json(bfplan("run", plan, "--json"))
    assert first["entity_failures"] == {"INCOMPLETE_DATA": 4}
    assert _failures(tmp_path) == [
        ("2021-11-01", "1", "INCOMPLETE_DATA", "DATA_GAP", True, "UNRESOLVED", False),
        ("2021-11-01", "3", "INCOMPLETE_DATA", "PLAYER_DNP", False, "PERMANENT", False),
        ("2021-11-02", "1", "INCOMPLETE_DATA", "DATA_GAP", True, "UNRESOLVED", False),
        ("2021-11-02", "3", "INCOMPLETE_DATA", "PLAYER_DNP", False, "PERMANENT", False),
    ]
    assert as_json(bfplan("run", plan, "--json"))["partitions"]["done"] == 0  # done stays done

    # the missing games of entity 1 were re-scraped: --rerun-failed takes the correctable dates
    plan.write_text(plan.read_text().replace('missing: ["1", "3"]', 'missing: ["3"]'))
    rerun = as_json(bfplan("run", plan, "--rerun-failed", "--json"))
    assert rerun["partitions"]["done"] == 2
    assert _failures(tmp_path) == [
        ("2021-11-01", "1", "INCOMPLETE_DATA", "DATA_GAP", True, "RESOLVED", True),
        ("2021-11-01", "3", "INCOMPLETE_DATA", "PLAYER_DNP", False, "PERMANENT", False),
        ("2021-11-02", "1", "INCOMPLETE_DATA", "DATA_GAP", True, "RESOLVED", True),
        ("2021-11-02", "3", "INCOMPLETE_DATA", "PLAYER_DNP", False, "PERMANENT", False),
    ]
    # nothing correctable is left: a DNP is permanent, a resolved failure is history
    assert as_json(bfplan("run", plan, "--rerun-failed", "--json"))["partitions"]["done"] == 0
    # and the resolved entity is accounted for by its row, not its old failure
    assert as_json(bfplan("gaps", plan, "--json")) == {"gaps": []}


def test_daily_entity_circuit_breaker_trips_on_the_third_attempt(write_plan, bfplan, tmp_path):
    plan = write_plan(PLAN.format(mode="daily", missing='["2"]'))
    for _ in range(3):
        assert bfplan("run", plan, "--force").exit_code == 0
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    attempts = con.execute("SELECT analysis_date::VARCHAR, entity_id, max(attempt_number), bool_or(circuit_breaker_tripped) "
                           "FROM bfplan.reprocess_attempts GROUP BY 1, 2 ORDER BY 1").fetchall()
    con.close()
    assert attempts == [("2021-11-01", "2", 3, True), ("2021-11-02", "2", 3, True)]
    fourth = as_json(bfplan("run", plan, "--force", "--json"))
    assert fourth["entity_failures"] == {"CIRCUIT_BREAKER_ACTIVE": 2}
    # --reset-breaker closes it: the entity is attempted again
    reset = as_json(bfplan("run", plan, "--force", "--reset-breaker", "--json"))
    assert reset["entity_failures"] == {"INCOMPLETE_DATA": 2}


def test_backfill_mode_records_no_reprocess_attempts(write_plan, bfplan, tmp_path):
    plan = write_plan(PLAN.format(mode="backfill", missing='["2"]'))
    for _ in range(4):
        bfplan("run", plan, "--force")
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    n = con.execute("SELECT count(*) FROM bfplan.reprocess_attempts").fetchone()[0]
    con.close()
    assert n == 0
