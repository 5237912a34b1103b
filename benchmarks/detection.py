"""Detection benchmark: do the reference plan's checks notice the faults the runbook fears?

Run by hand: ``.venv/bin/python benchmarks/detection.py [--per-kind 5] [--seed 7]``.

For each fault kind the simulator can inject (``plugins/nba/simulate --faults``), it picks
``--per-kind`` instances at seeded random dates and entities of November 2021, simulates the
season with them, runs the headline plan (``plans/2021-nov.yaml``), ``check`` and ``gaps``; then
delivers the late and corrected files, runs ``gaps`` again, ``run --stale`` and ``gaps`` once more.
Every finding is collected: gate findings, gaps, and the rows the contracts set aside. A fault
counts as found only when one finding names its kind, its table, its date and its entity (the
game, team, player or file). It prints recall per kind, the share of findings that point at an
injected fault (precision), and what the same plan says of the clean season (false findings).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "plugins" / "nba" / "simulate"
TABLES = {
    "nbac_schedule": "nba_raw.nbac_schedule", "nbac_gamebook": "nba_raw.nbac_gamebook_player_stats",
    "nbac_team_boxscore": "nba_raw.nbac_team_boxscore", "bigdataball_pbp": "nba_raw.bigdataball_shot_events",
    "odds_api_props": "nba_raw.odds_api_player_points_props", "nbac_injury_report": "nba_raw.nbac_injury_report",
    "nbac_rosters": "nba_raw.nbac_rosters",
}
#: the kinds, and the sources each is injected into (where the plan can see it)
KINDS: dict[str, tuple[str, ...]] = {
    "missing_game": ("nbac_gamebook", "nbac_team_boxscore"),
    "missing_team_rows": ("nbac_gamebook", "nbac_team_boxscore"),
    "late_file": ("nbac_gamebook", "nbac_team_boxscore"),
    "corrected_file": ("nbac_gamebook", "nbac_team_boxscore"),
    "duplicate_rows": ("nbac_gamebook", "nbac_team_boxscore"),
    "name_variant": ("nbac_gamebook",),
    "postponed_game": ("nbac_schedule",),
    "negative_value": ("nbac_gamebook", "nbac_team_boxscore"),
    "nan_value": ("nbac_gamebook", "nbac_team_boxscore"),
    "absurd_value": ("nbac_gamebook", "nbac_team_boxscore"),
}


@dataclass(frozen=True)
class Finding:
    """One thing the plan said: where it came from (check, gaps, quarantine), of which table
    and date, and its words (everything it names)."""

    origin: str
    table: str
    date: str
    text: str


def simulator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nba_simulate", SIM / "__init__.py",
                                                  submodule_search_locations=[str(SIM)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["nba_simulate"] = module
    spec.loader.exec_module(module)
    return module


def bfplan(*args: str | Path) -> tuple[int, Any]:
    done = subprocess.run([sys.executable, "-m", "bfplan", *map(str, args), "--json"], capture_output=True, text=True,
                          env={**os.environ, "BFPLAN_DISABLE_PLUGIN_AUTOLOAD": "1"}, cwd=ROOT)
    try:
        return done.returncode, json.loads(done.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"bfplan {' '.join(map(str, args))}: exit {done.returncode}\n{done.stderr[-2000:]}") from None


def plan_copy(tmp: Path, bucket: Path) -> Path:
    text = (ROOT / "plans/2021-nov.yaml").read_text()
    text = text.replace("path: ../.bfplan/nba.duckdb", f"path: {tmp / 'w.duckdb'}")
    text = text.replace("plugins: [../plugins/nba]", f"plugins: [{ROOT / 'plugins/nba'}]")
    text = text.replace("bucket: ../data/bucket", f"bucket: {bucket}")
    text = text.replace("baseline: baselines/", f"baseline: {ROOT / 'plans/baselines'}/")
    out = tmp / "plan.yaml"
    out.write_text(text)
    return out


def collect(plan: Path, db: Path, stage: str) -> list[Finding]:
    """Every finding of ``check``, ``gaps`` and the quarantine table, as they stand now."""
    import duckdb

    out = []
    _, checked = bfplan("check", plan)
    for gate in checked["gates"]:
        for f in gate["findings"]:
            if f.get("status") in ("warn", "fail"):
                words = " ".join([f.get("detail", ""), *map(str, f.get("entities") or [])])
                out.append(Finding(f"{stage} check {gate['gate']} {f['status']}", f.get("table") or "",
                                   f.get("date") or "", words))
    _, gaps = bfplan("gaps", plan)
    for g in gaps["gaps"]:
        out.append(Finding(f"{stage} gaps {g['type']}", g["table"], g["date"], f"{g['type']} {g['detail']}"))
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT DISTINCT table_name, CAST(partition_date AS VARCHAR), rule, detail, row_key, "
                           "source FROM bfplan.quarantine").fetchall()
    except duckdb.Error:
        rows = []
    finally:
        con.close()
    for table, day, rule, detail, key, source in rows:
        out.append(Finding(f"{stage} quarantine {rule}", table, day or "", f"{rule} {detail} {key} {source}"))
    return out


def _names(fault: dict[str, Any], *words: str, source: str | None = None) -> Callable[[Finding], bool]:
    source = source or fault.get("source")
    table = TABLES[source] if source else None
    needles = [w for w in words if w]

    def match(f: Finding) -> bool:
        return ((table is None or f.table == table) and f.date == fault["date"]
                and all(n.lower() in f.text.lower() for n in needles))
    return match


def expectations(fault: dict[str, Any]) -> list[tuple[str, Callable[[Finding], bool]]]:
    """What the findings must say for the fault to count as found: each (stage prefix, test)
    must be met by some finding; each test names the kind, table, date and entity."""
    kind, game = fault["kind"], fault.get("game", "")
    team, player = fault.get("team", ""), fault.get("player", "")
    col = fault.get("column", "")
    if kind == "missing_game":
        return [("first check", _names(fault, "unaccounted", f"{game}|"))]
    if kind == "missing_team_rows":
        return [("first check", _names(fault, "unaccounted", f"{game}|{team}"))]
    if kind == "late_file":  # missing at first, then named as the file that arrived
        return [("first check", _names(fault, "unaccounted", f"{game}|")),
                ("delivered gaps", _names(fault, "new:", f"{game}.json"))]
    if kind == "corrected_file":
        return [("delivered gaps", _names(fault, "re-delivered", f"{game}.json"))]
    if kind == "duplicate_rows":
        return [("first quarantine unique_key", _names(fault, "unique_key", game, player))]
    if kind == "name_variant":
        return [("first", lambda f: f.date == fault["date"] and "REGISTRY_LOOKUP_FAILED" in f.text
                 and fault["variant"] in f.text)]
    if kind == "postponed_game":  # expected by the first schedule, missing; then the schedule's correction
        return [("first check", _names(fault, "unaccounted", f"{game}|", source="nbac_gamebook")),
                ("delivered gaps", _names(fault, "re-delivered", "schedule.json", source="nbac_schedule"))]
    if kind in ("negative_value", "absurd_value"):
        return [("first quarantine range", _names(fault, f"range({col})", game, player))]
    if kind == "nan_value":
        return [("first quarantine", _names(fault, f"{col}: nan", game))]
    raise ValueError(kind)


def found(fault: dict[str, Any], findings: list[Finding]) -> Finding | None:
    """The first finding of the last expectation, when every expectation is met."""
    hit = None
    for stage, test in expectations(fault):
        hit = next((f for f in findings if f.origin.startswith(stage) and test(f)), None)
        if hit is None:
            return None
    return hit


def classify(f: Finding, faults: list[dict[str, Any]]) -> str:
    """``true``: on a fault's date, naming its game, player, variant or file; ``consequence``:
    a partition not built because a check stopped the run (it names what blocked it); else
    ``false``."""
    for fault in faults:
        names = [n for n in (fault.get("game"), fault.get("variant"), fault.get("player")) if n]
        if fault["kind"] == "postponed_game":
            names.append("schedule.json")
        if f.date == fault["date"] and any(n in f.text for n in names):
            return "true"
    return "consequence" if ("not built" in f.text or "blocked by" in f.text) else "false"


def scenario(sim: ModuleType, kind: str, faults: list[dict[str, Any]], tmp: Path) -> dict[str, Any]:
    bucket = tmp / "bucket"
    (tmp / "faults.json").write_text(json.dumps(faults, indent=1))
    subprocess.run([sys.executable, str(SIM), "--out", str(bucket), "--faults", str(tmp / "faults.json"), "--quiet"],
                   check=True)
    plan = plan_copy(tmp, bucket)
    db = tmp / "w.duckdb"
    t0 = time.perf_counter()
    bfplan("run", plan)
    findings = collect(plan, db, "first")
    for what in ("late", "corrections"):
        subprocess.run([sys.executable, str(SIM), "--out", str(bucket), "--deliver", what, "--quiet"], check=True)
    findings += collect(plan, db, "delivered")
    bfplan("run", plan, "--stale")
    bfplan("run", plan)
    findings += collect(plan, db, "after-stale")
    seconds = time.perf_counter() - t0
    hits = {i: found(f, findings) for i, f in enumerate(faults)}
    kinds = [classify(f, faults) for f in findings]
    return {"kind": kind, "instances": len(faults), "found": sum(h is not None for h in hits.values()),
            "missed": [faults[i] for i, h in hits.items() if h is None],
            "examples": [h.text[:200] for h in hits.values() if h is not None][:1],
            "findings": len(findings), "true_findings": kinds.count("true"),
            "consequences": kinds.count("consequence"), "false_findings": kinds.count("false"),
            "false_examples": [f"{f.origin} {f.table} {f.date}: {f.text[:200]}"
                               for f, k in zip(findings, kinds, strict=True) if k == "false"][:5],
            "seconds": round(seconds, 1)}


def clean_season(tmp: Path) -> dict[str, Any]:
    """Failing and warning findings of every gate on the clean full season."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from season import plan_copy as season_copy

    plan = season_copy(tmp, "season.yaml", "season.duckdb", gates=True)
    bfplan("run", plan)
    _, checked = bfplan("check", plan)
    per_gate: dict[str, dict[str, int]] = {}
    for gate in checked["gates"]:
        counts = per_gate.setdefault(gate["gate"], {"fail": 0, "warn": 0})
        for f in gate["findings"]:
            if f.get("status") in counts:
                counts[f["status"]] += 1
    _, gaps = bfplan("gaps", plan)
    return {"failing": sum(c["fail"] for c in per_gate.values()), "warnings": sum(c["warn"] for c in per_gate.values()),
            "per_gate": per_gate, "gaps": len(gaps["gaps"])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-kind", type=int, default=5, help="instances of each fault kind")
    ap.add_argument("--seed", type=int, default=7, help="where the faults land")
    ap.add_argument("--kinds", nargs="*", default=list(KINDS), choices=list(KINDS))
    ap.add_argument("--no-clean", action="store_true", help="skip the clean-season run")
    args = ap.parse_args(argv)
    sim = simulator()
    results = []
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)
        clean_bucket = base / "clean"
        subprocess.run([sys.executable, str(SIM), "--out", str(clean_bucket), "--quiet"], check=True)
        for n, kind in enumerate(args.kinds):
            faults = sim.random_faults(clean_bucket, [kind], args.per_kind, args.seed + n, sources=KINDS,
                                       start=date(2021, 11, 9), end=date(2021, 11, 30))
            for i, fault in enumerate(faults):
                if kind == "name_variant":  # half a suffix (jr), half a letter dropped mid-name
                    name = fault["player"]
                    fault["variant"] = (sim.faults.default_variant(name) if i % 2 == 0
                                        else name[:len(name) // 2] + name[len(name) // 2 + 1:])
            work = base / kind
            work.mkdir()
            results.append(scenario(sim, kind, faults, work))
            r = results[-1]
            print(f"{kind:18} found {r['found']}/{r['instances']}  findings: {r['true_findings']} name a fault, "
                  f"{r['consequences']} not built, {r['false_findings']} false  {r['seconds']} s", file=sys.stderr)
        clean = None if args.no_clean else clean_season(base)
    total = sum(r["instances"] for r in results)
    hit = sum(r["found"] for r in results)
    true = sum(r["true_findings"] for r in results)
    false = sum(r["false_findings"] for r in results)
    report = {"recall": round(hit / total, 3) if total else None, "found": hit, "instances": total,
              "precision": round(true / (true + false), 3) if true + false else None,
              "per_kind": results, "clean_season": clean}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
