"""The runner end to end on real DuckDB: ordering, failures, resume, atomic writes, retries."""

from __future__ import annotations

import itertools
from pathlib import Path

from tests.conftest import as_json, db_rows

PLAN = """
name: toy
dates: {start: 2021-11-01, end: 2021-11-10}
warehouse: {type: duckdb, path: w.duckdb}
plugins: ["{toy}"]
defaults: {batch_days: 3, jobs: 2, retries: 1, retry_backoff_s: 0.01}
phases:
  - name: first
    processors: [src, dbl, side]
  - name: second
    processors: [cum]
"""


def _rows(path: Path, sql: str) -> list[tuple]:
    return db_rows(path, sql)


def test_run_then_rerun_skips_everything(write_plan, bfplan, tmp_path):
    plan = write_plan(PLAN)
    first = bfplan("run", plan, "--json")
    assert first.exit_code == 0, first.output
    doc = as_json(first)
    assert doc["status"] == "succeeded"
    assert doc["partitions"] == {"done": 40, "skipped": 0, "failed": 0, "blocked": 0, "circuit_broken": 0}
    assert _rows(tmp_path / "w.duckdb", "SELECT count(*) FROM toy.src") == [(30,)]
    # dbl doubles src; cum is the running sum of dbl up to each day
    assert _rows(tmp_path / "w.duckdb", "SELECT running FROM toy.cum WHERE day = DATE '2021-11-02'") == [
        (2 * ((10 + 1) + (20 + 1) + (30 + 1) + (10 + 2) + (20 + 2) + (30 + 2)),)
    ]
    second = as_json(bfplan("run", plan, "--json"))
    assert second["partitions"] == {"done": 0, "skipped": 40, "failed": 0, "blocked": 0, "circuit_broken": 0}
    human = bfplan("run", plan)
    assert "nothing to do: all 40 partition(s) are already done" in human.stdout


def test_phases_run_in_order_proved_by_ledger_timestamps(write_plan, bfplan, tmp_path):
    plan = write_plan(PLAN)
    assert bfplan("run", plan).exit_code == 0
    (first_end,) = _rows(tmp_path / "w.duckdb", "SELECT max(finished_at) FROM bfplan.partition_log "
                         "WHERE processor IN ('src', 'dbl', 'side')")[0:1]
    (second_start,) = _rows(tmp_path / "w.duckdb", "SELECT min(started_at) FROM bfplan.partition_log "
                            "WHERE processor = 'cum'")[0:1]
    assert first_end[0] <= second_start[0]
    # inside the phase, dbl's batch never starts before src's batch with the same dates finished
    order = _rows(tmp_path / "w.duckdb", """
        SELECT d.partition_date FROM bfplan.partition_log d JOIN bfplan.partition_log s
        ON s.partition_date = d.partition_date AND s.processor = 'src' AND d.processor = 'dbl'
        WHERE d.started_at < s.finished_at""")
    assert order == []




def test_failure_blocks_only_descendants_and_resume_finishes(write_plan, bfplan, tmp_path):
    plan = write_plan("""
        name: toy
        dates: {start: 2021-11-01, end: 2021-11-06}
        warehouse: {type: duckdb, path: w.duckdb}
        plugins: ["{toy}"]
        defaults: {batch_days: 2, jobs: 2, retries: 0}
        params: {fail_on: ["2021-11-03"]}
        phases:
          - name: first
            processors: [src, flaky, dbl]
          - name: second
            processors: [cum]
        """)
    result = bfplan("run", plan, "--json")
    assert result.exit_code == 1
    doc = as_json(result)
    assert doc["status"] == "failed"
    # flaky's batch 11-03..11-04 failed; src, dbl and flaky's other batches ran; cum is blocked
    assert doc["partitions"] == {"done": 6 + 6 + 4, "skipped": 0, "failed": 2, "blocked": 6, "circuit_broken": 0}
    assert "flaky failed on" in result.stderr
    status = {(p["processor"], p["date"]): p["status"] for p in as_json(bfplan("status", plan, "--json"))["partitions"]}
    assert status[("flaky", "2021-11-03")] == "failed"
    assert status[("cum", "2021-11-01")] == "blocked"
    assert status[("dbl", "2021-11-04")] == "done"

    # fix the cause (the plan no longer fails that date) and resume: only the rest runs
    plan.write_text(plan.read_text().replace('fail_on: ["2021-11-03"]', "fail_on: []"))
    again = as_json(bfplan("run", plan, "--json"))
    assert again["status"] == "succeeded"
    assert again["partitions"] == {"done": 2 + 6, "skipped": 16, "failed": 0, "blocked": 0, "circuit_broken": 0}
    assert _rows(tmp_path / "w.duckdb", "SELECT count(*), count(DISTINCT day) FROM toy.flaky") == [(6, 6)]


def test_a_processor_raising_mid_write_leaves_previous_contents(write_plan, bfplan, tmp_path):
    plan = write_plan("""
        name: toy
        dates: {start: 2021-11-01, end: 2021-11-02}
        warehouse: {type: duckdb, path: w.duckdb}
        plugins: ["{toy}"]
        defaults: {retries: 0}
        params: {marker: first, explode: false}
        phases:
          - name: only
            processors: [halfway]
        """)
    assert bfplan("run", plan).exit_code == 0
    plan.write_text(plan.read_text().replace("marker: first, explode: false", "marker: second, explode: true"))
    result = bfplan("run", plan, "--force", "--json")
    assert result.exit_code == 1
    assert _rows(tmp_path / "w.duckdb", "SELECT marker, count(*) FROM toy.halfway GROUP BY 1") == [("first", 2)]
    state = {p["date"]: p["status"] for p in as_json(bfplan("status", plan, "--json"))["partitions"]}
    assert state == {"2021-11-01": "failed", "2021-11-02": "failed"}


def test_transient_errors_are_retried_with_every_attempt_recorded(write_plan, bfplan, tmp_path):
    plan = write_plan("""
        name: toy
        dates: {dates: [2021-12-01]}
        warehouse: {type: duckdb, path: w.duckdb}
        plugins: ["{toy}"]
        defaults: {retries: 2, retry_backoff_s: 0.001}
        params: {transient_failures: 2}
        phases:
          - name: only
            processors: [transient]
        """)
    result = bfplan("run", plan, "--json")
    assert result.exit_code == 0, result.output
    attempts = _rows(tmp_path / "w.duckdb", "SELECT attempt, status FROM bfplan.partition_log "
                     "WHERE processor = 'transient' ORDER BY recorded_ns")
    assert attempts == [(1, "failed"), (2, "failed"), (3, "done")]


def test_only_and_from_select_processors(write_plan, bfplan, tmp_path):
    plan = write_plan(PLAN)
    assert bfplan("run", plan).exit_code == 0
    only = as_json(bfplan("run", plan, "--only", "side", "--force", "--json"))
    assert only["partitions"]["done"] == 10
    # --from dbl recomputes dbl and cum (downstream by lineage), not src or side
    frm = as_json(bfplan("run", plan, "--from", "dbl", "--dates", "2021-11-05", "--json"))
    done = _rows(tmp_path / "w.duckdb", f"SELECT DISTINCT processor FROM bfplan.partition_log "
                 f"WHERE run_id = '{frm['run_id']}' AND status = 'done' ORDER BY 1")
    assert done == [("cum",), ("dbl",)]
    assert frm["partitions"]["done"] == 1 + 6  # dbl on 11-05; cum on 11-05..11-10 (season-to-date window)


def test_dry_run_touches_nothing(write_plan, bfplan, tmp_path):
    plan = write_plan(PLAN)
    result = bfplan("run", plan, "--dry-run")
    assert result.exit_code == 0
    assert "would run src: 10 partition(s), 0 already done" in result.stdout
    assert not (tmp_path / "w.duckdb").exists()
    # on a warehouse that exists, a dry run adds no table and no ledger row either
    assert bfplan("run", plan, "--only", "src", "--end", "2021-11-02").exit_code == 0
    before = _rows(tmp_path / "w.duckdb", "SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2")
    runs = _rows(tmp_path / "w.duckdb", "SELECT count(*) FROM bfplan.runs")
    assert bfplan("run", plan, "--dry-run").exit_code == 0
    assert _rows(tmp_path / "w.duckdb", "SELECT table_schema, table_name FROM information_schema.tables "
                 "ORDER BY 1, 2") == before
    assert _rows(tmp_path / "w.duckdb", "SELECT count(*) FROM bfplan.runs") == runs


def test_dates_outside_the_plan_are_a_usage_error(write_plan, bfplan):
    plan = write_plan(PLAN)
    result = bfplan("run", plan, "--dates", "2022-01-01")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: no planned dates match the selection (check --start/--end/--dates against the plan)")



def test_max_concurrency_limits_one_processor_while_jobs_run_others(write_plan, bfplan, tmp_path):
    plan = write_plan("""
        name: conc
        dates: {start: 2021-11-01, end: 2021-11-06}
        warehouse: {type: duckdb, path: w.duckdb}
        plugins: ["{toy}"]
        defaults: {batch_days: 1, jobs: 3}
        params: {sleep_s: 0.05}
        phases:
          - name: one
            processors: [{name: slow, max_concurrency: 1}, noop]
        """)
    assert bfplan("run", plan).exit_code == 0
    spans = _rows(tmp_path / "w.duckdb", "SELECT started_at, finished_at FROM bfplan.partition_log "
                  "WHERE processor = 'slow' ORDER BY started_at")
    assert len(spans) == 6
    # never two slow nodes at once: each starts after the previous one finished
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans))
