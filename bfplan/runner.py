"""Run a plan: schedule ready DAG nodes on a thread pool, record everything in the ledger.

Ready nodes run concurrently on ``jobs`` threads (``max_concurrency`` per processor), with a
short queue so the threads stay busy; barriers complete inline. A node that fails (after its
retries, for errors the warehouse calls transient) blocks exactly its descendants;
independent branches carry on. A blocking gate that fails is a failed node. A processor
whose nodes keep failing trips its circuit breaker. SIGINT/SIGTERM stop scheduling, let
running nodes finish their transaction, and record the run as interrupted: the next run
resumes from the ledger. The mode's policy (:mod:`bfplan.modes`) decides batching, events,
thresholds and the entity breaker.
"""

from __future__ import annotations

import contextlib
import random
import signal
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import networkx as nx
import structlog

from bfplan import interrupts
from bfplan.breaker import ATTEMPTS, BREAKERS, Breakers
from bfplan.dag import Dag, GateSpec, build_dag, stages
from bfplan.errors import Interrupted, PlanError, UsageError, WarehouseError
from bfplan.events import Event
from bfplan.gaterun import evaluate, fingerprint, gate_context
from bfplan.gates.base import GateResult
from bfplan.ledger import BLOCKED, CIRCUIT_BROKEN, DONE, FAILED, GATES, PARTITIONS, RUNS, Ledger, PartitionState, utcnow
from bfplan.lineage import LINEAGE, Producers, VersionIndex, lineage_records, stale_partitions
from bfplan.live import LiveProgress
from bfplan.lock import LOCKS, RunLock
from bfplan.modes import policy_for
from bfplan.plan import plan_size
from bfplan.processors import ProcessorContext
from bfplan.work import GateHistory, Selection, Work, plan_work

log = structlog.get_logger("bfplan.runner")

#: the longest wait between two attempts of a node
MAX_BACKOFF_S = 30.0


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


@dataclass
class NodeOutcome:
    """What happened to one node."""

    node: tuple
    status: str  # done | failed | circuit_broken | pass | warn | fail
    error: str | None = None
    attempts: int = 1
    rows: int = 0
    gate: GateResult | None = None
    dates: tuple[date, ...] = ()
    failures: dict[str, int] = field(default_factory=dict)


@dataclass
class RunSummary:
    """The ``run --json`` document, plus details for the human summary."""

    run_id: str
    plan: str
    status: str
    partitions: dict[str, int]
    gates: dict[str, int]
    duration_s: float
    failures: list[dict[str, Any]] = field(default_factory=list)
    blocked_by: list[dict[str, Any]] = field(default_factory=list)
    entity_failures: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    #: the machine refused a write (disk full, ...) and the run stopped: exit 3
    stopped_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "plan": self.plan, "status": self.status,
            "partitions": self.partitions, "gates": self.gates, "duration_s": round(self.duration_s, 3),
            "rows": self.rows, "entity_failures": self.entity_failures,
            "failures": self.failures, "blocked_by": self.blocked_by, "stopped_by": self.stopped_by,
        }


class StopRequest:
    """SIGINT/SIGTERM ask the run to stop: the first signal sets a flag the scheduler checks
    (running nodes finish their transaction, nothing new starts); a second SIGINT forces an
    immediate KeyboardInterrupt. A flag, not an exception, so no warehouse call is torn
    half-way by a signal."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __bool__(self) -> bool:
        return self.event.is_set()

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopRequest]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def handler(signum: int, frame: Any) -> None:
            interrupts.note()  # the command exits 130 even if the run finishes its last node
            if self.event.is_set() and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self.event.set()
            log.warning("stop requested: no new nodes start; running ones finish their transaction "
                        "(Ctrl-C again to abort at once)", signal=signal.Signals(signum).name)

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for sig, prev in previous.items():
                signal.signal(sig, prev)


class Runner:
    """One execution of a plan against a warehouse."""

    def __init__(self, plan: Any, registry: Any, warehouse: Any, options: RunOptions | None = None,
                 *, on_node: Callable[[NodeOutcome, int, int], None] | None = None) -> None:
        self.plan = plan
        self.registry = registry
        self.wh = warehouse
        self.options = options or RunOptions()
        self.mode = self.options.mode or plan.mode
        self.policy = policy_for(self.mode)
        self.jobs = self.options.jobs or plan.defaults.jobs
        self.ledger = Ledger(warehouse, plan.name)
        self.on_node = on_node
        self.refs = {r.name: r for _, r in plan.processor_refs()}
        self.run_id = ""
        self._work: Work | None = None
        self._dag: Dag | None = None
        self._breakers: Breakers | None = None
        self._node_failures: Counter[str] = Counter()
        self._broken: set[str] = set()
        self._breaker_lock = threading.Lock()
        self._stop = StopRequest()
        #: why the run stopped early (the machine refused a write), if it did
        self._stopped_by: str | None = None
        self._state: dict[tuple[str, date], PartitionState] = {}
        self._live: LiveProgress | None = None
        self._versions = VersionIndex({})
        self._producers = Producers.of(registry.processors[r.name] for _, r in plan.processor_refs())
        self._written = {r.name: [t for t in (registry.processors[r.name].table,
                                               registry.processors[r.name].failures_table) if t]
                         for _, r in plan.processor_refs()}

    # -- planning ----------------------------------------------------------------------------
    def prepare(self) -> tuple[Work, Dag]:
        """Select the work and build its DAG; structural plan problems raise PlanError."""
        if self._work is None or self._dag is None:
            procs = [r.name for _, r in self.plan.processor_refs()]
            state = self._state = self.ledger.current(procs)
            self._versions = VersionIndex.from_state(state)
            stale: dict[str, set[date]] = {}
            if self.options.selection.stale:
                for st in stale_partitions(self.wh, self.plan.name, procs):
                    stale.setdefault(st.processor, set()).add(st.date)
            correctable = self._correctable() if self.options.selection.rerun_failed else {}
            self._check_size()
            history = GateHistory(self.ledger.gate_states(), self._versions)
            work = plan_work(self.plan, self.registry, state, self.options.selection,
                             batch_days=self.policy.batch_days, stale=stale, correctable=correctable,
                             history=history)
            self._check_age(work)
            self._work = work
            self._dag = build_dag(work.phases)
            if self._dag.problems:
                raise PlanError([self._issue(p) for p in self._dag.problems])
        return self._work, self._dag

    def _correctable(self) -> dict[str, set[date]]:
        """Dates with entity failures that re-ingesting data can fix (``--rerun-failed``)."""
        out: dict[str, set[date]] = {}
        for _, ref in self.plan.processor_refs():
            table = self.registry.processors[ref.name].failures_table
            if not table or not self.wh.table_exists(table):
                continue
            rows = self.wh.query(
                f"SELECT DISTINCT analysis_date AS d FROM {table} WHERE processor_name = @p AND is_correctable "
                "AND IFNULL(resolution_status, 'UNRESOLVED') = 'UNRESOLVED'", {"p": ref.name})
            if rows:
                out[ref.name] = {r["d"] for r in rows}
        return out

    def _check_size(self) -> None:
        """A mode that batches differently from the plan (``--mode daily``) may make a plan too big."""
        if self.mode == self.plan.mode:
            return  # the plan check bounded it already
        nodes, _ = plan_size(self.plan, self.policy.batch_days)
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

    def _issue(self, problem: Any) -> Any:
        message = problem.message
        if problem.steps:
            where = [f"{name} (line {self.plan.mark_of(path).line}) {why}" for name, path, why in problem.steps]
            message += "; " + "; ".join(where)
        return self.plan.issue(problem.path, message)

    def describe(self) -> dict[str, Any]:
        """What would run (``validate`` and ``--dry-run``), and the mode's policy."""
        from bfplan.notify import parse_notify

        parse_notify(self.plan)  # a bad webhook entry is a plan error before anything runs
        work, dag = self.prepare()
        return {
            "nodes": dag.graph.number_of_nodes() - sum(1 for n in dag.graph if n[0] == "barrier"),
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
                {"setting": k, "value": v, "why": why} for k, v, why in self.policy.explain()]},
        }

    # -- running -----------------------------------------------------------------------------
    def run(self) -> RunSummary:
        """Run every node of the DAG; never raises for a node failure (see the summary)."""
        from bfplan.notify import WebhookNotifier, parse_notify

        # Before the ledger is trusted: a damaged file can hold an intact ledger beside broken data.
        self.wh.verify_readable(self._tables())
        work, dag = self.prepare()
        hooks = parse_notify(self.plan)
        t0 = time.perf_counter()
        plan_path = str(self.plan.path)
        self.run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        notifier = WebhookNotifier(hooks) if hooks else None
        started = locked = False
        try:
            with self._stop.installed():
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
                total = sum(1 for n in dag.graph if n[0] != "barrier")
                self._live = LiveProgress(self.wh, self.plan.name, self.run_id, work.planned, self._state,
                                          work.todo, total)
                self._live.publish(force=True)
                self._breakers = Breakers(self.wh, self.plan.name)
                self._open_breakers()
                self._emit("run_started", {"to_run": work.to_run})
                outcomes, blocked, interrupted = self._schedule(dag.graph)
                interrupted = (interrupted or bool(self._stop)) and self._stopped_by is None
                summary = self._summarize(work, dag, outcomes, interrupted, time.perf_counter() - t0)
                try:
                    self._record_blocked(dag.graph, outcomes, blocked)
                    self.ledger.finish_run(self.run_id, plan_path, self.mode, summary.status, summary.as_dict())
                except WarehouseError as exc:
                    if not exc.environment:
                        raise
                    summary.stopped_by = summary.stopped_by or str(exc)
                    log.error("could not record the run's end in the ledger; the next run records it as "
                              "interrupted", error=str(exc))
                self._emit("run_finished", summary.as_dict())
                self._live.publish(force=True)
        except KeyboardInterrupt:
            # Interrupted outside the scheduling loop (starting up or writing the summary):
            # nothing is half-written, the ledger only lacks this run's final record.
            if started:
                with contextlib.suppress(Exception):
                    self.ledger.finish_run(self.run_id, plan_path, self.mode, "interrupted", {})
            raise Interrupted(f"run {self.run_id} interrupted; run the plan again to resume") from None
        except WarehouseError as exc:
            # the ledger itself cannot be written (disk full while recording): the data that
            # committed is safe, and the next run records this one as interrupted
            raise WarehouseError(f"run {self.run_id} stopped: {exc}; free what the warehouse needs, then "
                                 "run the plan again to resume", environment=exc.environment) from exc
        finally:
            if locked:
                lock.release()
            if notifier and self.registry.pm.is_registered(notifier):
                self.registry.pm.unregister(notifier)
        return summary

    def _tables(self) -> list[str]:
        """Every table the run reads or writes: the ledger's and the plan's processors'."""
        own = [t for ts in self._written.values() for t in ts]
        return [RUNS, PARTITIONS, GATES, LINEAGE, LOCKS, BREAKERS, ATTEMPTS, *dict.fromkeys(own)]

    def _open_breakers(self) -> None:
        assert self._breakers is not None
        names = set(self.refs)
        reset = self.options.reset_breaker
        if reset is None or reset:
            targets = names if reset is None else set(reset)
            self._breakers.reset(sorted(targets), self.run_id)
        for name, trip in self._breakers.tripped().items():
            if name in names:
                self._broken.add(name)
                log.error("circuit breaker open", processor=name, since=str(trip["at"]), until=str(trip["until_at"]),
                          reason=trip["reason"], fix=f"investigate, then re-run with --reset-breaker {name}")

    def _schedule(self, g: nx.DiGraph) -> tuple[dict[tuple, NodeOutcome], set[tuple], bool]:
        indeg = {n: d for n, d in g.in_degree()}
        ready: deque[tuple] = deque(n for n, d in indeg.items() if d == 0)
        waiting: deque[tuple] = deque()  # ready, held back by jobs or a processor's max_concurrency
        running: dict[Future, tuple] = {}
        per_proc: Counter[str] = Counter()
        outcomes: dict[tuple, NodeOutcome] = {}
        blocked: set[tuple] = set()
        total = sum(1 for n in g if n[0] != "barrier")
        finished = 0
        interrupted = False
        # A short queue per worker keeps the threads busy between scheduler wake-ups; kept short
        # so an interrupt or a tripped breaker (checked again when a node starts) stops little.
        inflight = max(1, self.jobs) * 4
        # Where concurrent rewrites of one table abort each other (BigQuery), a node waits while
        # another writes any table it writes (its output, or a shared failures table).
        one_writer = getattr(self.wh, "one_writer_per_table", False)
        busy: Counter[str] = Counter()

        def complete(node: tuple, ok: bool) -> None:
            if not ok:
                down = nx.descendants(g, node) - blocked
                blocked.update(down)
                if self._live is not None:
                    for n in down:
                        if n[0] == "proc":
                            self._live.record(n[1], g.nodes[n]["dates"], BLOCKED, node=False)
                return
            for s in g.successors(node):
                indeg[s] -= 1
                if indeg[s] == 0 and s not in blocked:
                    ready.append(s)

        def finish(node: tuple, outcome: NodeOutcome) -> None:
            nonlocal finished
            outcomes[node] = outcome
            finished += 1
            if self._live is not None and node[0] == "proc":
                self._live.record(node[1], outcome.dates, outcome.status, outcome.rows // max(1, len(outcome.dates)))
            complete(node, outcome.status in (DONE, "pass", "warn"))
            if self.on_node:
                self.on_node(outcome, finished, total)

        with ThreadPoolExecutor(max_workers=max(1, self.jobs), thread_name_prefix="bfplan") as pool:
            try:
                while ready or running or waiting:
                    if self._stop:
                        interrupted = True
                        ready.clear()
                        waiting.clear()
                        if not running:
                            break
                    while ready:
                        node = ready.popleft()
                        if node in blocked:
                            continue
                        if node[0] == "barrier":
                            self._barrier_done(node)
                            complete(node, True)
                            continue
                        if node[0] == "proc":
                            if node[1] in self._broken:
                                finish(node, NodeOutcome(node, CIRCUIT_BROKEN, dates=g.nodes[node]["dates"],
                                                         error=f"circuit breaker open for {node[1]}"))
                                continue
                            limit = self.refs[node[1]].max_concurrency
                            tables = self._written[node[1]]
                            if (len(running) >= inflight or (limit and per_proc[node[1]] >= limit)
                                    or (one_writer and any(busy[t] for t in tables))):
                                waiting.append(node)
                                continue
                            per_proc[node[1]] += 1
                            busy.update(tables)
                        elif len(running) >= inflight:
                            waiting.append(node)
                            continue
                        fn = self._run_proc if node[0] == "proc" else self._run_gate
                        running[pool.submit(fn, g.nodes[node], node)] = node
                    if not running:
                        break
                    # a timeout, so a stop request is seen even while long nodes run
                    done, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
                    for fut in done:
                        node = running.pop(fut)
                        if node[0] == "proc":
                            per_proc[node[1]] -= 1
                            busy.subtract(self._written[node[1]])
                        finish(node, fut.result())
                    # Nodes held back (jobs, max_concurrency) go first, in the order they became ready.
                    ready.extendleft(reversed(waiting))
                    waiting.clear()
            except KeyboardInterrupt:
                # a second Ctrl-C: abandon queued nodes; running transactions roll back on exit
                interrupted = True
                for fut in list(running):
                    fut.cancel()
                for fut in list(running):
                    if not fut.cancelled():
                        with contextlib.suppress(BaseException):
                            outcomes[running[fut]] = fut.result()
        return outcomes, blocked, interrupted

    def _count_failure(self, processor: str, outcome: NodeOutcome) -> None:
        # Counted in the worker, under a lock, so the very next queued node already sees the trip.
        limit = self.plan.defaults.circuit_breaker_max_failures
        with self._breaker_lock:
            self._node_failures[processor] += 1
            if not (limit and self._node_failures[processor] >= limit and processor not in self._broken):
                return
            self._broken.add(processor)
            assert self._breakers is not None
            self._breakers.trip(processor, self._node_failures[processor], outcome.error or "", self.run_id)
            log.error("circuit breaker tripped: remaining nodes of the processor will not run",
                      processor=processor, failures=self._node_failures[processor],
                      fix=f"investigate the failures, then re-run with --reset-breaker {processor}")

    def _barrier_done(self, node: tuple) -> None:
        label = node[1]
        if label.startswith("phase:") and label.endswith(":done"):
            self._emit("phase_completed", {"phase": label.split(":")[1]})

    def _params(self, name: str, dates: tuple[date, ...]) -> dict[str, Any]:
        params = {"plan_dir": str(self.plan.path.parent), **self.policy.processor_params(),
                  "circuit_broken_entities": [], **self.plan.vars, **self.plan.params, **self.refs[name].params}
        if self.policy.entity_circuit_breaker and self._breakers is not None:
            params["circuit_broken_entities"] = self._breakers.tripped_entities(name, dates)
        return params

    def _run_proc(self, data: Mapping[str, Any], node: tuple) -> NodeOutcome:
        name, dates = node[1], data["dates"]
        if name in self._broken:  # tripped while this node waited in the queue
            return NodeOutcome(node, CIRCUIT_BROKEN, dates=dates, error=f"circuit breaker open for {name}")
        if self._stopped_by is not None:  # queued before the warehouse refused a write: not started
            return NodeOutcome(node, BLOCKED, dates=dates, error="not started: the run stopped")
        proc = self.registry.processors[name]
        ref = self.refs[name]
        retries = ref.retries if ref.retries is not None else self.plan.defaults.retries
        params = self._params(name, dates)
        attempt = 0
        while True:
            attempt += 1
            started = utcnow()
            try:
                with self.wh.job_labels(run_id=self.run_id, processor=name), self.wh.transaction() as tx:
                    ctx = ProcessorContext(processor=proc, dates=dates, params=params, run_id=self.run_id,
                                           mode=self.mode, warehouse=self.wh, transaction=tx)
                    result = proc.run(ctx)
                    rows = result.rows if result is not None else {}
                    records = self.ledger.partition_records(self.run_id, name, proc.table, dates, DONE,
                                                            attempt=attempt, rows=rows, started_at=started)
                    versions = {r[4]: r[-1] for r in records}
                    lineage = lineage_records(self.plan.name, self.run_id, proc, versions, self._producers,
                                              self._versions)
                    if tx.wrote:
                        self.ledger.mark_in(tx, records)
                        self.ledger.append_in(tx, LINEAGE, lineage)
                if not tx.wrote:
                    self.ledger.buffer(records)
                    self.ledger.buffer(lineage, LINEAGE)
                self._versions.update(name, versions)
                failures = dict(result.failures) if result is not None else {}
                if failures and self.policy.record_reprocess_attempts:
                    self._record_attempts(proc, dates)
                out = NodeOutcome(node, DONE, attempts=attempt, rows=sum(rows.values()), dates=dates,
                                  failures=failures)
                self._emit("node_finished", {"node": f"{name} {dates[0]}..{dates[-1]}", "status": DONE,
                                             "rows": out.rows, "failures": failures})
                return out
            except Exception as exc:
                environment = isinstance(exc, WarehouseError) and exc.environment
                transient = not environment and self.wh.is_transient(exc)
                # one line: logs and the summary stay readable; the ledger keeps the same text
                error = " ".join(f"{type(exc).__name__}: {exc}".split())
                retrying = transient and attempt <= retries
                self._keep(self.ledger.partition_records(
                    self.run_id, name, proc.table, dates, FAILED, attempt=attempt, started_at=started,
                    error=("transient, retrying: " if retrying else "") + error))
                if retrying:
                    # exponential backoff with jitter, capped: a long outage is waited out in steps
                    delay = min(self.plan.defaults.retry_backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S)
                    delay *= 0.5 + random.random()
                    log.warning("transient error, retrying", processor=name, attempt=attempt,
                                delay_s=round(delay, 3), error=error)
                    self.options.sleep(delay)
                    continue
                log.error("node failed", processor=name, dates=f"{dates[0]}..{dates[-1]}", error=error)
                self._keep([], flush=True)
                self._emit("node_finished", {"node": f"{name} {dates[0]}..{dates[-1]}", "status": FAILED,
                                             "error": error})
                out = NodeOutcome(node, FAILED, error=error, attempts=attempt, dates=dates)
                if environment:
                    # the machine refuses writes (disk full, read-only, no permission): every other
                    # node would fail the same way, so nothing new starts, and no breaker counts it
                    if self._stopped_by is None:
                        self._stopped_by = error
                        log.error("the warehouse refuses writes: stopping the run", error=error)
                    self._stop.event.set()
                else:
                    self._count_failure(name, out)
                return out

    def _keep(self, records: list[tuple], *, flush: bool = False) -> None:
        """Buffer ledger records of a failure; a ledger that cannot take them (disk full) loses
        only the record that the node failed, and the next run does the node again."""
        try:
            if records:
                self.ledger.buffer(records)
            if flush:
                self.ledger.flush()
        except WarehouseError as exc:
            log.warning("could not record a failure in the ledger", error=str(exc))

    def _record_attempts(self, proc: Any, dates: tuple[date, ...]) -> None:
        if not proc.failures_table or self._breakers is None:
            return
        rows = self.wh.query(
            f"SELECT entity_id, analysis_date, failure_category FROM {proc.failures_table} "
            "WHERE processor_name = @p AND run_id = @run AND analysis_date IN UNNEST(@dates) "
            "AND entity_id != 'DATE_LEVEL' AND failure_category != 'CIRCUIT_BREAKER_ACTIVE'",
            {"p": proc.name, "run": self.run_id, "dates": list(dates)})
        trips = self._breakers.record_attempts(proc.name, rows, self.run_id,
                                               self.plan.defaults.circuit_breaker_max_failures)
        if trips:
            log.warning("entity circuit breakers tripped", processor=proc.name, entities=trips)

    def _run_gate(self, data: Mapping[str, Any], node: tuple) -> NodeOutcome:
        spec: GateSpec = data["gate"]
        work = self._work
        assert work is not None
        dates = work.phase_dates[self.plan.phases[spec.phase].name]
        ctx = gate_context(spec, plan=self.plan, registry=self.registry, warehouse=self.wh, dates=dates,
                           mode=self.mode, run_id=self.run_id)
        current = fingerprint(self.plan, spec, dates, self._versions)
        result = evaluate(self.registry.gates[spec.name], ctx, spec, self.ledger, current)
        status = result.status
        if status == "fail" and spec.severity == "warn":
            status = "warn"
        if status == "fail":
            self._emit("gate_failed", {"gate": spec.name, "stage": spec.stage, "summary": result.summary})
            log.error("gate failed", gate=spec.name, stage=spec.stage, summary=result.summary)
        return NodeOutcome(node, status, gate=result, error=result.summary if status == "fail" else None)

    # -- results -----------------------------------------------------------------------------
    def _record_blocked(self, g: nx.DiGraph, outcomes: Mapping[tuple, NodeOutcome], blocked: set[tuple]) -> None:
        unstarted = (CIRCUIT_BROKEN, BLOCKED)
        for node in [*blocked, *(n for n, o in outcomes.items() if o.status in unstarted)]:
            if node[0] == "proc" and (node not in outcomes or outcomes[node].status in unstarted):
                status = outcomes[node].status if node in outcomes else BLOCKED
                proc = self.registry.processors[node[1]]
                why = outcomes[node].error if node in outcomes else "blocked by an upstream failure"
                self.ledger.buffer(self.ledger.partition_records(
                    self.run_id, node[1], proc.table, g.nodes[node]["dates"], status, attempt=0,
                    started_at=utcnow(), error="circuit breaker open" if status == CIRCUIT_BROKEN else why))
        self.ledger.flush()

    def _summarize(self, work: Work, dag: Dag, outcomes: Mapping[tuple, NodeOutcome], interrupted: bool,
                   duration: float) -> RunSummary:
        parts = Counter({"done": 0, "skipped": work.already_done, "failed": 0, "blocked": 0, "circuit_broken": 0})
        gates = Counter({"passed": 0, "warned": 0, "failed": 0})
        failures, entity = [], Counter()
        rows = 0
        g = dag.graph
        for node, o in outcomes.items():
            if node[0] == "proc":
                key = {DONE: "done", FAILED: "failed", CIRCUIT_BROKEN: "circuit_broken", BLOCKED: "blocked"}[o.status]
                parts[key] += len(o.dates)
                rows += o.rows
                entity.update(o.failures)
                if o.status == FAILED:
                    failures.append({"node": f"{node[1]} {o.dates[0]}..{o.dates[-1]}", "error": o.error})
            else:
                gates[{"pass": "passed", "warn": "warned", "fail": "failed"}[o.status]] += 1
                if o.status == "fail":
                    bad = [f for f in (o.gate.findings if o.gate else []) if f.status == "fail"]
                    failures.append({"node": f"gate {node[1]} ({node[2]})", "error": o.error,
                                     "dates": sorted({f.date.isoformat() for f in bad if f.date}),
                                     "findings": [f.as_dict() for f in bad[:5]], "gate": True})
        never_ran = [n for n in g if n[0] == "proc" and n not in outcomes]
        for n in never_ran:
            parts["blocked"] += len(g.nodes[n]["dates"])
        blocked_by = []
        by_cause: dict[str, set[tuple]] = {}
        for node, o in outcomes.items():
            if o.status in (FAILED, "fail"):
                cause = node[1] if node[0] == "proc" else f"gate {node[1]} ({node[2]})"
                down = {n for n in nx.descendants(g, node) if n[0] == "proc" and n not in outcomes}
                by_cause.setdefault(cause, set()).update(down)
        for cause, down in by_cause.items():
            if down:
                blocked_by.append({"node": cause, "blocked_nodes": len(down),
                                   "blocked_partitions": sum(len(g.nodes[n]["dates"]) for n in down),
                                   "first_date": str(min(g.nodes[n]["dates"][0] for n in down))})
        broken = parts["circuit_broken"] > 0
        status = "interrupted" if interrupted else ("failed" if failures or never_ran or broken else "succeeded")
        return RunSummary(self.run_id, self.plan.name, status, dict(parts), dict(gates), duration,
                          failures, blocked_by, dict(entity), rows, self._stopped_by)

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        # The policy decides what goes out: a backfill announces only its end (DESIGN.md, Modes).
        if kind != "run_finished":
            if not self.policy.alerts and kind in ("run_started", "node_finished", "gate_failed"):
                return
            if kind == "phase_completed" and not self.policy.downstream_triggers:
                return
        event = Event(kind, self.run_id, self.plan.name, data)
        try:
            self.registry.pm.hook.bfplan_on_event(event=event)
        except Exception as exc:
            log.warning("event hook failed", event=kind, error=f"{type(exc).__name__}: {exc}")
