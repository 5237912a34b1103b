"""Run lock, interrupts, circuit breaker, webhook events, and the daily mode's policy."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from bfplan.ledger.clock import monotonic_ns, utcnow
from bfplan.ledger.lock import RunLock
from bfplan.ledger.tables import LOCK_COLUMNS, LOCKS
from bfplan.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import as_json

SLOW = """
name: slow
dates: {{start: 2021-11-01, end: 2021-11-{end:02d}}}
warehouse: {{type: duckdb, path: w.duckdb}}
plugins: ["{{toy}}"]
defaults: {{batch_days: 1, jobs: 1}}
phases:
  - name: one
    processors: [slow]
"""


def _bfplan_process(plan: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "BFPLAN_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.Popen([sys.executable, "-m", "bfplan", "run", str(plan), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_a_second_run_is_refused_naming_the_holder(write_plan, tmp_path):
    plan = write_plan(SLOW.format(end=15))
    first = _bfplan_process(plan)
    try:
        _wait_for(tmp_path / "w.duckdb.run.json")
        second = _bfplan_process(plan)
        _, err = second.communicate(timeout=30)
        assert second.returncode == 3
        assert "is locked by run " in err and " on host " in err and "(pid " in err
    finally:
        first.wait(timeout=60)
    assert first.returncode == 0


def test_interrupt_exits_130_and_the_next_run_resumes_without_duplicates(write_plan, tmp_path):
    plan = write_plan(SLOW.format(end=30))
    proc = _bfplan_process(plan, "--json")
    _wait_for(tmp_path / "w.duckdb.run.json")
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    doc = json.loads(out)
    assert doc["status"] == "interrupted"
    done_before = doc["partitions"]["done"]
    assert 0 < done_before < 30
    env = {**os.environ, "BFPLAN_DISABLE_PLUGIN_AUTOLOAD": "1"}
    again = subprocess.run([sys.executable, "-m", "bfplan", "run", str(plan), "--json", "--var", "sleep_s=0"],
                           env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    resumed = json.loads(again.stdout)
    assert resumed["partitions"]["skipped"] == done_before
    assert resumed["partitions"]["done"] == 30 - done_before
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    statuses = con.execute("SELECT status FROM bfplan.runs WHERE status != 'running' ORDER BY recorded_ns").fetchall()
    con.close()
    assert statuses == [("interrupted",), ("succeeded",)]


def test_sigterm_is_an_interrupt_too(write_plan, tmp_path):
    plan = write_plan(SLOW.format(end=20))
    proc = _bfplan_process(plan)
    _wait_for(tmp_path / "w.duckdb.run.json")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err


def test_ledger_lock_held_and_expired_and_stolen(write_plan, bfplan, tmp_path):
    plan = write_plan(SLOW.format(end=2).replace("jobs: 1}", "jobs: 1}\nparams: {sleep_s: 0}"))
    wh = DuckDBWarehouse(tmp_path / "w.duckdb")
    wh.ensure_table(LOCKS, LOCK_COLUMNS)
    now = utcnow()
    wh.append_rows(LOCKS, LOCK_COLUMNS, [("slow", "run-elsewhere", "otherhost", 4242, "acquire", now,
                                          now + timedelta(minutes=5), monotonic_ns())])
    wh.close()
    held = bfplan("run", plan)
    assert held.exit_code == 3
    assert held.stderr.startswith("error: plan 'slow' is locked by run run-elsewhere since ")
    assert "on host otherhost (pid 4242); wait for it to finish" in held.stderr

    wh = DuckDBWarehouse(tmp_path / "w.duckdb")
    past = now - timedelta(hours=1)
    wh.append_rows(LOCKS, LOCK_COLUMNS, [("slow", "run-elsewhere", "otherhost", 4242, "heartbeat", past, past,
                                          monotonic_ns())])
    wh.close()
    expired = bfplan("run", plan)
    assert expired.exit_code == 3 and "re-run with --steal-lock" in expired.stderr
    stolen = bfplan("run", plan, "--steal-lock")
    assert stolen.exit_code == 0, stolen.output
    wh = DuckDBWarehouse(tmp_path / "w.duckdb")
    assert RunLock(wh, "slow", "me").holders() == []  # the thief released it at the end
    wh.close()


BREAKER = """
name: brk
dates: {start: 2021-11-01, end: 2021-11-08}
warehouse: {type: duckdb, path: w.duckdb}
plugins: ["{toy}"]
defaults: {batch_days: 1, jobs: 1, retries: 0, circuit_breaker: {max_failures: 2}}
params: {fail_on: ["2021-11-01", "2021-11-02", "2021-11-03"]}
phases:
  - name: one
    processors: [src, flaky]
"""


def test_circuit_breaker_trips_persists_and_resets(write_plan, bfplan):
    plan = write_plan(BREAKER)
    first = as_json(bfplan("run", plan, "--json"))
    assert first["status"] == "failed"
    assert first["partitions"]["failed"] == 2  # the first two failures trip it
    assert first["partitions"]["circuit_broken"] == 6  # flaky's remaining dates never start
    assert first["partitions"]["done"] == 8  # src is independent and finishes
    grid = {(p["processor"], p["date"]): p["status"] for p in as_json(bfplan("status", plan, "--json"))["partitions"]}
    assert grid[("flaky", "2021-11-08")] == "circuit_broken"

    plan.write_text(plan.read_text().replace('fail_on: ["2021-11-01", "2021-11-02", "2021-11-03"]', "fail_on: []"))
    still = bfplan("run", plan, "--json")
    assert still.exit_code == 1
    assert as_json(still)["partitions"]["circuit_broken"] == 8
    assert "--reset-breaker flaky" in still.stderr
    reset = as_json(bfplan("run", plan, "--reset-breaker", "flaky", "--json"))
    assert reset["status"] == "succeeded" and reset["partitions"]["done"] == 8


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook():
    _Hook.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Hook.received
    server.shutdown()
    server.server_close()


NOTIFY = """
name: notified
dates: {{start: {start}, end: {end}}}
warehouse: {{type: duckdb, path: w.duckdb}}
plugins: ["{{toy}}"]
notify:
  - webhook: {{url: "{url}", events: [run_started, node_finished, gate_failed, phase_completed, run_finished]}}
phases:
  - name: one
    processors: [src]
  - name: two
    processors: [dbl]
"""


def test_backfill_emits_only_run_finished(write_plan, bfplan, webhook):
    url, received = webhook
    plan = write_plan(NOTIFY.format(start="2021-11-01", end="2021-11-02", url=url))
    assert bfplan("run", plan).exit_code == 0
    assert [m["bfplan"]["type"] for m in received] == ["run_finished"]
    assert received[0]["text"].startswith("bfplan notified: run ") and "succeeded" in received[0]["text"]


def test_daily_mode_emits_everything_and_refuses_old_dates(write_plan, bfplan, webhook):
    url, received = webhook
    yesterday = date.today() - timedelta(days=1)
    plan = write_plan(NOTIFY.format(start=yesterday, end=yesterday, url=url))
    assert bfplan("run", plan, "--mode", "daily").exit_code == 0
    types = [m["bfplan"]["type"] for m in received]
    assert types[0] == "run_started" and types[-1] == "run_finished"
    assert types.count("node_finished") == 2 and "phase_completed" in types

    old = write_plan(NOTIFY.format(start="2021-11-01", end="2021-11-01", url=url), name="old.yaml")
    refused = bfplan("run", old, "--mode", "daily")
    assert refused.exit_code == 2
    assert "daily mode refuses dates older than 90 days (2021-11-01 <" in refused.stderr
    assert bfplan("run", old, "--mode", "daily", "--force").exit_code == 0


def test_validate_prints_the_policy_and_why(write_plan, bfplan):
    plan = write_plan(SLOW.format(end=2))
    text = bfplan("validate", plan).stdout
    assert "policy: backfill mode" in text
    assert "entity_completeness        False" in text
    doc = as_json(bfplan("validate", plan, "--json", "--var", "x=1"))
    settings = {s["setting"]: s for s in doc["policy"]["settings"]}
    assert settings["entity_circuit_breaker"]["value"] is False


def test_bad_webhook_config_is_a_plan_error(write_plan, bfplan):
    plan = write_plan(NOTIFY.format(start="2021-11-01", end="2021-11-01", url="ftp://x").replace(
        "run_started,", "run_startd,"))
    result = bfplan("validate", plan)
    assert result.exit_code == 2
    assert "notify[0].webhook.url: expected an http(s) URL, got 'ftp://x'" in result.stderr
    assert "notify[0].webhook.events: unknown event 'run_startd'" in result.stderr
