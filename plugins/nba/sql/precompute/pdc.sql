-- PDC: nba_precompute.player_daily_cache — one row per player per cache_date, for the UPGC players
-- of the date. Spec §3 (PDC) and §4. History is read STRICTLY BEFORE cache_date.
--   * PGS season to date (active games): points last 5 / 10 / season, sample std of the last 10,
--     last-10 minutes / usage / ts_pct, season games, minutes and usage; and the inputs of the feature
--     store's calculated features (last-3 and games-4-5 points, last-10 free throws and points);
--   * team offense: the player's team's last 10 TOGS games before the date (pace, offensive rating);
--   * fatigue fields and player_age copied from the day's UPGC row;
--   * PSZA (analysis_date = cache_date) optional: primary zone and rates, NULL when missing (12/07+);
--   * completeness windows L5 / L10 (the team's last 5 / 10 scheduled games) and L7d / L14d (days):
--     the player's games ÷ the team's; is_production_ready = all_windows_complete (each >= 90%);
--   * failures (first match wins): season days 0-13 -> INSUFFICIENT_DATA 'early season bootstrap';
--     daily mode from season day 30 and not all windows complete -> INCOMPLETE_DATA (DNP / DATA_GAP
--     classification over the 14-day window); under 5 games -> INSUFFICIENT_DATA; 5-9 games are written with
--     early_season_flag; impossible values -> INVALID_UPSTREAM (bad data, correctable; not a bug).
WITH
-- @include _batch_season.sql date_col=cache_date
-- @include _team_sched.sql
upgc AS (
  SELECT u.game_date, u.player_lookup, u.universal_player_id, u.game_id, u.team_abbr, u.opponent_team_abbr,
         u.games_in_last_7_days, u.games_in_last_14_days, u.minutes_in_last_7_days, u.minutes_in_last_14_days,
         u.back_to_backs_last_14_days, u.avg_minutes_per_game_last_7, u.days_rest, u.back_to_back, u.player_age
  FROM nba_analytics.upcoming_player_game_context AS u
  WHERE u.game_date IN UNNEST(@dates)
),
entities AS (
  SELECT bs.cache_date, bs.season_year, bs.season_day, bs.completeness_checked, u.player_lookup, u.universal_player_id, u.game_id,
         u.team_abbr, u.opponent_team_abbr, u.games_in_last_7_days, u.games_in_last_14_days,
         u.minutes_in_last_7_days, u.minutes_in_last_14_days, u.back_to_backs_last_14_days,
         u.avg_minutes_per_game_last_7, u.days_rest, u.back_to_back, u.player_age
  FROM batch_season AS bs
  JOIN upgc AS u ON u.game_date = bs.cache_date
),
pgs AS (
  SELECT p.player_lookup, p.season_year, p.game_date, p.points, p.minutes_played, p.usage_rate, p.ts_pct,
         p.ft_makes,
         ROW_NUMBER() OVER w AS game_idx,
         LEAD(p.game_date) OVER w AS next_game_date,
         SUM(p.points) OVER w AS cum_points,
         SUM(p.minutes_played) OVER w AS cum_minutes,
         SUM(p.usage_rate) OVER w AS cum_usage,
         COUNT(p.usage_rate) OVER w AS cum_usage_games
  FROM nba_analytics.player_game_summary AS p
  WHERE p.game_date <= @end_date AND IFNULL(p.is_active, TRUE)
  -- a player plays at most one game a day: the default frame is the running total up to this game
  WINDOW w AS (PARTITION BY p.season_year, p.player_lookup ORDER BY p.game_date)
),
prior AS (
  -- the player's last game strictly before the date: k games this season, cumulative sums at k
  SELECT e.cache_date, e.player_lookup, p.game_idx AS k, p.cum_points, p.cum_minutes, p.cum_usage,
         p.cum_usage_games
  FROM entities AS e
  JOIN pgs AS p
    ON p.player_lookup = e.player_lookup AND p.season_year = e.season_year
   AND p.game_date < e.cache_date AND IFNULL(p.next_game_date, DATE '9999-12-31') >= e.cache_date
),
win AS (
  SELECT pr.cache_date, pr.player_lookup,
         AVG(IF(p.game_idx > pr.k - 5, p.points, NULL)) AS points_avg_5,
         AVG(p.points) AS points_avg_10,
         STDDEV_SAMP(p.points) AS points_std_10,
         AVG(p.minutes_played) AS minutes_avg_10,
         AVG(p.usage_rate) AS usage_avg_10,
         AVG(p.ts_pct) AS ts_pct_avg_10,
         COUNT(p.game_idx) AS games_10,
         -- inputs of the feature store's calculated features (recent trend, free-throw share)
         AVG(IF(p.game_idx > pr.k - 3, p.points, NULL)) AS points_avg_3,
         AVG(IF(p.game_idx BETWEEN pr.k - 4 AND pr.k - 3, p.points, NULL)) AS points_avg_4_5,
         SUM(p.ft_makes) AS ft_makes_10,
         SUM(p.points) AS points_10
  FROM prior AS pr
  JOIN entities AS e ON e.cache_date = pr.cache_date AND e.player_lookup = pr.player_lookup
  JOIN pgs AS p
    ON p.player_lookup = pr.player_lookup AND p.season_year = e.season_year
   AND p.game_idx BETWEEN pr.k - 9 AND pr.k
  GROUP BY pr.cache_date, pr.player_lookup
),
togs AS (
  SELECT t.team_abbr, t.season_year, t.game_date, t.pace, t.offensive_rating,
         ROW_NUMBER() OVER (PARTITION BY t.season_year, t.team_abbr ORDER BY t.game_date, t.game_id) AS game_idx
  FROM nba_analytics.team_offense_game_summary AS t
  WHERE t.game_date <= @end_date
),
team_dates AS (
  SELECT DISTINCT cache_date, season_year, team_abbr FROM entities
),
team_k AS (
  SELECT td.cache_date, td.team_abbr, td.season_year, IFNULL(MAX(t.game_idx), 0) AS k
  FROM team_dates AS td
  LEFT JOIN togs AS t
    ON t.team_abbr = td.team_abbr AND t.season_year = td.season_year AND t.game_date < td.cache_date
  GROUP BY td.cache_date, td.team_abbr, td.season_year
),
team_off AS (
  SELECT tk.cache_date, tk.team_abbr, AVG(t.pace) AS team_pace_10, AVG(t.offensive_rating) AS team_off_rating_10,
         COUNT(t.game_idx) AS team_games_10
  FROM team_k AS tk
  JOIN togs AS t
    ON t.team_abbr = tk.team_abbr AND t.season_year = tk.season_year AND t.game_idx BETWEEN tk.k - 9 AND tk.k
  GROUP BY tk.cache_date, tk.team_abbr
),
team_before AS (
  SELECT td.cache_date, td.team_abbr, IFNULL(MAX(ts.sched_idx), 0) AS ks
  FROM team_dates AS td
  LEFT JOIN team_sched AS ts
    ON ts.team_abbr = td.team_abbr AND ts.season_year = td.season_year AND ts.game_date < td.cache_date
  GROUP BY td.cache_date, td.team_abbr
),
gamebook AS (
  SELECT game_date, player_lookup, MAX(IF(player_status = 'active', 1, 0)) AS active_in_raw
  FROM nba_raw.nbac_gamebook_player_stats
  WHERE game_date >= DATE_SUB(@start_date, INTERVAL 14 DAY) AND game_date <= @end_date
  GROUP BY game_date, player_lookup
),
sched_windows AS (
  -- the team's scheduled games in any completeness window: last 10 games or last 14 days
  SELECT e.cache_date, e.player_lookup, ts.game_date,
         ts.sched_idx > tb.ks - 5 AS in_l5,
         ts.sched_idx > tb.ks - 10 AS in_l10,
         ts.game_date >= DATE_SUB(e.cache_date, INTERVAL 7 DAY) AS in_7d,
         ts.game_date >= DATE_SUB(e.cache_date, INTERVAL 14 DAY) AS in_14d,
         p.game_idx IS NOT NULL AS played,
         IFNULL(gb.active_in_raw, 0) = 1 AS active_in_raw
  FROM entities AS e
  JOIN team_before AS tb ON tb.cache_date = e.cache_date AND tb.team_abbr = e.team_abbr
  JOIN team_sched AS ts
    ON ts.team_abbr = e.team_abbr AND ts.season_year = e.season_year AND ts.game_date < e.cache_date
   AND (ts.sched_idx > tb.ks - 10 OR ts.game_date >= DATE_SUB(e.cache_date, INTERVAL 14 DAY))
  LEFT JOIN pgs AS p ON p.player_lookup = e.player_lookup AND p.game_date = ts.game_date
  LEFT JOIN gamebook AS gb ON gb.player_lookup = e.player_lookup AND gb.game_date = ts.game_date
),
windows AS (
  SELECT cache_date, player_lookup,
         COUNT(IF(in_l5, 1, NULL)) AS l5_expected, COUNT(IF(in_l5 AND played, 1, NULL)) AS l5_actual,
         COUNT(IF(in_l10, 1, NULL)) AS l10_expected, COUNT(IF(in_l10 AND played, 1, NULL)) AS l10_actual,
         COUNT(IF(in_7d, 1, NULL)) AS l7d_expected, COUNT(IF(in_7d AND played, 1, NULL)) AS l7d_actual,
         COUNT(IF(in_14d, 1, NULL)) AS l14d_expected, COUNT(IF(in_14d AND played, 1, NULL)) AS l14d_actual,
         COUNT(IF(in_14d AND NOT played AND active_in_raw, 1, NULL)) AS gap_games,
         COUNT(IF(in_14d AND NOT played AND NOT active_in_raw, 1, NULL)) AS dnp_games,
         -- the missing dates are only reported by daily mode's INCOMPLETE_DATA failures
         CONCAT('[', STRING_AGG(IF(@check_completeness AND in_14d AND NOT played,
                                   CONCAT('"', CAST(game_date AS STRING), '"'), NULL),
                                ',' ORDER BY game_date), ']') AS missing_dates
  FROM sched_windows
  GROUP BY cache_date, player_lookup
),
psza AS (
  SELECT z.analysis_date, z.player_lookup, z.primary_scoring_zone, z.paint_rate_last_10,
         z.mid_range_rate_last_10, z.three_pt_rate_last_10, z.assisted_rate_last_10
  FROM nba_precompute.player_shot_zone_analysis AS z
  WHERE z.analysis_date IN UNNEST(@dates)
),
calc AS (
  SELECT e.*,
         IFNULL(pr.k, 0) AS k,
         w.points_avg_5, w.points_avg_10, w.points_std_10, w.minutes_avg_10, w.usage_avg_10, w.ts_pct_avg_10,
         w.games_10, w.points_avg_3, w.points_avg_4_5, w.ft_makes_10, w.points_10,
         SAFE_DIVIDE(pr.cum_points, pr.k) AS points_avg_season,
         SAFE_DIVIDE(pr.cum_minutes, pr.k) AS minutes_avg_season,
         SAFE_DIVIDE(pr.cum_usage, pr.cum_usage_games) AS usage_avg_season,
         t.team_pace_10, t.team_off_rating_10, IFNULL(t.team_games_10, 0) AS team_games_10,
         z.primary_scoring_zone, z.paint_rate_last_10, z.mid_range_rate_last_10, z.three_pt_rate_last_10,
         z.assisted_rate_last_10, z.player_lookup IS NOT NULL AS has_psza,
         IFNULL(SAFE_DIVIDE(100.0 * c.l5_actual, c.l5_expected), 100.0) AS l5_pct,
         IFNULL(SAFE_DIVIDE(100.0 * c.l10_actual, c.l10_expected), 100.0) AS l10_pct,
         IFNULL(SAFE_DIVIDE(100.0 * c.l7d_actual, c.l7d_expected), 100.0) AS l7d_pct,
         IFNULL(SAFE_DIVIDE(100.0 * c.l14d_actual, c.l14d_expected), 100.0) AS l14d_pct,
         IFNULL(c.l14d_expected, 0) AS expected_games, IFNULL(c.l14d_actual, 0) AS actual_games,
         IFNULL(c.gap_games, 0) AS gap_games, IFNULL(c.dnp_games, 0) AS dnp_games, c.missing_dates
  FROM entities AS e
  LEFT JOIN prior AS pr ON pr.cache_date = e.cache_date AND pr.player_lookup = e.player_lookup
  LEFT JOIN win AS w ON w.cache_date = e.cache_date AND w.player_lookup = e.player_lookup
  LEFT JOIN team_off AS t ON t.cache_date = e.cache_date AND t.team_abbr = e.team_abbr
  LEFT JOIN psza AS z ON z.analysis_date = e.cache_date AND z.player_lookup = e.player_lookup
  LEFT JOIN windows AS c ON c.cache_date = e.cache_date AND c.player_lookup = e.player_lookup
),
judged AS (
  SELECT calc.*,
         (l5_pct >= 90 AND l10_pct >= 90 AND l7d_pct >= 90 AND l14d_pct >= 90) AS all_windows_complete,
         LEAST(l5_pct, l10_pct, l7d_pct, l14d_pct) AS completeness_pct,
         CASE
           -- spec §4: the circuit breaker is checked first (daily mode trips it; no retry)
           WHEN player_lookup IN UNNEST(@circuit_broken_entities) THEN 'CIRCUIT_BREAKER_ACTIVE'
           WHEN season_day < 14 THEN 'INSUFFICIENT_DATA'
           WHEN completeness_checked AND NOT (l5_pct >= 90 AND l10_pct >= 90 AND l7d_pct >= 90 AND l14d_pct >= 90)
             THEN 'INCOMPLETE_DATA'
           WHEN k < 5 THEN 'INSUFFICIENT_DATA'
           WHEN points_avg_season IS NULL OR points_avg_season < 0 OR points_avg_5 IS NULL
                OR minutes_avg_10 < 0 OR minutes_avg_10 > 70 THEN 'INVALID_UPSTREAM'
         END AS failure_category,
         -- @include _incomplete_type.sql
  FROM calc
)
SELECT
  CAST(player_lookup AS STRING) AS player_lookup,
  CAST(universal_player_id AS STRING) AS universal_player_id,
  CAST(cache_date AS DATE) AS cache_date,
  CAST(season_year AS INT64) AS season_year,
  CAST(game_id AS STRING) AS game_id,
  CAST(team_abbr AS STRING) AS team_abbr,
  CAST(opponent_team_abbr AS STRING) AS opponent_team_abbr,
  CAST(points_avg_5 AS FLOAT64) AS points_avg_last_5,
  CAST(points_avg_10 AS FLOAT64) AS points_avg_last_10,
  CAST(points_avg_season AS FLOAT64) AS points_avg_season,
  CAST(points_std_10 AS FLOAT64) AS points_std_last_10,
  CAST(minutes_avg_10 AS FLOAT64) AS minutes_avg_last_10,
  CAST(usage_avg_10 AS FLOAT64) AS usage_rate_last_10,
  CAST(ts_pct_avg_10 AS FLOAT64) AS ts_pct_last_10,
  CAST(k AS INT64) AS games_played_season,
  CAST(games_10 AS INT64) AS games_in_sample_10,
  CAST(points_avg_3 AS FLOAT64) AS points_avg_last_3,
  CAST(points_avg_4_5 AS FLOAT64) AS points_avg_games_4_5,
  CAST(ft_makes_10 AS INT64) AS ft_makes_last_10,
  CAST(points_10 AS INT64) AS points_total_last_10,
  CAST(minutes_avg_season AS FLOAT64) AS minutes_avg_season,
  CAST(usage_avg_season AS FLOAT64) AS player_usage_rate_season,
  CAST(team_pace_10 AS FLOAT64) AS team_pace_last_10,
  CAST(team_off_rating_10 AS FLOAT64) AS team_off_rating_last_10,
  CAST(team_games_10 AS INT64) AS team_games_last_10,
  CAST(games_in_last_7_days AS INT64) AS games_in_last_7_days,
  CAST(games_in_last_14_days AS INT64) AS games_in_last_14_days,
  CAST(minutes_in_last_7_days AS FLOAT64) AS minutes_in_last_7_days,
  CAST(minutes_in_last_14_days AS FLOAT64) AS minutes_in_last_14_days,
  CAST(back_to_backs_last_14_days AS INT64) AS back_to_backs_last_14_days,
  CAST(avg_minutes_per_game_last_7 AS FLOAT64) AS avg_minutes_per_game_last_7,
  CAST(days_rest AS INT64) AS days_rest,
  CAST(back_to_back AS BOOL) AS back_to_back,
  CAST(primary_scoring_zone AS STRING) AS primary_scoring_zone,
  CAST(paint_rate_last_10 AS FLOAT64) AS paint_rate_last_10,
  CAST(mid_range_rate_last_10 AS FLOAT64) AS mid_range_rate_last_10,
  CAST(three_pt_rate_last_10 AS FLOAT64) AS three_pt_rate_last_10,
  CAST(assisted_rate_last_10 AS FLOAT64) AS assisted_rate_last_10,
  CAST(has_psza AS BOOL) AS has_shot_zone_data,
  CAST(player_age AS INT64) AS player_age,
  CAST(l5_pct AS FLOAT64) AS l5_completeness_pct,
  CAST(l10_pct AS FLOAT64) AS l10_completeness_pct,
  CAST(l7d_pct AS FLOAT64) AS l7d_completeness_pct,
  CAST(l14d_pct AS FLOAT64) AS l14d_completeness_pct,
  CAST(all_windows_complete AS BOOL) AS all_windows_complete,
  CAST(completeness_pct AS FLOAT64) AS completeness_percentage,
  CAST(all_windows_complete AS BOOL) AS is_production_ready,
  CAST(expected_games AS INT64) AS expected_game_count,
  CAST(actual_games AS INT64) AS actual_game_count,
  CAST(expected_games - actual_games AS INT64) AS missing_game_count,
  CAST(k < 10 AS BOOL) AS early_season_flag,
  CAST(IF(k < 10, CONCAT('only ', CAST(k AS STRING), ' games this season (10 for a full sample)'), NULL)
       AS STRING) AS insufficient_data_reason,
  CAST(season_day AS INT64) AS days_into_season,
  CAST(SUBSTR(TO_HEX(SHA256(CONCAT(
    player_lookup, '|', CAST(cache_date AS STRING), '|',
    IFNULL(CAST(ROUND(points_avg_5, 6) AS STRING), ''), '|', IFNULL(CAST(ROUND(points_avg_10, 6) AS STRING), ''), '|',
    IFNULL(CAST(ROUND(points_avg_season, 6) AS STRING), ''), '|', CAST(k AS STRING), '|',
    IFNULL(primary_scoring_zone, '')))), 1, 16) AS STRING) AS data_hash,
  CAST(failure_category AS STRING) AS failure_category,
  CAST(CASE failure_category
    WHEN 'INSUFFICIENT_DATA' THEN IF(season_day < 14, 'early season bootstrap',
      CONCAT(CAST(k AS STRING), ' games this season before the date, 5 required'))
    WHEN 'INCOMPLETE_DATA' THEN CONCAT('completeness windows L5/L10/L7d/L14d ',
      CAST(ROUND(l5_pct, 1) AS STRING), '/', CAST(ROUND(l10_pct, 1) AS STRING), '/',
      CAST(ROUND(l7d_pct, 1) AS STRING), '/', CAST(ROUND(l14d_pct, 1) AS STRING), '%: not all >= 90%')
    WHEN 'INVALID_UPSTREAM' THEN 'sanity check failed: impossible season average or minutes'
  END AS STRING) AS failure_reason,
  CAST(failure_category IN ('INCOMPLETE_DATA', 'INVALID_UPSTREAM') AS BOOL) AS can_retry,
  CAST(CASE failure_category WHEN 'INCOMPLETE_DATA' THEN incomplete_type
                             WHEN 'INVALID_UPSTREAM' THEN 'INVALID_VALUE' END AS STRING) AS failure_type,
  CAST((failure_category = 'INCOMPLETE_DATA' AND gap_games > 0) OR failure_category = 'INVALID_UPSTREAM'
       AS BOOL) AS is_correctable,
  CAST(IF(failure_category = 'INCOMPLETE_DATA', missing_dates, NULL) AS STRING) AS missing_dates,
  CAST(expected_games AS INT64) AS expected_count,
  CAST(actual_games AS INT64) AS actual_count,
  CAST(failure_category = 'INCOMPLETE_DATA' AS BOOL) AS raw_data_checked
FROM judged
