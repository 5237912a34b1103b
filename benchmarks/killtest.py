"""Crash safety on the NBA season: SIGKILL ``bfplan run`` at 20 random moments, then resume.

Run by hand: ``.venv/bin/python benchmarks/killtest.py [--points 20] [--plan plans/2021-22-season.yaml]``.
A clean run gives the reference tables; then, into a fresh warehouse, each point starts a run
in its own process and kills it with SIGKILL at a random moment; a final plain ``bfplan run``
must finish the job. Every table (failures included) must equal the clean run's (hash of all
rows, run ids and timestamps aside), with no duplicates and no gaps. Also: the same plan with
20% injected transient failures (``tests/fault_plugin``) must end with identical tables.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_crash import fingerprint, kill_and_resume  # noqa: E402


def retarget(plan: Path, out: Path, warehouse: str, extra_plugins: str = "") -> Path:
    """A copy of ``plan`` writing to another warehouse, with absolute plugin and bucket paths."""
    text = plan.read_text()
    text = text.replace("warehouse: {type: duckdb, path: ../.bfplan/nba.duckdb}", f"warehouse: {warehouse}")
    text = text.replace("plugins: [../plugins/nba]", f"plugins: [{ROOT / 'plugins/nba'}{extra_plugins}]")
    text = text.replace("bucket: ../data/bucket", f"bucket: {ROOT / 'data/bucket'}")
    text = text.replace("baseline: baselines/", f"baseline: {ROOT / 'plans/baselines'}/")
    out.write_text(text)
    return out


def tables_of(plan: Path) -> tuple[str, ...]:
    from bfplan.session import open_session

    s = open_session(plan)
    names = {s.registry.processors[r.name].table for _, r in s.plan.processor_refs()}
    names |= {s.registry.processors[r.name].failures_table for _, r in s.plan.processor_refs()} - {None}
    return tuple(sorted(names))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--plan", type=Path, default=ROOT / "plans/2021-22-season.yaml")
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rate", type=float, default=0.2)
    ap.add_argument("--faults-only", action="store_true", help="skip the SIGKILL points")
    args = ap.parse_args(argv)
    os.environ["BFPLAN_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        clean = retarget(args.plan, tmp / "clean.yaml", "{type: duckdb, path: clean.duckdb}")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bfplan", "run", str(clean)], env=env, check=True,
                       capture_output=True)
        print(f"clean run: {time.perf_counter() - t0:.1f} s")
        tables = tables_of(clean)
        if not args.faults_only:
            killed = retarget(args.plan, tmp / "killed.yaml", "{type: duckdb, path: killed.duckdb}")
            t0 = time.perf_counter()
            landed = kill_and_resume(killed, tmp / "clean.duckdb", tmp / "killed.duckdb", args.points, args.seed,
                                     tables)
            print(f"SIGKILL: {args.points} points, {landed} landed mid-run; resumed with identical tables "
                  f"({len(tables)} tables compared) and no gaps, in {time.perf_counter() - t0:.1f} s")
        faults = f", {ROOT / 'tests/fault_plugin'}"
        flaky = retarget(args.plan, tmp / "flaky.yaml",
                         f"{{type: flaky_duckdb, path: flaky.duckdb, rate: {args.rate}, seed: {args.seed}}}", faults)
        flaky.write_text(flaky.read_text().replace("retries: 2,", "retries: 12, retry_backoff_s: 0.05,"))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bfplan", "run", str(flaky)], env=env, check=True,
                       capture_output=True)
        same = fingerprint(tmp / "flaky.duckdb", tables) == fingerprint(tmp / "clean.duckdb", tables)
        print(f"{args.rate:.0%} injected transient failures: completed in {time.perf_counter() - t0:.1f} s, "
              f"tables identical: {same}")
        return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
