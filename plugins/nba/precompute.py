"""Phase 4 (``nba_precompute``) and the ML feature store: five set-based SQL processors.

Each processor is one BigQuery Standard SQL ``SELECT`` in ``sql/precompute/<name>.sql`` that
computes a whole batch of dates at once, reading its upstream tables season to date and always
**strictly before** the partition date (HEAD behaviour; spec §3 "No same-day games"). Per-entity
failures are rows with a ``failure_category``; the engine routes them to
``nba_processing.precompute_failures`` (spec §4).

Order inside Phase 4 (from table lineage): TDZA + PSZA → PCF → PDC → MLFS.

Choices the spec left open, fixed here (the SQL files repeat them where they apply):

* **Bootstrap** (season days 0-13, ``BOOTSTRAP_DAYS=14``): TDZA/PSZA/PCF/PDC write no row; every
  entity of the date gets an ``INSUFFICIENT_DATA`` failure "early season bootstrap", so coverage
  reconciles. MLFS writes NULL-feature placeholders (``data_source='early_season'``).
* **Completeness** is always computed and stored (``completeness_percentage``,
  ``expected_game_count`` / ``actual_game_count``, ``is_production_ready``), but the per-entity
  ``INCOMPLETE_DATA`` check only runs in daily mode: backfill mode skips it (spec §6 item 2).
  It also waits out the completeness checker's own 30-day bootstrap window (spec §1): season days
  0-29 are never ``INCOMPLETE_DATA`` (``completeness_checked`` in ``sql/precompute/_batch_season.sql``).
  Player completeness = the player's games ÷ the scheduled games of the player's latest team;
  ``expected_game_count`` / ``actual_game_count`` / ``missing_dates`` always describe the
  14-day window that the DNP-vs-data-gap classification (spec §4) uses. TDZA completeness = the
  share of the team's last 15 scheduled games that have a TDGS row with shot-zone data.
* **PSZA** entities are the players with active games this season before the date plus the
  players debuting that day (expected by coverage). Under 10 games it reports the 12/07 split:
  ``EXPECTED_INCOMPLETE`` when the team has also played < 10 (an expected skip),
  ``INCOMPLETE_UPSTREAM`` (DATA_GAP, correctable) when the raw gamebook has him active in games
  PGS has no row for (they are its ``missing_dates``: backfill PGS), else ``INSUFFICIENT_DATA``
  (he has simply played < 10 games; the reference would call this INCOMPLETE_UPSTREAM too, which
  would flag every bench player of a clean season as a data gap).
* **PCF** reports no ``INCOMPLETE_DATA``: the row is written with ``is_production_ready`` false
  (spec: "incomplete data is logged but the row is still written").
* **PCF fatigue** follows the code (spec: "follow the code"): 240+ minutes and 35+ minutes per
  game are strict ``>`` comparisons; back-to-back and 3+ rest days are exclusive. A ``balanced``
  primary zone uses the paint fields for the mismatch, as the code does.
* ``opponent_strength_score`` is a deferred factor, hard-coded 0.0, and deliberately **not** a
  critical field (the spec calls the contamination check on it a trap).
* **PDC** also stores the inputs of MLFS's calculated features (last-3 and games-4-5 points,
  last-10 free throws and points), so MLFS reads PGS history only for players without a PDC row.
* **MLFS hard dependencies** per date: PDC, PCF and PSZA each >= 20 players in backfill mode (100
  in daily mode) and TDZA >= 20 teams, else one ``MISSING_DEPENDENCY`` failure with entity
  ``DATE_LEVEL``. Feature 13 is also the top-level column ``opponent_def_rating``. With 6
  calculated and 3 UPGC (Phase 3) features, a v1 vector has at most 16/25 Phase 4 features, so
  ``data_source`` is ``phase4_partial`` at best.
"""

from __future__ import annotations

from pathlib import Path

from bfplan.processors import SqlProcessor

from .failures import FAILURE_CONTRACT
from .sqlfiles import load_sql

SQL_DIR = Path(__file__).parent / "sql" / "precompute"

FAILURES = "nba_processing.precompute_failures"

SCHEDULE = "nba_raw.nbac_schedule"
GAMEBOOK = "nba_raw.nbac_gamebook_player_stats"
PGS = "nba_analytics.player_game_summary"
TDGS = "nba_analytics.team_defense_game_summary"
TOGS = "nba_analytics.team_offense_game_summary"
UPGC = "nba_analytics.upcoming_player_game_context"
UTGC = "nba_analytics.upcoming_team_game_context"
TDZA = "nba_precompute.team_defense_zone_analysis"
PSZA = "nba_precompute.player_shot_zone_analysis"
PCF = "nba_precompute.player_composite_factors"
PDC = "nba_precompute.player_daily_cache"
MLFS = "nba_predictions.ml_feature_store_v2"

#: what every Phase 4 row says of itself (spec: completeness windows, production readiness)
READINESS = {"ready": "is_production_ready", "completeness": "completeness_percentage"}

#: spec §5: the expected players of a date are those who PLAYED that day (a PGS row)
PLAYED_PLAYERS_SQL = f"""
SELECT DISTINCT game_date AS partition_date, CAST(player_lookup AS STRING) AS entity_id
FROM {PGS}
WHERE game_date IN UNNEST(@dates) AND IFNULL(is_active, TRUE)
""".strip()

#: TDZA: the teams that played at least one (final) game this season before the date
TEAMS_WITH_GAMES_SQL = f"""
WITH batch AS (
  SELECT d AS partition_date FROM UNNEST(@dates) AS d
),
season_starts AS (
  SELECT season_year, MIN(game_date) AS season_start FROM {SCHEDULE} GROUP BY season_year
),
batch_season AS (
  SELECT b.partition_date, s.season_year
  FROM batch AS b JOIN season_starts AS s ON s.season_start <= b.partition_date
  WHERE TRUE
  QUALIFY ROW_NUMBER() OVER (PARTITION BY b.partition_date ORDER BY s.season_start DESC) = 1
),
team_games AS (
  SELECT season_year, game_date, home_team_abbr AS team_abbr FROM {SCHEDULE} WHERE game_status = 3
  UNION ALL
  SELECT season_year, game_date, away_team_abbr AS team_abbr FROM {SCHEDULE} WHERE game_status = 3
)
SELECT DISTINCT bs.partition_date, CAST(t.team_abbr AS STRING) AS entity_id
FROM batch_season AS bs
JOIN team_games AS t ON t.season_year = bs.season_year AND t.game_date < bs.partition_date
""".strip()


def precompute_processors() -> list[SqlProcessor]:
    """TDZA, PSZA, PCF, PDC and MLFS (spec §3, §7)."""
    return [
        SqlProcessor(
            name="tdza",
            table=TDZA,
            partition_column="analysis_date",
            inputs=(TDGS, SCHEDULE),
            entity_key=("team_abbr",),
            critical_fields={
                "paint_defense_vs_league_avg": "not_null",
                "mid_range_defense_vs_league_avg": "not_null",
                "three_pt_defense_vs_league_avg": "not_null",
            },
            expected_entities_sql=TEAMS_WITH_GAMES_SQL,
            failures_table=FAILURES,
            **FAILURE_CONTRACT,
            lookback_days=None,
            clustering=("team_abbr",),
            contract={"unique_key": ["analysis_date", "team_abbr"]},
            quality=READINESS,
            description="Phase 4 TDZA: each team's zone defense over its last 15 games vs the league",
            sql=load_sql(SQL_DIR / "tdza.sql"),
        ),
        SqlProcessor(
            name="psza",
            table=PSZA,
            partition_column="analysis_date",
            inputs=(PGS, SCHEDULE, GAMEBOOK),
            entity_key=("player_lookup",),
            critical_fields={"paint_pct_last_10": "not_null", "games_in_sample_10": "positive"},
            expected_entities_sql=PLAYED_PLAYERS_SQL,
            failures_table=FAILURES,
            **FAILURE_CONTRACT,
            lookback_days=None,
            clustering=("player_lookup",),
            contract={"unique_key": ["analysis_date", "player_lookup"]},
            quality=READINESS,
            description="Phase 4 PSZA: each player's shot zones over the last 10/20 games",
            sql=load_sql(SQL_DIR / "psza.sql"),
        ),
        SqlProcessor(
            name="pcf",
            table=PCF,
            partition_column="game_date",
            inputs=(UPGC, UTGC, PSZA, TDZA, SCHEDULE),  # spec §3: "UPGC and UTGC for the date"
            entity_key=("player_lookup",),
            # opponent_strength_score is hard-coded 0.0 (deferred): checking it is the spec's trap
            critical_fields={"shot_zone_mismatch_score": "not_null"},
            expected_entities_sql=PLAYED_PLAYERS_SQL,
            failures_table=FAILURES,
            **FAILURE_CONTRACT,
            lookback_days=0,
            clustering=("player_lookup",),
            contract={"unique_key": ["game_date", "player_lookup"]},
            quality=READINESS,
            description="Phase 4 PCF: fatigue, shot-zone mismatch, pace and usage-spike adjustments",
            sql=load_sql(SQL_DIR / "pcf.sql"),
        ),
        SqlProcessor(
            name="pdc",
            table=PDC,
            partition_column="cache_date",
            inputs=(PGS, TOGS, UPGC, PSZA, SCHEDULE, GAMEBOOK),
            entity_key=("player_lookup",),
            critical_fields={"points_avg_season": "not_null", "games_played_season": "positive"},
            expected_entities_sql=PLAYED_PLAYERS_SQL,
            failures_table=FAILURES,
            **FAILURE_CONTRACT,
            lookback_days=None,  # PGS and TOGS: season to date
            input_lookback={UPGC: 0, PSZA: 0},  # the day's own context and shot-zone rows
            clustering=("player_lookup",),
            contract={"unique_key": ["cache_date", "player_lookup"]},
            quality=READINESS,
            description="Phase 4 PDC: each player's season-to-date cache for the day's games",
            sql=load_sql(SQL_DIR / "pdc.sql"),
        ),
        SqlProcessor(
            name="mlfs",
            table=MLFS,
            partition_column="game_date",
            inputs=(PDC, PCF, PSZA, TDZA, PGS, UPGC, TOGS, SCHEDULE),
            entity_key=("player_lookup",),
            critical_fields={"opponent_def_rating": "not_null", "quality_tier": "not_null"},
            # season days 0-13 are placeholders with no features by design (spec §1), not contamination
            critical_filter="data_source != 'early_season'",
            expected_entities_sql=PLAYED_PLAYERS_SQL,
            failures_table=FAILURES,
            **FAILURE_CONTRACT,
            lookback_days=None,  # PGS and TOGS: season to date (recent trend, minutes, win %)
            input_lookback={PDC: 0, PCF: 0, PSZA: 0, TDZA: 0, UPGC: 0},  # Phase 4 rows of the day itself
            clustering=("player_lookup",),
            contract={"unique_key": ["game_date", "player_lookup"],
                      "columns": {"feature_quality_score": {"finite": True}}},
            quality={"ready": "is_production_ready"},
            description="ML feature store v1: the 25 baseline features per player and game",
            sql=load_sql(SQL_DIR / "mlfs.sql"),
        ),
    ]
