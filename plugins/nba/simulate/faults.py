"""Faults injected into a simulated (synthetic) raw bucket: missing, late, corrected or damaged files.

A faults file (YAML or JSON) is a list of mappings, each with ``kind`` and the keys that kind needs
(see ``KINDS``). Faults post-process the files the simulator wrote, so they are deterministic, and
the clean season is untouched when no faults are given. Files delivered later go to
``BUCKET/late/raw/...`` and ``BUCKET/corrections/raw/...``; ``deliver`` moves them into ``raw/``.

Application order: row faults (in file order), then file faults (missing, late, corrected,
postponed). A file touched by a file fault may not be touched by any other fault (several
``postponed_game`` faults may share a date's schedule and injury files).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from .schedule import SOURCES

PER_GAME = ("nbac_gamebook", "nbac_team_boxscore", "bigdataball_pbp", "odds_api_props")
DAY_FILES = {"nbac_schedule": "schedule.json", "nbac_injury_report": "injuries.json", "nbac_rosters": "rosters.json"}
POSTPONED_STATUS = 4  # nbac_schedule.game_status of a postponed game (3 = final)
AREAS = ("late", "corrections")  # BUCKET/<area>/raw/...: files delivered after the first delivery
_WHERE = ("source", "date", "game")
_VALUE = (*_WHERE, "column")
# kind: (required keys, optional keys)
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "missing_game": (_WHERE, ()),
    "missing_team_rows": ((*_WHERE, "team"), ()),
    "late_file": (_WHERE, ()),
    "corrected_file": (_WHERE, ()),
    "duplicate_rows": (_WHERE, ("player", "team")),
    "name_variant": ((*_WHERE, "player"), ("variant",)),
    "postponed_game": (("date", "game"), ()),
    "negative_value": (_VALUE, ("player", "team", "value")),
    "nan_value": (_VALUE, ("player", "team")),
    "absurd_value": (_VALUE, ("player", "team", "value")),
}
FILE_KINDS = ("missing_game", "late_file", "corrected_file")
_CORRECTED_COLUMNS = ("points", "points_line", "shot_distance_ft", "jersey_number", "season_year")


class FaultError(ValueError):
    """An invalid faults file; the message names each bad fault by its index (``faults[i]``)."""


def load_faults(path: Path) -> tuple[list[dict], str]:
    """The faults listed in a YAML or JSON file, and the SHA-256 of the file's bytes."""
    data = Path(path).read_bytes()
    try:
        faults = json.loads(data) if Path(path).suffix == ".json" else yaml.safe_load(data)
    except (ValueError, yaml.YAMLError) as exc:
        raise FaultError(f"{path}: not valid {'JSON' if Path(path).suffix == '.json' else 'YAML'}: {exc}") from None
    if faults is None:
        faults = []
    if not isinstance(faults, list):
        raise FaultError(f"{path}: expected a list of faults, got {type(faults).__name__}")
    return faults, hashlib.sha256(data).hexdigest()


def faults_digest(faults: list[dict]) -> str:
    """SHA-256 of the canonical JSON of a (checked) fault list."""
    return hashlib.sha256(json.dumps(faults, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def check_faults(faults: Any) -> list[dict]:
    """Check kinds, keys and their types (no bucket needed); returns normalized copies (dates as text)."""
    if not isinstance(faults, list):
        raise FaultError(f"expected a list of faults, got {type(faults).__name__}")
    out, errors = [], []
    for i, fault in enumerate(faults):
        try:
            out.append(_check_one(fault))
        except FaultError as exc:
            errors.append(f"faults[{i}]: {exc}")
    if errors:
        raise FaultError("; ".join(errors))
    return out


def _check_one(fault: Any) -> dict:
    if not isinstance(fault, dict):
        raise FaultError(f"expected a mapping, got {type(fault).__name__}")
    kind = fault.get("kind")
    if kind not in KINDS:
        raise FaultError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    required, optional = KINDS[kind]
    missing = [k for k in required if k not in fault]
    unknown = sorted(set(fault) - {"kind", *required, *optional})
    if missing or unknown:
        raise FaultError(f"{kind}: " + "; ".join(
            ([f"missing key(s) {', '.join(missing)}"] if missing else [])
            + ([f"unknown key(s) {', '.join(unknown)}"] if unknown else [])))
    fault = dict(fault)
    if isinstance(fault["date"], date):  # YAML reads an unquoted 2021-11-10 as a date
        fault["date"] = fault["date"].isoformat()
    for key, value in fault.items():
        if key == "value":
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise FaultError(f"{kind}: value must be a finite number, got {value!r}")
        elif not isinstance(value, str) or not value:
            raise FaultError(f"{kind}: {key} must be a non-empty string, got {value!r}")
    try:
        date.fromisoformat(fault["date"])
    except ValueError:
        raise FaultError(f"{kind}: date {fault['date']!r} is not YYYY-MM-DD") from None
    if "source" in fault and fault["source"] not in SOURCES:
        raise FaultError(f"{kind}: unknown source {fault['source']!r} (known: {', '.join(SOURCES)})")
    return fault


# --------------------------------------------------------------------------- the bucket, in memory

def area_path(bucket: Path, area: str, source: str, day: str, name: str) -> Path:
    """Where a file of ``area`` ("raw", "late" or "corrections") lives."""
    base = Path(bucket) / "raw" if area == "raw" else Path(bucket) / area / "raw"
    return base / source / day / name


def file_name(source: str, game: str) -> str:
    return DAY_FILES.get(source, f"{game}.json")


@dataclass
class _Files:
    """Files read lazily from the bucket and changed in memory; ``None`` means deleted."""

    bucket: Path
    state: dict[tuple[str, str, str, str], dict | None] = field(default_factory=dict)

    def get(self, area: str, source: str, day: str, name: str) -> dict | None:
        key = (area, source, day, name)
        if key not in self.state:
            path = area_path(self.bucket, area, source, day, name)
            self.state[key] = json.loads(path.read_text()) if path.is_file() else None
        return self.state[key]

    def put(self, area: str, source: str, day: str, name: str, envelope: dict | None) -> None:
        self.state[area, source, day, name] = envelope

    def write(self) -> list[str]:
        """Write every changed file (canonical JSON, like the simulator) and delete the removed ones."""
        touched = []
        for (area, source, day, name), envelope in sorted(self.state.items()):
            path = area_path(self.bucket, area, source, day, name)
            if envelope is None:
                if path.is_file():
                    path.unlink()
                    touched.append(f"-{path.relative_to(self.bucket).as_posix()}")
                continue
            data = (json.dumps(envelope, sort_keys=True, separators=(",", ":")) + "\n").encode()
            if path.is_file() and path.read_bytes() == data:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
            touched.append(path.relative_to(self.bucket).as_posix())
        return touched


def _game_rows(rows: list[dict], game: dict) -> list[int]:
    """Indexes of the rows of one game: by game_id, or (day files without it) by the game's two teams."""
    teams = (game["away_team_abbr"], game["home_team_abbr"])
    return [i for i, r in enumerate(rows)
            if (r["game_id"] == game["game_id"] if "game_id" in r else r.get("team_abbr") in teams)]


def _pick_row(fault: dict, rows: list[dict], game: dict) -> int:
    """The row a row fault acts on: the game's first row, narrowed by player and team when given."""
    picked = _game_rows(rows, game)
    for key, column in (("player", "player_lookup"), ("team", "team_abbr")):
        if key in fault:
            if picked and column not in rows[picked[0]]:
                raise FaultError(f"{fault['source']} rows have no {column}, so {key} cannot be used")
            picked = [i for i in picked if rows[i][column] == fault[key]]
            if not picked:
                raise FaultError(f"{key} {fault[key]!r} has no row for game {fault['game']} in {fault['source']}")
    if not picked:
        raise FaultError(f"no rows of game {fault['game']} in {fault['source']}")
    return picked[0]


def _numeric(row: dict, column: str, source: str) -> float | int:
    if column not in row:
        raise FaultError(f"{source} has no column {column!r}")
    value = row[column]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(f"{source}.{column} is not numeric ({value!r})")
    return value


def default_variant(lookup: str) -> str:
    """A deterministic misspelling: drop a trailing ``jr``, else add one."""
    return lookup[:-2] if lookup.endswith("jr") and len(lookup) > 4 else lookup + "jr"


def _variant_name(name: str, lookup: str, variant: str) -> str:
    """``name`` spelled like ``variant`` when that adds a suffix or drops one letter; else unchanged."""
    if variant.startswith(lookup):
        return f"{name} {variant[len(lookup):].capitalize()}."
    if lookup.startswith(variant) and name.endswith((" Jr.", " Jr")):
        return name.rsplit(" ", 1)[0]
    if len(variant) == len(lookup) - 1:
        drop = next(i for i in range(len(lookup)) if lookup[:i] + lookup[i + 1:] == variant) \
            if any(lookup[:i] + lookup[i + 1:] == variant for i in range(len(lookup))) else None
        letters = [i for i, ch in enumerate(name) if ch.isalpha()]
        if drop is not None and drop < len(letters):
            return name[:letters[drop]] + name[letters[drop] + 1:]
    return name


def _bad_value(kind: str, column: str, value: float | int, given: float | int | None) -> float | int:
    if kind == "nan_value":
        return math.nan
    if given is not None:
        new = given
    elif kind == "negative_value":
        new = -abs(value) if value else -1
    else:  # absurd: player minutes 300, else at least 412 and 10x the true value
        new = 300 if column == "minutes" and value <= 60 else max(412, 10 * math.ceil(abs(value)))
    return float(new) if isinstance(value, float) else new


# --------------------------------------------------------------------------- applying

@dataclass
class _Run:
    files: _Files
    claims: dict[tuple[str, str, str], list[tuple[int, str]]] = field(default_factory=dict)
    schedules: dict[str, dict[str, dict] | None] = field(default_factory=dict)

    def game(self, fault: dict) -> dict:
        """The clean schedule row of the fault's game (first delivery, before any fault)."""
        day = fault["date"]
        if day not in self.schedules:
            path = area_path(self.files.bucket, "raw", "nbac_schedule", day, "schedule.json")
            self.schedules[day] = ({r["game_id"]: r for r in json.loads(path.read_text())["rows"]}
                                   if path.is_file() else None)
        games = self.schedules[day]
        if games is None:
            raise FaultError(f"no games on {day}")
        if fault["game"] not in games:
            shown = ", ".join(list(games)[:4]) + (", ..." if len(games) > 4 else "")
            raise FaultError(f"game {fault['game']!r} is not on {day} (games that day: {shown})")
        return games[fault["game"]]

    def claim(self, index: int, source: str, day: str, name: str, group: str) -> None:
        key = (source, day, name)
        for other, other_group in self.claims.get(key, []):
            if other_group != group or group == "file":
                raise FaultError(f"{source}/{day}/{name} is also changed by faults[{other}]")
        self.claims.setdefault(key, []).append((index, group))


def apply_faults(bucket: Path, faults: list[dict]) -> list[str]:
    """Apply ``faults`` to the clean files under ``bucket/raw`` and return the paths written (``-`` = removed).

    Every fault is checked against the bucket first; if any is wrong, nothing is written and one
    ``FaultError`` lists them all (``faults[i] (kind): what is wrong``).
    """
    faults = check_faults(faults)
    run = _Run(_Files(Path(bucket)))
    late = (*FILE_KINDS, "postponed_game")
    order = [i for i, f in enumerate(faults) if f["kind"] not in late] + \
            [i for i, f in enumerate(faults) if f["kind"] in late]
    errors = []
    for i in order:
        try:
            _apply_one(run, i, faults[i])
        except FaultError as exc:
            errors.append((i, f"faults[{i}] ({faults[i]['kind']}): {exc}"))
    if errors:
        raise FaultError("; ".join(message for _, message in sorted(errors)))
    return run.files.write()


def _apply_one(run: _Run, index: int, fault: dict) -> None:
    kind, day = fault["kind"], fault["date"]
    game = run.game(fault)
    if kind == "postponed_game":
        _postpone(run, index, day, game)
        return
    source = fault["source"]
    name = file_name(source, fault["game"])
    envelope = run.files.get("raw", source, day, name)
    if envelope is None:
        why = " (one of the games without play-by-play)" if source == "bigdataball_pbp" else ""
        raise FaultError(f"{source} has no file {day}/{name}{why}")
    run.claim(index, source, day, name, "file" if kind in FILE_KINDS else "row")
    rows = envelope["rows"]
    if kind == "missing_game":
        run.files.put("raw", source, day, name, None)
    elif kind == "late_file":
        run.files.put("late", source, day, name, envelope)
        run.files.put("raw", source, day, name, None)
    elif kind == "corrected_file":
        run.files.put("corrections", source, day, name, copy.deepcopy(envelope))
        _damage(rows, source)
    elif kind == "missing_team_rows":
        if fault["team"] not in (game["away_team_abbr"], game["home_team_abbr"]):
            raise FaultError(f"team {fault['team']!r} does not play in {fault['game']}")
        if rows and "team_abbr" not in rows[0]:
            raise FaultError(f"{source} rows have no team_abbr")
        drop = {i for i in _game_rows(rows, game) if rows[i]["team_abbr"] == fault["team"]}
        if not drop:
            raise FaultError(f"no rows of team {fault['team']} for {fault['game']} in {source}")
        rows[:] = [r for i, r in enumerate(rows) if i not in drop]
    elif kind == "duplicate_rows":
        i = _pick_row(fault, rows, game)
        rows.insert(i + 1, copy.deepcopy(rows[i]))
    elif kind == "name_variant":
        _rename(fault, rows, game)
    else:  # negative_value, nan_value, absurd_value
        i = _pick_row(fault, rows, game)
        value = _numeric(rows[i], fault["column"], source)
        given = fault.get("value")
        if kind == "negative_value" and given is not None and given >= 0:
            raise FaultError(f"value must be negative, got {given}")
        rows[i][fault["column"]] = _bad_value(kind, fault["column"], value, given)


def _damage(rows: list[dict], source: str) -> None:
    """A wrong first delivery: the last row dropped and one value of the first row changed."""
    if len(rows) < 2:
        raise FaultError(f"{source} file has {len(rows)} row(s); a corrected file needs at least 2")
    del rows[-1]
    first = rows[0]
    if source == "nbac_injury_report":  # no numeric column: the status is what gets corrected
        first["injury_status"] = "available" if first["injury_status"] != "available" else "out"
        return
    column = next(c for c in _CORRECTED_COLUMNS if c in first)
    first[column] += 1


def _rename(fault: dict, rows: list[dict], game: dict) -> None:
    player = fault["player"]
    if rows and "player_lookup" not in rows[0]:
        raise FaultError(f"{fault['source']} rows have no player_lookup")
    hits = [i for i in _game_rows(rows, game) if rows[i]["player_lookup"] == player]
    if not hits:
        raise FaultError(f"player {player!r} is not in {fault['source']} for {fault['game']}")
    variant = fault.get("variant") or default_variant(player)
    if variant == player:
        raise FaultError(f"variant {variant!r} is the player's own lookup")
    for i in hits:
        rows[i]["player_lookup"] = variant
        if "player_name" in rows[i]:
            rows[i]["player_name"] = _variant_name(rows[i]["player_name"], player, variant)


def _postpone(run: _Run, index: int, day: str, game: dict) -> None:
    """No game files anywhere; the first schedule still says final, the corrected one says postponed."""
    game_id = game["game_id"]
    for source in PER_GAME:
        name = f"{game_id}.json"
        if run.files.get("raw", source, day, name) is not None:
            run.claim(index, source, day, name, "file")
            run.files.put("raw", source, day, name, None)
    run.claim(index, "nbac_schedule", day, "schedule.json", "postponed")
    run.claim(index, "nbac_injury_report", day, "injuries.json", "postponed")
    corrected = run.files.get("corrections", "nbac_schedule", day, "schedule.json")
    if corrected is None:
        corrected = copy.deepcopy(run.files.get("raw", "nbac_schedule", day, "schedule.json"))
        run.files.put("corrections", "nbac_schedule", day, "schedule.json", corrected)
    assert corrected is not None
    for row in corrected["rows"]:
        if row["game_id"] == game_id:
            row["game_status"] = POSTPONED_STATUS
    injuries = run.files.get("raw", "nbac_injury_report", day, "injuries.json")
    if injuries is not None:
        teams = (game["away_team_abbr"], game["home_team_abbr"])
        injuries["rows"] = [r for r in injuries["rows"] if r["team_abbr"] not in teams]
