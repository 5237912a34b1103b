-- PSZA: nba_precompute.player_shot_zone_analysis — one row per player per analysis_date, for every
-- player with active games this season before the date (plus the players who debut that day, so
-- that coverage reconciles: they get a failure). Spec §3 (PSZA) and §4.
--   * windows: the player's last 10 and last 20 PGS games STRICTLY BEFORE the date;
--   * zone math uses only the games that have shot events (NULL zones are excluded): rates are
--     percent of the zone attempts (paint + mid-range + three) in those games, FG% = Σmakes ÷ Σattempts;
--   * paint_rate/pct_last_20 only with 15+ games in the 20-game window;
--   * primary zone: paint if paint rate >= 40, else perimeter if three rate >= 40, else mid_range if
--     mid-range rate >= 35, else balanced;
--   * failures (first match wins): season days 0-13 -> INSUFFICIENT_DATA 'early season bootstrap';
--     daily mode from day 30 and 14-day completeness < 90% -> INCOMPLETE_DATA (DNP / DATA_GAP classification);
--     under 10 games, the 12/07 split:
--       - the team has also played under 10 games this season -> EXPECTED_INCOMPLETE (early season;
--         an expected skip);
--       - the raw gamebook has the player active in games this season before the date that PGS has no
--         row for -> INCOMPLETE_UPSTREAM (DATA_GAP, correctable: backfill PGS on missing_dates);
--       - else the player has simply played under 10 games -> INSUFFICIENT_DATA (nothing is missing;
--         counting every such player as INCOMPLETE_UPSTREAM would flag bench players as gaps);
--     impossible values -> INVALID_UPSTREAM (bad data, not a bug).
--   * completeness (14-day window): the player's games ÷ the scheduled games of his latest team in
--     [date - 14, date); missing dates are checked against the raw gamebook: active there -> DATA_GAP
--     (correctable), absent / dnp / inactive -> PLAYER_DNP; both -> MIXED; < 5 expected -> INSUFFICIENT_HISTORY.
WITH
-- @include _batch_season.sql date_col=analysis_date
team_sched AS (
  SELECT season_year, game_date, home_team_abbr AS team_abbr
  FROM nba_raw.nbac_schedule WHERE game_status = 3 AND game_date <= @end_date
  UNION ALL
  SELECT season_year, game_date, away_team_abbr AS team_abbr
  FROM nba_raw.nbac_schedule WHERE game_status = 3 AND game_date <= @end_date
),
pgs AS (
  SELECT p.player_lookup, p.universal_player_id, p.season_year, p.game_date, p.game_id, p.team_abbr,
         p.fg_makes, p.fg_attempts, p.three_pt_makes, p.three_pt_attempts,
         p.paint_makes, p.paint_attempts, p.mid_range_makes, p.mid_range_attempts,
         p.assisted_fg_makes, p.unassisted_fg_makes,
         (p.paint_attempts IS NOT NULL AND p.paint_makes IS NOT NULL
          AND p.mid_range_attempts IS NOT NULL AND p.mid_range_makes IS NOT NULL) AS zone_ok,
         -- a player plays at most one game a day
         ROW_NUMBER() OVER (PARTITION BY p.season_year, p.player_lookup ORDER BY p.game_date) AS game_idx,
         LEAD(p.game_date) OVER (PARTITION BY p.season_year, p.player_lookup ORDER BY p.game_date) AS next_game_date
  FROM nba_analytics.player_game_summary AS p
  WHERE p.game_date <= @end_date AND IFNULL(p.is_active, TRUE)
),
entities AS (
  -- players whose last game before the date is game k (k >= 1) ...
  SELECT bs.analysis_date, bs.season_year, bs.season_day, bs.completeness_checked, p.player_lookup, p.universal_player_id,
         p.game_idx AS k, p.team_abbr AS latest_team
  FROM batch_season AS bs
  JOIN pgs AS p
    ON p.season_year = bs.season_year AND p.game_date < bs.analysis_date
   AND IFNULL(p.next_game_date, DATE '9999-12-31') >= bs.analysis_date
  UNION ALL
  -- ... and the players whose first game of the season is on the date (k = 0)
  SELECT bs.analysis_date, bs.season_year, bs.season_day, bs.completeness_checked, p.player_lookup, p.universal_player_id,
         0 AS k, p.team_abbr AS latest_team
  FROM batch_season AS bs
  JOIN pgs AS p
    ON p.season_year = bs.season_year AND p.game_date = bs.analysis_date AND p.game_idx = 1
),
win AS (
  SELECT e.analysis_date, e.player_lookup,
         COUNT(IF(p.game_idx > e.k - 10, 1, NULL)) AS games_10,
         COUNT(p.game_idx) AS games_20,
         COUNT(IF(p.game_idx > e.k - 10 AND p.zone_ok, 1, NULL)) AS zone_games_10,
         SUM(IF(p.game_idx > e.k - 10 AND p.zone_ok, p.paint_attempts, NULL)) AS paint_att_10,
         SUM(IF(p.game_idx > e.k - 10 AND p.zone_ok, p.paint_makes, NULL)) AS paint_mk_10,
         SUM(IF(p.game_idx > e.k - 10 AND p.zone_ok, p.mid_range_attempts, NULL)) AS mid_att_10,
         SUM(IF(p.game_idx > e.k - 10 AND p.zone_ok, p.mid_range_makes, NULL)) AS mid_mk_10,
         SUM(IF(p.game_idx > e.k - 10 AND p.zone_ok, p.three_pt_attempts, NULL)) AS three_att_10,
         SUM(IF(p.game_idx > e.k - 10 AND p.zone_ok, p.three_pt_makes, NULL)) AS three_mk_10,
         SUM(IF(p.game_idx > e.k - 10 AND p.zone_ok, p.assisted_fg_makes, NULL)) AS assisted_10,
         SUM(IF(p.game_idx > e.k - 10 AND p.zone_ok, p.unassisted_fg_makes, NULL)) AS unassisted_10,
         SUM(IF(p.game_idx > e.k - 10 AND p.zone_ok, p.fg_makes, NULL)) AS fg_mk_10,
         SUM(IF(p.zone_ok, p.paint_attempts, NULL)) AS paint_att_20,
         SUM(IF(p.zone_ok, p.paint_makes, NULL)) AS paint_mk_20,
         SUM(IF(p.zone_ok, p.paint_attempts + p.mid_range_attempts + p.three_pt_attempts, NULL)) AS zone_att_20
  FROM entities AS e
  LEFT JOIN pgs AS p
    ON p.player_lookup = e.player_lookup AND p.season_year = e.season_year
   AND p.game_idx BETWEEN e.k - 19 AND e.k
  GROUP BY e.analysis_date, e.player_lookup
),
gamebook AS (
  SELECT game_date, player_lookup, MAX(IF(player_status = 'active', 1, 0)) AS active_in_raw
  FROM nba_raw.nbac_gamebook_player_stats
  WHERE game_date >= DATE_SUB(@start_date, INTERVAL 14 DAY) AND game_date <= @end_date
  GROUP BY game_date, player_lookup
),
window_14d AS (
  SELECT e.analysis_date, e.player_lookup,
         COUNT(*) AS expected_games,
         COUNT(IF(p.game_idx IS NOT NULL, 1, NULL)) AS actual_games,
         COUNT(IF(p.game_idx IS NULL AND gb.active_in_raw = 1, 1, NULL)) AS gap_games,
         COUNT(IF(p.game_idx IS NULL AND IFNULL(gb.active_in_raw, 0) = 0, 1, NULL)) AS dnp_games,
         -- the missing dates are only reported by daily mode's INCOMPLETE_DATA failures
         CONCAT('[', STRING_AGG(IF(@check_completeness AND p.game_idx IS NULL,
                                   CONCAT('"', CAST(ts.game_date AS STRING), '"'), NULL),
                                ',' ORDER BY ts.game_date), ']') AS missing_dates
  FROM entities AS e
  JOIN team_sched AS ts
    ON ts.team_abbr = e.latest_team AND ts.season_year = e.season_year
   AND ts.game_date >= DATE_SUB(e.analysis_date, INTERVAL 14 DAY) AND ts.game_date < e.analysis_date
  LEFT JOIN pgs AS p ON p.player_lookup = e.player_lookup AND p.game_date = ts.game_date
  LEFT JOIN gamebook AS gb ON gb.player_lookup = e.player_lookup AND gb.game_date = ts.game_date
  GROUP BY e.analysis_date, e.player_lookup
),
upstream_gaps AS (
  -- active games of the raw gamebook this season before the date that PGS has no row for: PSZA's
  -- game counts are short because upstream is (INCOMPLETE_UPSTREAM, needs a PGS backfill)
  SELECT e.analysis_date, e.player_lookup, COUNT(*) AS upstream_gap_games,
         CONCAT('[', STRING_AGG(CONCAT('"', CAST(g.game_date AS STRING), '"'), ',' ORDER BY g.game_date), ']')
           AS upstream_gap_dates
  FROM entities AS e
  JOIN nba_raw.nbac_gamebook_player_stats AS g
    ON g.player_lookup = e.player_lookup AND g.season_year = e.season_year AND g.game_date < e.analysis_date
   AND g.player_status = 'active'
  LEFT JOIN pgs AS p ON p.player_lookup = g.player_lookup AND p.game_date = g.game_date
  WHERE p.game_date IS NULL AND g.game_date < @end_date AND g.game_date >= DATE_SUB(@start_date, INTERVAL 366 DAY)
  GROUP BY e.analysis_date, e.player_lookup
),
team_games_before AS (
  -- the team's scheduled games this season before the date (the EXPECTED_INCOMPLETE test)
  SELECT bs.analysis_date, ts.team_abbr, COUNT(*) AS team_games
  FROM batch_season AS bs
  JOIN team_sched AS ts ON ts.season_year = bs.season_year AND ts.game_date < bs.analysis_date
  GROUP BY bs.analysis_date, ts.team_abbr
),
calc AS (
  SELECT e.analysis_date, e.season_year, e.season_day, e.completeness_checked, e.player_lookup, e.universal_player_id,
         e.latest_team, e.k,
         w.games_10, w.games_20, w.zone_games_10,
         w.paint_att_10 + w.mid_att_10 + w.three_att_10 AS zone_att_10,
         SAFE_DIVIDE(100 * w.paint_att_10, w.paint_att_10 + w.mid_att_10 + w.three_att_10) AS paint_rate_10,
         SAFE_DIVIDE(100 * w.mid_att_10, w.paint_att_10 + w.mid_att_10 + w.three_att_10) AS mid_rate_10,
         SAFE_DIVIDE(100 * w.three_att_10, w.paint_att_10 + w.mid_att_10 + w.three_att_10) AS three_rate_10,
         SAFE_DIVIDE(w.paint_mk_10, w.paint_att_10) AS paint_pct_10,
         SAFE_DIVIDE(w.mid_mk_10, w.mid_att_10) AS mid_pct_10,
         SAFE_DIVIDE(w.three_mk_10, w.three_att_10) AS three_pct_10,
         SAFE_DIVIDE(w.paint_att_10, w.zone_games_10) AS paint_att_pg,
         SAFE_DIVIDE(w.mid_att_10, w.zone_games_10) AS mid_att_pg,
         SAFE_DIVIDE(w.three_att_10, w.zone_games_10) AS three_att_pg,
         SAFE_DIVIDE(100 * w.assisted_10, w.fg_mk_10) AS assisted_rate_10,
         SAFE_DIVIDE(100 * w.unassisted_10, w.fg_mk_10) AS unassisted_rate_10,
         IF(w.games_20 >= 15, SAFE_DIVIDE(100 * w.paint_att_20, w.zone_att_20), NULL) AS paint_rate_20,
         IF(w.games_20 >= 15, SAFE_DIVIDE(w.paint_mk_20, w.paint_att_20), NULL) AS paint_pct_20,
         IFNULL(c.expected_games, 0) AS expected_games,
         IFNULL(c.actual_games, 0) AS actual_games,
         IFNULL(c.gap_games, 0) AS gap_games,
         IFNULL(c.dnp_games, 0) AS dnp_games,
         c.missing_dates,
         IFNULL(SAFE_DIVIDE(100.0 * c.actual_games, c.expected_games), 100.0) AS completeness_pct,
         IFNULL(tg.team_games, 0) AS team_games,
         IFNULL(ug.upstream_gap_games, 0) AS upstream_gap_games, ug.upstream_gap_dates
  FROM entities AS e
  JOIN win AS w ON w.analysis_date = e.analysis_date AND w.player_lookup = e.player_lookup
  LEFT JOIN window_14d AS c ON c.analysis_date = e.analysis_date AND c.player_lookup = e.player_lookup
  LEFT JOIN team_games_before AS tg ON tg.analysis_date = e.analysis_date AND tg.team_abbr = e.latest_team
  LEFT JOIN upstream_gaps AS ug ON ug.analysis_date = e.analysis_date AND ug.player_lookup = e.player_lookup
),
judged AS (
  SELECT calc.*,
         CASE
           -- spec §4: the circuit breaker is checked first (daily mode trips it; no retry)
           WHEN player_lookup IN UNNEST(@circuit_broken_entities) THEN 'CIRCUIT_BREAKER_ACTIVE'
           WHEN season_day < 14 THEN 'INSUFFICIENT_DATA'
           WHEN completeness_checked AND completeness_pct < 90 THEN 'INCOMPLETE_DATA'
           WHEN games_10 < 10 AND team_games < 10 THEN 'EXPECTED_INCOMPLETE'
           WHEN games_10 < 10 AND upstream_gap_games > 0 THEN 'INCOMPLETE_UPSTREAM'
           WHEN games_10 < 10 THEN 'INSUFFICIENT_DATA'
           WHEN games_10 > 10 OR games_20 > 20 OR paint_pct_10 NOT BETWEEN 0 AND 1 OR mid_pct_10 NOT BETWEEN 0 AND 1
                OR three_pct_10 NOT BETWEEN 0 AND 1 THEN 'INVALID_UPSTREAM'
         END AS failure_category,
         -- @include _incomplete_type.sql
  FROM calc
)
SELECT
  CAST(player_lookup AS STRING) AS player_lookup,
  CAST(universal_player_id AS STRING) AS universal_player_id,
  CAST(analysis_date AS DATE) AS analysis_date,
  CAST(season_year AS INT64) AS season_year,
  CAST(latest_team AS STRING) AS team_abbr,
  CAST(paint_rate_10 AS FLOAT64) AS paint_rate_last_10,
  CAST(mid_rate_10 AS FLOAT64) AS mid_range_rate_last_10,
  CAST(three_rate_10 AS FLOAT64) AS three_pt_rate_last_10,
  CAST(paint_pct_10 AS FLOAT64) AS paint_pct_last_10,
  CAST(mid_pct_10 AS FLOAT64) AS mid_range_pct_last_10,
  CAST(three_pct_10 AS FLOAT64) AS three_pt_pct_last_10,
  CAST(paint_att_pg AS FLOAT64) AS paint_attempts_per_game,
  CAST(mid_att_pg AS FLOAT64) AS mid_range_attempts_per_game,
  CAST(three_att_pg AS FLOAT64) AS three_pt_attempts_per_game,
  CAST(zone_att_10 AS INT64) AS total_shots_last_10,
  CAST(games_10 AS INT64) AS games_in_sample_10,
  CAST(games_20 AS INT64) AS games_in_sample_20,
  CAST(zone_games_10 AS INT64) AS shot_zone_games_last_10,
  CAST(CASE WHEN games_10 >= 10 THEN 'excellent' WHEN games_10 >= 7 THEN 'good'
            WHEN games_10 >= 5 THEN 'limited' ELSE 'insufficient' END AS STRING) AS sample_quality_10,
  CAST(CASE WHEN games_20 >= 20 THEN 'excellent' WHEN games_20 >= 14 THEN 'good'
            WHEN games_20 >= 10 THEN 'limited' ELSE 'insufficient' END AS STRING) AS sample_quality_20,
  CAST(paint_rate_20 AS FLOAT64) AS paint_rate_last_20,
  CAST(paint_pct_20 AS FLOAT64) AS paint_pct_last_20,
  CAST(assisted_rate_10 AS FLOAT64) AS assisted_rate_last_10,
  CAST(unassisted_rate_10 AS FLOAT64) AS unassisted_rate_last_10,
  CAST(CASE
    WHEN paint_rate_10 IS NULL THEN NULL
    WHEN paint_rate_10 >= 40 THEN 'paint'
    WHEN three_rate_10 >= 40 THEN 'perimeter'
    WHEN mid_rate_10 >= 35 THEN 'mid_range'
    ELSE 'balanced' END AS STRING) AS primary_scoring_zone,
  CAST(season_day AS INT64) AS days_into_season,
  CAST(k < 10 AS BOOL) AS early_season_flag,
  CAST(expected_games AS INT64) AS expected_game_count,
  CAST(actual_games AS INT64) AS actual_game_count,
  CAST(expected_games - actual_games AS INT64) AS missing_game_count,
  CAST(completeness_pct AS FLOAT64) AS completeness_percentage,
  CAST(completeness_pct >= 90 AS BOOL) AS is_production_ready,
  CAST(games_20 AS INT64) AS source_player_game_rows_found,
  CAST(SUBSTR(TO_HEX(SHA256(CONCAT(
    player_lookup, '|', CAST(analysis_date AS STRING), '|',
    IFNULL(CAST(ROUND(paint_rate_10, 6) AS STRING), ''), '|', IFNULL(CAST(ROUND(mid_rate_10, 6) AS STRING), ''), '|',
    IFNULL(CAST(ROUND(three_rate_10, 6) AS STRING), ''), '|', IFNULL(CAST(ROUND(paint_pct_10, 6) AS STRING), ''), '|',
    CAST(games_10 AS STRING), '|', CAST(games_20 AS STRING)))), 1, 16) AS STRING) AS data_hash,
  CAST(failure_category AS STRING) AS failure_category,
  CAST(CASE failure_category
    WHEN 'INSUFFICIENT_DATA' THEN
      IF(season_day < 14, 'early season bootstrap',
         CONCAT('insufficient data: ', CAST(games_10 AS STRING), ' games played while the team has played ',
                CAST(team_games AS STRING), ' (10 required); none missing upstream'))
    WHEN 'EXPECTED_INCOMPLETE' THEN CONCAT('expected incomplete: ', CAST(games_10 AS STRING),
      ' games, the team has played only ', CAST(team_games AS STRING), ' (10 required)')
    WHEN 'INCOMPLETE_UPSTREAM' THEN CONCAT('incomplete upstream: ', CAST(games_10 AS STRING),
      ' games in PGS while the team has played ', CAST(team_games AS STRING), ' (10 required); the raw gamebook has ',
      CAST(upstream_gap_games AS STRING), ' more active game(s) PGS has no row for: backfill PGS on missing_dates')
    WHEN 'INCOMPLETE_DATA' THEN CONCAT('14-day completeness ', CAST(ROUND(completeness_pct, 1) AS STRING),
      '% (', CAST(actual_games AS STRING), ' of ', CAST(expected_games AS STRING), ' team games) under 90%')
    WHEN 'INVALID_UPSTREAM' THEN 'sanity check failed: impossible zone percentage or sample size'
  END AS STRING) AS failure_reason,
  CAST(failure_category IN ('INCOMPLETE_DATA', 'INVALID_UPSTREAM', 'INCOMPLETE_UPSTREAM') AS BOOL) AS can_retry,
  CAST(CASE failure_category WHEN 'INCOMPLETE_DATA' THEN incomplete_type
                             WHEN 'INVALID_UPSTREAM' THEN 'INVALID_VALUE'
                             WHEN 'INCOMPLETE_UPSTREAM' THEN 'DATA_GAP' END AS STRING) AS failure_type,
  CAST((failure_category = 'INCOMPLETE_DATA' AND gap_games > 0)
       OR failure_category IN ('INVALID_UPSTREAM', 'INCOMPLETE_UPSTREAM') AS BOOL) AS is_correctable,
  CAST(CASE failure_category WHEN 'INCOMPLETE_DATA' THEN missing_dates
                             WHEN 'INCOMPLETE_UPSTREAM' THEN upstream_gap_dates END AS STRING) AS missing_dates,
  CAST(expected_games AS INT64) AS expected_count,
  CAST(actual_games AS INT64) AS actual_count,
  CAST(failure_category IN ('INCOMPLETE_DATA', 'INCOMPLETE_UPSTREAM') AS BOOL) AS raw_data_checked
FROM judged
