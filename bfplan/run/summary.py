"""What a run did: the ``run --json`` document, and the ledger records of what never started."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from bfplan.dag import Dag, GateNode, NodeId, ProcNode
from bfplan.ledger.clock import utcnow
from bfplan.ledger.ledger import Ledger
from bfplan.plugins import Registry
from bfplan.run.node import NodeOutcome
from bfplan.run.selection import Work
from bfplan.status import GateStatus, PartitionStatus, RunStatus

_PARTITION_KEYS = {PartitionStatus.DONE: "done", PartitionStatus.FAILED: "failed",
                   PartitionStatus.CIRCUIT_BROKEN: "circuit_broken", PartitionStatus.BLOCKED: "blocked"}
_GATE_KEYS = {GateStatus.PASS: "passed", GateStatus.WARN: "warned", GateStatus.FAIL: "failed"}


@dataclass
class RunSummary:
    """The ``run --json`` document, plus details for the human summary."""

    run_id: str
    plan: str
    status: RunStatus
    partitions: dict[str, int]
    gates: dict[str, int]
    duration_s: float
    failures: list[dict[str, Any]] = field(default_factory=list)
    blocked_by: list[dict[str, Any]] = field(default_factory=list)
    entity_failures: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    #: rows set aside by contracts or loaders, per processor (in ``bfplan.quarantine``)
    quarantined: dict[str, int] = field(default_factory=dict)
    #: the machine refused a write (disk full, ...) and the run stopped: exit 3
    stopped_by: str | None = None
    #: per processor whose breaker is open: partitions not run, and downstream partitions blocked
    circuit_broken_by: dict[str, dict[str, int]] = field(default_factory=dict)
    #: gates that warned: which, and their first findings
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "plan": self.plan, "status": str(self.status),
            "partitions": self.partitions, "gates": self.gates, "duration_s": round(self.duration_s, 3),
            "rows": self.rows, "entity_failures": self.entity_failures, "quarantined": self.quarantined,
            "failures": self.failures, "blocked_by": self.blocked_by, "stopped_by": self.stopped_by,
            "circuit_broken_by": self.circuit_broken_by, "warnings": self.warnings,
        }


def _label(node: NodeId) -> str:
    if isinstance(node, GateNode):
        return f"gate {node.gate} ({node.stage})"
    return node.processor if isinstance(node, ProcNode) else node.label


def _blocked_by_cause(g: nx.DiGraph, outcomes: Mapping[NodeId, NodeOutcome], *,
                      dated: bool = False) -> dict[str, set[NodeId]]:
    """Each failed node or gate (by label; ``dated``: a node's with its dates), and the
    processor nodes it kept from running."""
    by_cause: dict[str, set[NodeId]] = {}
    for node, o in outcomes.items():
        if o.status in (PartitionStatus.FAILED, GateStatus.FAIL):
            down = {n for n in nx.descendants(g, node) if isinstance(n, ProcNode) and n not in outcomes}
            label = _node_label(node, o) if dated and isinstance(node, ProcNode) else _label(node)
            by_cause.setdefault(label, set()).update(down)
    return by_cause


def _node_label(node: NodeId, o: NodeOutcome) -> str:
    return f"{_label(node)} {o.dates[0]}..{o.dates[-1]}" if o.dates else _label(node)


def summarize(run_id: str, plan: str, work: Work, dag: Dag, outcomes: Mapping[NodeId, NodeOutcome], *,
              interrupted: bool, duration: float, stopped_by: str | None) -> RunSummary:
    """Count partitions and gates by outcome; name what failed and what each failure blocked."""
    parts = Counter({"done": 0, "skipped": work.already_done, "failed": 0, "blocked": 0, "circuit_broken": 0})
    gates = Counter({"passed": 0, "warned": 0, "failed": 0})
    failures: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    entity: Counter[str] = Counter()
    quarantined: Counter[str] = Counter()
    rows = 0
    g = dag.graph
    for node, o in outcomes.items():
        if isinstance(node, ProcNode):
            parts[_PARTITION_KEYS[PartitionStatus(o.status)]] += len(o.dates)
            rows += o.rows
            entity.update(o.failures)
            if o.quarantined:
                quarantined[node.processor] += sum(o.quarantined.values())
            if o.status == PartitionStatus.FAILED:
                failures.append({"node": f"{node.processor} {o.dates[0]}..{o.dates[-1]}", "error": o.error,
                                 "traceback": o.traceback})
        else:
            gates[_GATE_KEYS[GateStatus(o.status)]] += 1
            if o.status == GateStatus.FAIL:
                bad = [f for f in (o.gate.findings if o.gate else []) if f.status == GateStatus.FAIL]
                failures.append({"node": _label(node), "error": o.error,
                                 "dates": sorted({f.date.isoformat() for f in bad if f.date}),
                                 "findings": [f.as_dict() for f in bad[:5]], "gate": True,
                                 "traceback": o.traceback})
            elif o.status == GateStatus.WARN:
                said = [f for f in (o.gate.findings if o.gate else []) if f.status == GateStatus.WARN]
                warnings.append({"node": _label(node), "summary": o.gate.summary if o.gate else "",
                                 "findings": [f.as_dict() for f in said[:3]], "more": max(0, len(said) - 3)})
    never_ran = [n for n in g if isinstance(n, ProcNode) and n not in outcomes]
    for n in never_ran:
        parts["blocked"] += len(g.nodes[n]["dates"])
    by_cause = _blocked_by_cause(g, outcomes)
    blocked_by = [{"node": cause, "blocked_nodes": len(down),
                   "blocked_partitions": sum(len(g.nodes[n]["dates"]) for n in down),
                   "first_date": str(min(g.nodes[n]["dates"][0] for n in down))}
                  for cause, down in by_cause.items() if down]
    broken_by: dict[str, dict[str, int]] = {}
    for node, o in outcomes.items():
        if isinstance(node, ProcNode) and o.status == PartitionStatus.CIRCUIT_BROKEN:
            entry = broken_by.setdefault(node.processor, {"partitions": 0, "blocked": 0})
            entry["partitions"] += len(o.dates)
            entry["blocked"] += sum(len(g.nodes[n]["dates"]) for n in nx.descendants(g, node)
                                    if isinstance(n, ProcNode) and n not in outcomes)
    broken = parts["circuit_broken"] > 0
    status = (RunStatus.INTERRUPTED if interrupted
              else RunStatus.FAILED if failures or never_ran or broken or stopped_by else RunStatus.SUCCEEDED)
    return RunSummary(run_id, plan, status, dict(parts), dict(gates), duration, failures, blocked_by, dict(entity),
                      rows, dict(quarantined), stopped_by, dict(sorted(broken_by.items())), warnings)


def record_unstarted(ledger: Ledger, registry: Registry, run_id: str, g: nx.DiGraph,
                     outcomes: Mapping[NodeId, NodeOutcome], blocked: set[NodeId]) -> None:
    """Ledger records for the partitions this run did not start: blocked by a failure upstream,
    held by an open circuit breaker, or queued when the run stopped."""
    unstarted = (PartitionStatus.CIRCUIT_BROKEN, PartitionStatus.BLOCKED)
    cause: dict[NodeId, str] = {}
    for label, down in sorted(_blocked_by_cause(g, outcomes, dated=True).items(), reverse=True):
        cause.update(dict.fromkeys(down, label))  # the first cause (by name) wins
    for node in [*blocked, *(n for n, o in outcomes.items() if o.status in unstarted)]:
        if not isinstance(node, ProcNode) or (node in outcomes and outcomes[node].status not in unstarted):
            continue
        status = PartitionStatus(outcomes[node].status) if node in outcomes else PartitionStatus.BLOCKED
        why = outcomes[node].error if node in outcomes else (f"blocked by {cause[node]}, which failed" if node in cause
                                                            else "blocked by an upstream failure")
        proc = registry.processors[node.processor]
        ledger.buffer(ledger.partition_records(
            run_id, node.processor, proc.table, g.nodes[node]["dates"], status, attempt=0, started_at=utcnow(),
            error="circuit breaker open" if status == PartitionStatus.CIRCUIT_BROKEN else why))
    ledger.flush()
