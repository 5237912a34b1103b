"""Which tables a SQL processor's query reads, and whether its ``inputs`` declare them.

Every ``dataset.table`` a query reads (sqlglot, BigQuery dialect; CTE names are not tables)
must be among its ``inputs``: the DAG orders a processor after the writers of its inputs only,
so an undeclared read would run before (or beside) the processor that writes it.
"""

from __future__ import annotations

from sqlglot import exp

from bfplan.errors import PlanIssue
from bfplan.plan.model import Plan, RegistryLike
from bfplan.processors import Processor, SqlProcessor
from bfplan.warehouse.dialect import _parse


def tables_read(sql: str) -> tuple[str, ...]:
    """The ``dataset.table`` names ``sql`` (BigQuery SQL) reads, sorted; () if it does not parse."""
    tree = _parse(sql)
    if isinstance(tree, str):
        return ()
    return tuple(sorted({f"{t.db}.{t.name}" for t in tree.find_all(exp.Table) if t.db and t.name}))


def sql_of(proc: Processor) -> str | None:
    """A SQL processor's query text (None: not SQL, or its file cannot be read)."""
    if not isinstance(proc, SqlProcessor):
        return None
    try:
        return proc.select_sql
    except OSError:
        return None


def plan_refs(plan: Plan) -> list[tuple[str, str]]:
    """(processor name, its path in the plan) for every processor the plan runs."""
    return [(ref.name, f"phases[{k}].processors[{j}]")
            for k, phase in enumerate(plan.phases) for j, ref in enumerate(phase.processors)]


def input_issues(plan: Plan, registry: RegistryLike) -> list[PlanIssue]:
    """A table a processor's SQL reads that its ``inputs`` do not declare."""
    issues = []
    for name, path in plan_refs(plan):
        proc = registry.processors.get(name)
        sql = sql_of(proc) if proc is not None else None
        if proc is None or sql is None:
            continue
        for table in tables_read(sql):
            if table not in proc.inputs and table != proc.table:
                issues.append(plan.issue(path, f"processor {name!r} reads {table} but does not declare it in "
                                               "inputs (run order would be wrong)"))
    return issues
