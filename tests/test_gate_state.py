"""A gate's verdict is part of the plan's state: a blocking failure is not forgotten by the next
run, a gate that never finished is evaluated again, and so is one whose inputs changed since
it passed — at both gate positions (after a processor, at a phase's end)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import as_json, db_rows

PLAN = """
name: gs
dates: {start: 2021-11-01, end: 2021-11-04}
warehouse: {type: duckdb, path: w.duckdb}
plugins: ["{toy}"]
vars: {limit: 1000, cap: 1000000}
defaults: {batch_days: 2, retries: 0}
phases:
  - name: one
    processors:
      - name: src
        gates:
          after:
            - sql: {query: "SELECT day AS date, v FROM toy.src WHERE day IN UNNEST(@dates) AND v > @limit",
                    message: "v over the limit"}
      - dbl
  - name: two
    processors: [cum]
    gates:
      before: [preflight]
      after:
        - sql: {query: "SELECT day AS date, running FROM toy.cum WHERE day IN UNNEST(@dates) AND running > @cap",
                message: "running total over the cap"}
"""


def _rows(path: Path, sql: str) -> list[tuple]:
    return db_rows(path, sql)


def _verdicts(db: Path, stage: str) -> list[str]:
    return [r[0] for r in _rows(db, "SELECT status FROM bfplan.gate_results WHERE status != 'running' "
                                    f"AND stage = '{stage}' ORDER BY recorded_ns")]


def test_a_failed_processor_gate_is_evaluated_again_before_what_it_blocked(write_plan, bfplan, tmp_path):
    plan = write_plan(PLAN)
    first = bfplan("run", plan, "--var", "limit=20", "--json")
    assert first.exit_code == 1
    doc = as_json(first)
    assert doc["gates"]["failed"] == 1 and doc["partitions"]["blocked"] == 8  # dbl and cum, every date

    # nothing changed: the gate is evaluated again, fails again, and what it guards stays blocked
    again = bfplan("run", plan, "--var", "limit=20", "--json")
    assert again.exit_code == 1, again.output
    doc = as_json(again)
    assert (doc["partitions"]["done"], doc["partitions"]["blocked"], doc["gates"]["failed"]) == (0, 8, 1)
    assert _rows(tmp_path / "w.duckdb", "SELECT count(*) FROM information_schema.tables "
                                        "WHERE table_name IN ('dbl', 'cum')") == [(0,)]

    # the data (here: the limit it is judged by) is fixed: the gate passes and what it blocked runs
    fixed = bfplan("run", plan, "--json")
    assert fixed.exit_code == 0, fixed.output
    doc = as_json(fixed)
    assert doc["partitions"]["done"] == 8 and doc["gates"] == {"passed": 3, "warned": 0, "failed": 0}
    assert _verdicts(tmp_path / "w.duckdb", "after processor src") == ["fail", "fail", "pass"]


def test_a_failed_gate_at_the_end_of_the_last_phase_keeps_failing_the_run(write_plan, bfplan, tmp_path):
    plan = write_plan(PLAN)
    first = bfplan("run", plan, "--var", "cap=50")
    assert first.exit_code == 1
    again = bfplan("run", plan, "--var", "cap=50")
    assert again.exit_code == 1, again.output
    assert "nothing to do" not in again.stdout
    assert "FAILED gate sql (after phase two)" in again.stderr
    passed = bfplan("run", plan)
    assert passed.exit_code == 0, passed.output
    # the gates bind the plan's vars, which changed (cap): they judge again, and pass
    assert passed.stdout.startswith("nothing to do: all 12 partition(s) are already done; "
                                    "3 gate(s) checked again and passed")
    # a passed gate whose inputs did not change is not evaluated again
    quiet = bfplan("run", plan, "--json")
    assert as_json(quiet)["gates"] == {"passed": 0, "warned": 0, "failed": 0}
    assert _verdicts(tmp_path / "w.duckdb", "after phase two") == ["fail", "fail", "pass"]


def test_a_clean_run_leaves_no_gate_to_check_again(write_plan, bfplan):
    plan = write_plan(PLAN)
    assert as_json(bfplan("run", plan, "--json"))["gates"]["passed"] == 3
    again = bfplan("run", plan, "--json")
    assert as_json(again)["gates"] == {"passed": 0, "warned": 0, "failed": 0}


def test_a_gate_whose_inputs_changed_since_it_passed_is_evaluated_again(write_plan, bfplan, tmp_path):
    plan = write_plan(PLAN)
    assert bfplan("run", plan).exit_code == 0
    # src is rewritten by a narrowed run: the phase-two gate stands on src but is not part of it
    narrowed = bfplan("run", plan, "--only", "src", "--force", "--dates", "2021-11-02", "--json")
    assert narrowed.exit_code == 0
    assert as_json(narrowed)["gates"]["passed"] == 1  # src's own gate, which guards the rewrite
    assert _verdicts(tmp_path / "w.duckdb", "after phase two") == ["pass"]
    after = bfplan("run", plan, "--json")
    assert after.exit_code == 0
    doc = as_json(after)
    # phase two's gates (their input src changed) and src's gate (it last judged one date only)
    assert doc["partitions"]["done"] == 0 and doc["gates"]["passed"] == 3
    assert _verdicts(tmp_path / "w.duckdb", "after phase two") == ["pass", "pass"]
    assert as_json(bfplan("run", plan, "--json"))["gates"]["passed"] == 0


SLEEPY = """
name: gs
dates: {start: 2021-11-01, end: 2021-11-02}
warehouse: {type: duckdb, path: w.duckdb}
plugins: ["{toy}"]
phases:
  - name: one
    processors: [src]
    gates:
      after: [{sleepy: {marker: "MARKER", sleep_s: 30}}]
"""


def test_a_run_killed_while_a_gate_runs_is_recorded_interrupted_and_the_gate_runs_again(write_plan, tmp_path):
    marker = tmp_path / "gate-started"
    plan = write_plan(SLEEPY.replace("MARKER", str(marker)))
    env = {**os.environ, "BFPLAN_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "bfplan", "run", str(plan)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline and proc.poll() is None, "the gate never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    db = tmp_path / "w.duckdb"
    killed = _rows(db, "SELECT run_id FROM bfplan.runs")[0][0]
    assert _rows(db, "SELECT status FROM bfplan.gate_results") == [("running",)]

    quick = plan.read_text().replace("sleep_s: 30", "sleep_s: 0")
    plan.write_text(quick)
    resumed = subprocess.run([sys.executable, "-m", "bfplan", "run", str(plan), "--json"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    doc = json.loads(resumed.stdout)
    assert doc["partitions"]["skipped"] == 2 and doc["gates"]["passed"] == 1
    latest = _rows(db, "SELECT status, summary FROM bfplan.runs WHERE run_id = ? ORDER BY recorded_ns DESC LIMIT 1"
                   .replace("?", f"'{killed}'"))
    assert latest[0][0] == "interrupted"
    assert json.loads(latest[0][1])["reason"].startswith("the process ended before the run finished")
