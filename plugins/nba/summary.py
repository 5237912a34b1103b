"""The end of ``make demo``: rows per table, failures by category, and how long the run took.

Usage: ``python plugins/nba/summary.py PLAN`` (reads the plan's warehouse and ledger).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bfplan.ledger import Ledger
from bfplan.session import open_session


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print("usage: summary.py PLAN", file=sys.stderr)
        return 2
    session = open_session(Path(args[0]))
    plan, wh = session.plan, session.warehouse
    try:
        runs = Ledger(wh, plan.name).runs(limit=1)
        print(f"\n== {plan.name}: SYNTHETIC data, warehouse {wh.description} ==")
        if runs:
            last = runs[0]
            summary = json.loads(last["summary"] or "{}")
            parts = summary.get("partitions", {})
            print(f"last run {last['run_id']}: {last['status']} in {summary.get('duration_s', '?')} s "
                  f"({parts.get('done', 0)} partitions computed, {parts.get('skipped', 0)} already done)")
        print(f"{'table':<48} {'rows':>9} {'dates':>6}")
        failure_tables = set()
        for _, ref in plan.processor_refs():
            p = session.registry.processors[ref.name]
            if p.failures_table:
                failure_tables.add(p.failures_table)
            if not wh.table_exists(p.table):
                print(f"{p.table:<48} {'-':>9} {'-':>6}")
                continue
            (row,) = wh.query(f"SELECT COUNT(*) AS n, COUNT(DISTINCT {p.partition_column}) AS d FROM {p.table}")
            print(f"{p.table:<48} {row['n']:>9} {row['d']:>6}")
        for table in sorted(failure_tables):
            if not wh.table_exists(table):
                continue
            rows = wh.query(f"SELECT processor_name, failure_category, COUNT(*) AS n FROM {table} "
                            "GROUP BY 1, 2 ORDER BY 1, 2")
            print(f"\nfailures in {table} (only PROCESSING_ERROR means a bug):")
            for r in rows:
                print(f"  {r['processor_name']:<12} {r['failure_category']:<28} {r['n']:>7}")
            if not rows:
                print("  none")
    finally:
        session.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
