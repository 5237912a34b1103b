-- Phase 5: nba_predictions.player_prop_predictions — the moving-average baseline system
-- (spec §8, system 1): one row per player, game and system_id = 'moving_average_baseline', for
-- the players with a (non-placeholder) ML feature store row on the date.
--   * base = 0.5 x points_avg_last_5 + 0.3 x points_avg_last_10 + 0.2 x points_avg_season
--     (MLFS features 0, 1, 2 — already with their Phase 4 -> Phase 3 -> default fallbacks);
--   * + factor adjustments: PCF total_composite_adjustment (0 without a PCF row);
--   * + 0.5 at home / - 0.5 away (feature 15); the result is clamped to 0-60;
--   * confidence: base 0.5; volatility (feature 3, points_std_last_10) > 6 -> -0.15, > 4 -> -0.08;
--     games in the last 7 days (feature 4) >= 3 -> +0.10, = 2 -> +0.05, else -0.10; feature quality
--     tier gold +0.05, silver 0, bronze -0.05, poor / unusable -0.10; clamped to 0.2-0.8;
--   * recommendation vs the points line (MLFS points_line, else UPGC): PASS without a line or
--     when |predicted - line| < 1.5, else OVER / UNDER.
-- (No data_hash column: the BigQuery emulator mis-indexes the feature array when TO_HEX(SHA256())
-- appears in the same query, and the row is fully determined by its inputs anyway.)
WITH
mlfs AS (
  SELECT m.*
  FROM nba_predictions.ml_feature_store_v2 AS m
  WHERE m.game_date IN UNNEST(@dates) AND ARRAY_LENGTH(m.features) = 25
),
pcf AS (
  SELECT game_date, player_lookup, total_composite_adjustment
  FROM nba_precompute.player_composite_factors
  WHERE game_date IN UNNEST(@dates)
),
upgc AS (
  SELECT game_date, player_lookup, points_line
  FROM nba_analytics.upcoming_player_game_context
  WHERE game_date IN UNNEST(@dates)
),
base AS (
  SELECT m.player_lookup, m.universal_player_id, m.game_date, m.game_id, m.team_abbr, m.opponent_team_abbr,
         m.features[OFFSET(15)] = 1 AS is_home,
         m.features[OFFSET(0)] AS l5, m.features[OFFSET(1)] AS l10, m.features[OFFSET(2)] AS season,
         m.features[OFFSET(3)] AS volatility, m.features[OFFSET(4)] AS games_7d,
         0.5 * m.features[OFFSET(0)] + 0.3 * m.features[OFFSET(1)] + 0.2 * m.features[OFFSET(2)] AS base_prediction,
         IFNULL(c.total_composite_adjustment, 0.0) AS composite_adjustment,
         IF(m.features[OFFSET(15)] = 1, 0.5, -0.5) AS home_away_adjustment,
         COALESCE(m.points_line, u.points_line) AS points_line,
         m.feature_quality_score, m.quality_tier, m.feature_version
  FROM mlfs AS m
  LEFT JOIN pcf AS c ON c.game_date = m.game_date AND c.player_lookup = m.player_lookup
  LEFT JOIN upgc AS u ON u.game_date = m.game_date AND u.player_lookup = m.player_lookup
),
predicted AS (
  SELECT base.*,
         GREATEST(0.0, LEAST(60.0, base_prediction + composite_adjustment + home_away_adjustment)) AS predicted_points,
         GREATEST(0.2, LEAST(0.8,
           0.5
           + CASE WHEN volatility > 6 THEN -0.15 WHEN volatility > 4 THEN -0.08 ELSE 0.0 END
           + CASE WHEN games_7d >= 3 THEN 0.10 WHEN games_7d >= 2 THEN 0.05 ELSE -0.10 END
           + CASE quality_tier WHEN 'gold' THEN 0.05 WHEN 'silver' THEN 0.0 WHEN 'bronze' THEN -0.05
                               ELSE -0.10 END)) AS confidence_score
  FROM base
)
SELECT
  CAST(player_lookup AS STRING) AS player_lookup,
  CAST(universal_player_id AS STRING) AS universal_player_id,
  CAST(game_date AS DATE) AS game_date,
  CAST(game_id AS STRING) AS game_id,
  CAST('moving_average_baseline' AS STRING) AS system_id,
  CAST(team_abbr AS STRING) AS team_abbr,
  CAST(opponent_team_abbr AS STRING) AS opponent_team_abbr,
  CAST(is_home AS BOOL) AS is_home,
  CAST(predicted_points AS FLOAT64) AS predicted_points,
  CAST(confidence_score AS FLOAT64) AS confidence_score,
  CAST(CASE WHEN points_line IS NULL THEN 'PASS'
            WHEN ABS(predicted_points - points_line) < 1.5 THEN 'PASS'
            WHEN predicted_points > points_line THEN 'OVER'
            ELSE 'UNDER' END AS STRING) AS recommendation,
  CAST(points_line AS FLOAT64) AS points_line,
  CAST(predicted_points - points_line AS FLOAT64) AS line_margin,
  CAST(points_line IS NOT NULL AS BOOL) AS has_prop_line,
  CAST(base_prediction AS FLOAT64) AS base_prediction,
  CAST(composite_adjustment AS FLOAT64) AS composite_adjustment,
  CAST(home_away_adjustment AS FLOAT64) AS home_away_adjustment,
  CAST(l5 AS FLOAT64) AS points_avg_last_5,
  CAST(l10 AS FLOAT64) AS points_avg_last_10,
  CAST(season AS FLOAT64) AS points_avg_season,
  CAST(feature_quality_score AS FLOAT64) AS feature_quality_score,
  CAST(quality_tier AS STRING) AS quality_tier,
  CAST(feature_version AS STRING) AS feature_version
FROM predicted
