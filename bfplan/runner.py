"""Run a plan: schedule ready DAG nodes on a thread pool, record everything in the ledger.

Ready nodes run concurrently (``jobs``, and ``max_concurrency`` per processor); barriers
complete inline. A node that fails (after its retries, for errors the warehouse calls
transient) blocks exactly its descendants; independent branches carry on. A blocking gate
that fails is a failed node. Ctrl-C stops scheduling, lets running nodes finish their
transaction, and records the run as interrupted: the next run resumes from the ledger.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import networkx as nx
import structlog

from bfplan.dag import Dag, GateSpec, build_dag, stages
from bfplan.errors import PlanError
from bfplan.events import Event
from bfplan.gates.base import GateContext, GateResult
from bfplan.ledger import BLOCKED, DONE, FAILED, Ledger, utcnow
from bfplan.processors import ProcessorContext
from bfplan.work import Selection, Work, plan_work

log = structlog.get_logger("bfplan.runner")


@dataclass(frozen=True)
class RunOptions:
    """How to run: the selection plus execution settings."""

    selection: Selection = field(default_factory=Selection)
    mode: str | None = None
    jobs: int | None = None
    dry_run: bool = False
    command: str = ""
    sleep: Callable[[float], None] = time.sleep


@dataclass
class NodeOutcome:
    """What happened to one node."""

    node: tuple
    status: str  # done | failed | pass | warn | fail
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "plan": self.plan, "status": self.status,
            "partitions": self.partitions, "gates": self.gates, "duration_s": round(self.duration_s, 3),
            "rows": self.rows, "entity_failures": self.entity_failures,
            "failures": self.failures, "blocked_by": self.blocked_by,
        }


class Runner:
    """One execution of a plan against a warehouse."""

    def __init__(self, plan: Any, registry: Any, warehouse: Any, options: RunOptions | None = None,
                 *, on_node: Callable[[NodeOutcome, int, int], None] | None = None) -> None:
        self.plan = plan
        self.registry = registry
        self.wh = warehouse
        self.options = options or RunOptions()
        options = self.options
        self.mode = options.mode or plan.mode
        self.jobs = options.jobs or plan.defaults.jobs
        self.ledger = Ledger(warehouse, plan.name)
        self.on_node = on_node
        self.refs = {r.name: r for _, r in plan.processor_refs()}
        self.run_id = ""
        self._work: Work | None = None
        self._dag: Dag | None = None

    # -- planning ----------------------------------------------------------------------------
    def prepare(self) -> tuple[Work, Dag]:
        """Select the work and build its DAG; structural plan problems raise PlanError."""
        if self._work is None or self._dag is None:
            procs = [r.name for _, r in self.plan.processor_refs()]
            state = self.ledger.current(procs)
            self._work = plan_work(self.plan, self.registry, state, self.options.selection)
            self._dag = build_dag(self._work.phases)
            if self._dag.problems:
                raise PlanError([self._issue(p) for p in self._dag.problems])
        return self._work, self._dag

    def _issue(self, problem: Any) -> Any:
        message = problem.message
        if problem.steps:
            where = [f"{name} (line {self.plan.mark_of(path).line}) {why}" for name, path, why in problem.steps]
            message += "; " + "; ".join(where)
        return self.plan.issue(problem.path, message)

    def describe(self) -> dict[str, Any]:
        """What would run (``validate`` and ``--dry-run``)."""
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
        }

    # -- running -----------------------------------------------------------------------------
    def run(self) -> RunSummary:
        """Run every node of the DAG; never raises for a node failure (see the summary)."""
        work, dag = self.prepare()
        t0 = time.perf_counter()
        plan_path = str(self.plan.path)
        self.run_id = self.ledger.start_run(plan_path, self.mode, self.options.command)
        self._emit("run_started", {"to_run": work.to_run})
        outcomes, blocked, interrupted = self._schedule(dag.graph)
        summary = self._summarize(work, dag, outcomes, blocked, interrupted, time.perf_counter() - t0)
        self._record_blocked(dag.graph, blocked)
        self.ledger.finish_run(self.run_id, plan_path, self.mode, summary.status, summary.as_dict())
        self._emit("run_finished", summary.as_dict())
        return summary

    def _schedule(self, g: nx.DiGraph) -> tuple[dict[tuple, NodeOutcome], set[tuple], bool]:
        indeg = {n: d for n, d in g.in_degree()}
        ready: deque[tuple] = deque(n for n, d in indeg.items() if d == 0)
        waiting: deque[tuple] = deque()  # ready but over a processor's max_concurrency
        running: dict[Future, tuple] = {}
        per_proc: Counter[str] = Counter()
        outcomes: dict[tuple, NodeOutcome] = {}
        blocked: set[tuple] = set()
        total = sum(1 for n in g if n[0] != "barrier")
        finished = 0
        interrupted = False

        def complete(node: tuple, ok: bool) -> None:
            if not ok:
                blocked.update(nx.descendants(g, node))
                return
            for s in g.successors(node):
                indeg[s] -= 1
                if indeg[s] == 0 and s not in blocked:
                    ready.append(s)

        with ThreadPoolExecutor(max_workers=max(1, self.jobs), thread_name_prefix="bfplan") as pool:
            try:
                while ready or running or waiting:
                    while ready:
                        node = ready.popleft()
                        if node in blocked:
                            continue
                        if node[0] == "barrier":
                            self._barrier_done(g, node)
                            complete(node, True)
                            continue
                        if node[0] == "proc":
                            limit = self.refs[node[1]].max_concurrency
                            if limit and per_proc[node[1]] >= limit:
                                waiting.append(node)
                                continue
                            per_proc[node[1]] += 1
                        fn = self._run_proc if node[0] == "proc" else self._run_gate
                        running[pool.submit(fn, g.nodes[node], node)] = node
                    if not running:
                        if waiting:  # cannot happen: a waiting node implies a running one
                            ready.extend(waiting)
                            waiting.clear()
                            continue
                        break
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for fut in done:
                        node = running.pop(fut)
                        if node[0] == "proc":
                            per_proc[node[1]] -= 1
                            ready.extend(waiting)
                            waiting.clear()
                        outcome = fut.result()
                        outcomes[node] = outcome
                        finished += 1
                        ok = outcome.status in (DONE, "pass", "warn")
                        complete(node, ok)
                        if self.on_node:
                            self.on_node(outcome, finished, total)
            except KeyboardInterrupt:
                interrupted = True
                log.warning("interrupted: letting running nodes finish their transaction", running=len(running))
                for fut in list(running):
                    fut.cancel()
                for fut in list(running):
                    if not fut.cancelled():
                        with contextlib.suppress(BaseException):
                            outcomes[running[fut]] = fut.result()
        return outcomes, blocked, interrupted

    def _barrier_done(self, g: nx.DiGraph, node: tuple) -> None:
        label = node[1]
        if label.startswith("phase:") and label.endswith(":done"):
            self._emit("phase_completed", {"phase": label.split(":")[1]})

    def _params(self, name: str) -> dict[str, Any]:
        return {"plan_dir": str(self.plan.path.parent), **self.plan.vars, **self.plan.params,
                **self.refs[name].params}

    def _run_proc(self, data: Mapping[str, Any], node: tuple) -> NodeOutcome:
        name, dates = node[1], data["dates"]
        proc = self.registry.processors[name]
        ref = self.refs[name]
        retries = ref.retries if ref.retries is not None else self.plan.defaults.retries
        attempt = 0
        while True:
            attempt += 1
            started = utcnow()
            try:
                with self.wh.transaction() as tx:
                    ctx = ProcessorContext(processor=proc, dates=dates, params=self._params(name),
                                           run_id=self.run_id, mode=self.mode, warehouse=self.wh, transaction=tx)
                    result = proc.run(ctx)
                    rows = result.rows if result is not None else {}
                    records = self.ledger.partition_records(self.run_id, name, proc.table, dates, DONE,
                                                            attempt=attempt, rows=rows, started_at=started)
                    if tx.wrote:
                        self.ledger.mark_in(tx, records)
                if not tx.wrote:
                    self.ledger.buffer(records)
                failures = dict(result.failures) if result is not None else {}
                return NodeOutcome(node, DONE, attempts=attempt, rows=sum(rows.values()), dates=dates,
                                   failures=failures)
            except Exception as exc:
                transient = self.wh.is_transient(exc)
                error = f"{type(exc).__name__}: {exc}"
                self.ledger.buffer(self.ledger.partition_records(
                    self.run_id, name, proc.table, dates, FAILED, attempt=attempt, started_at=started,
                    error=("transient, retrying: " if transient and attempt <= retries else "") + error))
                if transient and attempt <= retries:
                    delay = self.plan.defaults.retry_backoff_s * 2 ** (attempt - 1) * (0.5 + random.random())
                    log.warning("transient error, retrying", processor=name, attempt=attempt,
                                delay_s=round(delay, 2), error=error)
                    self.options.sleep(delay)
                    continue
                log.error("node failed", processor=name, dates=f"{dates[0]}..{dates[-1]}", error=error)
                self.ledger.flush()
                return NodeOutcome(node, FAILED, error=error, attempts=attempt, dates=dates)

    def _run_gate(self, data: Mapping[str, Any], node: tuple) -> NodeOutcome:
        spec: GateSpec = data["gate"]
        gate = self.registry.gates[spec.name]
        work = self._work
        assert work is not None
        phase = self.plan.phases[spec.phase]
        upstream = [self.registry.processors[r.name] for ph in self.plan.phases[: spec.phase] for r in ph.processors]
        ctx = GateContext(
            gate=spec.name, stage=spec.stage, options=spec.options,
            processors=[self.registry.processors[p] for p in spec.processors], upstream=upstream,
            dates=work.phase_dates[phase.name], mode=self.mode, warehouse=self.wh, plan=self.plan,
            registry=self.registry, run_id=self.run_id,
        )
        started = utcnow()
        try:
            result = gate.check(ctx)
        except Exception as exc:
            result = GateResult("fail", [], f"gate raised {type(exc).__name__}: {exc}")
        self.ledger.record_gate(self.ledger.gate_record(
            self.run_id, spec.name, spec.stage, result.status, spec.severity, result.summary,
            [f.as_dict() for f in result.findings], started))
        status = result.status
        if status == "fail" and spec.severity == "warn":
            status = "warn"
        if status == "fail":
            self._emit("gate_failed", {"gate": spec.name, "stage": spec.stage, "summary": result.summary})
            log.error("gate failed", gate=spec.name, stage=spec.stage, summary=result.summary)
        return NodeOutcome(node, status, gate=result, error=result.summary if status == "fail" else None)

    # -- results -----------------------------------------------------------------------------
    def _record_blocked(self, g: nx.DiGraph, blocked: set[tuple]) -> None:
        for node in blocked:
            if node[0] == "proc":
                data = g.nodes[node]
                proc = self.registry.processors[node[1]]
                self.ledger.buffer(self.ledger.partition_records(
                    self.run_id, node[1], proc.table, data["dates"], BLOCKED, attempt=0,
                    started_at=utcnow(), error="blocked by an upstream failure"))
        self.ledger.flush()

    def _summarize(self, work: Work, dag: Dag, outcomes: Mapping[tuple, NodeOutcome], blocked: set[tuple],
                   interrupted: bool, duration: float) -> RunSummary:
        parts = Counter({"done": 0, "skipped": work.already_done, "failed": 0, "blocked": 0})
        gates = Counter({"passed": 0, "warned": 0, "failed": 0})
        failures, entity = [], Counter()
        rows = 0
        for node, o in outcomes.items():
            if node[0] == "proc":
                parts["done" if o.status == DONE else "failed"] += len(o.dates)
                rows += o.rows
                entity.update(o.failures)
                if o.status == FAILED:
                    failures.append({"node": f"{node[1]} {o.dates[0]}..{o.dates[-1]}", "error": o.error})
            else:
                gates[{"pass": "passed", "warn": "warned", "fail": "failed"}[o.status]] += 1
                if o.status == "fail":
                    failures.append({"node": f"gate {node[1]} ({node[2]})", "error": o.error})
        never_ran = [n for n in dag.graph if n[0] == "proc" and n not in outcomes]
        for n in never_ran:
            parts["blocked"] += len(dag.graph.nodes[n]["dates"])
        blocked_by = []
        for node, o in outcomes.items():
            if o.status in (FAILED, "fail"):
                down = [n for n in nx.descendants(dag.graph, node) if n[0] == "proc"]
                if down:
                    blocked_by.append({"node": node[1], "blocked_nodes": len(down),
                                       "blocked_partitions": sum(len(dag.graph.nodes[n]["dates"]) for n in down)})
        status = "interrupted" if interrupted else ("failed" if failures or never_ran else "succeeded")
        return RunSummary(self.run_id, self.plan.name, status, dict(parts), dict(gates), duration,
                          failures, blocked_by, dict(entity), rows)

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        # Backfill mode is quiet: only run_finished goes out (DESIGN.md, Modes).
        if self.mode == "backfill" and kind != "run_finished":
            return
        event = Event(kind, self.run_id, self.plan.name, data)
        try:
            self.registry.pm.hook.bfplan_on_event(event=event)
        except Exception as exc:
            log.warning("event hook failed", event=kind, error=f"{type(exc).__name__}: {exc}")
