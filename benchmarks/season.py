"""The full 2021-22 season, phases 2-5, on DuckDB: bfplan against the floor.

Run by hand: ``.venv/bin/python benchmarks/season.py``. Reports bfplan's wall time, time per
processor per date (from the ledger), peak RSS, and the *floor*: the same work — the same
loaders' file parsing and inserts, the same transpiled SQL per batch (stage, delete, insert)
— executed straight on one DuckDB connection with nothing of bfplan around it (no DAG, no
ledger, no lineage, no threads). Gates are timed separately (the floor has none): the
comparison runs the plan without gates; a second run with them gives the gates' cost, and
`bfplan gaps` over the season is timed last. Targets (issue 3): season <= 20 s, bfplan <=
1.25 x floor; gates and gaps <= 2 s each.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def plan_copy(tmp: Path, name: str, db: str, gates: bool) -> Path:
    text = (ROOT / "plans/2021-22-season.yaml").read_text()
    text = text.replace("path: ../.bfplan/nba.duckdb", f"path: {tmp / db}")
    text = text.replace("plugins: [../plugins/nba]", f"plugins: [{ROOT / 'plugins/nba'}]")
    text = text.replace("bucket: ../data/bucket", f"bucket: {ROOT / 'data/bucket'}")
    text = text.replace("baseline: baselines/", f"baseline: {ROOT / 'plans/baselines'}/")
    if not gates:  # drop every gates: block (and the lines under it)
        text = re.sub(r"\n    gates:\n(?:      .*\n)+", "\n", text + "\n")
    out = tmp / name
    out.write_text(text)
    return out


def run_bfplan(plan: Path, *args: str) -> tuple[float, dict]:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bfplan", *args, str(plan), "--json"], capture_output=True,
                          text=True, env={**os.environ, "BFPLAN_DISABLE_PLUGIN_AUTOLOAD": "1"})
    wall = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr)
    return wall, json.loads(done.stdout)


def floor(plan_path: Path, db: Path) -> tuple[float, dict[str, float]]:
    """The same statements, straight on one DuckDB connection."""
    import duckdb

    from bfplan.dag import batch_dates
    from bfplan.failures import FAILURE_ONLY as FAILURE_ONLY_COLUMNS
    from bfplan.modes import BACKFILL
    from bfplan.plan.dates import expand_dates
    from bfplan.processors import SqlProcessor
    from bfplan.session import open_session
    from bfplan.warehouse.dialect import compile_sql
    from bfplan.warehouse.duckdb_common import DUCKDB_TYPES, qualified, quote

    session = open_session(plan_path)
    plan, reg = session.plan, session.registry
    con = duckdb.connect(str(db))
    per: dict[str, float] = defaultdict(float)
    t_all = time.perf_counter()
    for phase in plan.phases:
        dates = expand_dates(phase.dates, reg, plan)
        for ref in phase.processors:
            p = reg.processors[ref.name]
            t0 = time.perf_counter()
            for batch in batch_dates(dates, ref.batch_days or plan.defaults.batch_days):
                params = {"plan_dir": str(plan.path.parent), **plan.vars, **plan.params, "dates": list(batch),
                          "start_date": batch[0], "end_date": batch[-1], "run_id": "floor", "processor_name": p.name,
                          "backfill_mode": True, **BACKFILL.processor_params(), "circuit_broken_entities": []}
                target, col = qualified(p.table), quote(p.partition_column)
                if not isinstance(p, SqlProcessor):  # a raw loader: parse files, insert columns
                    import json as _json
                    from datetime import date as _date

                    names = list(p.columns)
                    rows = []
                    for day in batch:
                        for f in p.files(params, day):
                            for raw in _json.loads(f.read_text()).get("rows", ()):
                                raw = {**raw, "game_date": day}
                                rows.append([_date.fromisoformat(raw[n]) if p.columns[n] == "DATE"
                                             and isinstance(raw.get(n), str) else raw.get(n) for n in names])
                    schema = p.table.split(".")[0]
                    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                    cols = ", ".join(f"{quote(n)} {DUCKDB_TYPES[t]}" for n, t in p.columns.items())
                    con.execute(f"CREATE TABLE IF NOT EXISTS {target} ({cols})")
                    sel = ", ".join(f"unnest($c{i}::{DUCKDB_TYPES[p.columns[n]]}[])" for i, n in enumerate(names))
                    con.execute("BEGIN")
                    con.execute(f"DELETE FROM {target} WHERE {col} = ANY($d)", {"d": list(batch)})
                    con.execute(f"INSERT INTO {target} SELECT {sel}",
                                {f"c{i}": [r[i] for r in rows] for i in range(len(names))})
                    con.execute("COMMIT")
                    continue
                sql = compile_sql(p.select_sql, "duckdb")
                bound = sql.bind(params)
                schema = p.table.split(".")[0]
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                con.execute("BEGIN")
                if p.failures_table:
                    con.execute(f"CREATE OR REPLACE TEMP TABLE stage AS {sql.sql}", bound)
                    out = (f"SELECT * EXCLUDE ({', '.join(FAILURE_ONLY_COLUMNS)}) FROM stage "
                           "WHERE failure_category IS NULL")
                    con.execute(f"CREATE TABLE IF NOT EXISTS {target} AS {out} LIMIT 0")
                    con.execute(f"DELETE FROM {target} WHERE {col} = ANY($d)", {"d": list(batch)})
                    con.execute(f"INSERT INTO {target} BY NAME {out}")
                    fsql = compile_sql(p._failure_select("stage"), "duckdb")
                    ft = qualified(p.failures_table)
                    con.execute(f"CREATE SCHEMA IF NOT EXISTS {p.failures_table.split('.')[0]}")
                    con.execute(f"CREATE TABLE IF NOT EXISTS {ft} AS {fsql.sql} LIMIT 0", fsql.bind(params))
                    con.execute(f"DELETE FROM {ft} WHERE analysis_date = ANY($d) AND processor_name = $p",
                                {"d": list(batch), "p": p.name})
                    con.execute(f"INSERT INTO {ft} BY NAME {fsql.sql}", fsql.bind(params))
                else:
                    con.execute(f"CREATE TABLE IF NOT EXISTS {target} AS SELECT * FROM ({sql.sql}) LIMIT 0", bound)
                    con.execute(f"DELETE FROM {target} WHERE {col} = ANY($d)", {"d": list(batch)})
                    con.execute(f"INSERT INTO {target} BY NAME {sql.sql}", bound)
                con.execute("COMMIT")
            per[p.name] += time.perf_counter() - t0
    total = time.perf_counter() - t_all
    con.close()
    session.close()
    return total, dict(per)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.parse_args(argv)
    os.environ["BFPLAN_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    if not (ROOT / "data/bucket/raw/_manifest.json").exists():
        subprocess.run([sys.executable, str(ROOT / "plugins/nba/simulate"), "--out", str(ROOT / "data/bucket")],
                       check=True)
    import duckdb

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bare = plan_copy(tmp, "bare.yaml", "bare.duckdb", gates=False)
        floor_s, floor_per = floor(bare, tmp / "floor.duckdb")
        wall, doc = run_bfplan(bare, "run")
        con = duckdb.connect(str(tmp / "bare.duckdb"), read_only=True)
        # every partition record of a node carries the node's duration: count each node once
        per = con.execute("SELECT processor, sum(node_s), sum(dates) FROM (SELECT processor, started_at, "
                          "max(duration_s) AS node_s, count(*) AS dates FROM bfplan.partition_log "
                          "WHERE status = 'done' GROUP BY 1, 2) GROUP BY 1").fetchall()
        con.close()
        gated = plan_copy(tmp, "gated.yaml", "gated.duckdb", gates=True)
        _, gated_doc = run_bfplan(gated, "run")
        check_wall, check_doc = run_bfplan(gated, "check")
        gaps_wall, gaps_doc = run_bfplan(gated, "gaps")
        if gaps_doc["gaps"]:
            print(json.dumps(gaps_doc["gaps"][:5], indent=1), file=sys.stderr)
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out = {
        "bfplan_run_s": round(doc["duration_s"], 2), "bfplan_process_wall_s": round(wall, 2),
        "floor_s": round(floor_s, 2), "ratio": round(doc["duration_s"] / floor_s, 3),
        "partitions": doc["partitions"], "rows": doc["rows"],
        "with_gates_run_s": round(gated_doc["duration_s"], 2), "gates_in_run": gated_doc["gates"],
        "check_process_wall_s": round(check_wall, 2), "check_status": check_doc["status"],
        "gaps_process_wall_s": round(gaps_wall, 2), "gaps_found": len(gaps_doc["gaps"]),
        "peak_rss_mb_children": round(rss),
        "per_processor_ms_per_date": {p: round(s / n * 1000, 1) for p, s, n in sorted(per)},
        "floor_per_processor_s": {p: round(s, 3) for p, s in floor_per.items()},
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
