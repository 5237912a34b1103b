"""Engine overhead: no-op processors, 5 x 2,000 dates at batch_days 1 (10,000 nodes).

Run by hand: ``.venv/bin/python benchmarks/overhead.py``. Prints DAG build time, run wall
time, per-node overhead (ledger included), peak RSS, and DAG build + validate for 100,000
nodes. Targets (issue 2): <= 0.2 ms per node, <= 3 s for 100k nodes, <= 300 MB peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
NOOP_PLUGIN = '''
from dataclasses import dataclass
from bfplan import hookimpl
from bfplan.processors import Processor, ProcessorContext, ProcessorResult


@dataclass(frozen=True)
class Noop(Processor):
    def run(self, ctx: ProcessorContext) -> ProcessorResult:
        return ctx.result


@hookimpl
def bfplan_processors():
    return [Noop(name=f"n{i}", table=f"bench.n{i}", partition_column="day",
                 inputs=(f"bench.n{i - 1}",) if i else ()) for i in range(5)]
'''


def write_plan(tmp: Path, days: int, jobs: int) -> Path:
    (tmp / "noop_plugin.py").write_text(NOOP_PLUGIN)
    start = date(2000, 1, 1)
    end = start + timedelta(days=days - 1)
    plan = tmp / "bench.yaml"
    plan.write_text(
        f"name: bench\ndates: {{start: {start}, end: {end}}}\n"
        f"warehouse: {{type: duckdb, path: overhead.duckdb}}\nplugins: [noop_plugin.py]\n"
        f"defaults: {{batch_days: 1, jobs: {jobs}, retries: 0}}\n"
        "phases:\n  - name: all\n    processors: [n0, n1, n2, n3, n4]\n"
    )
    return plan


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_only(days: int) -> dict[str, float]:
    """DAG build + validate (schema, plugins, ledger read, DAG, acyclicity) of 5 x ``days`` nodes."""
    from bfplan.run.runner import Runner
    from bfplan.session import open_session

    with tempfile.TemporaryDirectory() as d:
        plan = write_plan(Path(d), days, 2)
        t0 = time.perf_counter()
        session = open_session(plan, read_only=True)
        _, dag = Runner(session.plan, session.registry, session.warehouse).prepare()
        assert nx.is_directed_acyclic_graph(dag.graph)
        elapsed = time.perf_counter() - t0
        nodes = len(dag.proc_nodes())
        session.close()
    return {"big_nodes": nodes, "big_build_validate_s": elapsed, "big_peak_rss_mb": peak_rss_mb()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--days", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--big-days", type=int, default=20000, help="dates for the 100k-node build")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--big-only", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    os.environ["BFPLAN_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    if args.big_only:
        print(json.dumps(build_only(args.big_only)))
        return 0
    from bfplan.run.runner import Runner
    from bfplan.session import open_session

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        plan = write_plan(tmp, args.days, args.jobs)
        session = open_session(plan)
        runner = Runner(session.plan, session.registry, session.warehouse)
        t0 = time.perf_counter()
        _, dag = runner.prepare()
        out["dag_build_s"] = time.perf_counter() - t0
        nodes = len(dag.proc_nodes())
        t0 = time.perf_counter()
        summary = runner.run()
        wall = time.perf_counter() - t0
        assert summary.partitions["done"] == nodes, summary.partitions
        out["nodes"] = nodes
        out["run_wall_s"] = wall
        out["per_node_ms"] = wall / nodes * 1000
        rows = session.warehouse.query("SELECT COUNT(*) AS n FROM bfplan.partition_log")
        out["ledger_rows"] = rows[0]["n"]
        t0 = time.perf_counter()
        second = Runner(session.plan, session.registry, session.warehouse).run()
        out["rerun_all_skipped_s"] = time.perf_counter() - t0
        assert second.partitions["skipped"] == nodes
        session.close()

    out["peak_rss_mb"] = peak_rss_mb()
    # The 100k-node build runs in its own process so each peak RSS is its own.
    big = subprocess.run([sys.executable, __file__, "--big-only", str(args.big_days)], check=True,
                         capture_output=True, text=True)
    out.update(json.loads(big.stdout))
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{out['nodes']:.0f} no-op nodes (5 processors x {args.days} dates, batch_days 1, jobs {args.jobs})")
        print(f"  DAG build (with ledger read): {out['dag_build_s']:.2f} s")
        print(f"  run wall time:                {out['run_wall_s']:.2f} s  -> {out['per_node_ms']:.3f} ms/node")
        print(f"  ledger rows written:          {out['ledger_rows']:.0f}")
        print(f"  re-run, all skipped:          {out['rerun_all_skipped_s']:.2f} s")
        print(f"  peak RSS:                     {out['peak_rss_mb']:.0f} MB")
        print(f"{out['big_nodes']:.0f} nodes: build + validate {out['big_build_validate_s']:.2f} s, "
              f"peak RSS {out['big_peak_rss_mb']:.0f} MB (networkx: ~0.6 KB per node and edge)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
