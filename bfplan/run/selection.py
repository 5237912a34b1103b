"""What a run will do: per processor, the planned dates, those to compute and those skipped.

Selection follows the CLI: ``--start/--end/--dates`` narrow the plan's dates, ``--only`` the
processors, ``--from P`` takes P and every processor downstream of it (by table lineage and
``depends_on``, across phases) and recomputes them even if done; ``--stale`` does the same
from the stale partitions (and only the dates their readers' windows reach); ``--force`` recomputes
everything selected; ``--rerun-failed`` takes only partitions that were attempted and are
not done. Otherwise a partition already ``done`` in the ledger is skipped.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import networkx as nx

from bfplan.dag import GateSpec, PhaseSpec, ProcSpec, batch_dates
from bfplan.errors import PlanError, UsageError
from bfplan.ledger.ledger import GateState, PartitionState
from bfplan.ledger.lineage import VersionIndex, input_lookback
from bfplan.plan.dates import expand_dates
from bfplan.plan.model import GateRef, Plan
from bfplan.plugins import Registry
from bfplan.run.gates import fingerprint, needs_recheck, stage_specs
from bfplan.status import PartitionStatus


@dataclass(frozen=True)
class Selection:
    """The CLI's narrowing of a plan."""

    start: date | None = None
    end: date | None = None
    dates: tuple[date, ...] | None = None
    only: tuple[str, ...] | None = None
    from_: tuple[str, ...] | None = None
    force: bool = False
    rerun_failed: bool = False
    #: recompute stale partitions (see bfplan.lineage) and what reads them, upstream first
    stale: bool = False


@dataclass
class Work:
    """The outcome of selection: phases ready for :func:`bfplan.dag.build_dag`."""

    phases: list[PhaseSpec]
    planned: dict[str, list[date]] = field(default_factory=dict)
    todo: dict[str, list[date]] = field(default_factory=dict)
    skipped: dict[str, list[date]] = field(default_factory=dict)
    phase_dates: dict[str, list[date]] = field(default_factory=dict)

    @property
    def to_run(self) -> int:
        return sum(len(v) for v in self.todo.values())

    @property
    def already_done(self) -> int:
        return sum(len(v) for v in self.skipped.values())


def processor_graph(plan: Plan, registry: Registry) -> nx.DiGraph:
    """Processor-level lineage across the whole plan: producer → consumer."""
    g = nx.DiGraph()
    refs = plan.processor_refs()
    producers = {registry.processors[r.name].table: r.name for _, r in refs}
    for _, r in refs:
        g.add_node(r.name)
        for t in registry.processors[r.name].inputs:
            if t in producers and producers[t] != r.name:
                g.add_edge(producers[t], r.name)
        for d in r.depends_on:
            g.add_edge(d, r.name)
    return g


def _affected(registry: Registry, graph: nx.DiGraph, seeds: Mapping[str, set[date]],
              planned: Mapping[str, list[date]]) -> dict[str, set[date]]:
    """Dates to recompute downstream of ``seeds`` (processor → dates): a consumer's date is
    affected when it reads, within its lookback for that input, an affected producer date."""
    affected: dict[str, set[date]] = {s: set(ds) for s, ds in seeds.items() if ds}
    for name in nx.topological_sort(graph):
        ups = [u for u in graph.predecessors(name) if affected.get(u)]
        if not ups:
            continue
        proc = registry.processors[name]
        hit: set[date] = set(affected.get(name, ()))
        for u in ups:
            lookback = input_lookback(proc, registry.processors[u].table)
            first = sorted(affected[u])
            for d in planned.get(name, ()):
                # the latest affected upstream date <= d decides: is it inside d's window?
                i = bisect.bisect_right(first, d) - 1
                if i >= 0 and (lookback is None or d - first[i] <= timedelta(days=lookback)):
                    hit.add(d)
        if hit:
            affected[name] = hit
    return affected


def plan_work(plan: Plan, registry: Registry, state: Mapping[tuple[str, date], PartitionState],
              sel: Selection, *, batch_days: int | None = None,
              stale: Mapping[str, set[date]] | None = None,
              correctable: Mapping[str, set[date]] | None = None, history: GateHistory | None = None) -> Work:
    """Decide what runs. ``batch_days`` (the mode's) overrides the plan's batching; ``stale``
    and ``correctable`` (processor → dates) come from the ledger and the failures tables.

    ``--dates``/``--start``/``--end`` narrow the plan's dates; with ``--from`` (or ``--stale``)
    they narrow the seeds only: a reader whose window reaches a recomputed date is recomputed
    on its own (later) dates too. Raises UsageError for a selection that matches nothing."""
    names = [r.name for _, r in plan.processor_refs()]
    for opt, given in (("--only", sel.only), ("--from", sel.from_)):
        for n in given or ():
            if n not in names:
                raise UsageError(f"{opt}: '{n}' is not a processor of this plan ({', '.join(names)})")
    full: dict[str, list[date]] = {}
    planned: dict[str, list[date]] = {}
    phase_of: dict[str, str] = {}
    for phase in plan.phases:
        every = expand_dates(phase.dates, registry, plan)
        dates = every
        if sel.dates is not None:
            wanted = set(sel.dates)
            dates = [d for d in dates if d in wanted]
        if sel.start is not None:
            dates = [d for d in dates if d >= sel.start]
        if sel.end is not None:
            dates = [d for d in dates if d <= sel.end]
        for ref in phase.processors:
            full[ref.name], planned[ref.name], phase_of[ref.name] = every, dates, phase.name
    if not any(planned.values()):
        if sel.dates is not None or sel.start is not None or sel.end is not None:
            raise UsageError("no planned dates match the selection (check --start/--end/--dates against the plan)")
        spec = plan.dates
        where, why = ("dates.calendar", f"calendar {spec.calendar!r} has no dates") if spec.calendar else (
            "dates", "no dates")
        span = f" between {spec.start} and {spec.end}" if spec.start and spec.end else ""
        raise PlanError([plan.issue(where, f"{why}{span}: the plan has nothing to run")])

    selected = set(sel.only) if sel.only else set(names)
    forced: dict[str, set[date]] = {}
    if sel.from_ or sel.stale:
        seeds = {p: set(planned[p]) for p in sel.from_ or ()}
        for p, ds in (stale or {}).items():
            seeds.setdefault(p, set()).update(d for d in ds if d in set(planned.get(p, ())))
        if sel.stale:  # up to date means built too: what was never built (blocked, failed) runs, and
            for name in names:  # so does every reader whose window reaches it
                seeds.setdefault(name, set()).update(d for d in planned[name] if (
                    (st := state.get((name, d))) is None or st.status != PartitionStatus.DONE))
        forced = _affected(registry, processor_graph(plan, registry), seeds, full)
        selected &= set(forced)
    todo: dict[str, list[date]] = {}
    skipped: dict[str, list[date]] = {}
    for name in names:
        todo[name], skipped[name] = [], []
        if name not in selected:
            continue
        if name in forced:
            todo[name] = sorted(forced[name])
            continue
        fixable = (correctable or {}).get(name, set())
        for d in planned[name]:
            st = state.get((name, d))
            if sel.force:
                todo[name].append(d)
            elif sel.rerun_failed:
                if (st is not None and st.status != PartitionStatus.DONE) or d in fixable:
                    todo[name].append(d)
            elif st is not None and st.status == PartitionStatus.DONE:
                skipped[name].append(d)
            else:
                todo[name].append(d)
    phase_dates: dict[str, list[date]] = {}
    for name in names:
        merged = set(phase_dates.get(phase_of[name], ())) | set(planned[name]) | set(todo[name])
        phase_dates[phase_of[name]] = sorted(merged)

    # A narrowed selection (--only, --from, --stale) runs only the gates guarding what it selected.
    narrowed = bool(sel.only or sel.from_ or sel.stale)
    phases = _phase_specs(plan, registry, todo, batch_days, None if narrowed else history, phase_dates)
    return Work(phases, planned, todo, skipped, phase_dates)


@dataclass(frozen=True)
class GateHistory:
    """What the ledger says of the plan's gates, and the versions their inputs have now: with it
    a gate that guards nothing to run is still evaluated when its last verdict calls for it."""

    states: Mapping[str, GateState]
    versions: VersionIndex


def _gate_specs(plan: Plan, registry: Registry, refs: Sequence[GateRef], stage: str, processors: tuple[str, ...],
                k: int, path: str, guards_work: bool, history: GateHistory | None,
                dates: Sequence[date]) -> tuple[GateSpec, ...]:
    out = []
    for spec in stage_specs(refs, stage, processors, k, path):
        if guards_work:
            out.append(spec)
        elif history is not None and dates:
            current = fingerprint(plan, spec, dates, history.versions, registry.gates.get(spec.name))
            if needs_recheck(history.states.get(spec.key), current):
                out.append(spec)
    return tuple(out)


def _phase_specs(plan: Plan, registry: Registry, todo: Mapping[str, list[date]], batch_override: int | None,
                 history: GateHistory | None, phase_dates: Mapping[str, list[date]]) -> list[PhaseSpec]:
    # Gates guard work: a phase's gates run when it or a later phase has something to do (a
    # resumed run re-checks what it now stands on). A gate that guards nothing still runs when
    # its last verdict blocked, never came, or was about other inputs (``history``).
    has_work = [any(todo[r.name] for r in ph.processors) for ph in plan.phases]
    later_work = [any(has_work[k:]) for k in range(len(has_work))]
    specs = []
    for k, ph in enumerate(plan.phases):
        dates = phase_dates.get(ph.name, [])
        procs = []
        for j, ref in enumerate(ph.processors):
            p = registry.processors[ref.name]
            where = f"phases[{k}].processors[{j}]"
            batch = batch_override or ref.batch_days or plan.defaults.batch_days
            gates = _gate_specs(plan, registry, ref.gates_after, f"after processor {ref.name}", (ref.name,), k,
                                f"{where}.gates.after", bool(todo[ref.name]), history, dates)
            procs.append(ProcSpec(ref.name, k, p.table, tuple(p.inputs), tuple(ref.depends_on),
                                  tuple(batch_dates(todo[ref.name], batch)), gates, where))
        names = tuple(r.name for r in ph.processors)
        before = _gate_specs(plan, registry, ph.gates_before, f"before phase {ph.name}", names, k,
                             f"phases[{k}].gates.before", has_work[k], history, dates)
        after = _gate_specs(plan, registry, ph.gates_after, f"after phase {ph.name}", names, k,
                            f"phases[{k}].gates.after", later_work[k], history, dates)
        specs.append(PhaseSpec(ph.name, tuple(procs), before, after))
    return specs
