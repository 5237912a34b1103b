"""In what order, and how many at once: ready DAG nodes on a thread pool.

Ready nodes run concurrently on ``jobs`` threads, with a short queue per thread so the
threads stay busy between wake-ups (kept short, so a stop request or a tripped breaker —
checked again when a node starts — stops little). Barriers complete inline. A node that did
not succeed blocks exactly its descendants; independent branches carry on. A processor runs
at most ``max_concurrency`` nodes at once; where concurrent rewrites of one table abort each
other (BigQuery), a node waits while another writes a table it writes.
"""

from __future__ import annotations

import contextlib
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import networkx as nx

from bfplan.dag import Barrier, GateNode, NodeId, ProcNode
from bfplan.run.node import NodeOutcome
from bfplan.run.stop import StopRequest
from bfplan.status import PartitionStatus


@dataclass
class Schedule:
    """What scheduling produced: each node's outcome, the nodes blocked, and whether it stopped."""

    outcomes: dict[NodeId, NodeOutcome] = field(default_factory=dict)
    blocked: set[NodeId] = field(default_factory=set)
    interrupted: bool = False


@dataclass
class Scheduler:
    """Runs the nodes of ``graph`` in dependency order (see the module docstring)."""

    graph: nx.DiGraph
    jobs: int
    stop: StopRequest
    #: run one processor or gate node (called on a worker thread)
    run_node: Callable[[NodeId], NodeOutcome]
    #: processor → the tables it writes (its output, its failures table)
    writes: Mapping[str, Sequence[str]]
    #: processor → how many of its nodes may run at once (None: no limit)
    max_concurrency: Mapping[str, int | None]
    #: whether a processor's circuit breaker is open (its nodes are not started)
    is_open: Callable[[str], bool]
    one_writer_per_table: bool = False
    on_barrier: Callable[[Barrier], None] = lambda barrier: None
    on_blocked: Callable[[set[NodeId]], None] = lambda nodes: None
    on_finish: Callable[[NodeOutcome, int, int], None] = lambda outcome, finished, total: None

    def run(self) -> Schedule:
        g = self.graph
        out = Schedule()
        indeg = dict(g.in_degree())
        ready: deque[NodeId] = deque(n for n, d in indeg.items() if d == 0)
        waiting: deque[NodeId] = deque()  # ready, held back by jobs or a processor's max_concurrency
        running: dict[Future[NodeOutcome], NodeId] = {}
        per_proc: Counter[str] = Counter()
        busy: Counter[str] = Counter()
        total = sum(1 for n in g if not isinstance(n, Barrier))
        finished = 0
        inflight = max(1, self.jobs) * 4

        def complete(node: NodeId, ok: bool) -> None:
            if not ok:
                down = nx.descendants(g, node) - out.blocked
                out.blocked.update(down)
                self.on_blocked(down)
                return
            for s in g.successors(node):
                indeg[s] -= 1
                if indeg[s] == 0 and s not in out.blocked:
                    ready.append(s)

        def finish(node: NodeId, outcome: NodeOutcome) -> None:
            nonlocal finished
            out.outcomes[node] = outcome
            finished += 1
            self.on_finish(outcome, finished, total)
            complete(node, outcome.ok)

        def admitted(node: ProcNode) -> bool:
            name = node.processor
            limit = self.max_concurrency.get(name)
            if len(running) >= inflight or (limit and per_proc[name] >= limit):
                return False
            return not (self.one_writer_per_table and any(busy[t] for t in self.writes[name]))

        with ThreadPoolExecutor(max_workers=max(1, self.jobs), thread_name_prefix="bfplan") as pool:
            try:
                while ready or running or waiting:
                    if self.stop:
                        out.interrupted = True
                        ready.clear()
                        waiting.clear()
                        if not running:
                            break
                    # a full pool admits nothing: what is ready waits for the next wake-up (scanning
                    # thousands of ready nodes at every wake-up would make a big run quadratic)
                    while ready and len(running) < inflight:
                        node = ready.popleft()
                        if node in out.blocked:
                            continue
                        if isinstance(node, Barrier):
                            self.on_barrier(node)
                            complete(node, True)
                            continue
                        if isinstance(node, ProcNode):
                            if self.is_open(node.processor):
                                finish(node, NodeOutcome(node, PartitionStatus.CIRCUIT_BROKEN,
                                                         dates=g.nodes[node]["dates"],
                                                         error=f"circuit breaker open for {node.processor}"))
                                continue
                            if not admitted(node):
                                waiting.append(node)
                                continue
                            per_proc[node.processor] += 1
                            busy.update(self.writes[node.processor])
                        running[pool.submit(self.run_node, node)] = node
                    if not running:
                        break
                    # a timeout, so a stop request is seen even while long nodes run
                    done, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
                    for fut in done:
                        node = running.pop(fut)
                        if isinstance(node, ProcNode):
                            per_proc[node.processor] -= 1
                            busy.subtract(self.writes[node.processor])
                        finish(node, fut.result())
                    # nodes held back go first, in the order they became ready
                    ready.extendleft(reversed(waiting))
                    waiting.clear()
            except KeyboardInterrupt:
                # a second Ctrl-C: abandon queued nodes; running transactions roll back on exit
                out.interrupted = True
                for fut in list(running):
                    fut.cancel()
                for fut in list(running):
                    if not fut.cancelled():
                        with contextlib.suppress(BaseException):
                            out.outcomes[running[fut]] = fut.result()
        return out


def is_work(node: NodeId) -> bool:
    """Processor and gate nodes (not barriers)."""
    return isinstance(node, ProcNode | GateNode)
