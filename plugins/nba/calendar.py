"""The ``nba_game_days`` calendar: the dates with games, read from the bucket's schedule.

Days without games (off days, the All-Star break) are then never "missing" and never
scheduled. The schedule directory listing is the source of truth, as in production.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from bfplan.errors import BfplanError


def game_days(start: date, end: date, *, vars: Mapping[str, Any] | None = None,
              base_dir: Path | None = None, **_: Any) -> Iterator[date]:
    """Dates from start to end (inclusive) that have a schedule file in the bucket."""
    bucket = Path(str((vars or {}).get("bucket", "data/bucket")))
    if not bucket.is_absolute() and base_dir is not None:
        bucket = base_dir / bucket
    root = bucket / "raw" / "nbac_schedule"
    if not root.is_dir():
        raise BfplanError(
            f"no schedule under {root}; simulate the season first "
            "(`python plugins/nba/simulate --out <bucket>`, or `make demo`)"
        )
    for child in sorted(root.iterdir()):
        try:
            day = date.fromisoformat(child.name)
        except ValueError:
            continue
        if start <= day <= end and (child / "schedule.json").is_file():
            yield day
