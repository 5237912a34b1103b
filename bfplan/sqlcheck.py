"""``validate`` compiles each SQL processor's query before anything runs (DuckDB).

Each query is described (``DESCRIBE``) in a scratch in-memory database where every table it
reads is an empty stand-in with the right columns: those the producing SQL processor's own
query yields (described first, in dependency order), a loader's declared ``columns``, a
failures table's, or the real table's. An unknown column or table is an issue naming the
processor and the line of the identifier in the author's SQL (its ``sql_path``'s line, or the
plan's line of the processor for inline SQL). The plan's warehouse is only read, never written.
(Which tables a query reads, and whether ``inputs`` declare them: :mod:`bfplan.sqlrefs`.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import duckdb

from bfplan import failures
from bfplan.errors import BfplanError, PlanError, PlanIssue, WarehouseError
from bfplan.modes import policy_for
from bfplan.plan.model import Plan, RegistryLike
from bfplan.processors import Processor, SqlProcessor
from bfplan.run.params import batch_params, processor_params
from bfplan.sqlrefs import plan_refs, sql_of, tables_read
from bfplan.warehouse.base import Warehouse, split_table
from bfplan.warehouse.dialect import compile_sql
from bfplan.warehouse.duckdb_common import DUCKDB_TYPES, qualified, quote

if TYPE_CHECKING:
    from bfplan.session import Session

#: a date to bind for ``@dates``: describing a query never reads a row
_SOME_DAY = date(2000, 1, 1)

#: the scratch database the stand-ins live in (an in-memory DuckDB)
SCRATCH = "memory"


def _duck_type(bigquery_type: str) -> str:
    return DUCKDB_TYPES.get(bigquery_type, "VARCHAR")


class _Scratch:
    """Stand-in tables in a scratch database, and each SQL processor's described output."""

    def __init__(self, plan: Plan, registry: RegistryLike, warehouse: Warehouse | None) -> None:
        self.plan, self.registry, self.warehouse = plan, registry, warehouse
        self.db = duckdb.connect(":memory:")
        self.policy = policy_for(plan.mode)
        self.producers: dict[str, Processor] = {}
        for proc in registry.processors.values():
            self.producers.setdefault(proc.table, proc)
        self.failure_tables = {p.failures_table: p for p in registry.processors.values() if p.failures_table}
        self.columns: dict[str, dict[str, str] | None] = {}  # table → DuckDB-typed columns
        self.problems: dict[str, tuple[SqlProcessor, str]] = {}  # processor → its query's error
        self.created: set[str] = set()
        self._busy: set[str] = set()

    def close(self) -> None:
        self.db.close()

    def table(self, table: str) -> dict[str, str] | None:
        """The columns ``table`` has (or will have), or None when nothing can tell."""
        if table not in self.columns:
            if table in self._busy:
                return None  # a cycle: reported by the DAG checks
            self._busy.add(table)
            try:
                self.columns[table] = self._find(table)
            finally:
                self._busy.discard(table)
        return self.columns[table]

    def _find(self, table: str) -> dict[str, str] | None:
        proc = self.producers.get(table)
        if isinstance(proc, SqlProcessor):
            out = self.describe(proc)
            if out is not None:
                if proc.failures_table:
                    out = {c: t for c, t in out.items() if c not in failures.FAILURE_ONLY}
                return out
        declared = getattr(proc, "columns", None)
        if isinstance(declared, Mapping) and declared:
            return {str(c): _duck_type(str(t)) for c, t in declared.items()}
        owner = self.failure_tables.get(table)
        if owner is not None:
            return {c: _duck_type(t) for c, t in owner.failure_table_columns().items()}
        return self._real(table)

    def _real(self, table: str) -> dict[str, str] | None:
        """The real table's columns, read from a DuckDB warehouse (never written)."""
        native = getattr(self.warehouse, "native", None)
        if native is None:
            return None
        try:
            if not self.warehouse.table_exists(table):  # type: ignore[union-attr]
                return None
            rows = native(f"DESCRIBE {qualified(table, getattr(self.warehouse, 'catalog', 'memory'))}")
        except (WarehouseError, duckdb.Error, RuntimeError):
            return None
        return {str(r[0]): str(r[1]) for r in rows}

    def params(self, proc: Processor) -> dict[str, Any] | None:
        """What ``proc``'s query binds for one day, or None when its own params cannot be had (a
        missing or bad file is the preflight gate's to report)."""
        own = processor_params(self.plan, proc.name, self.policy)
        try:
            own = {**own, **proc.bound_params(own)}
        except (OSError, ValueError):
            return None
        return batch_params(own, [_SOME_DAY], run_id="validate", processor=proc.name, mode=self.plan.mode)

    def describe(self, proc: SqlProcessor) -> dict[str, str] | None:
        """The columns ``proc``'s query yields over stand-ins, or None (its problem recorded)."""
        sql = sql_of(proc)
        if sql is None:
            return None
        for table in (*proc.inputs, *tables_read(sql)):
            if table == proc.table:
                continue
            cols = self.table(table)
            if cols is None:
                return None  # an input nothing can describe: no verdict
            self._stand_in(table, cols)
        params = self.params(proc)
        if params is None:
            return None
        try:
            compiled = compile_sql(sql, "duckdb")
            rows = self.db.execute(f"DESCRIBE {compiled.sql}", compiled.bind(params)).fetchall()
        except (WarehouseError, duckdb.Error, RuntimeError) as exc:
            self.problems[proc.name] = (proc, str(exc))
            return None
        return {str(r[0]): str(r[1]) for r in rows}

    def _stand_in(self, table: str, cols: Mapping[str, str]) -> None:
        if table in self.created:
            return
        dataset, _ = split_table(table)
        body = ", ".join(f"{quote(c)} {t}" for c, t in cols.items())
        self.db.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(dataset)}")
        self.db.execute(f"CREATE TABLE {qualified(table, SCRATCH)} ({body})")
        self.created.add(table)


_QUOTED = re.compile(r'"([^"]+)"')


def explain_error(text: str) -> tuple[str, str | None]:
    """DuckDB's error as one short message, and the identifier it names (if any)."""
    first = text.strip().splitlines()[0] if text.strip() else text
    kind, _, detail = first.partition(" Error: ")
    detail = (detail or first).replace(" in FROM clause!", "").rstrip("!")
    detail = re.sub(r"^Referenced column ", "column ", detail)
    detail = re.sub(r'^Table "(\w+)" does not have a column named "(\w+)"', r'column "\1.\2" not found', detail)
    found = _QUOTED.search(detail)
    name = found.group(1).rsplit(".", 1)[-1] if found else None
    hint = ""
    candidates = re.search(r"Candidate bindings: (.*)", text)
    if candidates:
        options = [c.rsplit(".", 1)[-1] for c in _QUOTED.findall(candidates.group(1))]
        hint = f" (did you mean {', '.join(options[:3])}?)" if options else ""
    elif kind.strip() == "Catalog" and (mean := re.search(r"Did you mean (.*)", text)):
        hint = f" (did you mean {mean.group(1).strip().rstrip('?')}?)"
    return detail + hint, name


def locate(sql: str, name: str | None) -> tuple[int, int] | None:
    """Line and column (1-based) of the first whole-word ``name`` in ``sql``."""
    if not name:
        return None
    m = re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", sql) or re.search(rf"(?<!\w){re.escape(name)}(?!\w)", sql)
    if not m:
        return None
    line = sql.count("\n", 0, m.start()) + 1
    return line, m.start() - (sql.rfind("\n", 0, m.start()) + 1) + 1


def compile_issues(plan: Plan, registry: RegistryLike, warehouse: Warehouse | None) -> list[PlanIssue]:
    """Each SQL processor of the plan whose query does not compile over its inputs' columns."""
    scratch = _Scratch(plan, registry, warehouse)
    issues = []
    try:
        for name, path in plan_refs(plan):
            proc = registry.processors.get(name)
            if isinstance(proc, SqlProcessor) and name not in scratch.problems:
                scratch.describe(proc)
            if name not in scratch.problems:
                continue
            proc, text = scratch.problems[name]
            message, ident = explain_error(text)
            sql = proc.sql if proc.sql_path is None else proc.sql_path.read_text(encoding="utf-8")
            where = locate(sql, ident)
            if proc.sql_path is not None and where:
                issues.append(PlanIssue(str(proc.sql_path), where[0], where[1], "",
                                        f"processor {name!r}: {message}"))
            else:
                at = f"SQL line {where[0]}: " if where else ""
                issues.append(plan.issue(path, f"processor {name!r}: {at}{message}"))
    finally:
        scratch.close()
    return issues


def check_sql(session: Session) -> None:
    """Raise ``PlanError`` listing every SQL processor of a DuckDB plan whose query does not
    compile (a BigQuery plan's queries are dry-run by the cost estimate instead)."""
    if session.warehouse_config.get("type", "duckdb") != "duckdb":
        return
    try:
        warehouse: Warehouse | None = session.warehouse
    except BfplanError:
        warehouse = None  # held by a run, or unreadable: stand-ins come from the plugins alone
    issues = compile_issues(session.plan, session.registry, warehouse)
    if issues:
        raise PlanError(issues)
