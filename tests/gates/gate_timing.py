"""Time the built-in gates over a synthetic full season (not a test; run it and read the figures).

    .venv/bin/python tests/gates/gate_timing.py [--dates 165] [--entities 450] [--processors 10]

Builds, in a temporary DuckDB file, an upstream "played" table and N processor tables of
dates x entities rows (with NULLs, zeros and failures sprinkled in), a shared failures
table and a ledger, then runs every gate the way a plan's phase would: preflight before,
coverage (reconcile), contamination (strict), failure_rate and sql after, freshness (daily).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

from bfplan.failures import COLUMNS as FAILURE_COLUMNS
from bfplan.gates import builtin_gates
from bfplan.gates.base import GateContext
from bfplan.ledger import Ledger, utcnow
from bfplan.processors import Processor
from bfplan.warehouse.duckdb import DuckDBWarehouse


def build(wh: DuckDBWarehouse, days: int, entities: int, procs: int) -> list[Processor]:
    """The synthetic season; returns the processors (the upstream one first)."""
    wh.native("CREATE SCHEMA IF NOT EXISTS s")
    wh.native(f"""CREATE TABLE s.played AS
        SELECT DATE '2021-10-19' + d::INTEGER AS game_date, 'p' || lpad(e::VARCHAR, 4, '0') AS player_id
        FROM range({days}) t(d), range({entities}) u(e)""")
    cols = ", ".join(f"{k} {v.replace('STRING', 'VARCHAR').replace('INT64', 'BIGINT')}"
                     for k, v in FAILURE_COLUMNS.items()).replace("FLOAT64", "DOUBLE").replace("BOOL", "BOOLEAN")
    wh.native(f"CREATE TABLE s.failures ({cols})")
    played = Processor(name="played", table="s.played", partition_column="game_date", entity_key=("player_id",))
    out = [played]
    for i in range(procs):
        name = f"proc{i}"
        # ~2% of rows carry a failure instead of a row; a few NULL / zero critical values
        wh.native(f"""CREATE TABLE s.{name} AS
            SELECT game_date, player_id,
                   CASE WHEN hash(player_id, game_date, {i}) % 500 = 0 THEN NULL ELSE 1.5 END AS avg_value,
                   CASE WHEN hash(player_id, game_date, {i}) % 700 = 1 THEN 0 ELSE 10 END AS games
            FROM s.played WHERE hash(player_id, game_date, {i}) % 50 <> 7""")
        wh.native(f"""INSERT INTO s.failures (processor_name, analysis_date, entity_id, failure_category)
            SELECT '{name}', game_date, player_id,
                   CASE WHEN game_date < DATE '2021-11-02' THEN 'INSUFFICIENT_DATA' ELSE 'INCOMPLETE_DATA' END
            FROM s.played WHERE hash(player_id, game_date, {i}) % 50 = 7""")
        out.append(Processor(
            name=name, table=f"s.{name}", partition_column="game_date", inputs=("s.played",),
            entity_key=("player_id",), critical_fields={"avg_value": "not_null", "games": "positive"},
            expected_entities_sql="SELECT game_date AS partition_date, player_id AS entity_id FROM s.played "
                                  "WHERE game_date IN UNNEST(@dates)",
            failures_table="s.failures"))
    return out


def main() -> None:
    """Build the season, run every gate cold (SQL transpiled) then warm (cached), print timings."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dates", type=int, default=165)
    ap.add_argument("--entities", type=int, default=450)
    ap.add_argument("--processors", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wh = DuckDBWarehouse(Path(tmp) / "season.duckdb")
        t0 = time.perf_counter()
        procs = build(wh, args.dates, args.entities, args.processors)
        upstream, stage = procs[:1], procs[1:]
        dates = [date(2021, 10, 19) + timedelta(days=d) for d in range(args.dates)]
        plan = SimpleNamespace(name="timing", vars={}, params={}, path=Path(tmp) / "plan.yaml",
                               processor_refs=lambda: [])
        ledger = Ledger(wh, "timing")
        started = ledger.partition_records("r", "played", "s.played", dates, "done", attempt=1,
                                           started_at=utcnow())
        ledger.buffer(started)
        ledger.flush()
        rows = wh.native("SELECT count(*) FROM s.proc0")[0][0]
        print(f"built {args.processors} tables x {rows} rows ({args.dates} dates x {args.entities} entities) "
              f"in {time.perf_counter() - t0:.1f} s")
        gates = {g.name: g for g in builtin_gates()}
        runs = [
            ("preflight", "before phase p", {"threshold": 100}, "backfill"),
            ("freshness", "before phase p", {"max_age_hours": 24}, "daily"),
            ("coverage", "after phase p", {"reconcile": True}, "backfill"),
            ("contamination", "after phase p", {"strict": True}, "backfill"),
            ("failure_rate", "after phase p", {}, "backfill"),
            ("sql", "after phase p", {"query": "SELECT game_date AS date, player_id AS entity FROM s.proc0 "
                                      "WHERE game_date IN UNNEST(@dates) AND games < 0"}, "backfill"),
        ]
        for label in ("cold", "warm", "warm", "warm"):
            total = 0.0
            for name, stage_name, options, mode in runs:
                ctx = GateContext(gate=name, stage=stage_name, options=options, processors=stage, upstream=upstream,
                                  dates=dates, mode=mode, warehouse=wh, plan=plan, registry=None, run_id="t")
                g0 = time.perf_counter()
                result = gates[name].check(ctx)
                took = time.perf_counter() - g0
                total += took
                print(f"  {label} {name:14s} {took:6.3f} s  {result.status:4s} {len(result.findings):5d} findings")
            print(f"{label}: all gates over {len(stage)} processors x {args.dates} dates: {total:.3f} s")
        wh.close()


if __name__ == "__main__":
    main()
