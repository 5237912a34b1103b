"""The circuit breaker tells the truth: the run summary names each open breaker and the command
that resets it; validate lists open breakers and what they hold back; a change to the
processor's code or SQL closes its breaker on the next run."""

from __future__ import annotations

from tests.conftest import as_json, db_rows
from tests.test_resilience import BREAKER

SQL_PLUGIN = """
from pathlib import Path

from bfplan import hookimpl
from bfplan.processors import SqlProcessor


@hookimpl
def bfplan_processors():
    return [SqlProcessor(name="fragile", table="fx.fragile", partition_column="day",
                         sql_path=Path(__file__).with_name("fragile.sql"))]
"""

SQL_PLAN = """
name: fix
dates: {start: 2021-11-01, end: 2021-11-06}
warehouse: {type: duckdb, path: w.duckdb}
plugins: ["PLUGIN"]
defaults: {batch_days: 1, jobs: 1, retries: 0, circuit_breaker: {max_failures: 2}}
phases:
  - name: one
    processors: [fragile]
"""

BROKEN_SQL = "SELECT CAST(CONCAT('x', CAST(d AS STRING)) AS INT64) AS n, d AS day FROM UNNEST(@dates) AS d"
FIXED_SQL = "SELECT 1 AS n, d AS day FROM UNNEST(@dates) AS d"


def test_the_run_summary_names_the_open_breaker_and_the_reset_command(write_plan, bfplan):
    plan = write_plan(BREAKER)
    first = bfplan("run", plan)
    assert first.exit_code == 1
    lines = first.stderr.splitlines()
    assert "  CIRCUIT BREAKER OPEN flaky: 6 partition(s) not run" in lines
    assert (f"next: fix the cause, then `bfplan run {plan} --reset-breaker flaky`: a plain re-run does not run "
            "them while the breaker is open (7 days) unless the processor's code or SQL changed since; done "
            "partitions are skipped") in lines
    assert not any(line.startswith("next: fix the cause, then `bfplan run") and "--reset-breaker" not in line
                   for line in lines)
    doc = as_json(bfplan("run", plan, "--json"))
    assert doc["circuit_broken_by"] == {"flaky": {"partitions": 8, "blocked": 0}}


def test_validate_lists_open_breakers_and_does_not_count_their_partitions(write_plan, bfplan):
    plan = write_plan(BREAKER)
    bfplan("run", plan)
    doc = as_json(bfplan("validate", plan, "--json"))
    [b] = doc["breakers"]
    assert b["processor"] == "flaky" and b["partitions"] == 8 and b["code_changed"] is False
    assert b["reason"].startswith("processor 'flaky' (plugin toy_plugin, ") and b["reason"].endswith(
        "raised RuntimeError: flaky failed on [datetime.date(2021, 11, 2)]")
    assert doc["to_run"] == 0
    out = bfplan("validate", plan).stdout.splitlines()
    assert "0 partition(s) to run, 8 already done, 8 node(s)" in out
    assert (f"circuit breaker open: flaky since {b['opened_at']}, until {b['until']}: {b['reason']}; its 8 "
            f"partition(s) are not counted as to run: `bfplan run {plan} --reset-breaker flaky` runs them") in out


def test_a_changed_sql_closes_the_breaker_on_the_next_run(write_plan, bfplan, tmp_path):
    folder = tmp_path / "fx"
    folder.mkdir()
    (folder / "plugin.py").write_text(SQL_PLUGIN)
    (folder / "fragile.sql").write_text(BROKEN_SQL)
    plan = write_plan(SQL_PLAN.replace("PLUGIN", str(folder / "plugin.py")))
    first = as_json(bfplan("run", plan, "--json"))
    assert first["partitions"]["failed"] == 2 and first["partitions"]["circuit_broken"] == 4
    assert as_json(bfplan("run", plan, "--json"))["partitions"]["circuit_broken"] == 6  # same SQL: still open

    (folder / "fragile.sql").write_text(FIXED_SQL)  # the fix is deployed
    [b] = as_json(bfplan("validate", plan, "--json"))["breakers"]
    assert b["code_changed"] is True
    assert "its code changed since: the next run closes it and runs its 6 partition(s)" in \
        bfplan("validate", plan).stdout
    fixed = as_json(bfplan("run", plan, "--json"))
    assert fixed["status"] == "succeeded" and fixed["partitions"]["done"] == 6
    resets = db_rows(tmp_path / "w.duckdb", "SELECT processor, event, reason FROM bfplan.circuit_breakers "
                                            "WHERE event = 'reset'")
    assert resets == [("fragile", "reset", "code changed")]
