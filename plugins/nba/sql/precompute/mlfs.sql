-- MLFS: nba_predictions.ml_feature_store_v2 — one row per player per game_date. Spec §3 (MLFS), §7.
--   * players: that day's PGS players in backfill mode (@backfill_mode), the UPGC players otherwise;
--   * features: the 25 v1 baseline features in spec §7 order, each falling back Phase 4 -> Phase 3
--     -> default; Phase 3 values come from PGS history STRICTLY BEFORE the date and the day's UPGC row;
--   * feature_quality_score = mean source weight (phase4 100, calculated 100, phase3 75, default 40);
--     data_source phase4 (90%+ of the features from Phase 4) / phase4_partial (50%+) / phase3 (50%+ from
--     Phase 3) / mixed; quality_tier gold 95+, silver 75+, bronze 50+, poor 25+, else unusable;
--   * feature 13 (the opponent's TDZA defensive_rating_last_15) is also stored as the top-level column
--     opponent_def_rating, so the contamination check has a column to look at;
--   * season days 0-13: placeholders without features (data_source 'early_season', quality 0): the
--     features array is EMPTY, since BigQuery stores a NULL array as an empty one;
--   * hard dependencies per date (after bootstrap): PDC, PCF and PSZA each >= 20 players in backfill
--     mode (100 otherwise) and TDZA >= 20 teams, else ONE failure row with player_lookup 'DATE_LEVEL',
--     MISSING_DEPENDENCY, and no player rows for that date;
--   * per player, first match wins: an open entity circuit breaker -> CIRCUIT_BREAKER_ACTIVE (spec §4,
--     placeholders too); a feature that is still NULL after its fallbacks is a bug: PROCESSING_ERROR.
WITH
-- @include _batch_season.sql date_col=game_date
upgc AS (
  SELECT u.game_date, u.player_lookup, u.universal_player_id, u.game_id, u.team_abbr, u.opponent_team_abbr,
         u.is_home, u.points_line, u.games_in_last_7_days, u.days_rest, u.opponent_days_rest, u.player_status,
         u.back_to_back, u.season_phase
  FROM nba_analytics.upcoming_player_game_context AS u
  WHERE u.game_date IN UNNEST(@dates)
),
players AS (
  SELECT game_date, player_lookup, universal_player_id, game_id, team_abbr, opponent_team_abbr, is_home,
         points_line
  FROM nba_analytics.player_game_summary
  WHERE game_date IN UNNEST(@dates) AND IFNULL(is_active, TRUE) AND @backfill_mode
  UNION ALL
  SELECT game_date, player_lookup, universal_player_id, game_id, team_abbr, opponent_team_abbr, is_home,
         points_line
  FROM upgc
  WHERE NOT @backfill_mode
),
entities AS (
  SELECT bs.season_day, bs.season_year, p.*
  FROM batch_season AS bs
  JOIN players AS p ON p.game_date = bs.game_date
),
pdc AS (
  SELECT cache_date, player_lookup, points_avg_last_5, points_avg_last_10, points_avg_season, points_std_last_10,
         games_in_last_7_days, minutes_avg_last_10, minutes_avg_season, games_in_sample_10, points_avg_last_3,
         points_avg_games_4_5, ft_makes_last_10, points_total_last_10, paint_rate_last_10, three_pt_rate_last_10,
         team_pace_last_10, team_off_rating_last_10, expected_game_count, actual_game_count
  FROM nba_precompute.player_daily_cache
  WHERE cache_date IN UNNEST(@dates)
),
needs_history AS (
  -- PDC already carries the history of its players; the others fall back to PGS (Phase 3)
  SELECT DISTINCT e.player_lookup
  FROM entities AS e
  LEFT JOIN pdc ON pdc.cache_date = e.game_date AND pdc.player_lookup = e.player_lookup
  WHERE pdc.player_lookup IS NULL
),
pgs AS (
  SELECT p.player_lookup, p.season_year, p.game_date, p.points, p.minutes_played, p.ft_makes,
         ROW_NUMBER() OVER w AS game_idx,
         LEAD(p.game_date) OVER w AS next_game_date,
         SUM(p.points) OVER w AS cum_points,
         SUM(p.minutes_played) OVER w AS cum_minutes
  FROM nba_analytics.player_game_summary AS p
  JOIN needs_history AS n ON n.player_lookup = p.player_lookup
  WHERE p.game_date <= @end_date AND IFNULL(p.is_active, TRUE)
  -- a player plays at most one game a day: the default frame is the running total up to this game
  WINDOW w AS (PARTITION BY p.season_year, p.player_lookup ORDER BY p.game_date)
),
prior AS (
  SELECT e.game_date, e.player_lookup, p.game_idx AS k, p.cum_points, p.cum_minutes
  FROM entities AS e
  JOIN pgs AS p
    ON p.player_lookup = e.player_lookup AND p.season_year = e.season_year
   AND p.game_date < e.game_date AND IFNULL(p.next_game_date, DATE '9999-12-31') >= e.game_date
),
hist AS (
  -- Phase 3 history: the last 10 games before the date (newest = game k)
  SELECT pr.game_date, pr.player_lookup, pr.k,
         SAFE_DIVIDE(pr.cum_points, pr.k) AS points_avg_season,
         SAFE_DIVIDE(pr.cum_minutes, pr.k) AS minutes_avg_season,
         AVG(IF(p.game_idx > pr.k - 5, p.points, NULL)) AS points_avg_5,
         AVG(p.points) AS points_avg_10,
         STDDEV_SAMP(p.points) AS points_std_10,
         AVG(p.minutes_played) AS minutes_avg_10,
         COUNT(p.game_idx) AS games_10,
         COUNT(IF(p.game_date >= DATE_SUB(pr.game_date, INTERVAL 7 DAY), 1, NULL)) AS games_7d,
         SUM(p.ft_makes) AS ft_makes_10,
         SUM(p.points) AS points_10,
         AVG(IF(p.game_idx > pr.k - 3, p.points, NULL)) AS points_avg_3,
         AVG(IF(p.game_idx BETWEEN pr.k - 4 AND pr.k - 3, p.points, NULL)) AS points_avg_4_5
  FROM prior AS pr
  JOIN entities AS e ON e.game_date = pr.game_date AND e.player_lookup = pr.player_lookup
  JOIN pgs AS p
    ON p.player_lookup = pr.player_lookup AND p.season_year = e.season_year
   AND p.game_idx BETWEEN pr.k - 9 AND pr.k
  GROUP BY pr.game_date, pr.player_lookup, pr.k, pr.cum_points, pr.cum_minutes
),
togs AS (
  SELECT t.team_abbr, t.season_year, t.game_date, t.win_flag
  FROM nba_analytics.team_offense_game_summary AS t
  WHERE t.game_date <= @end_date
),
team_record AS (
  SELECT td.game_date, td.team_abbr, COUNT(t.game_date) AS games, COUNT(IF(t.win_flag, 1, NULL)) AS wins
  FROM (SELECT DISTINCT game_date, season_year, team_abbr FROM entities) AS td
  LEFT JOIN togs AS t
    ON t.team_abbr = td.team_abbr AND t.season_year = td.season_year AND t.game_date < td.game_date
  GROUP BY td.game_date, td.team_abbr
),
pcf AS (
  SELECT game_date, player_lookup, fatigue_score, shot_zone_mismatch_score, pace_score, usage_spike_score
  FROM nba_precompute.player_composite_factors
  WHERE game_date IN UNNEST(@dates)
),
psza AS (
  SELECT analysis_date, player_lookup, paint_rate_last_10, mid_range_rate_last_10, three_pt_rate_last_10
  FROM nba_precompute.player_shot_zone_analysis
  WHERE analysis_date IN UNNEST(@dates)
),
tdza AS (
  SELECT analysis_date, team_abbr, defensive_rating_last_15, opponent_pace
  FROM nba_precompute.team_defense_zone_analysis
  WHERE analysis_date IN UNNEST(@dates)
),
deps AS (
  SELECT bs.game_date, bs.season_day,
         IF(@backfill_mode, 20, 100) AS min_players,
         IFNULL(a.n, 0) AS pdc_players, IFNULL(b.n, 0) AS pcf_players, IFNULL(c.n, 0) AS psza_players,
         IFNULL(d.n, 0) AS tdza_teams
  FROM batch_season AS bs
  LEFT JOIN (SELECT cache_date AS dt, COUNT(DISTINCT player_lookup) AS n FROM pdc GROUP BY cache_date) AS a
    ON a.dt = bs.game_date
  LEFT JOIN (SELECT game_date AS dt, COUNT(DISTINCT player_lookup) AS n FROM pcf GROUP BY game_date) AS b
    ON b.dt = bs.game_date
  LEFT JOIN (SELECT analysis_date AS dt, COUNT(DISTINCT player_lookup) AS n FROM psza GROUP BY analysis_date) AS c
    ON c.dt = bs.game_date
  LEFT JOIN (SELECT analysis_date AS dt, COUNT(DISTINCT team_abbr) AS n FROM tdza GROUP BY analysis_date) AS d
    ON d.dt = bs.game_date
),
deps_judged AS (
  SELECT deps.*,
         (pdc_players >= min_players AND pcf_players >= min_players AND psza_players >= min_players
          AND tdza_teams >= 20) AS deps_ok
  FROM deps
),
wide AS (
  SELECT e.game_date, e.season_year, e.season_day, e.player_lookup, e.universal_player_id, e.game_id,
         e.team_abbr, e.opponent_team_abbr, COALESCE(u.is_home, e.is_home) AS is_home,
         COALESCE(u.points_line, e.points_line) AS points_line, u.days_rest,
         pdc.expected_game_count, pdc.actual_game_count,
         -- 0-4: PDC -> Phase 3 -> default
         COALESCE(pdc.points_avg_last_5, h.points_avg_5, 10.0) AS f0,
         CASE WHEN pdc.points_avg_last_5 IS NOT NULL THEN 'phase4'
              WHEN h.points_avg_5 IS NOT NULL THEN 'phase3' ELSE 'default' END AS s0,
         COALESCE(pdc.points_avg_last_10, h.points_avg_10, 10.0) AS f1,
         CASE WHEN pdc.points_avg_last_10 IS NOT NULL THEN 'phase4'
              WHEN h.points_avg_10 IS NOT NULL THEN 'phase3' ELSE 'default' END AS s1,
         COALESCE(pdc.points_avg_season, h.points_avg_season, 10.0) AS f2,
         CASE WHEN pdc.points_avg_season IS NOT NULL THEN 'phase4'
              WHEN h.points_avg_season IS NOT NULL THEN 'phase3' ELSE 'default' END AS s2,
         COALESCE(pdc.points_std_last_10, h.points_std_10, 5.0) AS f3,
         CASE WHEN pdc.points_std_last_10 IS NOT NULL THEN 'phase4'
              WHEN h.points_std_10 IS NOT NULL THEN 'phase3' ELSE 'default' END AS s3,
         COALESCE(CAST(pdc.games_in_last_7_days AS FLOAT64), CAST(u.games_in_last_7_days AS FLOAT64),
                  CAST(h.games_7d AS FLOAT64), 3.0) AS f4,
         CASE WHEN pdc.games_in_last_7_days IS NOT NULL THEN 'phase4'
              WHEN u.games_in_last_7_days IS NOT NULL OR h.games_7d IS NOT NULL THEN 'phase3'
              ELSE 'default' END AS s4,
         -- 5-8: PCF only
         COALESCE(CAST(pcf.fatigue_score AS FLOAT64), 50.0) AS f5,
         IF(pcf.fatigue_score IS NOT NULL, 'phase4', 'default') AS s5,
         COALESCE(pcf.shot_zone_mismatch_score, 0.0) AS f6,
         IF(pcf.shot_zone_mismatch_score IS NOT NULL, 'phase4', 'default') AS s6,
         COALESCE(pcf.pace_score, 0.0) AS f7,
         IF(pcf.pace_score IS NOT NULL, 'phase4', 'default') AS s7,
         COALESCE(pcf.usage_spike_score, 0.0) AS f8,
         IF(pcf.usage_spike_score IS NOT NULL, 'phase4', 'default') AS s8,
         -- 9-12: calculated
         IF(u.days_rest IS NULL OR u.opponent_days_rest IS NULL, 0.0,
            GREATEST(-2.0, LEAST(2.0, CAST(u.days_rest - u.opponent_days_rest AS FLOAT64)))) AS f9,
         CASE LOWER(IFNULL(u.player_status, ''))
           WHEN 'probable' THEN 1.0 WHEN 'questionable' THEN 2.0
           WHEN 'doubtful' THEN 3.0 WHEN 'out' THEN 3.0 ELSE 0.0 END AS f10,
         -- inputs of the calculated features 11, 12 and 21: PDC's, else the PGS history
         COALESCE(pdc.games_in_sample_10, h.games_10, 0) AS games_10,
         COALESCE(pdc.points_avg_games_4_5, h.points_avg_4_5) - COALESCE(pdc.points_avg_last_3, h.points_avg_3)
           AS trend_diff,
         COALESCE(pdc.minutes_avg_last_10, h.minutes_avg_10, 0.0) AS minutes_recent,
         COALESCE(pdc.minutes_avg_season, h.minutes_avg_season, 0.0) AS minutes_season,
         COALESCE(pdc.ft_makes_last_10, h.ft_makes_10) AS ft_makes_10,
         COALESCE(pdc.points_total_last_10, h.points_10) AS points_10,
         -- 13-14: the opponent's TDZA row
         COALESCE(opp.defensive_rating_last_15, 112.0) AS f13,
         IF(opp.defensive_rating_last_15 IS NOT NULL, 'phase4', 'default') AS s13,
         COALESCE(opp.opponent_pace, 100.0) AS f14,
         IF(opp.opponent_pace IS NOT NULL, 'phase4', 'default') AS s14,
         -- 15-17: UPGC (Phase 3)
         CASE WHEN COALESCE(u.is_home, e.is_home) IS NULL THEN 0.0
              WHEN COALESCE(u.is_home, e.is_home) THEN 1.0 ELSE 0.0 END AS f15,
         IF(COALESCE(u.is_home, e.is_home) IS NOT NULL, 'phase3', 'default') AS s15,
         IF(IFNULL(u.back_to_back, FALSE), 1.0, 0.0) AS f16,
         IF(u.back_to_back IS NOT NULL, 'phase3', 'default') AS s16,
         IF(IFNULL(u.season_phase, '') = 'playoffs', 1.0, 0.0) AS f17,
         IF(u.season_phase IS NOT NULL, 'phase3', 'default') AS s17,
         -- 18-20: shot zones (PDC / PSZA)
         COALESCE(pdc.paint_rate_last_10, z.paint_rate_last_10, 30.0) / 100.0 AS f18,
         IF(COALESCE(pdc.paint_rate_last_10, z.paint_rate_last_10) IS NOT NULL, 'phase4', 'default') AS s18,
         COALESCE(z.mid_range_rate_last_10, 20.0) / 100.0 AS f19,
         IF(z.mid_range_rate_last_10 IS NOT NULL, 'phase4', 'default') AS s19,
         COALESCE(pdc.three_pt_rate_last_10, z.three_pt_rate_last_10, 35.0) / 100.0 AS f20,
         IF(COALESCE(pdc.three_pt_rate_last_10, z.three_pt_rate_last_10) IS NOT NULL, 'phase4', 'default') AS s20,
         -- 22-23: PDC team context
         COALESCE(pdc.team_pace_last_10, 100.0) AS f22,
         IF(pdc.team_pace_last_10 IS NOT NULL, 'phase4', 'default') AS s22,
         COALESCE(pdc.team_off_rating_last_10, 112.0) AS f23,
         IF(pdc.team_off_rating_last_10 IS NOT NULL, 'phase4', 'default') AS s23,
         -- 24: calculated
         IF(IFNULL(tr.games, 0) < 5, 0.5, tr.wins / tr.games) AS f24
  FROM entities AS e
  JOIN deps_judged AS dj ON dj.game_date = e.game_date
  LEFT JOIN upgc AS u ON u.game_date = e.game_date AND u.player_lookup = e.player_lookup
  LEFT JOIN hist AS h ON h.game_date = e.game_date AND h.player_lookup = e.player_lookup
  LEFT JOIN pdc ON pdc.cache_date = e.game_date AND pdc.player_lookup = e.player_lookup
  LEFT JOIN pcf ON pcf.game_date = e.game_date AND pcf.player_lookup = e.player_lookup
  LEFT JOIN psza AS z ON z.analysis_date = e.game_date AND z.player_lookup = e.player_lookup
  LEFT JOIN tdza AS opp ON opp.analysis_date = e.game_date AND opp.team_abbr = e.opponent_team_abbr
  LEFT JOIN team_record AS tr ON tr.game_date = e.game_date AND tr.team_abbr = e.team_abbr
  WHERE e.season_day >= 14 AND dj.deps_ok
),
wide2 AS (
  SELECT wide.*,
         -- 11: games 4-5 minus games 1-3 (newest first) of the last 5; 0 under 5 games
         CASE
           WHEN games_10 < 5 THEN 0.0
           WHEN trend_diff >= 5 THEN 2.0
           WHEN trend_diff >= 2 THEN 1.0
           WHEN trend_diff <= -5 THEN -2.0
           WHEN trend_diff <= -2 THEN -1.0
           ELSE 0.0 END AS f11,
         -- 21: last-10 free throws made / points, capped at 0.5; 0.15 under 5 games
         CASE WHEN games_10 < 5 OR IFNULL(points_10, 0) <= 0 THEN 0.15
              ELSE GREATEST(0.0, LEAST(0.5, ft_makes_10 / points_10)) END AS f21,
         CASE
           WHEN minutes_recent = 0 OR minutes_season = 0 THEN 0.0
           WHEN (minutes_recent - minutes_season) / minutes_season >= 0.20 THEN 2.0
           WHEN (minutes_recent - minutes_season) / minutes_season >= 0.10 THEN 1.0
           WHEN (minutes_recent - minutes_season) / minutes_season <= -0.20 THEN -2.0
           WHEN (minutes_recent - minutes_season) / minutes_season <= -0.10 THEN -1.0
           ELSE 0.0 END AS f12
  FROM wide
),
vectors AS (
  -- features 9, 10, 11, 12, 21 and 24 are always 'calculated'; the others carry their source in s<i>
  SELECT wide2.*,
         [
           CAST(f0 AS FLOAT64),
           CAST(f1 AS FLOAT64),
           CAST(f2 AS FLOAT64),
           CAST(f3 AS FLOAT64),
           CAST(f4 AS FLOAT64),
           CAST(f5 AS FLOAT64),
           CAST(f6 AS FLOAT64),
           CAST(f7 AS FLOAT64),
           CAST(f8 AS FLOAT64),
           CAST(f9 AS FLOAT64),
           CAST(f10 AS FLOAT64),
           CAST(f11 AS FLOAT64),
           CAST(f12 AS FLOAT64),
           CAST(f13 AS FLOAT64),
           CAST(f14 AS FLOAT64),
           CAST(f15 AS FLOAT64),
           CAST(f16 AS FLOAT64),
           CAST(f17 AS FLOAT64),
           CAST(f18 AS FLOAT64),
           CAST(f19 AS FLOAT64),
           CAST(f20 AS FLOAT64),
           CAST(f21 AS FLOAT64),
           CAST(f22 AS FLOAT64),
           CAST(f23 AS FLOAT64),
           CAST(f24 AS FLOAT64)
         ] AS features,
         [s0, s1, s2, s3, s4, s5, s6, s7, s8, 'calculated', 'calculated', 'calculated', 'calculated', s13, s14, s15, s16, s17, s18, s19, s20, 'calculated', s22, s23, 'calculated'] AS feature_sources,
         6
           + IF(s0 = 'phase4', 1, 0) + IF(s1 = 'phase4', 1, 0) + IF(s2 = 'phase4', 1, 0) + IF(s3 = 'phase4', 1, 0)
           + IF(s4 = 'phase4', 1, 0) + IF(s5 = 'phase4', 1, 0) + IF(s6 = 'phase4', 1, 0) + IF(s7 = 'phase4', 1, 0)
           + IF(s8 = 'phase4', 1, 0) + IF(s13 = 'phase4', 1, 0) + IF(s14 = 'phase4', 1, 0) + IF(s15 = 'phase4', 1, 0)
           + IF(s16 = 'phase4', 1, 0) + IF(s17 = 'phase4', 1, 0) + IF(s18 = 'phase4', 1, 0) + IF(s19 = 'phase4', 1, 0)
           + IF(s20 = 'phase4', 1, 0) + IF(s22 = 'phase4', 1, 0) + IF(s23 = 'phase4', 1, 0) AS n_phase4_calc,
         IF(s0 = 'phase3', 1, 0) + IF(s1 = 'phase3', 1, 0) + IF(s2 = 'phase3', 1, 0) + IF(s3 = 'phase3', 1, 0)
           + IF(s4 = 'phase3', 1, 0) + IF(s5 = 'phase3', 1, 0) + IF(s6 = 'phase3', 1, 0) + IF(s7 = 'phase3', 1, 0)
           + IF(s8 = 'phase3', 1, 0) + IF(s13 = 'phase3', 1, 0) + IF(s14 = 'phase3', 1, 0) + IF(s15 = 'phase3', 1, 0)
           + IF(s16 = 'phase3', 1, 0) + IF(s17 = 'phase3', 1, 0) + IF(s18 = 'phase3', 1, 0) + IF(s19 = 'phase3', 1, 0)
           + IF(s20 = 'phase3', 1, 0) + IF(s22 = 'phase3', 1, 0) + IF(s23 = 'phase3', 1, 0) AS n_phase3,
         IF(s0 = 'default', 1, 0) + IF(s1 = 'default', 1, 0) + IF(s2 = 'default', 1, 0) + IF(s3 = 'default', 1, 0)
           + IF(s4 = 'default', 1, 0) + IF(s5 = 'default', 1, 0) + IF(s6 = 'default', 1, 0) + IF(s7 = 'default', 1, 0)
           + IF(s8 = 'default', 1, 0) + IF(s13 = 'default', 1, 0) + IF(s14 = 'default', 1, 0) + IF(s15 = 'default', 1, 0)
           + IF(s16 = 'default', 1, 0) + IF(s17 = 'default', 1, 0) + IF(s18 = 'default', 1, 0) + IF(s19 = 'default', 1, 0)
           + IF(s20 = 'default', 1, 0) + IF(s22 = 'default', 1, 0) + IF(s23 = 'default', 1, 0) AS n_default
  FROM wide2
),
feature_rows AS (
  SELECT vectors.*,
         n_phase4_calc - 6 AS n_phase4,
         6 AS n_calculated,
         25 AS n_features,
         (100.0 * (n_phase4_calc) + 75.0 * n_phase3 + 40.0 * n_default) / 25 AS quality_score,
         -- a feature still NULL after its fallbacks would be a bug
         (f0 IS NULL OR f1 IS NULL OR f2 IS NULL OR f3 IS NULL OR f4 IS NULL OR f5 IS NULL OR f6 IS NULL
          OR f7 IS NULL OR f8 IS NULL OR f9 IS NULL OR f10 IS NULL OR f11 IS NULL OR f12 IS NULL OR f13 IS NULL
          OR f14 IS NULL OR f15 IS NULL OR f16 IS NULL OR f17 IS NULL OR f18 IS NULL OR f19 IS NULL OR f20 IS NULL
          OR f21 IS NULL OR f22 IS NULL OR f23 IS NULL OR f24 IS NULL) AS has_null_feature,
         CASE
           WHEN n_phase4_calc - 6 >= 0.9 * 25 THEN 'phase4'
           WHEN n_phase4_calc - 6 >= 0.5 * 25 THEN 'phase4_partial'
           WHEN n_phase3 >= 0.5 * 25 THEN 'phase3'
           ELSE 'mixed' END AS data_source
  FROM vectors
),
judged AS (
  SELECT feature_rows.*,
         CASE
           -- spec §4: the circuit breaker is checked first (daily mode trips it; no retry)
           WHEN player_lookup IN UNNEST(@circuit_broken_entities) THEN 'CIRCUIT_BREAKER_ACTIVE'
           WHEN has_null_feature THEN 'PROCESSING_ERROR'
         END AS failure_category
  FROM feature_rows
),
placeholders AS (
  SELECT e.game_date, e.season_year, e.season_day, e.player_lookup, e.universal_player_id, e.game_id,
         e.team_abbr, e.opponent_team_abbr, COALESCE(u.is_home, e.is_home) AS is_home,
         COALESCE(u.points_line, e.points_line) AS points_line, u.days_rest
  FROM entities AS e
  LEFT JOIN upgc AS u ON u.game_date = e.game_date AND u.player_lookup = e.player_lookup
  WHERE e.season_day < 14
),
names AS (
  SELECT ['points_avg_last_5', 'points_avg_last_10', 'points_avg_season', 'points_std_last_10',
          'games_in_last_7_days', 'fatigue_score', 'shot_zone_mismatch_score', 'pace_score',
          'usage_spike_score', 'rest_advantage', 'injury_risk', 'recent_trend', 'minutes_change',
          'opponent_def_rating', 'opponent_pace', 'home_away', 'back_to_back', 'playoff_game', 'pct_paint',
          'pct_mid_range', 'pct_three', 'pct_free_throw', 'team_pace', 'team_off_rating', 'team_win_pct'] AS n
),
date_level AS (
  SELECT dj.*
  FROM deps_judged AS dj
  WHERE dj.season_day >= 14 AND NOT dj.deps_ok
    AND EXISTS (SELECT 1 FROM entities AS e WHERE e.game_date = dj.game_date)
)
SELECT
  CAST(player_lookup AS STRING) AS player_lookup,
  CAST(universal_player_id AS STRING) AS universal_player_id,
  CAST(game_date AS DATE) AS game_date,
  CAST(game_id AS STRING) AS game_id,
  CAST(season_year AS INT64) AS season_year,
  CAST(team_abbr AS STRING) AS team_abbr,
  CAST(opponent_team_abbr AS STRING) AS opponent_team_abbr,
  CAST(is_home AS BOOL) AS is_home,
  CAST(IF(has_null_feature, ARRAY<FLOAT64>[], features) AS ARRAY<FLOAT64>) AS features,
  CAST(names.n AS ARRAY<STRING>) AS feature_names,
  CAST(feature_sources AS ARRAY<STRING>) AS feature_sources,
  CAST(25 AS INT64) AS feature_count,
  CAST('v1_baseline_25' AS STRING) AS feature_version,
  CAST(f13 AS FLOAT64) AS opponent_def_rating,
  CAST(points_line AS FLOAT64) AS points_line,
  CAST(days_rest AS INT64) AS days_rest,
  CAST(quality_score AS FLOAT64) AS feature_quality_score,
  CAST(data_source AS STRING) AS data_source,
  CAST(CASE WHEN quality_score >= 95 THEN 'gold' WHEN quality_score >= 75 THEN 'silver'
            WHEN quality_score >= 50 THEN 'bronze' WHEN quality_score >= 25 THEN 'poor'
            ELSE 'unusable' END AS STRING) AS quality_tier,
  CAST(n_phase4 AS INT64) AS phase4_feature_count,
  CAST(n_phase3 AS INT64) AS phase3_feature_count,
  CAST(n_calculated AS INT64) AS calculated_feature_count,
  CAST(n_default AS INT64) AS default_feature_count,
  CAST(FALSE AS BOOL) AS early_season_flag,
  CAST(quality_score >= 75 AS BOOL) AS is_production_ready,
  CAST(season_day AS INT64) AS days_into_season,
  CAST(expected_game_count AS INT64) AS expected_game_count,
  CAST(actual_game_count AS INT64) AS actual_game_count,
  CAST(SUBSTR(TO_HEX(SHA256(CONCAT(player_lookup, '|', CAST(game_date AS STRING), '|',
    TO_JSON_STRING(feature_sources), '|', CAST(ROUND(quality_score, 6) AS STRING), '|',
    CAST(ROUND(f0, 6) AS STRING), '|', CAST(ROUND(f2, 6) AS STRING), '|', CAST(ROUND(f13, 6) AS STRING)))), 1, 16) AS STRING) AS data_hash,
  CAST(failure_category AS STRING) AS failure_category,
  CAST(CASE failure_category
    WHEN 'CIRCUIT_BREAKER_ACTIVE' THEN 'circuit breaker open after repeated failures: not retried'
    WHEN 'PROCESSING_ERROR' THEN 'a feature is NULL after every fallback' END AS STRING) AS failure_reason,
  CAST(FALSE AS BOOL) AS can_retry,
  CAST(IF(failure_category = 'PROCESSING_ERROR', 'PROCESSING_ERROR', NULL) AS STRING) AS failure_type,
  CAST(FALSE AS BOOL) AS is_correctable,
  CAST(NULL AS STRING) AS missing_dates,
  CAST(expected_game_count AS INT64) AS expected_count,
  CAST(actual_game_count AS INT64) AS actual_count,
  CAST(FALSE AS BOOL) AS raw_data_checked
FROM judged
CROSS JOIN names
UNION ALL
SELECT
  CAST(p.player_lookup AS STRING), CAST(p.universal_player_id AS STRING), CAST(p.game_date AS DATE),
  CAST(p.game_id AS STRING), CAST(p.season_year AS INT64), CAST(p.team_abbr AS STRING),
  CAST(p.opponent_team_abbr AS STRING), CAST(p.is_home AS BOOL),
  ARRAY<FLOAT64>[], CAST(names.n AS ARRAY<STRING>), ARRAY<STRING>[],
  CAST(25 AS INT64), CAST('v1_baseline_25' AS STRING),
  CAST(NULL AS FLOAT64), CAST(p.points_line AS FLOAT64), CAST(p.days_rest AS INT64),
  CAST(0.0 AS FLOAT64), CAST('early_season' AS STRING), CAST('unusable' AS STRING),
  CAST(0 AS INT64), CAST(0 AS INT64), CAST(0 AS INT64), CAST(0 AS INT64),
  CAST(TRUE AS BOOL), CAST(FALSE AS BOOL), CAST(p.season_day AS INT64),
  CAST(0 AS INT64), CAST(0 AS INT64),
  CAST(SUBSTR(TO_HEX(SHA256(CONCAT(p.player_lookup, '|', CAST(p.game_date AS STRING), '|early_season'))), 1, 16)
       AS STRING),
  -- an open circuit breaker is checked first, bootstrap placeholders included (spec §4)
  CAST(IF(p.player_lookup IN UNNEST(@circuit_broken_entities), 'CIRCUIT_BREAKER_ACTIVE', NULL) AS STRING),
  CAST(IF(p.player_lookup IN UNNEST(@circuit_broken_entities),
          'circuit breaker open after repeated failures: not retried', NULL) AS STRING), CAST(FALSE AS BOOL), CAST(NULL AS STRING), CAST(FALSE AS BOOL),
  CAST(NULL AS STRING), CAST(0 AS INT64), CAST(0 AS INT64), CAST(FALSE AS BOOL)
FROM placeholders AS p
CROSS JOIN names
UNION ALL
SELECT
  CAST('DATE_LEVEL' AS STRING), CAST(NULL AS STRING), CAST(d.game_date AS DATE),
  CAST(NULL AS STRING), CAST(NULL AS INT64), CAST(NULL AS STRING), CAST(NULL AS STRING), CAST(NULL AS BOOL),
  ARRAY<FLOAT64>[], ARRAY<STRING>[], ARRAY<STRING>[],
  CAST(25 AS INT64), CAST('v1_baseline_25' AS STRING),
  CAST(NULL AS FLOAT64), CAST(NULL AS FLOAT64), CAST(NULL AS INT64),
  CAST(NULL AS FLOAT64), CAST(NULL AS STRING), CAST(NULL AS STRING),
  CAST(NULL AS INT64), CAST(NULL AS INT64), CAST(NULL AS INT64), CAST(NULL AS INT64),
  CAST(NULL AS BOOL), CAST(FALSE AS BOOL), CAST(d.season_day AS INT64),
  CAST(NULL AS INT64), CAST(NULL AS INT64),
  CAST(NULL AS STRING),
  CAST('MISSING_DEPENDENCY' AS STRING),
  CAST(CONCAT('hard dependencies not met: PDC ', CAST(d.pdc_players AS STRING), ', PCF ',
              CAST(d.pcf_players AS STRING), ', PSZA ', CAST(d.psza_players AS STRING), ' players (',
              CAST(d.min_players AS STRING), ' required each); TDZA ', CAST(d.tdza_teams AS STRING),
              ' teams (20 required)') AS STRING),
  CAST(TRUE AS BOOL), CAST(NULL AS STRING), CAST(TRUE AS BOOL), CAST(NULL AS STRING),
  CAST(NULL AS INT64), CAST(NULL AS INT64), CAST(FALSE AS BOOL)
FROM date_level AS d
