"""``bfplan explain PLAN PROCESSOR DATE``: why one partition is what it is.

Everything the ledger and the data say about one partition, in one place: its write history,
its entity failures, the rows set aside for it, what gates said of it, what it read (then and
now), its gaps — and the chain of upstream gaps it was built on, followed back to the first
partition whose problem is its own (the root cause).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bfplan.failures import STANDS
from bfplan.gaps import Gap, find_gaps
from bfplan.ledger.ledger import Ledger
from bfplan.ledger.lineage import VersionIndex, current_reads
from bfplan.ledger.tables import PARTITIONS, QUARANTINE
from bfplan.plan.model import Plan
from bfplan.plugins import Registry
from bfplan.processors import Processor
from bfplan.warehouse.base import Warehouse, check_identifier

#: how far upstream the root-cause chain is followed
MAX_DEPTH = 8
SHOWN = 10


@dataclass
class Explanation:
    """What :func:`explain` found (``as_dict`` is the ``--json`` document)."""

    processor: str
    table: str
    date: date
    state: dict[str, Any] | None
    rows_now: int | None
    history: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    quarantined_total: int = 0
    gates: list[dict[str, Any]] = field(default_factory=list)
    reads: list[dict[str, Any]] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    #: (depth, gap): this partition's gaps, then the upstream gaps they were built on
    chain: list[tuple[int, Gap]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "processor": self.processor, "table": self.table, "date": self.date.isoformat(), "state": self.state,
            "rows_now": self.rows_now, "history": self.history, "failures": self.failures,
            "quarantined": self.quarantined, "quarantined_total": self.quarantined_total, "gates": self.gates,
            "reads": self.reads, "gaps": [g.as_dict() for g in self.gaps],
            "chain": [{"depth": depth, **g.as_dict()} for depth, g in self.chain],
        }


def upstream_of(registry: Registry, plan: Plan, name: str) -> list[str]:
    """``name`` and every processor of the plan it reads from, directly or not."""
    in_plan = {r.name for _, r in plan.processor_refs()}
    producers = {registry.processors[n].table: n for n in in_plan}
    seen, todo = [name], deque([name])
    while todo:
        for table in registry.processors[todo.popleft()].inputs:
            up = producers.get(table)
            if up and up not in seen:
                seen.append(up)
                todo.append(up)
    return seen


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}


def explain(plan: Plan, registry: Registry, wh: Warehouse, name: str, day: date) -> Explanation:
    """Everything about partition (``name``, ``day``) of ``plan``, and its root cause."""
    proc = registry.processors[name]
    ledger = Ledger(wh, plan.name)
    current = ledger.current([name], day, day).get((name, day))
    out = Explanation(name, proc.table, day, current.as_dict() if current else None, _rows_now(wh, proc, day))
    if ledger.has(PARTITIONS):
        tb = "traceback" if "traceback" in wh.table_columns(PARTITIONS) else "CAST(NULL AS STRING) AS traceback"
        out.history = [_jsonable(r) for r in wh.query(
            f"SELECT run_id, status, attempt, row_count AS rows, finished_at, error, {tb} FROM {PARTITIONS} "
            "WHERE plan_name = @plan AND processor = @p AND partition_date = @d ORDER BY recorded_ns DESC LIMIT @n",
            {"plan": plan.name, "p": name, "d": day, "n": SHOWN})]
    out.failures = _failures(wh, proc, day)
    out.quarantined, out.quarantined_total = _quarantined(wh, plan.name, name, day)
    out.gates = _gate_findings(ledger, name, day)
    out.reads = _reads(wh, ledger, plan.name, name, day)
    names = upstream_of(registry, plan, name)
    gaps = find_gaps(plan, registry, wh, processors=names)
    by_key: dict[tuple[str, date], list[Gap]] = {}
    for g in gaps:
        by_key.setdefault((g.processor, g.date), []).append(g)
    out.gaps = by_key.get((name, day), [])
    out.chain = _chain(by_key, (name, day))
    return out


def _chain(by_key: dict[tuple[str, date], list[Gap]], start: tuple[str, date]) -> list[tuple[int, Gap]]:
    """The partition's gaps, then, depth first, the gaps of the partitions they name as causes."""
    chain: list[tuple[int, Gap]] = []
    seen = {start}

    def walk(key: tuple[str, date], depth: int) -> None:
        for g in by_key.get(key, []):
            chain.append((depth, g))
            for cause in g.causes:
                if cause not in seen and depth < MAX_DEPTH:
                    seen.add(cause)
                    walk(cause, depth + 1)

    walk(start, 0)
    return chain


def _rows_now(wh: Warehouse, proc: Processor, day: date) -> int | None:
    if not wh.table_exists(proc.table):
        return None
    col = check_identifier(proc.partition_column)
    return wh.query(f"SELECT COUNT(*) AS n FROM {proc.table} WHERE {col} = @d", {"d": day})[0]["n"]


def _failures(wh: Warehouse, proc: Processor, day: date) -> list[dict[str, Any]]:
    if not proc.failures_table or not wh.table_exists(proc.failures_table):
        return []
    rows = wh.query(
        f"SELECT failure_category AS category, COUNT(*) AS n, STRING_AGG(entity_id, ', ' ORDER BY entity_id "
        f"LIMIT {SHOWN}) AS examples, ANY_VALUE(failure_reason) AS reason FROM {proc.failures_table} "
        f"WHERE processor_name = @p AND analysis_date = @d AND {STANDS} GROUP BY 1 ORDER BY 2 DESC",
        {"p": proc.name, "d": day})
    return [dict(r) for r in rows]


def _quarantined(wh: Warehouse, plan_name: str, name: str, day: date) -> tuple[list[dict[str, Any]], int]:
    if not wh.table_exists(QUARANTINE):
        return [], 0
    params = {"plan": plan_name, "p": name, "d": day}
    where = "WHERE plan_name = @plan AND processor = @p AND partition_date = @d"
    total = wh.query(f"SELECT COUNT(*) AS n FROM {QUARANTINE} {where}", params)[0]["n"]
    rows = wh.query(f"SELECT run_id, action, rule, row_key, detail, source FROM {QUARANTINE} {where} "
                    "ORDER BY recorded_ns DESC LIMIT @n", {**params, "n": SHOWN})
    return [dict(r) for r in rows], total


def _gate_findings(ledger: Ledger, name: str, day: date) -> list[dict[str, Any]]:
    """What the latest verdict of each gate said of this partition."""
    latest: dict[str, dict[str, Any]] = {}
    for r in ledger.gate_results():
        latest[r.get("gate_key") or f"{r['stage']}:{r['gate']}"] = r
    said = []
    for r in latest.values():
        findings = r["findings"] if isinstance(r["findings"], list) else json.loads(r["findings"] or "[]")
        for f in findings:
            if f.get("processor") == name and f.get("date") == day.isoformat():
                said.append({"gate": r["gate"], "stage": r["stage"], "status": f.get("status"), "run_id": r["run_id"],
                             "detail": f.get("detail")})
    return said


def _reads(wh: Warehouse, ledger: Ledger, plan_name: str, name: str, day: date) -> list[dict[str, Any]]:
    """Each input window the current version read: partitions and rows then, and now."""
    reads = current_reads(wh, plan_name, name, day)
    if not reads:
        return []
    now = VersionIndex.from_state(ledger.current({r.input_processor for r in reads}))
    out = []
    for r in sorted(reads, key=lambda r: r.input_processor):
        w = now.window(r.input_processor, r.window_start, r.window_end)
        out.append({"input": r.input_processor, "window_start": r.window_start.isoformat(),
                    "window_end": r.window_end.isoformat(), "partitions_then": r.input_partitions,
                    "rows_then": r.input_rows, "partitions_now": w.partitions, "rows_now": w.rows,
                    "rewritten_since": w.version > r.max_input_version})
    return out
