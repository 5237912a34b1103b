"""Seeded random, valid fault lists for a simulated season (for benchmarks and tests)."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path

from .faults import KINDS, PER_GAME

SKIP_DAYS = 21  # faults only after the season's first three weeks
_VALUE_COLUMNS = {"nbac_gamebook": ("points", "minutes", "reb", "ast"), "nbac_team_boxscore": ("points",),
                  "odds_api_props": ("points_line",), "bigdataball_pbp": ("shot_distance_ft",)}
_PLAYER_SOURCES = ("nbac_gamebook", "odds_api_props", "bigdataball_pbp")


def _raw_dir(season: Path) -> Path:
    """``raw/`` of a bucket, given the bucket, its ``raw/`` or its manifest."""
    season = Path(season)
    if season.is_file():
        return season.parent
    for raw in (season / "raw", season):
        if (raw / "_manifest.json").is_file():
            return raw
    raise ValueError(f"{season}: no simulated season (raw/_manifest.json) found")


def random_faults(season_dir_or_manifest: Path, kinds: list[str] | tuple[str, ...] = tuple(KINDS),
                  per_kind: int = 1, seed: int = 0, *, sources: Mapping[str, Sequence[str]] | None = None,
                  start: date | None = None, end: date | None = None) -> list[dict]:
    """``per_kind`` random valid faults of each kind (in ``kinds`` order) for the season at the path.

    Each fault gets its own game (never one used twice); games are dated after the first three
    weeks of the season and spread over the dates (fewest faults first), and every date keeps at
    least one untouched game. Files are picked among the per-game sources that exist for the game;
    values are changed on players who played, so a changed value differs from the true one.
    ``sources`` (kind -> sources) narrows the files a kind may touch; ``start``/``end`` the dates.
    The result depends only on the season's files and the arguments.
    """
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown fault kind(s): {', '.join(unknown)}")
    raw = _raw_dir(season_dir_or_manifest)
    first = date.fromisoformat(json.loads((raw / "_manifest.json").read_text())["start"]) + timedelta(SKIP_DAYS)
    first = max(first, start or first)
    games: dict[str, list[str]] = {}
    for path in sorted((raw / "nbac_schedule").glob("*/schedule.json")):
        day = path.parent.name
        if first <= date.fromisoformat(day) <= (end or date.max):
            games[day] = [r["game_id"] for r in json.loads(path.read_text())["rows"]]
    rng = random.Random(f"nba-sim-faults/{seed}")
    candidates = [(day, game) for day in games for game in games[day] if len(games[day]) > 1]
    rng.shuffle(candidates)
    used: dict[str, int] = dict.fromkeys(games, 0)
    out = []
    for kind in kinds:
        for _ in range(per_kind):
            pick = min((c for c in candidates if used[c[0]] < len(games[c[0]]) - 1),
                       key=lambda c: used[c[0]], default=None)
            if pick is None:
                raise ValueError(f"not enough games after {first} for {len(kinds)} x {per_kind} faults")
            candidates.remove(pick)
            used[pick[0]] += 1
            out.append(_fault(rng, raw, kind, *pick, only=(sources or {}).get(kind)))
    return out


def _rows(raw: Path, source: str, day: str, game: str) -> list[dict]:
    return json.loads((raw / source / day / f"{game}.json").read_text())["rows"]


def _fault(rng: random.Random, raw: Path, kind: str, day: str, game: str, only: Sequence[str] | None = None) -> dict:
    if kind == "postponed_game":
        return {"kind": kind, "date": day, "game": game}
    sources = [s for s in PER_GAME if (raw / s / day / f"{game}.json").is_file()]
    if kind == "name_variant":
        sources = [s for s in sources if s in _PLAYER_SOURCES]
    if only is not None:
        sources = [s for s in sources if s in only]
    if not sources:
        raise ValueError(f"{kind}: no file of game {game} on {day} in {', '.join(only or ())}")
    source = rng.choice(sources)
    fault = {"kind": kind, "source": source, "date": day, "game": game}
    rows = _rows(raw, source, day, game)
    if kind == "missing_team_rows":
        fault["team"] = rng.choice(sorted({r["team_abbr"] for r in rows}))
    elif kind == "name_variant" or (kind == "duplicate_rows" and "player_lookup" in rows[0]):
        fault["player"] = rng.choice(sorted({r["player_lookup"] for r in rows}))
    elif kind in ("negative_value", "nan_value", "absurd_value"):
        column = fault["column"] = rng.choice(_VALUE_COLUMNS[source])
        if source == "nbac_team_boxscore":
            fault["team"] = rng.choice(sorted(r["team_abbr"] for r in rows))
        else:  # a player whose value is not zero, so negating it changes it
            fault["player"] = rng.choice(sorted({r["player_lookup"] for r in rows if r[column]}))
    return fault
