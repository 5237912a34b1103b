"""Crash safety: SIGKILL at random moments, transient failures at 20%: identical tables after."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from tests.conftest import as_json

FAULTS = Path(__file__).parent / "fault_plugin"
TABLES = ("toy.src", "toy.dbl", "toy.side", "toy.cum")
PLAN = """
name: crash
dates: {{start: 2021-10-01, end: 2022-01-31}}
warehouse: {warehouse}
plugins: ["{{toy}}", "{faults}"]
defaults: {{batch_days: {batch}, jobs: 2, retries: {retries}, retry_backoff_s: 0.001}}
phases:
  - name: first
    processors: [src, dbl, side]
  - name: second
    processors: [cum]
"""


#: columns that legitimately differ between two runs computing the same data
VOLATILE = ("run_id", "created_at", "resolved_at", "processed_at", "updated_at")


def fingerprint(db: Path, tables: tuple[str, ...] = TABLES) -> dict[str, tuple]:
    """Row count and an order-independent hash of every row (volatile columns aside), per table."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for t in tables:
            schema, name = t.split(".")
            cols = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
                "ORDER BY ordinal_position", [schema, name]).fetchall() if r[0] not in VOLATILE]
            row = ", ".join(f'"{c}"' for c in cols)
            out[t] = con.execute(f"SELECT count(*), sum(hash({row})) FROM {t}").fetchone()
        return out
    finally:
        con.close()


def test_twenty_percent_transient_failures_give_identical_tables(write_plan, bfplan, tmp_path):
    clean = write_plan(PLAN.format(warehouse="{type: duckdb, path: clean.duckdb}", faults=FAULTS, retries=2,
                                   batch=3), name="clean.yaml")
    assert bfplan("run", clean).exit_code == 0
    flaky = write_plan(PLAN.format(warehouse="{type: flaky_duckdb, path: flaky.duckdb, rate: 0.2, seed: 11}",
                                   faults=FAULTS, retries=12, batch=3), name="flaky.yaml")
    result = bfplan("run", flaky, "--json")
    assert result.exit_code == 0, result.output
    assert as_json(result)["status"] == "succeeded"
    con = duckdb.connect(str(tmp_path / "flaky.duckdb"), read_only=True)
    retried = con.execute("SELECT count(*) FROM bfplan.partition_log WHERE status = 'failed'").fetchone()[0]
    con.close()
    assert retried > 10  # the faults really happened, and every attempt is in the ledger
    assert fingerprint(tmp_path / "flaky.duckdb") == fingerprint(tmp_path / "clean.duckdb")


def _run(plan: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BFPLAN_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run([sys.executable, "-m", "bfplan", *args, str(plan)], env=env, capture_output=True,
                          text=True, timeout=120)


def kill_and_resume(plan: Path, clean_db: Path, db: Path, points: int, seed: int,
                    tables: tuple[str, ...] = TABLES) -> int:
    """Kill ``bfplan run`` with SIGKILL at ``points`` random moments (one process each), then
    resume; returns how many kills landed mid-run. Asserts identical tables and no gaps."""
    env = {**os.environ, "BFPLAN_DISABLE_PLUGIN_AUTOLOAD": "1"}
    t0 = time.monotonic()
    timing = subprocess.run([sys.executable, "-m", "bfplan", "run", str(plan)], env=env,
                            capture_output=True, text=True, timeout=300)
    full = time.monotonic() - t0
    assert timing.returncode == 0, timing.stderr
    db.unlink()
    rng = random.Random(seed)
    landed = 0
    for _ in range(points):
        proc = subprocess.Popen([sys.executable, "-m", "bfplan", "run", str(plan)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 0.9) * full)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            landed += 1
        elif proc.wait() == 0:
            # it finished before the kill: check it, then start over so the next point has work
            assert fingerprint(db, tables) == fingerprint(clean_db, tables)
            db.unlink()
        proc.wait()
    # a plain re-run: the dead runs' locks are taken over, their half-written work was rolled back
    final = subprocess.run([sys.executable, "-m", "bfplan", "run", str(plan), "--json"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    assert fingerprint(db, tables) == fingerprint(clean_db, tables)
    gaps = subprocess.run([sys.executable, "-m", "bfplan", "gaps", str(plan)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert gaps.returncode == 0, gaps.stdout
    return landed


def test_sigkill_at_random_moments_then_resume(write_plan, bfplan, tmp_path):
    """Four kill points here; benchmarks/killtest.py runs 20 on the NBA season."""
    clean = write_plan(PLAN.format(warehouse="{type: duckdb, path: clean.duckdb}", faults=FAULTS, retries=2,
                                   batch=1), name="clean.yaml")
    assert bfplan("run", clean).exit_code == 0
    plan = write_plan(PLAN.format(warehouse="{type: duckdb, path: killed.duckdb}", faults=FAULTS, retries=2,
                                  batch=1), name="killed.yaml")
    landed = kill_and_resume(plan, tmp_path / "clean.duckdb", tmp_path / "killed.duckdb", points=4, seed=2021)
    assert landed >= 2
