"""The DAG: barriers, lineage edges, prefix dependencies, cycles reported with file:line."""

from __future__ import annotations

from datetime import date, timedelta

import networkx as nx

from bfplan.dag import GateNode, GateSpec, PhaseSpec, ProcNode, ProcSpec, batch_dates, build_dag
from tests.conftest import as_json

D = [date(2021, 11, 1) + timedelta(days=i) for i in range(10)]


def proc(name, table, inputs=(), depends_on=(), batches=None, phase=0, gates=()):
    return ProcSpec(name, phase, table, tuple(inputs), tuple(depends_on),
                    tuple(batches if batches is not None else batch_dates(D, 5)), tuple(gates), f"p.{name}")


def test_batches_span_at_most_batch_days():
    assert batch_dates(D, 3) == [tuple(D[0:3]), tuple(D[3:6]), tuple(D[6:9]), (D[9],)]
    gap = [D[0], D[1], D[8]]
    assert batch_dates(gap, 7) == [(D[0], D[1]), (D[8],)]


def test_phase_barrier_orders_every_node_of_phase_two_after_phase_one():
    dag = build_dag([
        PhaseSpec("one", (proc("a", "x.a"), proc("b", "x.b"))),
        PhaseSpec("two", (proc("c", "x.c", phase=1),)),
    ])
    g = dag.graph
    assert dag.problems == []
    for one in [n for n in g if isinstance(n, ProcNode) and n.processor in "ab"]:
        for two in [n for n in g if isinstance(n, ProcNode) and n.processor == "c"]:
            assert nx.has_path(g, one, two)
    # barriers, not N x M edges: no direct edge between the phases' processor nodes
    assert not any(isinstance(u, ProcNode) and isinstance(v, ProcNode) for u, v in g.edges)


def test_lineage_prefix_edges_let_a_failure_block_only_later_batches():
    dag = build_dag([PhaseSpec("one", (proc("src", "x.src"), proc("dst", "x.dst", inputs=["x.src"])))])
    g = dag.graph
    src0, src1 = ProcNode("src", 0), ProcNode("src", 1)
    dst0, dst1 = ProcNode("dst", 0), ProcNode("dst", 1)
    assert nx.has_path(g, src0, dst0) and nx.has_path(g, src0, dst1) and nx.has_path(g, src1, dst1)
    assert not nx.has_path(g, src1, dst0)  # dst's first week never reads src's second week
    assert dst0 not in nx.descendants(g, src1)


def test_processor_gates_sit_between_producer_and_consumer():
    gate = GateSpec("coverage", "after processor src", "block", {}, ("src",), 0, "p.src.gates[0]")
    dag = build_dag([PhaseSpec("one", (proc("src", "x.src", gates=[gate]), proc("dst", "x.dst", inputs=["x.src"])))])
    g = dag.graph
    gnode = GateNode("coverage", "after processor src", "p.src.gates[0]")
    assert nx.has_path(g, ProcNode("src", 1), gnode)
    assert nx.has_path(g, gnode, ProcNode("dst", 0))


def test_reading_a_later_phase_is_a_problem():
    dag = build_dag([PhaseSpec("one", (proc("a", "x.a", inputs=["x.b"]),)),
                     PhaseSpec("two", (proc("b", "x.b", phase=1),))])
    assert [p.message for p in dag.problems] == [
        "processor 'a' reads x.b, which 'b' produces in a later phase (two); move it to phase two or later"]


def test_fifty_thousand_nodes_build_fast():
    import time

    many = [date(2000, 1, 1) + timedelta(days=i) for i in range(10_000)]
    t0 = time.perf_counter()
    phases = [PhaseSpec("one", tuple(
        proc(f"p{i}", f"x.p{i}", inputs=[f"x.p{i - 1}"] if i else [], batches=batch_dates(many, 1))
        for i in range(5)))]
    dag = build_dag(phases)
    assert len(dag.proc_nodes()) == 50_000
    assert nx.is_directed_acyclic_graph(dag.graph)
    assert time.perf_counter() - t0 < 15  # the benchmark measures it properly; this guards against O(n^2)


def test_cycle_is_a_plan_error_listing_each_step_with_its_line(write_plan, bfplan):
    plan = write_plan("""
        name: cyc
        dates: {start: 2021-11-01, end: 2021-11-02}
        warehouse: {type: duckdb, path: w.duckdb}
        plugins: ["{toy}"]
        phases:
          - name: one
            processors:
              - {name: src, depends_on: [cum]}
              - dbl
              - cum
        """)
    result = bfplan("validate", plan)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"{plan}:8:9: phases[0].processors[0]: dependency cycle: src -> dbl -> cum -> src; "
        "dbl (line 9) reads toy.src (src); cum (line 10) reads toy.dbl (dbl); src (line 8) depends_on (cum)")
    doc = as_json(bfplan("validate", plan, "--json"))
    assert doc["valid"] is False and doc["errors"][0]["line"] == 8
