"""An exception in plugin code is said in one line naming the plugin, the file:line of its code
and the exception; the traceback is kept (ledger, gate result) and printed with --traceback."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bfplan.events import Event
from bfplan.modes import policy_for
from bfplan.plugins import load_registry
from bfplan.run.events import EventBus
from tests.conftest import as_json, db_rows

PLUGIN = '''
from dataclasses import dataclass
from pathlib import Path
from bfplan import hookimpl
from bfplan.gates.base import Gate, GateResult
from bfplan.processors import Processor, SqlProcessor


def helper(x):
    return x // 0


@dataclass(frozen=True)
class Ratio(Processor):
    def run(self, ctx):
        return helper(1)


class Picky(Gate):
    name = "picky"

    def check(self, ctx):
        return GateResult("pass", [], str({}["minimum"]))


def broken(start, end, **kw):
    raise ValueError("no holidays file")


@hookimpl
def bfplan_processors():
    return [Ratio(name="ratio", table="t.ratio", partition_column="day"),
            SqlProcessor(name="fromfile", table="t.ff", partition_column="day",
                         sql_path=Path(__file__).parent / "q.sql")]


@hookimpl
def bfplan_gates():
    return [Picky()]


@hookimpl
def bfplan_calendars():
    return {"broken": broken}


@hookimpl
def bfplan_on_event(event):
    raise RuntimeError("webhook down")
'''
SQL = "SELECT day,\n  1 AS a,\n  nosuchcol AS b\nFROM UNNEST(@dates) AS day\n"


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    path = tmp_path / "my_plugin.py"
    path.write_text(PLUGIN.lstrip())
    (tmp_path / "q.sql").write_text(SQL)
    return path


def plan_of(write_plan, plugin: Path, processors: str, extra: str = "", dates: str = "") -> Path:
    return write_plan(f"""
        name: errs
        dates: {{start: 2021-11-01, end: 2021-11-02{dates}}}
        warehouse: {{type: duckdb, path: w.duckdb}}
        plugins: ["{plugin}"]
        phases:
          - name: one
            processors: [{processors}]
        """ + textwrap.indent(textwrap.dedent(extra), " " * 4))


def test_a_processor_error_names_the_plugin_and_the_innermost_plugin_line(write_plan, bfplan, plugin, tmp_path):
    plan = plan_of(write_plan, plugin, "ratio")
    result = bfplan("run", plan, "--json")
    assert result.exit_code == 1
    failure = as_json(result)["failures"][0]
    line = line_of(PLUGIN.lstrip(), "return x // 0")
    assert failure["error"] == (f"processor 'ratio' (plugin my_plugin, {plugin}:{line}) raised ZeroDivisionError: "
                                "integer division or modulo by zero")
    assert failure["traceback"].startswith("Traceback (most recent call last):")
    assert failure["traceback"].endswith("ZeroDivisionError: integer division or modulo by zero")
    # kept in the ledger with the failed partitions
    kept = db_rows(tmp_path / "w.duckdb", "SELECT error, traceback FROM bfplan.partition_log WHERE status = 'failed'")
    assert len(kept) == 2 and all(e == failure["error"] and t == failure["traceback"] for e, t in kept)


def test_the_traceback_is_printed_with_traceback_or_v_and_shown_by_explain(write_plan, bfplan, plugin):
    plan = plan_of(write_plan, plugin, "ratio")
    plain = bfplan("run", plan)
    assert "Traceback" not in plain.stderr
    for flag in ("--traceback", "-v"):
        shown = bfplan("run", plan, flag)
        assert "    Traceback (most recent call last):" in shown.stderr
        assert f'File "{plugin}", line {line_of(PLUGIN.lstrip(), "return x // 0")}, in helper' in shown.stderr
    explained = bfplan("explain", plan, "ratio", "2021-11-01")
    assert "traceback of the latest failure:\n  Traceback (most recent call last):" in explained.stdout


def test_a_gate_that_raises_is_its_code_not_the_data(write_plan, bfplan, plugin, tmp_path):
    plan = plan_of(write_plan, plugin, "ratio", "gates: {before: [picky]}")
    line = line_of(PLUGIN.lstrip(), '{}["minimum"]')
    expected = f"gate 'picky' (plugin my_plugin, {plugin}:{line}) raised KeyError: 'minimum'"
    result = bfplan("run", plan)
    assert result.exit_code == 1
    assert f"  FAILED gate picky (before phase one): {expected}\n" in result.stderr
    assert f"next: the gate's code raised: fix it at {plugin}:{line} " in result.stderr
    assert "fix the data" not in result.stderr
    check = bfplan("check", plan, "--json", "--traceback")
    gate = as_json(check)["gates"][0]
    assert gate["summary"] == expected
    assert gate["traceback"].endswith("KeyError: 'minimum'")
    kept = db_rows(tmp_path / "w.duckdb", "SELECT traceback FROM bfplan.gate_results WHERE status = 'fail'")
    assert kept and all(t.endswith("KeyError: 'minimum'") for (t,) in kept)
    printed = bfplan("check", plan, "--traceback")
    assert "KeyError: 'minimum'\n" in printed.stderr and "Traceback (most recent call last):" in printed.stderr


def test_a_calendar_that_raises_names_its_plugin_and_line(write_plan, bfplan, plugin):
    plan = plan_of(write_plan, plugin, "ratio", dates=", calendar: broken")
    line = line_of(PLUGIN.lstrip(), 'raise ValueError("no holidays file")')
    for command in ("run", "check", "validate"):
        result = bfplan(command, plan)
        assert result.exit_code == 2
        assert result.stderr.endswith(f": dates.calendar: calendar 'broken' (plugin my_plugin, {plugin}:{line}) "
                                      "raised ValueError: no holidays file\n")


def test_an_event_hook_that_raises_is_one_located_warning(plugin):
    registry = load_registry([plugin], autoload=False)
    bus = EventBus(registry.pm, policy_for("daily"), "errs")
    with capture_logs() as logs:
        bus.deliver(Event("run_finished", "r1", "errs", {}))
    line = line_of(PLUGIN.lstrip(), 'raise RuntimeError("webhook down")')
    warning = logs[0]
    assert warning["log_level"] == "warning" and warning["kind"] == "run_finished"
    assert warning["error"] == (f"event hook 'bfplan_on_event' (plugin my_plugin, {plugin}:{line}) raised "
                                "RuntimeError: webhook down")
    assert all("webhook down" in str(entry.get("traceback", "RuntimeError: webhook down")) for entry in logs)


def test_an_sql_file_error_names_the_authors_file_and_line(write_plan, bfplan, plugin, tmp_path):
    plan = plan_of(write_plan, plugin, "fromfile")
    result = bfplan("run", plan, "--json")
    assert result.exit_code == 1
    error = as_json(result)["failures"][0]["error"]
    assert error == ('WarehouseError: creating t.ff: Binder Error: Referenced column "nosuchcol" not found in FROM '
                     f'clause! Candidate bindings: "day" (at {tmp_path / "q.sql"}:3: nosuchcol AS b)')


def test_a_module_of_a_package_is_named_after_its_package(tmp_path):
    from bfplan.plugin_errors import plugin_name

    (tmp_path / "energy").mkdir()
    (tmp_path / "energy" / "__init__.py").write_text("")
    (tmp_path / "energy" / "plugin.py").write_text("")
    (tmp_path / "loose.py").write_text("")
    assert plugin_name(str(tmp_path / "energy" / "plugin.py")) == "energy"
    assert plugin_name(str(tmp_path / "energy" / "__init__.py")) == "energy"
    assert plugin_name(str(tmp_path / "loose.py")) == "loose"
    assert plugin_name("shop-plugin 1.0") == "shop-plugin"


def test_an_inline_sql_error_names_the_processor_and_its_sql_line():
    from types import SimpleNamespace

    from bfplan.sql_errors import sql_error

    proc = SimpleNamespace(name="daily", sql="SELECT day,\n  SUM(kwhh) AS total\nFROM energy.readings", sql_path=None)
    error = ('WarehouseError: creating energy.daily: Binder Error: Referenced column "kwhh" not found in FROM clause!'
             '\nLINE 1: CREATE TABLE x AS SELECT * FROM (SELECT day, SUM(kwhh) ...')
    assert sql_error(proc, error) == ('WarehouseError: creating energy.daily: Binder Error: Referenced column "kwhh" '
                                      "not found in FROM clause! (processor 'daily', SQL line 2: SUM(kwhh) AS total)")
