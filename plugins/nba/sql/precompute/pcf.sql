-- PCF: nba_precompute.player_composite_factors — one row per player per game_date, for the UPGC
-- players of the date. Spec §3 (PCF); formulas follow the code (the processor card differs).
--   * fatigue (0-100, start 100, clamped): back-to-back -15, else 3+ rest days +5; 4+ games in 7
--     days -10; more than 240 minutes in 7 days -10; more than 35 minutes per game -8; back-to-backs
--     in 14 days: 2+ -12, 1 -5; age 35+ -10, 30-34 -5. Missing inputs take the code's defaults
--     (days_rest 1, games 3, minutes 200, minutes/game 30, back-to-backs 0, age 25).
--   * shot-zone mismatch: the opponent's TDZA vs-league value in the player's PSZA primary zone
--     (balanced -> paint, as the code does) x min(zone rate / 50, 1); x1.2 when |value| > 5; clamp
--     to ±10; 0 when the PSZA or the opponent's TDZA row is missing.
--   * pace: pace_differential / 2, clamped to ±3 (0 when missing).
--   * usage spike: 0.3 x (projected - last-7 usage) (missing -> 25 each, 0 when last-7 is 0);
--     positive spikes x1.15 with 1 star teammate out, x1.30 with 2+; clamp to ±3.
--   * deferred factors (referee, look-ahead, travel, opponent_strength_score): always 0.0.
--   * total_composite_adjustment = (fatigue - 100) / 20 + mismatch + pace + usage + deferred.
--   * is_production_ready = UPGC L10 completeness >= 90, the player's team has its UTGC row of the
--     date (upstream_utgc_ready; spec: PCF reads UPGC and UTGC for the date) and the PSZA and opponent
--     TDZA rows exist and are production-ready. Incomplete data is recorded on the row, never a failure.
--   * failures (first match wins): an open entity circuit breaker -> CIRCUIT_BREAKER_ACTIVE (spec §4);
--     season days 0-13 -> INSUFFICIENT_DATA 'early season bootstrap'; an impossible
--     UPGC value -> INVALID_UPSTREAM (bad data upstream, correctable; never PROCESSING_ERROR, a bug).
WITH
-- @include _batch_season.sql date_col=game_date
upgc AS (
  SELECT u.game_date, u.season_year, u.player_lookup, u.universal_player_id, u.game_id, u.team_abbr,
         u.opponent_team_abbr, u.is_home, u.days_rest, u.back_to_back, u.games_in_last_7_days,
         u.minutes_in_last_7_days, u.avg_minutes_per_game_last_7, u.back_to_backs_last_14_days, u.player_age,
         u.pace_differential, u.projected_usage_rate, u.usage_rate_last_7, u.star_teammates_out,
         u.l10_completeness_pct
  FROM nba_analytics.upcoming_player_game_context AS u
  WHERE u.game_date IN UNNEST(@dates)
),
utgc AS (
  SELECT DISTINCT c.game_date, c.team_abbr
  FROM nba_analytics.upcoming_team_game_context AS c
  WHERE c.game_date IN UNNEST(@dates)
),
psza AS (
  SELECT z.analysis_date, z.player_lookup, z.primary_scoring_zone, z.paint_rate_last_10,
         z.mid_range_rate_last_10, z.three_pt_rate_last_10, z.is_production_ready
  FROM nba_precompute.player_shot_zone_analysis AS z
  WHERE z.analysis_date IN UNNEST(@dates)
),
tdza AS (
  SELECT t.analysis_date, t.team_abbr, t.paint_defense_vs_league_avg, t.mid_range_defense_vs_league_avg,
         t.three_pt_defense_vs_league_avg, t.is_production_ready
  FROM nba_precompute.team_defense_zone_analysis AS t
  WHERE t.analysis_date IN UNNEST(@dates)
),
base AS (
  SELECT bs.season_day, u.game_date, u.season_year, u.player_lookup, u.universal_player_id, u.game_id,
         u.team_abbr, u.opponent_team_abbr, u.is_home,
         u.days_rest, u.back_to_back, u.games_in_last_7_days, u.minutes_in_last_7_days,
         u.avg_minutes_per_game_last_7, u.back_to_backs_last_14_days, u.player_age,
         u.pace_differential, u.projected_usage_rate, u.usage_rate_last_7, u.star_teammates_out,
         u.l10_completeness_pct,
         c.team_abbr IS NOT NULL AS utgc_ready,
         z.player_lookup IS NOT NULL AS has_psza, IFNULL(z.is_production_ready, FALSE) AS psza_ready,
         t.team_abbr IS NOT NULL AS has_tdza, IFNULL(t.is_production_ready, FALSE) AS tdza_ready,
         z.primary_scoring_zone,
         CASE z.primary_scoring_zone
           WHEN 'mid_range' THEN z.mid_range_rate_last_10
           WHEN 'perimeter' THEN z.three_pt_rate_last_10
           ELSE z.paint_rate_last_10 END AS zone_rate,
         CASE z.primary_scoring_zone
           WHEN 'mid_range' THEN t.mid_range_defense_vs_league_avg
           WHEN 'perimeter' THEN t.three_pt_defense_vs_league_avg
           ELSE t.paint_defense_vs_league_avg END AS zone_vs_league
  FROM upgc AS u
  JOIN batch_season AS bs ON bs.game_date = u.game_date
  LEFT JOIN utgc AS c ON c.game_date = u.game_date AND c.team_abbr = u.team_abbr
  LEFT JOIN psza AS z ON z.analysis_date = u.game_date AND z.player_lookup = u.player_lookup
  LEFT JOIN tdza AS t ON t.analysis_date = u.game_date AND t.team_abbr = u.opponent_team_abbr
),
raw_scores AS (
  SELECT base.*,
         100
         + CASE WHEN IFNULL(back_to_back, FALSE) THEN -15 WHEN IFNULL(days_rest, 1) >= 3 THEN 5 ELSE 0 END
         + IF(IFNULL(games_in_last_7_days, 3) >= 4, -10, 0)
         + IF(IFNULL(minutes_in_last_7_days, 200.0) > 240, -10, 0)
         + IF(IFNULL(avg_minutes_per_game_last_7, 30.0) > 35, -8, 0)
         + CASE WHEN IFNULL(back_to_backs_last_14_days, 0) >= 2 THEN -12
                WHEN IFNULL(back_to_backs_last_14_days, 0) = 1 THEN -5 ELSE 0 END
         + CASE WHEN IFNULL(player_age, 25) >= 35 THEN -10 WHEN IFNULL(player_age, 25) >= 30 THEN -5 ELSE 0 END
           AS fatigue_raw,
         IF(has_psza AND has_tdza,
            IFNULL(zone_vs_league, 0.0) * LEAST(IFNULL(zone_rate, 50.0) / 50.0, 1.0), 0.0) AS mismatch_raw,
         IFNULL(pace_differential, 0.0) / 2.0 AS pace_raw,
         IF(IFNULL(usage_rate_last_7, 25.0) = 0, 0.0,
            0.3 * (IFNULL(projected_usage_rate, 25.0) - IFNULL(usage_rate_last_7, 25.0))) AS usage_base
  FROM base
),
scores AS (
  SELECT raw_scores.*,
         GREATEST(0, LEAST(100, fatigue_raw)) AS fatigue_score,
         GREATEST(-10.0, LEAST(10.0, IF(ABS(mismatch_raw) > 5, mismatch_raw * 1.2, mismatch_raw))) AS mismatch_score,
         GREATEST(-3.0, LEAST(3.0, pace_raw)) AS pace_score,
         GREATEST(-3.0, LEAST(3.0,
           CASE WHEN usage_base > 0 AND IFNULL(star_teammates_out, 0) >= 2 THEN usage_base * 1.30
                WHEN usage_base > 0 AND IFNULL(star_teammates_out, 0) = 1 THEN usage_base * 1.15
                ELSE usage_base END)) AS usage_score
  FROM raw_scores
),
judged AS (
  SELECT scores.*,
         (fatigue_score - 100) / 20.0 AS fatigue_adjustment,
         IFNULL(l10_completeness_pct, 0) >= 90 AS upgc_ready,
         CASE
           -- spec §4: the circuit breaker is checked first (daily mode trips it; no retry)
           WHEN player_lookup IN UNNEST(@circuit_broken_entities) THEN 'CIRCUIT_BREAKER_ACTIVE'
           WHEN season_day < 14 THEN 'INSUFFICIENT_DATA'
           WHEN games_in_last_7_days > 7 OR games_in_last_7_days < 0 OR minutes_in_last_7_days < 0
                OR back_to_backs_last_14_days > 13 OR back_to_backs_last_14_days < 0 THEN 'INVALID_UPSTREAM'
         END AS failure_category
  FROM scores
)
SELECT
  CAST(player_lookup AS STRING) AS player_lookup,
  CAST(universal_player_id AS STRING) AS universal_player_id,
  CAST(game_date AS DATE) AS game_date,
  CAST(game_date AS DATE) AS analysis_date,
  CAST(game_id AS STRING) AS game_id,
  CAST(season_year AS INT64) AS season_year,
  CAST(team_abbr AS STRING) AS team_abbr,
  CAST(opponent_team_abbr AS STRING) AS opponent_team_abbr,
  CAST(is_home AS BOOL) AS is_home,
  CAST(fatigue_score AS INT64) AS fatigue_score,
  CAST(fatigue_adjustment AS FLOAT64) AS fatigue_adjustment,
  CAST(mismatch_score AS FLOAT64) AS shot_zone_mismatch_score,
  CAST(pace_score AS FLOAT64) AS pace_score,
  CAST(usage_score AS FLOAT64) AS usage_spike_score,
  CAST(0.0 AS FLOAT64) AS referee_favorability_score,
  CAST(0.0 AS FLOAT64) AS look_ahead_pressure_score,
  CAST(0.0 AS FLOAT64) AS travel_impact_score,
  CAST(0.0 AS FLOAT64) AS opponent_strength_score,
  CAST(fatigue_adjustment + mismatch_score + pace_score + usage_score AS FLOAT64) AS total_composite_adjustment,
  CAST(days_rest AS INT64) AS days_rest,
  CAST(back_to_back AS BOOL) AS back_to_back,
  CAST(games_in_last_7_days AS INT64) AS games_in_last_7_days,
  CAST(minutes_in_last_7_days AS FLOAT64) AS minutes_in_last_7_days,
  CAST(avg_minutes_per_game_last_7 AS FLOAT64) AS avg_minutes_per_game_last_7,
  CAST(back_to_backs_last_14_days AS INT64) AS back_to_backs_last_14_days,
  CAST(player_age AS INT64) AS player_age,
  CAST(primary_scoring_zone AS STRING) AS player_primary_zone,
  CAST(zone_rate AS FLOAT64) AS primary_zone_rate,
  CAST(zone_vs_league AS FLOAT64) AS opponent_zone_defense_vs_league,
  CAST(pace_differential AS FLOAT64) AS pace_differential,
  CAST(projected_usage_rate AS FLOAT64) AS projected_usage_rate,
  CAST(usage_rate_last_7 AS FLOAT64) AS usage_rate_last_7,
  CAST(star_teammates_out AS INT64) AS star_teammates_out,
  CAST(has_psza AND has_tdza AS BOOL) AS has_shot_zone_matchup,
  CAST(upgc_ready AS BOOL) AS upstream_upgc_ready,
  CAST(utgc_ready AS BOOL) AS upstream_utgc_ready,
  CAST(psza_ready AS BOOL) AS upstream_psza_ready,
  CAST(tdza_ready AS BOOL) AS upstream_tdza_ready,
  CAST(l10_completeness_pct AS FLOAT64) AS completeness_percentage,
  CAST(upgc_ready AND utgc_ready AND psza_ready AND tdza_ready AS BOOL) AS is_production_ready,
  CAST(season_day AS INT64) AS days_into_season,
  CAST(NULL AS INT64) AS expected_game_count,
  CAST(NULL AS INT64) AS actual_game_count,
  CAST(SUBSTR(TO_HEX(SHA256(CONCAT(
    player_lookup, '|', CAST(game_date AS STRING), '|', CAST(fatigue_score AS STRING), '|',
    CAST(ROUND(mismatch_score, 6) AS STRING), '|', CAST(ROUND(pace_score, 6) AS STRING), '|',
    CAST(ROUND(usage_score, 6) AS STRING)))), 1, 16) AS STRING) AS data_hash,
  CAST(failure_category AS STRING) AS failure_category,
  CAST(CASE failure_category
    WHEN 'INSUFFICIENT_DATA' THEN 'early season bootstrap'
    WHEN 'INVALID_UPSTREAM' THEN 'sanity check failed: impossible UPGC workload value'
    WHEN 'CIRCUIT_BREAKER_ACTIVE' THEN 'circuit breaker open after repeated failures: not retried'
  END AS STRING) AS failure_reason,
  CAST(failure_category = 'INVALID_UPSTREAM' AS BOOL) AS can_retry,
  CAST(IF(failure_category = 'INVALID_UPSTREAM', 'INVALID_VALUE', NULL) AS STRING) AS failure_type,
  CAST(failure_category = 'INVALID_UPSTREAM' AS BOOL) AS is_correctable,
  CAST(NULL AS STRING) AS missing_dates,
  CAST(NULL AS INT64) AS expected_count,
  CAST(NULL AS INT64) AS actual_count,
  CAST(FALSE AS BOOL) AS raw_data_checked
FROM judged
