"""Helpers for testing a bfplan plugin, and the pytest plugin that offers them as fixtures.

Installed with bfplan (entry point ``pytest11``), so a plugin's own tests can ask for:

* ``bfplan_warehouse`` — a DuckDB warehouse in a file under the test's ``tmp_path``, closed after;
* ``run_plan(plan, **options)`` — the plan run as ``bfplan run PLAN --json`` would (options are
  the command's flags: ``force=True``, ``dates="2024-01-01,2024-01-02"``), a :class:`PlanRun`;
  ``command="validate"`` or ``"check"`` runs that command instead;
* ``run_processor(processor, dates, tables={table: [row, ...]}, params={...})`` — one processor
  over a batch of dates, its inputs made from rows (dicts), a :class:`ProcessorRun`;
* ``check_gate(gate, dates, options={...}, processors=[...])`` — one gate's verdict, a
  :class:`bfplan.gates.base.GateResult`.

The same functions can be imported and called without pytest. Importing this module imports
nothing of bfplan's engine: it loads in every pytest session of an environment bfplan is
installed in, so it must cost nothing there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from bfplan.gates.base import Gate, GateResult
    from bfplan.processors import Processor, SetAside
    from bfplan.warehouse.base import Warehouse

__all__ = ["PlanRun", "ProcessorRun", "check_gate", "run_plan", "run_processor"]


@dataclass
class PlanRun:
    """What a command did: its exit code, its JSON document (None if it printed none) and output."""

    exit_code: int
    doc: dict[str, Any] | None
    output: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass
class ProcessorRun:
    """What one processor wrote for a batch: its output rows (sorted as the table returns them,
    by partition), its failures by category and failure rows, and the records it set aside."""

    rows: list[dict[str, Any]]
    failures: dict[str, int] = field(default_factory=dict)
    failure_rows: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[SetAside] = field(default_factory=list)


def _flag(name: str, value: Any) -> list[str]:
    flag = "--" + name.rstrip("_").replace("_", "-")
    if value is True:
        return [flag]
    if value in (False, None):
        return []
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    return [flag, str(value)]


def run_plan(plan: str | Path, *, command: str = "run", **options: Any) -> PlanRun:
    """Run ``bfplan COMMAND PLAN --json`` in this process (``command``: run, validate, check,
    status, gaps); keyword options become the command's flags."""
    from click.testing import CliRunner

    from bfplan.cli import cli

    args = [command, str(plan), "--json"]
    for name, value in options.items():
        args += _flag(name, value)
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    try:
        doc = json.loads(result.stdout)
    except ValueError:
        doc = None
    return PlanRun(result.exit_code, doc, result.output)


_TYPES = ((bool, "BOOL"), (int, "INT64"), (float, "FLOAT64"), (datetime, "TIMESTAMP"), (date, "DATE"))


def _type_of(values: Iterable[Any]) -> str:
    for value in values:
        if value is None:
            continue
        for kind, name in _TYPES:
            if isinstance(value, kind):
                return name
        if isinstance(value, str) and len(value) == 10:
            try:
                date.fromisoformat(value)
                return "DATE"
            except ValueError:
                pass
        return "STRING"
    return "STRING"


def _value(value: Any, typ: str) -> Any:
    return date.fromisoformat(value) if typ == "DATE" and isinstance(value, str) else value


def load_rows(warehouse: Warehouse, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Create ``table`` from ``rows`` (dicts; column types read from the values: ``"YYYY-MM-DD"``
    strings are dates) and add the rows."""
    columns: dict[str, str] = {}
    for row in rows:
        for name in row:
            columns.setdefault(name, "")
    for name in columns:
        columns[name] = _type_of(row.get(name) for row in rows)
    if not columns:
        raise ValueError(f"{table}: give at least one row, so that its columns are known")
    warehouse.ensure_table(table, columns)
    warehouse.append_rows(table, columns, [[_value(r.get(c), t) for c, t in columns.items()] for r in rows])


def _days(dates: date | str | Iterable[date | str]) -> tuple[date, ...]:
    if isinstance(dates, (date, str)):
        dates = [dates]
    return tuple(sorted({d if isinstance(d, date) else date.fromisoformat(d) for d in dates}))


def run_processor(processor: Processor, dates: date | str | Iterable[date | str], *,
                  tables: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
                  params: Mapping[str, Any] | None = None, warehouse: Warehouse | None = None,
                  mode: str = "backfill") -> ProcessorRun:
    """Run ``processor`` over ``dates`` (a batch) on ``warehouse`` (default: a new in-memory
    DuckDB), after loading ``tables`` into it; return what it wrote. ``params`` are the plan's
    params as the processor sees them (``plan_dir`` defaults to the current folder). The
    processor's contract is not checked here: :func:`run_plan` runs it as a plan would."""
    from bfplan.processors import ProcessorContext
    from bfplan.warehouse.duckdb import DuckDBWarehouse

    days = _days(dates)
    if not days:
        raise ValueError("run_processor: give at least one date")
    own = warehouse is None
    wh: Warehouse = DuckDBWarehouse(":memory:", threads=1) if warehouse is None else warehouse
    try:
        for table, rows in (tables or {}).items():
            load_rows(wh, table, rows)
        bound = {"plan_dir": str(Path.cwd()), **(params or {})}
        bound = {**bound, **processor.bound_params(bound)}
        with wh.transaction() as tx:
            ctx = ProcessorContext(processor=processor, dates=days, params=bound, run_id="test", mode=mode,
                                   warehouse=wh, transaction=tx)
            result = processor.run(ctx) or ctx.result
        p = processor
        out = wh.query(f"SELECT * FROM {p.table} WHERE {p.partition_column} IN UNNEST(@dates) "
                       f"ORDER BY {p.partition_column}", {"dates": list(days)}) if wh.table_exists(p.table) else []
        failure_rows = []
        if p.failures_table and wh.table_exists(p.failures_table):
            failure_rows = wh.query(f"SELECT * FROM {p.failures_table} WHERE processor_name = @name "
                                    "AND analysis_date IN UNNEST(@dates) ORDER BY analysis_date, entity_id",
                                    {"name": p.name, "dates": list(days)})
        return ProcessorRun(out, dict(result.failures), failure_rows, list(result.quarantined))
    finally:
        if own:
            wh.close()


def check_gate(gate: Gate | str, dates: date | str | Iterable[date | str], *,
               options: Mapping[str, Any] | None = None, processors: Sequence[Processor] = (),
               upstream: Sequence[Processor] = (), tables: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
               warehouse: Warehouse | None = None, mode: str = "backfill", stage: str = "test") -> GateResult:
    """Check ``gate`` (a Gate, or the name of a built-in or installed one) over ``dates`` for
    ``processors`` on ``warehouse`` (default: a new in-memory DuckDB holding ``tables``)."""
    from bfplan.gates.base import GateContext
    from bfplan.warehouse.duckdb import DuckDBWarehouse

    if isinstance(gate, str):
        from bfplan.plugins import load_registry

        gate = load_registry([]).gates[gate]
    own = warehouse is None
    wh: Warehouse = DuckDBWarehouse(":memory:", threads=1) if warehouse is None else warehouse
    try:
        for table, rows in (tables or {}).items():
            load_rows(wh, table, rows)
        ctx = GateContext(gate=gate.name, stage=stage, options=dict(options or {}), processors=list(processors),
                          upstream=list(upstream), dates=list(_days(dates)), mode=mode, warehouse=wh, plan=None,
                          registry=None, run_id="test")
        return gate.check(ctx)
    finally:
        if own:
            wh.close()


# -- the pytest plugin ---------------------------------------------------------------------------


@pytest.fixture
def bfplan_warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    """A DuckDB warehouse in a file under ``tmp_path``, closed when the test ends."""
    from bfplan.warehouse.duckdb import DuckDBWarehouse

    wh = DuckDBWarehouse(tmp_path / "bfplan-test.duckdb", threads=1)
    try:
        yield wh
    finally:
        wh.close()


@pytest.fixture(name="run_plan")
def _run_plan_fixture() -> Any:
    """:func:`bfplan.testing.run_plan`."""
    return run_plan


@pytest.fixture(name="run_processor")
def _run_processor_fixture() -> Any:
    """:func:`bfplan.testing.run_processor`."""
    return run_processor


@pytest.fixture(name="check_gate")
def _check_gate_fixture() -> Any:
    """:func:`bfplan.testing.check_gate`."""
    return check_gate
