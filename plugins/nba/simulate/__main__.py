"""``python plugins/nba/simulate --out BUCKET``: write a synthetic season."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

if __package__ in (None, ""):  # run as a folder (python plugins/nba/simulate): import it as a package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from simulate.schedule import DEFAULT_START
    from simulate.writer import simulate_season
else:
    from .schedule import DEFAULT_START
    from .writer import simulate_season

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
    args = parser.parse_args(argv)
    began = time.perf_counter()
    try:
        s = simulate_season(args.out, seed=args.seed, start=args.start, end=args.end, force=args.force)
    except ValueError as exc:
        parser.error(str(exc))
    if not args.quiet:
        verb = "reused existing" if s.reused else f"simulated in {time.perf_counter() - began:.1f}s:"
        print(f"SYNTHETIC data (not real NBA results) {verb} season {s.season_year}-{(s.season_year + 1) % 100:02d} "
              f"seed {s.seed}, {s.start}..{s.end}: {s.games} games on {s.game_days} days, {s.players} players, "
              f"{s.files} files ({s.bytes / 1e6:.1f} MB), {s.missing_pbp_games} games without pbp, "
              f"avg team points {s.avg_team_points} -> {args.out / 'raw'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

