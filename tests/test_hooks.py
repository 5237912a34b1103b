"""Each hook of the plugin API, implemented by a plugin written here and exercised through the
command line (as datasette tests its hooks: one ``test_hook_<name>`` per hook, and a test that
fails when a hook has none)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

from bfplan import hookspecs
from tests.conftest import as_json, db_rows

HEAD = """
name: hooks
dates: {{start: 2021-11-01, end: 2021-11-06}}
warehouse: {{type: {warehouse}, path: w.duckdb}}
plugins: ["{plugin}"]
{extra}
phases:
  - name: one
    processors: [{processors}]
{gates}
"""


def _plugin(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "hooked.py"
    path.write_text("from bfplan import hookimpl\n" + body)
    return path


def _plan(write_plan, plugin: Path, *, processors: str = "tally", warehouse: str = "duckdb", extra: str = "",
          gates: str = "") -> Path:
    return write_plan(HEAD.format(plugin=plugin, processors=processors, warehouse=warehouse, extra=extra, gates=gates))


TALLY = """
from bfplan.processors import SqlProcessor

@hookimpl
def bfplan_processors():
    return [SqlProcessor(name="tally", table="hooked.tally", partition_column="day",
                         sql="SELECT day, 1 AS n FROM UNNEST(@dates) AS day")]
"""


def _rows(tmp_path: Path, sql: str) -> list[tuple]:
    return db_rows(tmp_path / "w.duckdb", sql)


def test_hook_bfplan_processors(write_plan, bfplan, tmp_path):
    plan = _plan(write_plan, _plugin(tmp_path, TALLY))
    assert bfplan("run", plan).exit_code == 0
    assert _rows(tmp_path, "SELECT count(*) FROM hooked.tally") == [(6,)]


def test_hook_bfplan_gates(write_plan, bfplan, tmp_path):
    body = TALLY + """
from bfplan.gates.base import Finding, Gate, GateResult

class Even(Gate):
    name = "even_days"
    def check(self, ctx):
        odd = [d for d in ctx.dates if d.day % 2]
        return GateResult.from_findings([Finding(f"{d} is odd", "warn", date=d) for d in odd], "odd days")

@hookimpl
def bfplan_gates():
    return [Even()]
"""
    plan = _plan(write_plan, _plugin(tmp_path, body), gates="    gates: {after: [even_days]}")
    doc = as_json(bfplan("run", plan, "--json"))
    assert doc["gates"] == {"passed": 0, "warned": 1, "failed": 0}


def test_hook_bfplan_warehouses(write_plan, bfplan, tmp_path):
    body = TALLY + """
from bfplan.warehouse.duckdb import DuckDBWarehouse

class Audited(DuckDBWarehouse):
    kind = "audited"

@hookimpl
def bfplan_warehouses():
    return {"audited": lambda *, path, base_dir, read_only=False: Audited(str(base_dir / path), read_only=read_only)}
"""
    plan = _plan(write_plan, _plugin(tmp_path, body), warehouse="audited")
    assert bfplan("run", plan).exit_code == 0
    assert _rows(tmp_path, "SELECT count(*) FROM hooked.tally") == [(6,)]


def test_hook_bfplan_calendars(write_plan, bfplan, tmp_path):
    body = TALLY + """
from datetime import timedelta

@hookimpl
def bfplan_calendars():
    def weekdays(start, end, **_):
        d = start
        while d <= end:
            if d.weekday() < 5:
                yield d
            d += timedelta(days=1)
    return {"weekdays": weekdays}
"""
    plan = _plan(write_plan, _plugin(tmp_path, body))
    plan.write_text(plan.read_text().replace("end: 2021-11-06}", "end: 2021-11-06, calendar: weekdays}"))
    assert as_json(bfplan("validate", plan, "--json"))["to_run"] == 5  # Saturday the 6th is not a date


def test_hook_bfplan_on_event(write_plan, bfplan, tmp_path):
    out = tmp_path / "events.jsonl"
    body = TALLY + f"""
import json, threading

@hookimpl
def bfplan_on_event(event):
    with open({str(out)!r}, "a") as f:
        f.write(json.dumps({{"type": event.type, "thread": threading.current_thread().name}}) + "\\n")
"""
    plan = _plan(write_plan, _plugin(tmp_path, body), extra="mode: daily\nvars: {today: 2021-11-07}")
    assert bfplan("run", plan).exit_code == 0
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert events[0]["type"] == "run_started" and events[-1]["type"] == "run_finished"
    # delivered by one notifier thread, never by the workers that run nodes
    assert {e["thread"] for e in events} == {"bfplan-events"}


HOOKS = [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("bfplan_")]


def test_every_hook_has_its_test():
    tested = {name.removeprefix("test_hook_") for name in globals() if name.startswith("test_hook_")}
    assert set(HOOKS) <= tested, f"hooks without a test: {sorted(set(HOOKS) - tested)}"
