"""Every setting of a mode's policy that ``validate`` prints changes what a run does.

One test per field (the last test checks that no field is without one): the same plan run in
backfill and in daily mode, and the difference the field makes.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from bfplan.modes import BACKFILL, DAILY, Policy
from tests.conftest import as_json, db_rows

PLAN = """
name: modes
dates: {{start: 2021-11-01, end: 2021-11-04}}
mode: {mode}
warehouse: {{type: duckdb, path: w.duckdb}}
plugins: ["{{toy}}", "{recorder}"]
vars: {{today: 2021-11-05}}
defaults: {{batch_days: 7}}
phases:
  - name: one
    processors: [modeflags]
  - name: two
    processors: [noop]
"""

#: a plugin implementing bfplan_on_event: every event it receives goes to a JSON-lines file
RECORDER = """
import json
from bfplan import hookimpl

@hookimpl
def bfplan_on_event(event):
    with open(OUT, "a") as f:
        f.write(json.dumps({"type": event.type, "run_id": event.run_id}) + "\\n")
"""


def _plan(write_plan, tmp_path: Path, mode: str) -> Path:
    recorder = tmp_path / "recorder.py"
    recorder.write_text(f"OUT = {str(tmp_path / 'events.jsonl')!r}\n" + RECORDER)
    return write_plan(PLAN.format(mode=mode, recorder=recorder), name=f"{mode}.yaml")


def _events(tmp_path: Path) -> list[str]:
    path = tmp_path / "events.jsonl"
    return [json.loads(line)["type"] for line in path.read_text().splitlines()] if path.exists() else []


def _rows(tmp_path: Path, sql: str) -> list[tuple]:
    return db_rows(tmp_path / "w.duckdb", sql)


def test_batch_days(write_plan, bfplan, tmp_path):
    backfill = as_json(bfplan("run", _plan(write_plan, tmp_path, "backfill"), "--dry-run", "--json"))
    daily = as_json(bfplan("run", _plan(write_plan, tmp_path, "daily"), "--dry-run", "--json"))
    # backfill: the plan's batch_days (7) holds all four dates in one node per processor
    assert [p["nodes"] for p in backfill["stages"][0]["processors"]] == [1]
    assert [p["nodes"] for p in daily["stages"][0]["processors"]] == [4]


def test_entity_completeness(write_plan, bfplan, tmp_path):
    assert bfplan("run", _plan(write_plan, tmp_path, "backfill")).exit_code == 0
    assert _rows(tmp_path, "SELECT DISTINCT check_completeness, backfill_mode FROM toy.modeflags") == [(False, True)]
    assert bfplan("run", _plan(write_plan, tmp_path, "daily"), "--force").exit_code == 0
    assert _rows(tmp_path, "SELECT DISTINCT check_completeness, backfill_mode FROM toy.modeflags") == [(True, False)]


def test_alerts(write_plan, bfplan, tmp_path):
    assert bfplan("run", _plan(write_plan, tmp_path, "backfill")).exit_code == 0
    assert _events(tmp_path) == ["run_finished"]
    (tmp_path / "events.jsonl").unlink()
    assert bfplan("run", _plan(write_plan, tmp_path, "daily"), "--force").exit_code == 0
    events = _events(tmp_path)
    assert events[0] == "run_started" and events[-1] == "run_finished"
    assert events.count("node_finished") == 8  # two processors, four dates, one date a node


def test_downstream_triggers(write_plan, bfplan, tmp_path):
    assert bfplan("run", _plan(write_plan, tmp_path, "backfill")).exit_code == 0
    assert "phase_completed" not in _events(tmp_path)
    assert bfplan("run", _plan(write_plan, tmp_path, "daily"), "--force").exit_code == 0
    assert _events(tmp_path).count("phase_completed") == 2


def test_reject_older_than_days(write_plan, bfplan, tmp_path):
    old = _plan(write_plan, tmp_path, "daily")
    old.write_text(old.read_text().replace("today: 2021-11-05", "today: 2022-06-01"))
    assert bfplan("run", old).exit_code == 2  # daily: older than 90 days
    assert bfplan("run", old, "--mode", "backfill").exit_code == 0  # backfill: old dates are its job


ENTITIES = """
name: ent
dates: {start: 2021-11-01, end: 2021-11-02}
mode: daily
warehouse: {type: duckdb, path: w.duckdb}
plugins: ["{toy}"]
vars: {today: 2021-11-03}
defaults: {batch_days: 1, circuit_breaker: {max_failures: 2}}
params: {missing: ["2"]}
phases:
  - name: only
    processors: [ent]
"""


def test_record_reprocess_attempts(write_plan, bfplan, tmp_path):
    plan = write_plan(ENTITIES)
    assert bfplan("run", plan, "--mode", "backfill").exit_code == 0
    assert _rows(tmp_path, "SELECT count(*) FROM bfplan.reprocess_attempts") == [(0,)]
    assert bfplan("run", plan, "--force").exit_code == 0
    assert _rows(tmp_path, "SELECT count(*) FROM bfplan.reprocess_attempts") == [(2,)]  # entity 2, two dates


def test_entity_circuit_breaker(write_plan, bfplan, tmp_path):
    plan = write_plan(ENTITIES)
    for _ in range(2):  # two daily attempts trip entity 2's breaker (max_failures 2)
        assert bfplan("run", plan, "--force").exit_code == 0
    daily = as_json(bfplan("run", plan, "--force", "--json"))
    assert daily["entity_failures"] == {"CIRCUIT_BREAKER_ACTIVE": 2}  # entity 2 is held back
    backfill = as_json(bfplan("run", plan, "--force", "--mode", "backfill", "--json"))
    assert backfill["entity_failures"] == {"INCOMPLETE_DATA": 2}  # the breaker is not consulted


def test_every_printed_setting_has_its_test():
    tested = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    fields = {f.name for f in dataclasses.fields(Policy)} - {"mode"}
    assert fields <= tested, f"policy fields without a test of their effect: {sorted(fields - tested)}"
    # and validate prints exactly these, in both modes
    for policy in (BACKFILL, DAILY):
        assert [name for name, _, _ in policy.explain()] == [f.name for f in dataclasses.fields(Policy)][1:]
