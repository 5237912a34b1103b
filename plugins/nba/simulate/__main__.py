"""``python plugins/nba/simulate --out BUCKET``: write a synthetic season."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

if __package__ in (None, ""):  # run as a folder (python plugins/nba/simulate): import it as a package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from simulate.deliver import deliver
    from simulate.faults import AREAS, KINDS
    from simulate.random_faults import random_faults
    from simulate.schedule import DEFAULT_START
    from simulate.writer import simulate_season
else:
    from .deliver import deliver
    from .faults import AREAS, KINDS
    from .random_faults import random_faults
    from .schedule import DEFAULT_START
    from .writer import simulate_season


def _write_faults(path: Path, faults: list[dict]) -> None:
    if path.suffix == ".json":
        path.write_text(json.dumps(faults, indent=1) + "\n")
    else:
        import yaml
        path.write_text(yaml.safe_dump(faults, sort_keys=False))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description="Write a deterministic SYNTHETIC NBA season as a raw bucket.")
    parser.add_argument("--out", type=Path, required=True, help="bucket root; files go to OUT/raw/...")
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START, help="first day (YYYY-MM-DD)")
    parser.add_argument("--end", type=date.fromisoformat, default=None,
                        help="last day written (default: end of the regular season)")
    parser.add_argument("--force", action="store_true", help="rewrite even if a matching manifest exists")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    parser.add_argument("--faults", type=Path, metavar="FILE",
                        help="YAML or JSON list of faults to inject into the written files (see faults.py)")
    parser.add_argument("--deliver", choices=AREAS,
                        help="do not simulate: move every OUT/late/raw or OUT/corrections/raw file into OUT/raw")
    parser.add_argument("--random-faults", type=int, metavar="N",
                        help="after simulating the clean season, write N random valid faults of each kind "
                             "to --faults-out (nothing is injected)")
    parser.add_argument("--fault-kinds", default=",".join(KINDS), help="comma-separated kinds for --random-faults")
    parser.add_argument("--fault-seed", type=int, default=0, help="seed for --random-faults")
    parser.add_argument("--faults-out", type=Path, metavar="FILE", help="where --random-faults writes (.json/.yaml)")
    args = parser.parse_args(argv)
    if args.deliver:
        moved = deliver(args.out, args.deliver)
        if not args.quiet:
            for relative in moved:
                print(f"{args.deliver}/raw/{relative} -> raw/{relative}")
            print(f"delivered {len(moved)} {args.deliver} file(s) into {args.out / 'raw'}")
        return 0
    if args.random_faults is not None and (args.faults or not args.faults_out):
        parser.error("--random-faults needs --faults-out and cannot be combined with --faults")
    if args.faults is not None and not args.faults.is_file():
        parser.error(f"--faults: no such file: {args.faults}")
    began = time.perf_counter()
    try:
        s = simulate_season(args.out, seed=args.seed, start=args.start, end=args.end, force=args.force,
                            faults=args.faults)
        if args.random_faults is not None:
            picked = random_faults(args.out, args.fault_kinds.split(","), args.random_faults, args.fault_seed)
            _write_faults(args.faults_out, picked)
    except ValueError as exc:
        parser.error(str(exc))
    if not args.quiet:
        verb = "reused existing" if s.reused else f"simulated in {time.perf_counter() - began:.1f}s:"
        faulted = f" with faults from {args.faults}" if args.faults else ""
        print(f"SYNTHETIC data (not real NBA results) {verb} season {s.season_year}-{(s.season_year + 1) % 100:02d} "
              f"seed {s.seed}, {s.start}..{s.end}: {s.games} games on {s.game_days} days, {s.players} players, "
              f"{s.files} files ({s.bytes / 1e6:.1f} MB), {s.missing_pbp_games} games without pbp, "
              f"avg team points {s.avg_team_points}{faulted} -> {args.out / 'raw'}")
        if args.random_faults is not None:
            print(f"wrote {len(picked)} random faults (seed {args.fault_seed}) to {args.faults_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
