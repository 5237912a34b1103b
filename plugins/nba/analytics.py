"""Phase 3 (``nba_analytics``): the name registry and the five analytics processors, each one SQL file.

Every processor reads ``nba_raw`` tables (declared in ``inputs``, which is where the DAG's
lineage comes from; PGS and UPGC also read the name registry, ``registry.py``) and rewrites
``game_date`` partitions. Column contracts: ``TABLES.md``; what they compute: the domain spec,
section 2. The SQL lives in ``sql/analytics/<name>.sql``.
"""

from __future__ import annotations

from pathlib import Path

from bfplan.processors import SqlProcessor

from .failures import FAILURE_CONTRACT
from .registry import REGISTRY, registry_processor

SQL_DIR = Path(__file__).parent / "sql" / "analytics"

GAMEBOOK = "nba_raw.nbac_gamebook_player_stats"
TEAM_BOX = "nba_raw.nbac_team_boxscore"
SHOT_EVENTS = "nba_raw.bigdataball_shot_events"
PROPS = "nba_raw.odds_api_player_points_props"
SCHEDULE = "nba_raw.nbac_schedule"
INJURIES = "nba_raw.nbac_injury_report"
ROSTERS = "nba_raw.nbac_rosters"

ANALYTICS_FAILURES = "nba_processing.analytics_failures"

#: entities a coverage check expects per date (BigQuery SQL over ``@dates``); PGS: the active
#: gamebook players, under the registry's name for them (an alias's player) where it has one
_ACTIVE_PLAYERS_SQL = f"""
SELECT DISTINCT g.game_date AS partition_date, CAST(COALESCE(r.player_lookup, g.player_lookup) AS STRING) AS entity_id
FROM {GAMEBOOK} AS g
LEFT JOIN {REGISTRY} AS r
  ON r.game_date = g.game_date AND r.source = 'gamebook' AND r.team_abbr = g.team_abbr
 AND r.source_lookup = g.player_lookup AND r.game_date IN UNNEST(@dates)
WHERE g.game_date IN UNNEST(@dates) AND g.player_status = 'active'
""".strip()

_UPGC_PLAYERS_SQL = f"""
SELECT DISTINCT g.game_date AS partition_date, CAST(COALESCE(r.player_lookup, g.player_lookup) AS STRING) AS entity_id
FROM {GAMEBOOK} AS g
LEFT JOIN {REGISTRY} AS r
  ON r.game_date = g.game_date AND r.source = 'gamebook' AND r.team_abbr = g.team_abbr
 AND r.source_lookup = g.player_lookup AND r.game_date IN UNNEST(@dates)
WHERE g.game_date IN UNNEST(@dates) AND g.player_status IN ('active', 'dnp')
""".strip()

_SCHEDULED_TEAMS_SQL = f"""
SELECT DISTINCT game_date AS partition_date, CAST(team_abbr AS STRING) AS entity_id
FROM (
  SELECT game_date, home_team_abbr AS team_abbr FROM {SCHEDULE}
  WHERE game_date IN UNNEST(@dates) AND game_status = 3
  UNION ALL
  SELECT game_date, away_team_abbr AS team_abbr FROM {SCHEDULE}
  WHERE game_date IN UNNEST(@dates) AND game_status = 3
) AS teams
""".strip()


def analytics_processors() -> list[SqlProcessor]:
    """The name registry, then PGS, TDGS, TOGS, UPGC and UTGC, in that order."""
    return [
        registry_processor(gamebook=GAMEBOOK, props=PROPS, injuries=INJURIES, rosters=ROSTERS, schedule=SCHEDULE,
                           failures_table=ANALYTICS_FAILURES),
        SqlProcessor(
            name="pgs",
            table="nba_analytics.player_game_summary",
            partition_column="game_date",
            inputs=(GAMEBOOK, SHOT_EVENTS, TEAM_BOX, PROPS, REGISTRY, ROSTERS),
            entity_key=("player_lookup",),
            expected_entities_sql=_ACTIVE_PLAYERS_SQL,
            failures_table=ANALYTICS_FAILURES,
            **FAILURE_CONTRACT,
            lookback_days=0,
            clustering=("player_lookup", "team_abbr"),
            contract={"unique_key": ["game_id", "player_lookup"], "columns": {
                "points": {"not_null": True, "range": [0, 100]}, "minutes_played": {"range": [0, 70]},
                "ts_pct": {"finite": True}, "efg_pct": {"range": [0, 1.5]}, "usage_rate": {"finite": True}}},
            description="Phase 3: one row per active player per game (box score, shot zones, usage, props)",
            sql_path=SQL_DIR / "pgs.sql",
        ),
        SqlProcessor(
            name="tdgs",
            table="nba_analytics.team_defense_game_summary",
            partition_column="game_date",
            inputs=(TEAM_BOX, SHOT_EVENTS),
            entity_key=("defending_team_abbr",),
            critical_fields={
                "opp_paint_attempts": "positive",
                "opp_mid_range_attempts": "positive",
                "opp_three_pt_attempts": "positive",
            },
            # ~3% of games have no play-by-play file (as in production): their zones are NULL by
            # design, reported by preflight as missing source files, not as contaminated rows
            critical_filter="has_shot_zone_data",
            expected_entities_sql=_SCHEDULED_TEAMS_SQL,
            lookback_days=0,
            clustering=("defending_team_abbr",),
            contract={"unique_key": ["game_id", "defending_team_abbr"],
                      "columns": {"points_allowed": {"not_null": True, "range": [0, 250]}}},
            description="Phase 3: one row per defending team per game (flipped opponent box score, zones allowed)",
            sql_path=SQL_DIR / "tdgs.sql",
        ),
        SqlProcessor(
            name="togs",
            table="nba_analytics.team_offense_game_summary",
            partition_column="game_date",
            inputs=(TEAM_BOX,),
            entity_key=("team_abbr",),
            expected_entities_sql=_SCHEDULED_TEAMS_SQL,
            lookback_days=0,
            clustering=("team_abbr",),
            # one row per team of every game in the team box scores, no more, no less
            contract={"unique_key": ["game_id", "team_abbr"], "columns": {"pace": {"finite": True, "range": [0, 200]}},
                      "rows_match": {"input": TEAM_BOX, "key": ["game_id", "team_abbr"]}},
            description="Phase 3: one row per team per game (possessions, pace, offensive rating)",
            sql_path=SQL_DIR / "togs.sql",
        ),
        SqlProcessor(
            name="upgc",
            table="nba_analytics.upcoming_player_game_context",
            partition_column="game_date",
            inputs=(GAMEBOOK, TEAM_BOX, SCHEDULE, INJURIES, ROSTERS, PROPS, REGISTRY),
            entity_key=("player_lookup",),
            expected_entities_sql=_UPGC_PLAYERS_SQL,
            lookback_days=None,
            clustering=("player_lookup", "team_abbr"),
            contract={"unique_key": ["game_date", "player_lookup"]},
            description="Phase 3: one row per player with a game (rest, recent form, pace, injuries, completeness)",
            sql_path=SQL_DIR / "upgc.sql",
        ),
        SqlProcessor(
            name="utgc",
            table="nba_analytics.upcoming_team_game_context",
            partition_column="game_date",
            inputs=(SCHEDULE, TEAM_BOX, INJURIES, GAMEBOOK),
            entity_key=("team_abbr",),
            expected_entities_sql=_SCHEDULED_TEAMS_SQL,
            lookback_days=None,  # rest, streaks and travel look back to season start
            clustering=("team_abbr",),
            # two rows per scheduled game: one per team and date, both sides of each game
            contract={"unique_key": ["game_date", "team_abbr"],
                      "columns": {"game_number_in_season": {"not_null": True, "range": [1, 110]},
                                  "travel_miles": {"range": [0, 3500]}}},
            description="Phase 3: one row per team per scheduled game (rest, streaks, starters out, travel)",
            sql_path=SQL_DIR / "utgc.sql",
        ),
    ]
