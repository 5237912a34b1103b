"""Running one node: a processor over a batch of dates, or a gate.

A processor node runs in one warehouse transaction: the processor writes its partitions, the
ledger's ``done`` marks and the lineage rows go into the same transaction, so a partition is
done exactly when its data committed. A failure is retried when :mod:`bfplan.run.retry` says
so; the ledger keeps every attempt. A gate node is :func:`bfplan.run.gates.evaluate`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

import structlog

from bfplan.contracts import Contract, effective
from bfplan.dag import GateNode, GateSpec, NodeId, ProcNode
from bfplan.errors import WarehouseError
from bfplan.failures import CIRCUIT_BREAKER_ACTIVE, NOT_DATE_LEVEL
from bfplan.gates.base import GateResult
from bfplan.ledger.breakers import Breakers
from bfplan.ledger.clock import monotonic_ns, utcnow
from bfplan.ledger.ledger import Ledger, record_version
from bfplan.ledger.lineage import Producers, Version, VersionIndex, lineage_records
from bfplan.ledger.tables import LINEAGE, QUARANTINE
from bfplan.modes import Policy
from bfplan.plan.model import Plan
from bfplan.plugin_errors import full_traceback, raised
from bfplan.plugins import Registry
from bfplan.processors import Processor, ProcessorContext, SetAside
from bfplan.run.breakers import BreakerState
from bfplan.run.contract_check import ContractViolation, enforce
from bfplan.run.events import EventBus
from bfplan.run.gates import evaluate, fingerprint, gate_context
from bfplan.run.params import processor_params
from bfplan.run.retry import FailureKind, backoff_s, classify
from bfplan.run.stop import StopRequest
from bfplan.sources import encode, file_states
from bfplan.sql_errors import sql_error
from bfplan.status import GateStatus, PartitionStatus
from bfplan.warehouse.base import Warehouse

log = structlog.get_logger("bfplan.run")


@dataclass
class NodeOutcome:
    """What happened to one node."""

    node: NodeId
    status: PartitionStatus | GateStatus
    error: str | None = None
    attempts: int = 1
    rows: int = 0
    gate: GateResult | None = None
    dates: tuple[date, ...] = ()
    failures: dict[str, int] = field(default_factory=dict)
    #: rows set aside by the processor's contract, per rule
    quarantined: dict[str, int] = field(default_factory=dict)
    #: of a failure that raised: the full traceback (``error`` says it in one line)
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        """Whether what depends on this node may run."""
        return self.status in (PartitionStatus.DONE, GateStatus.PASS, GateStatus.WARN)


@dataclass
class RunContext:
    """What every node of one run shares."""

    plan: Plan
    registry: Registry
    warehouse: Warehouse
    ledger: Ledger
    policy: Policy
    mode: str
    run_id: str
    versions: VersionIndex
    producers: Producers
    breakers: BreakerState
    events: EventBus
    stop: StopRequest
    phase_dates: Mapping[str, list[date]]
    sleep: Callable[[float], None]
    #: why the run stopped early (the machine refused a write), if it did
    stopped_by: str | None = None

    def keep(self, records: list[tuple], *, flush: bool = False) -> None:
        """Buffer ledger records of a failure; a ledger that cannot take them (disk full) loses
        only the record that the node failed, and the next run does the node again."""
        try:
            if records:
                self.ledger.buffer(records)
            if flush:
                self.ledger.flush()
        except WarehouseError as exc:
            log.warning("could not record a failure in the ledger", error=str(exc))


def run_processor(run: RunContext, node: ProcNode, dates: tuple[date, ...]) -> NodeOutcome:
    """Run one processor batch with its retries; never raises for the processor's failure."""
    name = node.processor
    if run.breakers.is_open(name):  # tripped while this node waited in the queue
        return NodeOutcome(node, PartitionStatus.CIRCUIT_BROKEN, dates=dates, error=f"circuit breaker open for {name}")
    if run.stopped_by is not None:  # queued before the warehouse refused a write: not started
        return NodeOutcome(node, PartitionStatus.BLOCKED, dates=dates, error="not started: the run stopped")
    proc = run.registry.processors[name]
    ref = next(r for _, r in run.plan.processor_refs() if r.name == name)
    retries = ref.retries if ref.retries is not None else run.plan.defaults.retries
    broken = run.breakers.tripped_entities(name, dates) if run.policy.entity_circuit_breaker else []
    params = processor_params(run.plan, name, run.policy, circuit_broken_entities=broken)
    contract = effective(proc.contract, ref.contract)
    attempt = 0
    while True:
        attempt += 1
        started = utcnow()
        try:
            return _attempt(run, node, proc, dates, params, attempt, started, contract)
        except Exception as exc:
            kind = classify(exc, run.warehouse)
            error = " ".join(f"{type(exc).__name__}: {exc}".split())
            tb: str | None = full_traceback(exc)
            if isinstance(exc, ContractViolation):  # the data broke a rule: no retry fixes it, keep what it was
                kind = FailureKind.PERMANENT
                tb = None
                _keep_rejected(run, exc.records)
            elif isinstance(exc, WarehouseError):
                error = sql_error(proc, error)  # a query of a .sql file: that file's line
            else:  # an error in plugin code says which plugin, and where in it
                error = raised("processor", name, run.registry.source("processors", name), exc, proc)
            retrying = kind is FailureKind.TRANSIENT and attempt <= retries
            run.keep(run.ledger.partition_records(
                run.run_id, name, proc.table, dates, PartitionStatus.FAILED, attempt=attempt, started_at=started,
                error=("transient, retrying: " if retrying else "") + error, traceback=tb))
            if retrying:
                delay = backoff_s(attempt, run.plan.defaults.retry_backoff_s)
                log.warning("transient error, retrying", processor=name, attempt=attempt, delay_s=round(delay, 3),
                            error=error)
                run.sleep(delay)
                continue
            log.error("node failed", processor=name, dates=f"{dates[0]}..{dates[-1]}", error=error)
            run.keep([], flush=True)
            run.events.emit("node_finished", {"node": f"{name} {dates[0]}..{dates[-1]}",
                                              "status": PartitionStatus.FAILED, "error": error})
            if kind is FailureKind.ENVIRONMENT:
                # every other node would fail the same way: nothing new starts, no breaker counts it
                if run.stopped_by is None:
                    run.stopped_by = error
                    log.error("the warehouse refuses writes: stopping the run", error=error)
                run.stop.set()
            else:
                run.breakers.count_failure(name, error)
            return NodeOutcome(node, PartitionStatus.FAILED, error=error, attempts=attempt, dates=dates, traceback=tb)


def _keep_rejected(run: RunContext, records: list[tuple]) -> None:
    """What a failing contract caught, kept after the rollback (losing it loses no data)."""
    try:
        run.ledger.buffer(records, QUARANTINE)
    except WarehouseError as exc:
        log.warning("could not keep the rows a contract rejected", error=str(exc))


def _source_states(proc: Processor, params: Mapping[str, object], dates: tuple[date, ...]) -> dict[date, str] | None:
    """A file source's files per date, as :mod:`bfplan.sources` records them (None: no files)."""
    out = {}
    for d in dates:
        paths = proc.source_files(params, d)
        if paths is None:
            return None
        out[d] = encode(file_states(paths))
    return out


def _attempt(run: RunContext, node: ProcNode, proc: Processor, dates: tuple[date, ...],
             params: dict[str, object], attempt: int, started: object, contract: Contract | None) -> NodeOutcome:
    wh, ledger = run.warehouse, run.ledger
    quarantined: dict[str, int] = {}
    params = {**params, **proc.bound_params(params)}  # plugin code: an error in it fails the node, located
    sources = _source_states(proc, params, dates)  # before reading: a file arriving meanwhile reads as new
    with wh.job_labels(run_id=run.run_id, processor=proc.name), wh.transaction() as tx:
        ctx = ProcessorContext(processor=proc, dates=dates, params=params, run_id=run.run_id, mode=run.mode,
                               warehouse=wh, transaction=tx)
        result = proc.run(ctx)
        rows = result.rows if result is not None else {}
        if contract is not None:  # before anything of the batch commits
            enforced = enforce(tx, proc, contract, dates, plan_name=run.plan.name, run_id=run.run_id)
            quarantined = enforced.by_rule
            if enforced.rows is not None:
                rows = {d: enforced.rows.get(d, 0) for d in dates}
        set_aside = _set_aside(run, proc, result.quarantined if result is not None else [], quarantined)
        # what the batch now holds, as readers will see it: lineage compares it across rewrites
        content = tx.fingerprints(proc.table, proc.partition_column, dates) if tx.wrote else {}
        hashes = {d: content.get(d, (0, 0))[1] for d in dates} if tx.wrote else None
        records = ledger.partition_records(run.run_id, proc.name, proc.table, dates, PartitionStatus.DONE,
                                           attempt=attempt, rows=rows, started_at=started, hashes=hashes,
                                           sources=sources)
        versions = {d: version for d, version in map(record_version, records)}
        lineage = lineage_records(run.plan.name, run.run_id, proc, versions, run.producers, run.versions)
        if tx.wrote:  # the marks commit with the data they describe
            ledger.mark_in(tx, records)
            ledger.append_in(tx, LINEAGE, lineage)
            ledger.append_in(tx, QUARANTINE, set_aside)
    if not tx.wrote:
        ledger.buffer(records)
        ledger.buffer(lineage, LINEAGE)
        ledger.buffer(set_aside, QUARANTINE)
    run.versions.update(proc.name, {d: Version(v, rows.get(d), (hashes or {}).get(d)) for d, v in versions.items()})
    failures = dict(result.failures) if result is not None else {}
    if failures and run.policy.record_reprocess_attempts:
        _record_attempts(run, proc, dates)
    if quarantined:
        log.warning("rows quarantined by the contract", processor=proc.name, dates=f"{dates[0]}..{dates[-1]}",
                    rules=quarantined, table=QUARANTINE)
    out = NodeOutcome(node, PartitionStatus.DONE, attempts=attempt, rows=sum(rows.values()), dates=dates,
                      failures=failures, quarantined=quarantined)
    run.events.emit("node_finished", {"node": f"{proc.name} {dates[0]}..{dates[-1]}", "status": PartitionStatus.DONE,
                                      "rows": out.rows, "failures": failures, "quarantined": quarantined})
    return out


def _set_aside(run: RunContext, proc: Processor, records: list[SetAside], counts: dict[str, int]) -> list[tuple]:
    """Quarantine-table rows of the records the processor set aside (counted into ``counts``), the
    first few of them logged with where they came from."""
    for i, r in enumerate(records):
        counts[r.rule] = counts.get(r.rule, 0) + 1
        if i < 5:
            log.warning("record quarantined", processor=proc.name, date=str(r.date), source=r.source, reason=r.detail)
    if len(records) > 5:
        log.warning("more records quarantined", processor=proc.name, more=len(records) - 5)
    return [(run.plan.name, run.run_id, proc.name, proc.table, r.date, r.rule, r.detail, r.key, r.record, r.source,
             "quarantined", monotonic_ns()) for r in records]


def _record_attempts(run: RunContext, proc: Processor, dates: tuple[date, ...]) -> None:
    """Daily mode: every entity failure of this batch is one reprocess attempt (entity breaker)."""
    if not proc.failures_table:
        return
    rows = run.warehouse.query(
        f"SELECT entity_id, analysis_date, failure_category FROM {proc.failures_table} "
        f"WHERE processor_name = @p AND run_id = @run AND analysis_date IN UNNEST(@dates) AND {NOT_DATE_LEVEL} "
        f"AND failure_category != '{CIRCUIT_BREAKER_ACTIVE}'",
        {"p": proc.name, "run": run.run_id, "dates": list(dates)})
    breakers: Breakers = run.breakers.breakers
    trips = breakers.record_attempts(proc.name, rows, run.run_id, run.plan.defaults.circuit_breaker_max_failures)
    if trips:
        log.warning("entity circuit breakers tripped", processor=proc.name, entities=trips)


def run_gate(run: RunContext, node: GateNode, spec: GateSpec) -> NodeOutcome:
    """Evaluate one gate; a failure with severity ``warn`` is a warning, never a block."""
    dates = run.phase_dates[run.plan.phases[spec.phase].name]
    ctx = gate_context(spec, plan=run.plan, registry=run.registry, warehouse=run.warehouse, dates=dates,
                       mode=run.mode, run_id=run.run_id)
    gate = run.registry.gates[spec.name]
    current = fingerprint(run.plan, spec, dates, run.versions, gate)
    result = evaluate(gate, ctx, spec, run.ledger, current)
    status = GateStatus(result.status)
    if status is GateStatus.FAIL and spec.severity == "warn":
        status = GateStatus.WARN
    if status is GateStatus.FAIL:
        run.events.emit("gate_failed", {"gate": spec.name, "stage": spec.stage, "summary": result.summary})
        log.error("gate failed", gate=spec.name, stage=spec.stage, summary=result.summary)
    return NodeOutcome(node, status, gate=result, error=result.summary if status is GateStatus.FAIL else None,
                       traceback=result.traceback)
