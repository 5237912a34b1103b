"""The raw bucket: every source's files for a day, the manifest, the whole season."""

from __future__ import annotations

import json
import math
import os
import random
import shutil
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

from .game import STATS, Side, rotation_minutes, simulate_game
from .league import Availability, Player, Team, apply_move, build_league, pregame_availability
from .schedule import (
    CITIES,
    DEFAULT_START,
    FORMAT_VERSION,
    MIN_GAME_DAYS,
    SOURCES,
    TEAMS,
    Game,
    SeasonCalendar,
    build_schedule,
    season_calendar,
    stream_rng,
)


@dataclass
class SeasonSummary:
    """Counts describing one simulated (synthetic) season; also stored in the manifest."""

    seed: int
    season_year: int
    start: str
    end: str
    games: int = 0
    game_days: int = 0
    players: int = 0
    files: int = 0  # data files, not counting the manifest
    bytes: int = 0
    shot_events: int = 0  # rows written to bigdataball_pbp
    missing_pbp_games: int = 0
    overtime_games: int = 0
    trades: int = 0
    signings: int = 0
    back_to_backs_per_team: float = 0.0
    avg_team_points: float = 0.0
    reused: bool = False  # an existing complete manifest was returned without simulating


class _Writer:
    """Atomic JSON writer in the RAW_FORMAT.md envelope; counts files and bytes."""

    def __init__(self, raw: Path) -> None:
        self.raw, self.files, self.bytes = raw, 0, 0

    def write(self, source: str, day: date, name: str, rows: list[dict]) -> None:
        envelope = {"source": source, "game_date": day.isoformat(), "synthetic": True, "rows": rows}
        self.bytes += write_json_atomic(self.raw / source / day.isoformat() / name, envelope)
        self.files += 1


def write_json_atomic(path: Path, obj: dict) -> int:
    """Write canonical JSON via temp file + rename, so readers never see half a file."""
    data = (json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return len(data)


def _games_without_pbp(rng: random.Random, schedule: list[Game]) -> set[str]:
    """One game in every block of 33 (~3%) has no play-by-play file, spread evenly over the season."""
    block = 33
    return {rng.choice(schedule[i:i + block]).game_id for i in range(0, len(schedule), block)
            if rng.random() < len(schedule[i:i + block]) / block}


def _back_to_backs(games: list[Game]) -> float:
    dates: dict[str, set[date]] = {t: set() for t in TEAMS}
    for g in games:
        dates[g.away].add(g.game_date)
        dates[g.home].add(g.game_date)
    return sum(d + timedelta(days=1) in ds for ds in dates.values() for d in ds) / len(TEAMS)


def _gamebook_rows(game: Game, season_year: int, side: Side, avail: list[Availability],
                   is_home: bool) -> list[dict]:
    opponent = game.away if is_home else game.home
    starters = {p.lookup for p in side.played()[:5]}
    rows = []
    for a in avail:
        p = a.player
        units = side.units.get(p.lookup, 0)
        status = "active" if units else "dnp" if a.active else "inactive"
        box = side.box[p.lookup] if units else dict.fromkeys(STATS, 0)
        rows.append({"game_id": game.game_id, "season_year": season_year, "player_lookup": p.lookup,
                     "player_name": p.name, "universal_player_id": f"{p.lookup}_001",
                     "team_abbr": side.team.abbr, "opponent_team_abbr": opponent, "is_home": is_home,
                     "player_status": status,
                     "dnp_reason": "Coach's Decision" if status == "dnp" else a.gamebook_reason(),
                     "starter": p.lookup in starters, "minutes": units / 4, **box})
    return rows


def _team_row(game: Game, season_year: int, side: Side, is_home: bool, overtimes: int) -> dict:
    totals = {k: sum(b[k] for b in side.box.values()) for k in STATS if k != "plus_minus"}
    return {"game_id": game.game_id, "season_year": season_year, "team_abbr": side.team.abbr,
            "opponent_team_abbr": game.away if is_home else game.home, "is_home": is_home,
            **totals, "minutes": 240 + 25 * overtimes}


def _prop_rows(rng: random.Random, game: Game, team: Team, active: list[Player]) -> list[dict]:
    """Points lines for the rotation, near each player's recent average (books shade a little)."""
    rows = []
    for p in [p for p in active if p.tier != "deep"][:rng.randint(8, 10)]:
        recent = p.recent_points
        average = sum(recent) / len(recent) if len(recent) >= 3 else p.projected_points()
        rows.append({"game_id": game.game_id, "player_lookup": p.lookup, "team_abbr": team.abbr,
                     "points_line": max(0.5, math.floor(average + rng.gauss(0, 0.8)) + 0.5),
                     "bookmaker": "synthetic_book"})
    return rows


def _roster_rows(team: Team) -> list[dict]:
    return [{"team_abbr": team.abbr, "player_lookup": p.lookup, "player_name": p.name,
             "universal_player_id": f"{p.lookup}_001", "position": p.position,
             "birth_date": p.birth_date.isoformat(), "jersey_number": p.jersey} for p in team.roster]


def _event_rows(game_id: str, events: list[tuple]) -> list[dict]:
    return [{"game_id": game_id, "event_id": i, "period": period, "player_lookup": lookup, "team_abbr": team,
             "shot_distance_ft": distance, "shot_value": value, "made": made, "assisted": assisted,
             "blocked_by_lookup": blocker}
            for i, (period, _, lookup, team, distance, value, made, assisted, blocker) in enumerate(events, 1)]


def _read_manifest(path: Path, key: dict) -> SeasonSummary | None:
    try:
        manifest = json.loads(path.read_text())
        if (all(manifest.get(k) == v for k, v in key.items()) and not manifest.get("delivered")
                and manifest.get("faults_sha256") == key.get("faults_sha256")):
            return SeasonSummary(**{**manifest["summary"], "reused": True})
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing, half-written by hand or from another version: simulate again
    return None


@dataclass
class GameFiles:
    """Everything one game contributes to the bucket."""

    gamebook: list[dict]
    team_box: list[dict]
    props: list[dict]
    shots: list[dict]
    injuries: list[dict]
    rosters: list[dict]
    overtimes: int


def play_game(rng: random.Random, game: Game, teams: dict[str, Team], cal: SeasonCalendar) -> GameFiles:
    """Pregame (availability, minutes, prop lines), the game itself, then all of its rows."""
    sides, avails, props, injuries, rosters = [], [], [], [], []
    for abbr in (game.away, game.home):
        team = teams[abbr]
        avail = pregame_availability(rng, team, game.game_date, cal)
        active = [a.player for a in avail if a.active]
        sides.append(Side(team, active, rotation_minutes(rng, active)))
        avails.append(avail)
        props += _prop_rows(rng, game, team, active)
        rosters += _roster_rows(team)
        injuries += [{"team_abbr": abbr, "player_lookup": a.player.lookup, "injury_status": a.report,
                      "reason": a.reason} for a in avail if a.report]
    overtimes, events = simulate_game(rng, sides[0], sides[1])
    gamebook, team_box = [], []
    for side, avail, is_home in ((sides[0], avails[0], False), (sides[1], avails[1], True)):
        gamebook += _gamebook_rows(game, cal.season_year, side, avail, is_home)
        team_box.append(_team_row(game, cal.season_year, side, is_home, overtimes))
        for p in side.played():
            p.recent_points.append(side.box[p.lookup]["points"])
    return GameFiles(gamebook, team_box, props, _event_rows(game.game_id, events), injuries, rosters, overtimes)


def simulate_season(out_dir: Path, *, seed: int = 2021, start: date = DEFAULT_START, end: date | None = None,
                    force: bool = False, faults: Path | list[dict] | None = None) -> SeasonSummary:
    """Simulate the regular season into ``out_dir/raw`` and return its summary.

    ``end`` (default: the season's last day, April 10) is the last date written; the schedule is
    always the full season, so shorter runs are prefixes of the full run. If ``out_dir`` already
    holds a finished run (manifest) with the same seed, start, end and format version, nothing is
    rewritten and the stored summary comes back with ``reused=True``; ``force=True`` rewrites.
    Rewriting first deletes the manifest and this simulator's source directories under ``raw/``,
    ``late/raw/`` and ``corrections/raw/`` (nothing else), so no file of an older run survives.

    ``faults`` (a faults file, or its list; see ``faults.py``) are applied to the written files
    before the manifest, which then records them and ``faults_sha256`` (of the file's bytes, or of
    the list's canonical JSON); an invalid fault raises ``FaultError`` (a ``ValueError``) and
    leaves the bucket without a manifest. Without faults the files are those of the clean season.
    """
    cal = season_calendar(start)
    end = end or cal.end
    if not start <= end <= cal.end:
        raise ValueError(f"end must be between {start} and {cal.end}, got {end}")
    if len(cal.game_days) < MIN_GAME_DAYS:  # 82 games without three-in-a-rows need room
        raise ValueError(f"start {start} leaves fewer than {MIN_GAME_DAYS} game days before {cal.end}")
    raw = Path(out_dir) / "raw"
    manifest_path = raw / "_manifest.json"
    key = {"format_version": FORMAT_VERSION, "seed": seed, "start": start.isoformat(), "end": end.isoformat()}
    fault_list: list[dict] | None = None
    if faults is not None:
        from .faults import check_faults, faults_digest, load_faults
        fault_list, file_hash = load_faults(faults) if isinstance(faults, str | Path) else (faults, None)
        fault_list = check_faults(fault_list)
        key["faults_sha256"] = file_hash or faults_digest(fault_list)
    if not force and (previous := _read_manifest(manifest_path, key)):
        return previous
    manifest_path.unlink(missing_ok=True)  # from here on the bucket reads as unfinished
    for source in SOURCES:
        for base in (raw, Path(out_dir) / "late" / "raw", Path(out_dir) / "corrections" / "raw"):
            shutil.rmtree(base / source, ignore_errors=True)

    schedule = build_schedule(stream_rng(seed, "schedule"), cal)
    teams, moves = build_league(stream_rng(seed, "league"), cal)
    no_pbp = _games_without_pbp(stream_rng(seed, "pbp-gaps"), schedule)
    rng = stream_rng(seed, "games")
    played = [g for g in schedule if g.game_date <= end]
    summary = SeasonSummary(seed, cal.season_year, start.isoformat(), end.isoformat(), games=len(played),
                            back_to_backs_per_team=round(_back_to_backs(played), 2))
    games_by_day: dict[date, list[Game]] = {}
    for game in played:
        games_by_day.setdefault(game.game_date, []).append(game)
    writer, players, points = _Writer(raw), set(), 0
    for day, games in games_by_day.items():  # date order: the schedule is sorted
        while moves and moves[0].day <= day:
            apply_move(rng, teams, move := moves.pop(0))
            summary.trades += move.other is not None
            summary.signings += move.other is None
        schedule_rows, injuries, rosters = [], [], []
        for game in games:
            files = play_game(rng, game, teams, cal)
            writer.write("nbac_gamebook", day, f"{game.game_id}.json", files.gamebook)
            writer.write("nbac_team_boxscore", day, f"{game.game_id}.json", files.team_box)
            writer.write("odds_api_props", day, f"{game.game_id}.json", files.props)
            if game.game_id in no_pbp:
                summary.missing_pbp_games += 1
            else:
                writer.write("bigdataball_pbp", day, f"{game.game_id}.json", files.shots)
                summary.shot_events += len(files.shots)
            schedule_rows.append({"game_id": game.game_id, "season_year": cal.season_year,
                                  "home_team_abbr": game.home, "away_team_abbr": game.away, "game_status": 3,
                                  "is_playoffs": False, "arena": f"{CITIES[game.home]} Arena"})
            injuries += files.injuries
            rosters += files.rosters
            summary.overtime_games += files.overtimes > 0
            points += sum(row["points"] for row in files.team_box)
        writer.write("nbac_schedule", day, "schedule.json", schedule_rows)
        writer.write("nbac_injury_report", day, "injuries.json", injuries)
        writer.write("nbac_rosters", day, "rosters.json", rosters)
        players.update(row["player_lookup"] for row in rosters)
        summary.game_days += 1

    summary.players, summary.files, summary.bytes = len(players), writer.files, writer.bytes
    extra: dict = {}
    if fault_list is not None:
        from .faults import apply_faults
        apply_faults(Path(out_dir), fault_list)
        written = [p for source in SOURCES for p in (raw / source).rglob("*.json")]
        summary.files, summary.bytes = len(written), sum(p.stat().st_size for p in written)
        extra["faults"] = fault_list
    summary.avg_team_points = round(points / max(1, 2 * summary.games), 2)
    write_json_atomic(manifest_path, {
        **key, "synthetic": True, "generator": "plugins/nba/simulate", "season_year": cal.season_year,
        "season_end": cal.end.isoformat(), "off_days": [d.isoformat() for d in cal.off_days],
        "sources": list(SOURCES), "summary": asdict(summary), **extra})
    return summary


