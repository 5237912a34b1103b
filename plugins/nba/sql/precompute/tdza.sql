-- TDZA: nba_precompute.team_defense_zone_analysis — one row per team per analysis_date.
-- Spec §3 (TDZA) and §4. Every window reads upstream games STRICTLY BEFORE analysis_date.
--   * window: the team's last 15 TDGS games this season before the date;
--   * zone FG% allowed = Σmakes ÷ Σattempts; paint and mid-range over the games that have shot
--     events (NULL zones are left out of the zone math), threes over every game (box score);
--   * league average: the last 30 days before the date, teams with 10+ games, mean of the team
--     percentages; under 10 such teams the defaults 0.580 / 0.410 / 0.355;
--   * entities: the teams with a final scheduled game this season before the date;
--   * failures (first match wins): season days 0-13 bootstrap -> INSUFFICIENT_DATA (no row);
--     daily mode from season day 30 and completeness < 90% -> INCOMPLETE_DATA; games < threshold (HEAD:
--     min(5 + day DIV 3, 14) while day <= 21, else 15) -> INSUFFICIENT_DATA; no game in the window
--     with shot events -> NO_SHOT_ZONE; an impossible value -> INVALID_UPSTREAM (bad data, not a bug).
--   * completeness: of the team's last (up to) 15 scheduled games, the share that have a TDGS row
--     WITH shot-zone data (a zone-less game is counted as incomplete, honestly).
WITH
-- @include _batch_season.sql date_col=analysis_date
-- @include _team_sched.sql
entities AS (
  SELECT bs.analysis_date, bs.season_year, bs.season_start, bs.season_day, bs.completeness_checked, ts.team_abbr,
         MAX(ts.sched_idx) AS sched_games_before
  FROM batch_season AS bs
  JOIN team_sched AS ts ON ts.season_year = bs.season_year AND ts.game_date < bs.analysis_date
  GROUP BY bs.analysis_date, bs.season_year, bs.season_start, bs.season_day, bs.completeness_checked, ts.team_abbr
),
tdgs AS (
  SELECT g.game_id, g.game_date, g.season_year, g.defending_team_abbr,
         g.points_allowed, g.defensive_rating, g.opponent_pace,
         g.opp_paint_makes, g.opp_paint_attempts, g.opp_mid_range_makes, g.opp_mid_range_attempts,
         g.opp_three_pt_makes, g.opp_three_pt_attempts,
         g.paint_points_allowed, g.mid_range_points_allowed, g.three_pt_points_allowed,
         g.blocks_paint, g.blocks_mid_range, g.blocks_three_pt,
         (g.opp_paint_attempts IS NOT NULL AND g.opp_paint_makes IS NOT NULL
          AND g.opp_mid_range_attempts IS NOT NULL AND g.opp_mid_range_makes IS NOT NULL) AS zone_ok,
         ROW_NUMBER() OVER (PARTITION BY g.season_year, g.defending_team_abbr
                            ORDER BY g.game_date, g.game_id) AS game_idx
  FROM nba_analytics.team_defense_game_summary AS g
  WHERE g.game_date <= @end_date
),
team_k AS (
  -- k = the team's TDGS games before the date; its window is games k-14 .. k
  SELECT e.analysis_date, e.team_abbr, e.season_year, IFNULL(MAX(g.game_idx), 0) AS k
  FROM entities AS e
  LEFT JOIN tdgs AS g
    ON g.defending_team_abbr = e.team_abbr AND g.season_year = e.season_year
   AND g.game_date < e.analysis_date
  GROUP BY e.analysis_date, e.team_abbr, e.season_year
),
win AS (
  SELECT tk.analysis_date, tk.team_abbr,
         COUNT(g.game_idx) AS games_in_sample,
         COUNT(IF(g.zone_ok, 1, NULL)) AS zone_games,
         SUM(IF(g.zone_ok, g.opp_paint_makes, NULL)) AS paint_makes,
         SUM(IF(g.zone_ok, g.opp_paint_attempts, NULL)) AS paint_attempts,
         SUM(IF(g.zone_ok, g.opp_mid_range_makes, NULL)) AS mid_makes,
         SUM(IF(g.zone_ok, g.opp_mid_range_attempts, NULL)) AS mid_attempts,
         SUM(g.opp_three_pt_makes) AS three_makes,
         SUM(g.opp_three_pt_attempts) AS three_attempts,
         SUM(IF(g.zone_ok, g.paint_points_allowed, NULL)) AS paint_points,
         SUM(IF(g.zone_ok, g.mid_range_points_allowed, NULL)) AS mid_points,
         SUM(g.three_pt_points_allowed) AS three_points,
         SUM(IF(g.zone_ok, g.blocks_paint, NULL)) AS blocks_paint,
         SUM(IF(g.zone_ok, g.blocks_mid_range, NULL)) AS blocks_mid,
         SUM(IF(g.zone_ok, g.blocks_three_pt, NULL)) AS blocks_three,
         AVG(g.defensive_rating) AS defensive_rating,
         AVG(g.points_allowed) AS points_allowed,
         AVG(g.opponent_pace) AS opponent_pace,
         MIN(g.game_date) AS first_game_date,
         MAX(g.game_date) AS last_game_date
  FROM team_k AS tk
  LEFT JOIN tdgs AS g
    ON g.defending_team_abbr = tk.team_abbr AND g.season_year = tk.season_year
   AND g.game_idx BETWEEN tk.k - 14 AND tk.k
  GROUP BY tk.analysis_date, tk.team_abbr
),
completeness AS (
  -- the team's last (up to) 15 scheduled games before the date, and which of them have zone data
  SELECT e.analysis_date, e.team_abbr,
         COUNT(*) AS expected_games,
         COUNT(IF(IFNULL(g.zone_ok, FALSE), 1, NULL)) AS actual_games,
         CONCAT('[', STRING_AGG(IF(IFNULL(g.zone_ok, FALSE), NULL,
                                   CONCAT('"', CAST(ts.game_date AS STRING), '"')), ',' ORDER BY ts.game_date),
                ']') AS missing_dates
  FROM entities AS e
  JOIN team_sched AS ts
    ON ts.season_year = e.season_year AND ts.team_abbr = e.team_abbr
   AND ts.sched_idx BETWEEN e.sched_games_before - 14 AND e.sched_games_before
  LEFT JOIN tdgs AS g
    ON g.defending_team_abbr = ts.team_abbr AND g.game_date = ts.game_date
  GROUP BY e.analysis_date, e.team_abbr
),
league_team AS (
  SELECT bs.analysis_date, g.defending_team_abbr,
         SAFE_DIVIDE(SUM(IF(g.zone_ok, g.opp_paint_makes, NULL)),
                     SUM(IF(g.zone_ok, g.opp_paint_attempts, NULL))) AS paint_pct,
         SAFE_DIVIDE(SUM(IF(g.zone_ok, g.opp_mid_range_makes, NULL)),
                     SUM(IF(g.zone_ok, g.opp_mid_range_attempts, NULL))) AS mid_pct,
         SAFE_DIVIDE(SUM(g.opp_three_pt_makes), SUM(g.opp_three_pt_attempts)) AS three_pct
  FROM batch_season AS bs
  JOIN tdgs AS g
    ON g.game_date >= DATE_SUB(bs.analysis_date, INTERVAL 30 DAY)
   AND g.game_date < bs.analysis_date
   AND g.game_date >= bs.season_start
  GROUP BY bs.analysis_date, g.defending_team_abbr
  HAVING COUNT(*) >= 10
),
league AS (
  SELECT bs.analysis_date,
         COUNT(lt.defending_team_abbr) AS teams,
         AVG(lt.paint_pct) AS paint_pct,
         AVG(lt.mid_pct) AS mid_pct,
         AVG(lt.three_pct) AS three_pct
  FROM batch_season AS bs
  LEFT JOIN league_team AS lt
    ON lt.analysis_date = bs.analysis_date
   AND lt.paint_pct IS NOT NULL AND lt.mid_pct IS NOT NULL AND lt.three_pct IS NOT NULL
  GROUP BY bs.analysis_date
),
calc AS (
  SELECT e.analysis_date, e.team_abbr, e.season_year, e.season_day, e.completeness_checked,
         IF(e.season_day <= 21, LEAST(5 + DIV(e.season_day, 3), 14), 15) AS min_games,
         w.games_in_sample, w.zone_games, w.first_game_date, w.last_game_date,
         SAFE_DIVIDE(w.paint_makes, w.paint_attempts) AS paint_pct,
         SAFE_DIVIDE(w.mid_makes, w.mid_attempts) AS mid_pct,
         SAFE_DIVIDE(w.three_makes, w.three_attempts) AS three_pct,
         SAFE_DIVIDE(w.paint_attempts, w.zone_games) AS paint_attempts_pg,
         SAFE_DIVIDE(w.mid_attempts, w.zone_games) AS mid_attempts_pg,
         SAFE_DIVIDE(w.three_attempts, w.games_in_sample) AS three_attempts_pg,
         SAFE_DIVIDE(w.paint_points, w.zone_games) AS paint_points_pg,
         SAFE_DIVIDE(w.mid_points, w.zone_games) AS mid_points_pg,
         SAFE_DIVIDE(w.three_points, w.games_in_sample) AS three_points_pg,
         SAFE_DIVIDE(w.blocks_paint, w.zone_games) AS blocks_paint_pg,
         SAFE_DIVIDE(w.blocks_mid, w.zone_games) AS blocks_mid_pg,
         SAFE_DIVIDE(w.blocks_three, w.zone_games) AS blocks_three_pg,
         w.defensive_rating, w.points_allowed, w.opponent_pace,
         l.teams AS league_teams,
         IF(l.teams >= 10, l.paint_pct, 0.580) AS league_paint_pct,
         IF(l.teams >= 10, l.mid_pct, 0.410) AS league_mid_pct,
         IF(l.teams >= 10, l.three_pct, 0.355) AS league_three_pct,
         IF(l.teams >= 10, 'calculated', 'default') AS league_avg_source,
         c.expected_games, c.actual_games, c.missing_dates,
         IFNULL(SAFE_DIVIDE(100.0 * c.actual_games, c.expected_games), 100.0) AS completeness_pct
  FROM entities AS e
  JOIN win AS w ON w.analysis_date = e.analysis_date AND w.team_abbr = e.team_abbr
  JOIN league AS l ON l.analysis_date = e.analysis_date
  LEFT JOIN completeness AS c ON c.analysis_date = e.analysis_date AND c.team_abbr = e.team_abbr
),
vs AS (
  SELECT calc.*,
         (paint_pct - league_paint_pct) * 100 AS paint_vs,
         (mid_pct - league_mid_pct) * 100 AS mid_vs,
         (three_pct - league_three_pct) * 100 AS three_vs
  FROM calc
),
judged AS (
  SELECT vs.*,
         CASE
           -- spec §4: the circuit breaker is checked first (daily mode trips it; no retry)
           WHEN team_abbr IN UNNEST(@circuit_broken_entities) THEN 'CIRCUIT_BREAKER_ACTIVE'
           WHEN season_day < 14 THEN 'INSUFFICIENT_DATA'
           WHEN completeness_checked AND completeness_pct < 90 THEN 'INCOMPLETE_DATA'
           WHEN games_in_sample < min_games THEN 'INSUFFICIENT_DATA'
           WHEN zone_games = 0 THEN 'NO_SHOT_ZONE'
           WHEN games_in_sample > 15 OR paint_pct NOT BETWEEN 0 AND 1 OR mid_pct NOT BETWEEN 0 AND 1
                OR three_pct NOT BETWEEN 0 AND 1 THEN 'INVALID_UPSTREAM'
         END AS failure_category
  FROM vs
)
SELECT
  CAST(team_abbr AS STRING) AS team_abbr,
  CAST(analysis_date AS DATE) AS analysis_date,
  CAST(season_year AS INT64) AS season_year,
  CAST(paint_pct AS FLOAT64) AS paint_pct_allowed_last_15,
  CAST(mid_pct AS FLOAT64) AS mid_range_pct_allowed_last_15,
  CAST(three_pct AS FLOAT64) AS three_pt_pct_allowed_last_15,
  CAST(paint_attempts_pg AS FLOAT64) AS paint_attempts_allowed_per_game,
  CAST(mid_attempts_pg AS FLOAT64) AS mid_range_attempts_allowed_per_game,
  CAST(three_attempts_pg AS FLOAT64) AS three_pt_attempts_allowed_per_game,
  CAST(paint_points_pg AS FLOAT64) AS paint_points_allowed_per_game,
  CAST(mid_points_pg AS FLOAT64) AS mid_range_points_allowed_per_game,
  CAST(three_points_pg AS FLOAT64) AS three_pt_points_allowed_per_game,
  CAST(blocks_paint_pg AS FLOAT64) AS paint_blocks_per_game,
  CAST(blocks_mid_pg AS FLOAT64) AS mid_range_blocks_per_game,
  CAST(blocks_three_pg AS FLOAT64) AS three_pt_blocks_per_game,
  CAST(defensive_rating AS FLOAT64) AS defensive_rating_last_15,
  CAST(points_allowed AS FLOAT64) AS opponent_points_per_game,
  CAST(opponent_pace AS FLOAT64) AS opponent_pace,
  CAST(games_in_sample AS INT64) AS games_in_sample,
  CAST(zone_games AS INT64) AS shot_zone_games_in_sample,
  CAST(league_paint_pct AS FLOAT64) AS league_avg_paint_pct,
  CAST(league_mid_pct AS FLOAT64) AS league_avg_mid_range_pct,
  CAST(league_three_pct AS FLOAT64) AS league_avg_three_pt_pct,
  CAST(league_teams AS INT64) AS league_avg_teams_in_sample,
  CAST(league_avg_source AS STRING) AS league_avg_source,
  CAST(paint_vs AS FLOAT64) AS paint_defense_vs_league_avg,
  CAST(mid_vs AS FLOAT64) AS mid_range_defense_vs_league_avg,
  CAST(three_vs AS FLOAT64) AS three_pt_defense_vs_league_avg,
  -- strongest = lowest vs-league (allows least), weakest = highest; ties (compared at 6 decimals, so
  -- that float noise cannot flip them between engines): paint, mid_range, three_pt
  CAST(CASE
    WHEN paint_vs IS NULL OR mid_vs IS NULL OR three_vs IS NULL THEN NULL
    WHEN ROUND(paint_vs, 6) <= ROUND(mid_vs, 6) AND ROUND(paint_vs, 6) <= ROUND(three_vs, 6) THEN 'paint'
    WHEN ROUND(mid_vs, 6) <= ROUND(three_vs, 6) THEN 'mid_range'
    ELSE 'three_pt' END AS STRING) AS strongest_zone,
  CAST(CASE
    WHEN paint_vs IS NULL OR mid_vs IS NULL OR three_vs IS NULL THEN NULL
    WHEN ROUND(paint_vs, 6) >= ROUND(mid_vs, 6) AND ROUND(paint_vs, 6) >= ROUND(three_vs, 6) THEN 'paint'
    WHEN ROUND(mid_vs, 6) >= ROUND(three_vs, 6) THEN 'mid_range'
    ELSE 'three_pt' END AS STRING) AS weakest_zone,
  CAST(CASE WHEN games_in_sample >= 15 THEN 'high' WHEN games_in_sample >= 10 THEN 'medium' ELSE 'low' END
       AS STRING) AS data_quality_tier,
  CAST(first_game_date AS DATE) AS window_start_date,
  CAST(last_game_date AS DATE) AS window_end_date,
  CAST(season_day AS INT64) AS days_into_season,
  CAST(season_day < 14 AS BOOL) AS early_season_flag,
  CAST(min_games AS INT64) AS min_games_required,
  CAST(expected_games AS INT64) AS expected_game_count,
  CAST(actual_games AS INT64) AS actual_game_count,
  CAST(expected_games - actual_games AS INT64) AS missing_game_count,
  CAST(completeness_pct AS FLOAT64) AS completeness_percentage,
  CAST(completeness_pct >= 90 AND games_in_sample >= 15 AS BOOL) AS is_production_ready,
  CAST(games_in_sample AS INT64) AS source_team_defense_rows_found,
  CAST(completeness_pct AS FLOAT64) AS source_team_defense_completeness_pct,
  CAST(SUBSTR(TO_HEX(SHA256(CONCAT(
    team_abbr, '|', CAST(analysis_date AS STRING), '|',
    IFNULL(CAST(ROUND(paint_pct, 6) AS STRING), ''), '|', IFNULL(CAST(ROUND(mid_pct, 6) AS STRING), ''), '|',
    IFNULL(CAST(ROUND(three_pct, 6) AS STRING), ''), '|', IFNULL(CAST(ROUND(defensive_rating, 6) AS STRING), ''), '|',
    CAST(games_in_sample AS STRING)))), 1, 16) AS STRING) AS data_hash,
  -- failure columns (rows with a failure_category go to nba_processing.precompute_failures)
  CAST(failure_category AS STRING) AS failure_category,
  CAST(CASE failure_category
    WHEN 'INSUFFICIENT_DATA' THEN IF(season_day < 14, 'early season bootstrap',
      CONCAT(CAST(games_in_sample AS STRING), ' games before the date, ', CAST(min_games AS STRING), ' required'))
    WHEN 'INCOMPLETE_DATA' THEN CONCAT('completeness ', CAST(ROUND(completeness_pct, 1) AS STRING),
      '% (', CAST(actual_games AS STRING), ' of ', CAST(expected_games AS STRING),
      ' scheduled games with shot-zone data) under 90%')
    WHEN 'NO_SHOT_ZONE' THEN 'no game in the window has shot-zone data'
    WHEN 'INVALID_UPSTREAM' THEN 'sanity check failed: impossible zone percentage or sample size'
  END AS STRING) AS failure_reason,
  CAST(failure_category IN ('INCOMPLETE_DATA', 'INVALID_UPSTREAM') AS BOOL) AS can_retry,
  CAST(CASE failure_category WHEN 'INCOMPLETE_DATA' THEN 'DATA_GAP' WHEN 'INVALID_UPSTREAM' THEN 'INVALID_VALUE' END
       AS STRING) AS failure_type,
  CAST(failure_category IN ('INCOMPLETE_DATA', 'INVALID_UPSTREAM') AS BOOL) AS is_correctable,
  CAST(IF(failure_category = 'INCOMPLETE_DATA', missing_dates, NULL) AS STRING) AS missing_dates,
  CAST(expected_games AS INT64) AS expected_count,
  CAST(actual_games AS INT64) AS actual_count,
  CAST(FALSE AS BOOL) AS raw_data_checked
FROM judged
