"""One run of a plan: its lifecycle, from choosing the work to recording how it ended.

:meth:`Runner.prepare` reads the ledger and decides the work (:mod:`bfplan.run.selection`)
and its DAG; :meth:`Runner.describe` says what would run (``validate``, ``--dry-run``);
:meth:`Runner.run` verifies the warehouse, takes the plan's run lock, records the run, opens
the circuit breakers, hands the DAG to the :class:`~bfplan.run.scheduler.Scheduler` (each
node runs in :mod:`bfplan.run.node`), and records the end. SIGINT/SIGTERM stop scheduling
(:mod:`bfplan.run.stop`); the next run resumes from the ledger. The mode's policy
(:mod:`bfplan.modes`) decides batching, events, the entity breaker and the age limit.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog

from bfplan.dag import Barrier, Dag, GateNode, NodeId, ProcNode, build_dag, stages
from bfplan.errors import Interrupted, PlanError, UsageError, WarehouseError
from bfplan.failures import OPEN
from bfplan.ledger.breakers import Breakers
from bfplan.ledger.ledger import Ledger, PartitionState, new_run_id
from bfplan.ledger.lineage import Producers, VersionIndex, stale_partitions
from bfplan.ledger.lock import RunLock
from bfplan.ledger.tables import ALL_TABLES
from bfplan.modes import policy_for
from bfplan.notify import WebhookNotifier, parse_notify
from bfplan.plan.model import Plan
from bfplan.plugins import Registry
from bfplan.run.breakers import BreakerState, code_fingerprint
from bfplan.run.events import EventBus
from bfplan.run.live import LiveProgress
from bfplan.run.node import NodeOutcome, RunContext, run_gate, run_processor
from bfplan.run.params import processor_params
from bfplan.run.scheduler import Scheduler
from bfplan.run.selection import GateHistory, Selection, Work, plan_work
from bfplan.run.stop import StopRequest
from bfplan.run.summary import RunSummary, record_unstarted, summarize
from bfplan.sources import changed_sources
from bfplan.status import PartitionStatus, RunStatus
from bfplan.warehouse.base import Warehouse

log = structlog.get_logger("bfplan.run")

#: called after every finished node: (outcome, nodes finished, nodes in all) — a progress bar
OnNode = Callable[[NodeOutcome, int, int], None]


@dataclass(frozen=True)
class RunOptions:
    """How to run: the selection plus execution settings."""

    selection: Selection = field(default_factory=Selection)
    mode: str | None = None
    jobs: int | None = None
    dry_run: bool = False
    command: str = ""
    #: processors whose breaker to reset before running (empty tuple: none; None: all)
    reset_breaker: tuple[str, ...] | None = ()
    steal_lock: bool = False
    lock_ttl_s: float = 300.0
    sleep: Callable[[float], None] = time.sleep


class Runner:
    """One execution of a plan against a warehouse."""

    def __init__(self, plan: Plan, registry: Registry, warehouse: Warehouse, options: RunOptions | None = None,
                 *, on_node: OnNode | None = None) -> None:
        self.plan = plan
        self.registry = registry
        self.wh = warehouse
        self.options = options or RunOptions()
        self.mode = self.options.mode or plan.mode
        self.policy = policy_for(self.mode)
        self.jobs = self.options.jobs or plan.defaults.jobs
        self.ledger = Ledger(warehouse, plan.name)
        self.on_node = on_node
        self.run_id = ""
        self._work: Work | None = None
        self._dag: Dag | None = None
        self._state: dict[tuple[str, date], PartitionState] = {}
        self._versions = VersionIndex({})
        self._names = [r.name for _, r in plan.processor_refs()]
        self._writes = {n: [t for t in (registry.processors[n].table, registry.processors[n].failures_table) if t]
                        for n in self._names}

    # -- planning ----------------------------------------------------------------------------
    def _params_of(self, name: str) -> dict[str, Any]:
        return processor_params(self.plan, name, self.policy)

    def prepare(self) -> tuple[Work, Dag]:
        """Select the work and build its DAG (once)."""
        if self._work is None or self._dag is None:
            sel = self.options.selection
            state = self._state = self.ledger.current(self._names)
            self._versions = VersionIndex.from_state(state)
            stale: dict[str, set[date]] = {}
            if sel.stale:
                for st in stale_partitions(self.wh, self.plan.name, self._names):
                    stale.setdefault(st.processor, set()).add(st.date)
                loaded: dict[str, set[date]] = {}
                for name, d in state:  # only the dates the selection names
                    if ((sel.dates is None or d in sel.dates) and (sel.start is None or d >= sel.start)
                            and (sel.end is None or d <= sel.end)):
                        loaded.setdefault(name, set()).add(d)
                for change in changed_sources(self.registry.processors, state, loaded, self._params_of):
                    stale.setdefault(change.processor, set()).add(change.date)
            correctable = self._correctable() if sel.rerun_failed else {}
            self._check_size()
            history = GateHistory(self.ledger.gate_states(), self._versions)
            work = plan_work(self.plan, self.registry, state, sel, batch_days=self.policy.batch_days, stale=stale,
                             correctable=correctable, history=history)
            self._check_age(work)
            dag = build_dag(work.phases)
            if dag.problems:  # validate reports these; a plan changed on disk since is caught here
                raise PlanError([self.plan.issue(p.path, p.message) for p in dag.problems])
            self._work, self._dag = work, dag
        return self._work, self._dag

    def _correctable(self) -> dict[str, set[date]]:
        """Dates with entity failures that re-ingesting data can fix (``--rerun-failed``)."""
        out: dict[str, set[date]] = {}
        for name in self._names:
            table = self.registry.processors[name].failures_table
            if not table or not self.wh.table_exists(table):
                continue
            rows = self.wh.query(f"SELECT DISTINCT analysis_date AS d FROM {table} WHERE processor_name = @p "
                                 f"AND is_correctable AND {OPEN}", {"p": name})
            if rows:
                out[name] = {r["d"] for r in rows}
        return out

    def _check_size(self) -> None:
        """A mode that batches differently from the plan (``--mode daily``) may make a plan too big."""
        if self.mode == self.plan.mode:
            return  # the plan check bounded it already
        nodes = self.plan.node_bound(self.policy.batch_days)
        if nodes > self.plan.defaults.max_nodes:
            raise UsageError(f"--mode {self.mode}: the plan would make up to {nodes:,} nodes, more than "
                             f"defaults.max_nodes ({self.plan.defaults.max_nodes:,}); narrow the dates "
                             "(--start/--end) or raise defaults.max_nodes")

    def _check_age(self, work: Work) -> None:
        limit = self.policy.reject_older_than_days
        if limit is None or self.options.selection.force:
            return
        oldest = min((d for ds in work.todo.values() for d in ds), default=None)
        # a plan replaying a historical season says what "today" is (vars: {today: ...}; the plan
        # check made sure it is a date in range)
        today = self.plan.vars.get("today") or datetime.now(UTC).date()
        if isinstance(today, str):
            today = date.fromisoformat(today)
        cutoff = today - timedelta(days=limit)
        if oldest is None or oldest >= cutoff:
            return
        message = (f"{self.mode} mode refuses dates older than {limit} days ({oldest} < {cutoff}): "
                   "run them in backfill mode (--mode backfill), or pass --force")
        sel = self.options.selection
        if sel.dates is not None or sel.start is not None:
            raise UsageError(message)
        raise PlanError([self.plan.issue("dates", message)])

    def describe(self) -> dict[str, Any]:
        """What would run (``validate`` and ``--dry-run``), and the mode's policy."""
        work, dag = self.prepare()
        return {
            "nodes": dag.work_nodes(),
            "to_run": work.to_run,
            "already_done": work.already_done,
            "stages": [
                {"phase": self.plan.phases[s["phase"]].name,
                 "processors": [{"name": n, **v} for n, v in s["processors"].items()],
                 "gates": s["gates"]}
                for s in stages(dag)
            ],
            "todo": {p: len(d) for p, d in work.todo.items()},
            "skipped": {p: len(d) for p, d in work.skipped.items()},
            "policy": {"mode": self.mode, "settings": [
                {"setting": k, "value": self.plan.defaults.batch_days if k == "batch_days" and v is None else v,
                 "why": why} for k, v, why in self.policy.explain()]},
        }

    # -- running -----------------------------------------------------------------------------
    def run(self) -> RunSummary:
        """Run every node of the DAG; never raises for a node failure (see the summary)."""
        # Before the ledger is trusted: a damaged file can hold an intact ledger beside broken data.
        self.wh.verify_readable([*ALL_TABLES, *dict.fromkeys(t for ts in self._writes.values() for t in ts)])
        work, dag = self.prepare()
        hooks = parse_notify(self.plan)
        t0 = time.perf_counter()
        plan_path = str(self.plan.path)
        self.run_id = new_run_id()
        stop = StopRequest()
        events = EventBus(self.registry.pm, self.policy, self.plan.name)
        events.run_id = self.run_id
        notifier = WebhookNotifier(hooks) if hooks else None
        started = locked = False
        lock: RunLock | None = None
        try:
            with stop.installed():
                lock = RunLock(self.wh, self.plan.name, self.run_id, ttl_s=self.options.lock_ttl_s)
                lock.acquire(steal=self.options.steal_lock)
                locked = True
                if notifier:
                    self.registry.pm.register(notifier, name=f"bfplan.notify.{self.run_id}")
                self.ledger.ensure_tables()
                abandoned = self.ledger.close_abandoned_runs(self.run_id, plan_path, self.mode)
                if abandoned:
                    log.warning("earlier run(s) ended without finishing (killed?): recorded as interrupted",
                                runs=abandoned)
                self.ledger.start_run(plan_path, self.mode, self.options.command, run_id=self.run_id)
                started = True
                run = self._context(work, stop, events)
                # nothing to run, nothing to watch: a run that only checks the ledger writes no progress
                live = LiveProgress(self.wh, self.plan.name, self.run_id, work.planned, self._state, work.todo,
                                    dag.work_nodes()) if dag.work_nodes() else None
                if live:
                    live.publish(force=True)
                events.emit("run_started", {"to_run": work.to_run})
                schedule = self._scheduler(dag, run, live).run()
                interrupted = (schedule.interrupted or bool(stop)) and run.stopped_by is None
                summary = summarize(self.run_id, self.plan.name, work, dag, schedule.outcomes,
                                    interrupted=interrupted, duration=time.perf_counter() - t0,
                                    stopped_by=run.stopped_by)
                self._finish(summary, dag, schedule.outcomes, schedule.blocked, plan_path)
                events.emit("run_finished", summary.as_dict())
                if live:
                    live.publish(force=True)
        except KeyboardInterrupt:
            # Interrupted outside the scheduling loop (starting up or writing the summary):
            # nothing is half-written, the ledger only lacks this run's final record.
            if started:
                with contextlib.suppress(Exception):
                    self.ledger.finish_run(self.run_id, plan_path, self.mode, RunStatus.INTERRUPTED, {})
            raise Interrupted(f"run {self.run_id} interrupted; run the plan again to resume") from None
        except WarehouseError as exc:
            # the ledger itself cannot be written (disk full while recording): the data that
            # committed is safe, and the next run records this one as interrupted
            raise WarehouseError(f"run {self.run_id} stopped: {exc}; free what the warehouse needs, then "
                                 "run the plan again to resume", environment=exc.environment) from exc
        finally:
            events.close()
            if locked and lock is not None:
                lock.release()
            if notifier and self.registry.pm.is_registered(notifier):
                self.registry.pm.unregister(notifier)
        return summary

    def _context(self, work: Work, stop: StopRequest, events: EventBus) -> RunContext:
        breakers = BreakerState(Breakers(self.wh, self.plan.name), self.plan.defaults.circuit_breaker_max_failures,
                                self.run_id, {n: code_fingerprint(self.registry.processors[n]) for n in self._names})
        breakers.open_for(self._names, self.options.reset_breaker)
        producers = Producers.of(self.registry.processors[n] for n in self._names)
        return RunContext(plan=self.plan, registry=self.registry, warehouse=self.wh, ledger=self.ledger,
                          policy=self.policy, mode=self.mode, run_id=self.run_id, versions=self._versions,
                          producers=producers, breakers=breakers, events=events, stop=stop,
                          phase_dates=work.phase_dates, sleep=self.options.sleep)

    def _scheduler(self, dag: Dag, run: RunContext, live: LiveProgress | None) -> Scheduler:
        g = dag.graph
        limits = {r.name: r.max_concurrency for _, r in self.plan.processor_refs()}

        def run_node(node: NodeId) -> NodeOutcome:
            if isinstance(node, ProcNode):
                return run_processor(run, node, g.nodes[node]["dates"])
            assert isinstance(node, GateNode)
            return run_gate(run, node, g.nodes[node]["gate"])

        def on_barrier(node: Barrier) -> None:
            if node.label.startswith("phase:") and node.label.endswith(":done"):
                run.events.emit("phase_completed", {"phase": node.label.split(":")[1]})

        def on_blocked(nodes: set[NodeId]) -> None:
            for n in nodes:
                if live and isinstance(n, ProcNode):
                    live.record(n.processor, g.nodes[n]["dates"], PartitionStatus.BLOCKED, node=False)

        def on_finish(outcome: NodeOutcome, finished: int, total: int) -> None:
            if live and isinstance(outcome.node, ProcNode):
                live.record(outcome.node.processor, outcome.dates, outcome.status,
                            outcome.rows // max(1, len(outcome.dates)))
            if self.on_node:
                self.on_node(outcome, finished, total)

        return Scheduler(g, self.jobs, run.stop, run_node, self._writes, limits, run.breakers.is_open,
                         one_writer_per_table=self.wh.one_writer_per_table, on_barrier=on_barrier,
                         on_blocked=on_blocked, on_finish=on_finish)

    def _finish(self, summary: RunSummary, dag: Dag, outcomes: dict[NodeId, NodeOutcome], blocked: set[NodeId],
                plan_path: str) -> None:
        """Record what never started, and how the run ended (best effort when the disk is full)."""
        try:
            record_unstarted(self.ledger, self.registry, self.run_id, dag.graph, outcomes, blocked)
            self.ledger.finish_run(self.run_id, plan_path, self.mode, summary.status, summary.as_dict())
        except WarehouseError as exc:
            if not exc.environment:
                raise
            summary.stopped_by = summary.stopped_by or str(exc)
            log.error("could not record the run's end in the ledger; the next run records it as interrupted",
                      error=str(exc))
