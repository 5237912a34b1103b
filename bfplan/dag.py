"""The plan as a DAG of nodes — pure graph code (networkx), no I/O.

Nodes are typed ids (named tuples: as cheap to hash as tuples, since big plans have 100,000):

* :class:`ProcNode` ``(processor, batch)`` — a processor over its batch of dates (``dates`` attribute)
* :class:`GateNode` ``(gate, stage, where)`` — a gate at a stage ("before phase p", "after
  processor x"); ``where`` is its plan key path, so one gate may stand twice at a stage
  (``gate`` attribute: its :class:`GateSpec`)
* :class:`Barrier` ``(label)`` — a no-op that turns NxM "all of these before all of those" edges
  into N+M edges: the phase barriers, and per-processor *prefix* barriers.

Phase by phase: nothing in phase N+1 starts before every node of phase N and its after-gates
are done. Inside a phase, a processor waits for the processors whose output tables it reads
(``inputs``) or that it ``depends_on`` — but only for their batches up to its own dates:
processors read their inputs at or before their own date (rolling windows look back, never
ahead), so batch j of a consumer depends on the prefix barrier "producer done up to the last
batch starting on or before j's last date". A failure therefore blocks only what read it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

import networkx as nx


class ProcNode(NamedTuple):
    """A processor over one batch of its dates (the batch's index in its processor's batches)."""

    processor: str
    batch: int
    kind: str = "proc"


class GateNode(NamedTuple):
    """A gate at a stage; ``where`` is its plan key path."""

    gate: str
    stage: str
    where: str
    kind: str = "gate"


class Barrier(NamedTuple):
    """A no-op joining many nodes to many (phase start/end, "processor done up to batch i")."""

    label: str
    kind: str = "barrier"


NodeId = ProcNode | GateNode | Barrier


@dataclass(frozen=True)
class GateSpec:
    """A gate placed in the DAG (a plan's GateRef plus where it stands)."""

    name: str
    stage: str
    severity: str
    options: Mapping[str, Any]
    processors: tuple[str, ...]
    phase: int
    where: str
    #: which gate of the plan this is, across runs (see bfplan.gaterun.gate_key)
    key: str = ""


@dataclass(frozen=True)
class ProcSpec:
    """What the DAG needs to know of one processor in the plan."""

    name: str
    phase: int
    table: str
    inputs: tuple[str, ...]
    depends_on: tuple[str, ...]
    batches: tuple[tuple[date, ...], ...]
    gates_after: tuple[GateSpec, ...] = ()
    where: str = ""


@dataclass(frozen=True)
class PhaseSpec:
    """One phase: its processors (in plan order) and its gates."""

    name: str
    processors: tuple[ProcSpec, ...]
    gates_before: tuple[GateSpec, ...] = ()
    gates_after: tuple[GateSpec, ...] = ()


@dataclass
class DagProblem:
    """A problem found while building the DAG, located by a plan key path.

    For a cycle, ``steps`` lists (processor, its plan path, why it waits for the previous one),
    so the caller can print each step with its file:line.
    """

    path: str
    message: str
    steps: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class Dag:
    """The graph plus what was wrong with the plan's structure (cycles, lineage)."""

    graph: nx.DiGraph
    problems: list[DagProblem] = field(default_factory=list)
    #: processor name -> phase index (kept here, not on each node, to keep big DAGs small)
    phase_of: dict[str, int] = field(default_factory=dict)

    def proc_nodes(self) -> list[ProcNode]:
        return [n for n in self.graph if isinstance(n, ProcNode)]

    def gate_nodes(self) -> list[GateNode]:
        return [n for n in self.graph if isinstance(n, GateNode)]

    def work_nodes(self) -> int:
        """Nodes that do something (processors and gates; not barriers)."""
        return sum(1 for n in self.graph if not isinstance(n, Barrier))


def batch_dates(dates: Sequence[date], batch_days: int) -> list[tuple[date, ...]]:
    """Group sorted dates into batches spanning at most ``batch_days`` calendar days."""
    batches: list[tuple[date, ...]] = []
    current: list[date] = []
    for d in sorted(set(dates)):
        if current and (d - current[0]).days >= batch_days:
            batches.append(tuple(current))
            current = []
        current.append(d)
    if current:
        batches.append(tuple(current))
    return batches


def _processor_edges(phase: PhaseSpec, problems: list[DagProblem]) -> nx.DiGraph:
    """Producer → consumer edges among one phase's processors (lineage + depends_on)."""
    g = nx.DiGraph()
    producers = {p.table: p.name for p in phase.processors}
    for p in phase.processors:
        g.add_node(p.name, where=p.where)
    for p in phase.processors:
        for t in p.inputs:
            src = producers.get(t)
            if src and src != p.name:
                g.add_edge(src, p.name, why=f"reads {t}")
        for dep in p.depends_on:
            if dep in g and dep != p.name:
                g.add_edge(dep, p.name, why="depends_on")
    for cycle in nx.simple_cycles(g):
        # Start the cycle at the processor listed first in the plan, so the report is stable.
        first = min(range(len(cycle)), key=lambda i: [p.name for p in phase.processors].index(cycle[i]))
        cycle = cycle[first:] + cycle[:first]
        steps = []
        for i, name in enumerate(cycle):
            nxt = cycle[(i + 1) % len(cycle)]
            steps.append((nxt, g.nodes[nxt]["where"], f"{g.edges[name, nxt]['why']} ({name})"))
        text = " -> ".join([*cycle, cycle[0]])
        problems.append(DagProblem(g.nodes[cycle[0]]["where"], f"dependency cycle: {text}", steps))
    return g


def _check_lineage_across_phases(phases: Sequence[PhaseSpec], problems: list[DagProblem]) -> None:
    """A processor must not read a table that a later phase produces."""
    produced_at = {p.table: (k, p.name) for k, ph in enumerate(phases) for p in ph.processors}
    for k, ph in enumerate(phases):
        for p in ph.processors:
            for t in p.inputs:
                if t in produced_at and produced_at[t][0] > k:
                    later = produced_at[t][1]
                    problems.append(DagProblem(
                        p.where, f"processor '{p.name}' reads {t}, which '{later}' produces in a later "
                        f"phase ({phases[produced_at[t][0]].name}); move it to phase "
                        f"{phases[produced_at[t][0]].name} or later"))
            for dep in p.depends_on:
                if dep in {q.name for q in ph.processors}:
                    continue
                where = next(((j, q) for j, pp in enumerate(phases) for q in pp.processors if q.name == dep), None)
                if where and where[0] > k:
                    problems.append(DagProblem(
                        p.where, f"processor '{p.name}' depends on '{dep}', which runs in a later phase"))


def structure_problems(phases: Sequence[PhaseSpec]) -> list[DagProblem]:
    """What is wrong with the plan's shape whatever its dates: cycles, reading a later phase."""
    problems: list[DagProblem] = []
    _check_lineage_across_phases(phases, problems)
    for phase in phases:
        _processor_edges(phase, problems)
    return problems


def build_dag(phases: Sequence[PhaseSpec]) -> Dag:
    """Build the node graph of a plan's phases (only the batches that are to run)."""
    g = nx.DiGraph()
    problems: list[DagProblem] = []
    _check_lineage_across_phases(phases, problems)
    previous_done: Barrier | None = None
    for k, phase in enumerate(phases):
        start = Barrier(f"phase:{phase.name}:start")
        g.add_node(start)
        if previous_done is not None:
            g.add_edge(previous_done, start)
        ready = _gates(g, phase.gates_before, after=start, label=f"phase:{phase.name}:ready", phase=k)
        order = _processor_edges(phase, problems)
        # finished[p]: barrier nodes meaning "p done up to batch i" (or one "gated" barrier)
        finished: dict[str, tuple[list[date], list[Barrier]]] = {}
        ends: list[NodeId] = []
        if nx.is_directed_acyclic_graph(order):
            names = list(nx.lexicographical_topological_sort(order, key=_plan_order(phase)))
        else:
            names = [p.name for p in phase.processors]
        specs = {p.name: p for p in phase.processors}
        consumed = {u for u, _ in order.edges}
        for name in names:
            p = specs[name]
            producers = [u for u in order.predecessors(name) if finished.get(u, ([], []))[1]]
            nodes: list[ProcNode] = []
            for i, dates in enumerate(p.batches):
                node = ProcNode(p.name, i)
                g.add_node(node, dates=dates)
                linked = False
                for u in producers:
                    firsts, prefixes = finished[u]
                    j = bisect.bisect_right(firsts, dates[-1]) - 1
                    if j >= 0:
                        g.add_edge(prefixes[min(j, len(prefixes) - 1)], node)
                        linked = True
                if not linked:  # otherwise it follows "ready" through its producers already
                    g.add_edge(ready, node)
                nodes.append(node)
            if p.name in consumed or p.gates_after:
                finished[p.name] = _prefixes(g, p, nodes, k, ready)
                if finished[p.name][1]:
                    ends.append(finished[p.name][1][-1])
            else:  # nobody in the phase waits for parts of it: its nodes go straight to the end
                ends.extend(nodes)
        end = Barrier(f"phase:{phase.name}:end")
        g.add_node(end)
        g.add_edge(ready, end)
        for e in ends:
            g.add_edge(e, end)
        previous_done = _gates(g, phase.gates_after, after=end, label=f"phase:{phase.name}:done", phase=k)
    phase_of = {p.name: k for k, ph in enumerate(phases) for p in ph.processors}
    return Dag(g, problems, phase_of)


def _plan_order(phase: PhaseSpec) -> Callable[[str], str]:
    index = {p.name: i for i, p in enumerate(phase.processors)}
    return lambda name: f"{index[name]:06d}"


def _prefixes(g: nx.DiGraph, p: ProcSpec, nodes: list[ProcNode], k: int,
              ready: Barrier) -> tuple[list[date], list[Barrier]]:
    """Chain "done up to batch i" barriers; with after-gates, one barrier after the gates (which
    stand right after the phase's start when the processor itself has nothing to run: a gate
    whose last verdict blocked is evaluated again before what it guards)."""
    if p.gates_after:
        done = Barrier(f"proc:{p.name}:done")
        g.add_node(done)
        for n in nodes:
            g.add_edge(n, done)
        if not nodes:
            g.add_edge(ready, done)
        gated = _gates(g, p.gates_after, after=done, label=f"proc:{p.name}:gated", phase=k)
        return [date.min], [gated]
    if not nodes:
        return [], []
    prefixes: list[Barrier] = []
    for i, n in enumerate(nodes):
        b = Barrier(f"upto:{p.name}:{i}")
        g.add_node(b)
        g.add_edge(n, b)
        if prefixes:
            g.add_edge(prefixes[-1], b)
        prefixes.append(b)
    return [dates[0] for dates in p.batches], prefixes


def _gates(g: nx.DiGraph, gates: Sequence[GateSpec], *, after: Barrier, label: str, phase: int) -> Barrier:
    """Gate nodes after ``after``, joined by a barrier named ``label``; returns the barrier."""
    join = Barrier(label)
    g.add_node(join)
    if not gates:
        g.add_edge(after, join)
        return join
    for gate in gates:
        node = GateNode(gate.name, gate.stage, gate.where)
        g.add_node(node, gate=gate)
        g.add_edge(after, node)
        g.add_edge(node, join)
    return join


def stages(dag: Dag) -> list[dict[str, Any]]:
    """A summary per phase for ``validate``: processors with node/date counts, gates."""
    out: dict[int, dict[str, Any]] = {}
    for node, data in dag.graph.nodes(data=True):
        if isinstance(node, ProcNode):
            k = dag.phase_of[node.processor]
        elif isinstance(node, GateNode):
            k = data["gate"].phase
        else:
            continue
        s = out.setdefault(k, {"phase": k, "processors": {}, "gates": []})
        if isinstance(node, ProcNode):
            pr = s["processors"].setdefault(node.processor, {"nodes": 0, "dates": 0})
            pr["nodes"] += 1
            pr["dates"] += len(data["dates"])
        else:
            s["gates"].append(f"{data['gate'].name} ({data['gate'].stage})")
    return [out[k] for k in sorted(out)]
