"""Phase 2: load the (synthetic) scraped raw files of each date into ``nba_raw`` tables.

One generic :class:`RawFileLoader` serves every source: it reads
``<bucket>/raw/<source>/<YYYY-MM-DD>/*.json`` for the batch's dates and rewrites those
``game_date`` partitions. Column names and types are the contract in ``RAW_FORMAT.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bfplan.loaders import RecordLoader

_COMMON = {"game_date": "DATE"}
_BOX = {c: "INT64" for c in ("points", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "reb",
                              "ast", "stl", "blk", "tov", "pf")}

#: source directory -> (table, columns in BigQuery types), from RAW_FORMAT.md
RAW_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "nbac_schedule": ("nba_raw.nbac_schedule", {
        **_COMMON, "game_id": "STRING", "season_year": "INT64", "home_team_abbr": "STRING",
        "away_team_abbr": "STRING", "game_status": "INT64", "is_playoffs": "BOOL", "arena": "STRING"}),
    "nbac_gamebook": ("nba_raw.nbac_gamebook_player_stats", {
        **_COMMON, "game_id": "STRING", "season_year": "INT64", "player_lookup": "STRING",
        "player_name": "STRING", "universal_player_id": "STRING", "team_abbr": "STRING",
        "opponent_team_abbr": "STRING", "is_home": "BOOL", "player_status": "STRING", "dnp_reason": "STRING",
        "starter": "BOOL", "minutes": "FLOAT64", **_BOX, "plus_minus": "INT64"}),
    "nbac_team_boxscore": ("nba_raw.nbac_team_boxscore", {
        **_COMMON, "game_id": "STRING", "season_year": "INT64", "team_abbr": "STRING",
        "opponent_team_abbr": "STRING", "is_home": "BOOL", **_BOX, "minutes": "INT64"}),
    "bigdataball_pbp": ("nba_raw.bigdataball_shot_events", {
        **_COMMON, "game_id": "STRING", "event_id": "INT64", "period": "INT64", "player_lookup": "STRING",
        "team_abbr": "STRING", "shot_distance_ft": "FLOAT64", "shot_value": "INT64", "made": "BOOL",
        "assisted": "BOOL", "blocked_by_lookup": "STRING"}),
    "odds_api_props": ("nba_raw.odds_api_player_points_props", {
        **_COMMON, "game_id": "STRING", "player_lookup": "STRING", "team_abbr": "STRING",
        "points_line": "FLOAT64", "bookmaker": "STRING"}),
    "nbac_injury_report": ("nba_raw.nbac_injury_report", {
        **_COMMON, "team_abbr": "STRING", "player_lookup": "STRING", "injury_status": "STRING",
        "reason": "STRING"}),
    "nbac_rosters": ("nba_raw.nbac_rosters", {
        **_COMMON, "team_abbr": "STRING", "player_lookup": "STRING", "player_name": "STRING",
        "universal_player_id": "STRING", "position": "STRING", "birth_date": "DATE", "jersey_number": "INT64"}),
}

#: short processor names for each source, as plans use them
LOADER_NAMES = {
    "nbac_schedule": "raw_schedule",
    "nbac_gamebook": "raw_gamebook",
    "nbac_team_boxscore": "raw_team_boxscore",
    "bigdataball_pbp": "raw_shot_events",
    "odds_api_props": "raw_props",
    "nbac_injury_report": "raw_injuries",
    "nbac_rosters": "raw_rosters",
}


#: the most a player / a team can have of each count in one game: past the league's all-time
#: records (100 points, 55 rebounds, 30 assists, ...) with room to spare, so a value beyond is a
#: fault in the source, never a great night
_PLAYER_MAX = {"fgm": 40, "fga": 70, "fg3m": 20, "fg3a": 40, "ftm": 35, "fta": 40, "oreb": 25, "dreb": 35,
               "reb": 55, "ast": 30, "stl": 12, "blk": 17, "tov": 15, "pf": 6}
_TEAM_MAX = {"fgm": 80, "fga": 150, "fg3m": 35, "fg3a": 80, "ftm": 65, "fta": 80, "oreb": 40, "dreb": 70,
             "reb": 100, "ast": 55, "stl": 30, "blk": 25, "tov": 45, "pf": 60}
_PLAYER_COUNTS = {c: {"range": [0, hi]} for c, hi in _PLAYER_MAX.items()}
_TEAM_COUNTS = {c: {"range": [0, hi]} for c, hi in _TEAM_MAX.items()}

#: what every record of each source must satisfy: a record that breaks it is set aside (with the
#: rule that caught it) and the rest of the batch loads
RAW_CONTRACTS: dict[str, dict[str, Any]] = {
    "nbac_schedule": {"unique_key": ["game_date", "game_id"], "columns": {
        "game_id": {"not_null": True}, "home_team_abbr": {"not_null": True}, "away_team_abbr": {"not_null": True},
        "game_status": {"accepted": [1, 2, 3, 4]}}},
    "nbac_gamebook": {"unique_key": ["game_date", "game_id", "player_lookup"], "columns": {
        "player_lookup": {"not_null": True}, "team_abbr": {"not_null": True},
        "player_status": {"accepted": ["active", "dnp", "inactive"]}, "points": {"range": [0, 100]},
        "minutes": {"range": [0, 70]}, "plus_minus": {"range": [-80, 80]}, **_PLAYER_COUNTS}},
    "nbac_team_boxscore": {"unique_key": ["game_date", "game_id", "team_abbr"], "columns": {
        "team_abbr": {"not_null": True}, "points": {"range": [0, 250]}, "minutes": {"range": [240, 480]},
        **_TEAM_COUNTS}},
    "bigdataball_pbp": {"unique_key": ["game_date", "game_id", "event_id"], "columns": {
        "player_lookup": {"not_null": True}, "shot_value": {"accepted": [2, 3]},
        "shot_distance_ft": {"range": [0, 94]}, "period": {"range": [1, 10]}}},
    "odds_api_props": {"unique_key": ["game_date", "game_id", "player_lookup", "bookmaker"], "columns": {
        "points_line": {"range": [0, 100]}}},
    "nbac_injury_report": {"unique_key": ["game_date", "team_abbr", "player_lookup"], "columns": {
        "injury_status": {"accepted": ["out", "doubtful", "questionable", "probable", "available"]}}},
    "nbac_rosters": {"unique_key": ["game_date", "team_abbr", "player_lookup"], "columns": {
        "player_lookup": {"not_null": True}}},
}


#: the team-games a date is expected to have: every team of every game the schedule says was
#: played (status 3, final) — the schedule is the truth the box scores are checked against
SCHEDULED_TEAM_GAMES_SQL = """
SELECT game_date AS partition_date, CONCAT(game_id, '|', team_abbr) AS entity_id
FROM (
  SELECT game_date, game_id, home_team_abbr AS team_abbr FROM nba_raw.nbac_schedule
  WHERE game_date IN UNNEST(@dates) AND game_status = 3
  UNION ALL
  SELECT game_date, game_id, away_team_abbr AS team_abbr FROM nba_raw.nbac_schedule
  WHERE game_date IN UNNEST(@dates) AND game_status = 3
) AS team_games
""".strip()

#: sources that hold every team of every played game (play-by-play may lack a game by design;
#: props and injuries cover some players only)
PER_TEAM_GAME = ("nbac_gamebook", "nbac_team_boxscore")


def bucket_path(params: dict[str, Any]) -> Path:
    """The bucket root from the plan's ``bucket`` var, relative to the plan's directory."""
    bucket = Path(str(params.get("bucket", "data/bucket")))
    if not bucket.is_absolute():
        bucket = Path(str(params.get("plan_dir", "."))) / bucket
    return bucket


@dataclass(frozen=True)
class RawFileLoader(RecordLoader):
    """Loads one raw source's JSON files into its ``nba_raw`` table; a record that does not fit
    the table (a NaN, text for a count, ...) is quarantined with its file and position, the
    rest loads."""

    source: str = ""

    def files(self, params: Mapping[str, Any], day: date) -> list[Path]:
        """The source's files for ``day`` under the plan's bucket, in a stable order."""
        return sorted((bucket_path(dict(params)) / "raw" / self.source / day.isoformat()).glob("*.json"))


def raw_loaders() -> list[RawFileLoader]:
    """One loader per raw source."""
    return [
        RawFileLoader(
            name=LOADER_NAMES[source], table=table, partition_column="game_date", source=source,
            columns=columns, clustering=("game_id",) if "game_id" in columns else (),
            contract={**RAW_CONTRACTS[source], "on_violation": "quarantine"},
            **({"entity_key": ("game_id", "team_abbr"), "expected_entities_sql": SCHEDULED_TEAM_GAMES_SQL}
               if source in PER_TEAM_GAME else {}),
            description=f"Phase 2: load raw/{source}/<date>/*.json into {table}",
        )
        for source, (table, columns) in RAW_TABLES.items()
    ]
