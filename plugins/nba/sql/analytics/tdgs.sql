-- Phase 3 · team_defense_game_summary (TDGS): one row per defending team per game.
--
-- Built by flipping the opponent's team box score: what the opponent scored and shot is what this
-- team allowed. Zones and blocks by zone come from the opponent's shot events (paint = 2-pt shot
-- from <= 8 ft, mid-range = 2-pt beyond 8 ft, three = shot_value 3); a blocked opponent shot was
-- blocked by a defender of this team (RAW_FORMAT: blocked_by_lookup is always a defender).
-- Three-point attempts/makes/points allowed come from the box score, so they exist without events;
-- paint/mid-range figures and blocks by zone are NULL when the game has no shot events.
-- Possessions are the game's (Dean Oliver, averaged over both teams, as in TOGS), so
-- defensive_rating = 100 * points allowed / opponent possessions equals the opponent's offensive rating.
WITH
box AS (
  SELECT
    t.game_id, t.game_date, t.season_year, t.team_abbr, t.opponent_team_abbr, t.is_home,
    t.points, t.fga, t.fgm, t.fg3a, t.fg3m, t.fta, t.ftm, t.oreb, t.dreb, t.stl, t.tov, t.minutes,
    CAST(t.fga AS FLOAT64) + 0.44 * t.fta - t.oreb + t.tov AS poss_estimate
  FROM nba_raw.nbac_team_boxscore AS t
  WHERE t.game_date IN UNNEST(@dates)
),
shots AS (
  -- per shooting team and game: the zones of its attempts and the blocks it suffered
  SELECT
    e.game_id, e.team_abbr AS shooting_team_abbr,
    COUNTIF(e.shot_value = 2 AND e.shot_distance_ft <= 8) AS paint_attempts,
    COUNTIF(e.shot_value = 2 AND e.shot_distance_ft <= 8 AND e.made) AS paint_makes,
    COUNTIF(e.shot_value = 2 AND e.shot_distance_ft > 8) AS mid_range_attempts,
    COUNTIF(e.shot_value = 2 AND e.shot_distance_ft > 8 AND e.made) AS mid_range_makes,
    COUNTIF(e.blocked_by_lookup IS NOT NULL AND e.shot_value = 2 AND e.shot_distance_ft <= 8) AS blocks_paint,
    COUNTIF(e.blocked_by_lookup IS NOT NULL AND e.shot_value = 2 AND e.shot_distance_ft > 8) AS blocks_mid_range,
    COUNTIF(e.blocked_by_lookup IS NOT NULL AND e.shot_value = 3) AS blocks_three_pt
  FROM nba_raw.bigdataball_shot_events AS e
  WHERE e.game_date IN UNNEST(@dates)
  GROUP BY e.game_id, e.team_abbr
),
event_games AS (
  SELECT DISTINCT game_id FROM shots
),
game AS (
  SELECT
    d.game_id, d.game_date, d.season_year, d.team_abbr AS defending_team_abbr,
    d.opponent_team_abbr, d.is_home, d.stl, d.dreb, d.points AS own_points,
    o.points AS points_allowed, o.fga AS opp_fga, o.fgm AS opp_fgm, o.fg3a AS opp_fg3a,
    o.fg3m AS opp_fg3m, o.minutes AS opp_minutes,
    (d.poss_estimate + o.poss_estimate) / 2 AS opponent_possessions,
    eg.game_id IS NOT NULL AS has_events,
    s.paint_attempts, s.paint_makes, s.mid_range_attempts, s.mid_range_makes,
    s.blocks_paint, s.blocks_mid_range, s.blocks_three_pt
  FROM box AS d
  JOIN box AS o ON o.game_id = d.game_id AND o.team_abbr = d.opponent_team_abbr
  LEFT JOIN event_games AS eg ON eg.game_id = d.game_id
  LEFT JOIN shots AS s ON s.game_id = d.game_id AND s.shooting_team_abbr = d.opponent_team_abbr
),
zoned AS (
  -- with events, an opponent without a shot in a zone has 0 there (not NULL)
  SELECT
    g.*,
    IF(has_events, IFNULL(paint_attempts, 0), NULL) AS z_paint_attempts,
    IF(has_events, IFNULL(paint_makes, 0), NULL) AS z_paint_makes,
    IF(has_events, IFNULL(mid_range_attempts, 0), NULL) AS z_mid_range_attempts,
    IF(has_events, IFNULL(mid_range_makes, 0), NULL) AS z_mid_range_makes,
    IF(has_events, IFNULL(blocks_paint, 0), NULL) AS z_blocks_paint,
    IF(has_events, IFNULL(blocks_mid_range, 0), NULL) AS z_blocks_mid_range,
    IF(has_events, IFNULL(blocks_three_pt, 0), NULL) AS z_blocks_three_pt
  FROM game AS g
)
SELECT
  CAST(game_id AS STRING) AS game_id,
  CAST(game_date AS DATE) AS game_date,
  CAST(season_year AS INT64) AS season_year,
  CAST(defending_team_abbr AS STRING) AS defending_team_abbr,
  CAST(opponent_team_abbr AS STRING) AS opponent_team_abbr,
  CAST(is_home AS BOOL) AS is_home,
  CAST(points_allowed AS INT64) AS points_allowed,
  CAST(opp_fga AS INT64) AS opp_fg_attempts,
  CAST(opp_fgm AS INT64) AS opp_fg_makes,
  CAST(z_paint_attempts AS INT64) AS opp_paint_attempts,
  CAST(z_paint_makes AS INT64) AS opp_paint_makes,
  CAST(z_mid_range_attempts AS INT64) AS opp_mid_range_attempts,
  CAST(z_mid_range_makes AS INT64) AS opp_mid_range_makes,
  CAST(opp_fg3a AS INT64) AS opp_three_pt_attempts,
  CAST(opp_fg3m AS INT64) AS opp_three_pt_makes,
  CAST(2 * z_paint_makes AS INT64) AS paint_points_allowed,
  CAST(2 * z_mid_range_makes AS INT64) AS mid_range_points_allowed,
  CAST(3 * opp_fg3m AS INT64) AS three_pt_points_allowed,
  CAST(z_blocks_paint AS INT64) AS blocks_paint,
  CAST(z_blocks_mid_range AS INT64) AS blocks_mid_range,
  CAST(z_blocks_three_pt AS INT64) AS blocks_three_pt,
  CAST(stl AS INT64) AS steals,
  CAST(dreb AS INT64) AS defensive_rebounds,
  CAST(SAFE_DIVIDE(100 * CAST(points_allowed AS FLOAT64), opponent_possessions) AS FLOAT64) AS defensive_rating,
  CAST(SAFE_DIVIDE(48 * opponent_possessions, CAST(opp_minutes AS FLOAT64) / 5) AS FLOAT64) AS opponent_pace,
  CAST(opponent_possessions AS FLOAT64) AS opponent_possessions,
  CAST(has_events AS BOOL) AS has_shot_zone_data,
  CAST(own_points > points_allowed AS BOOL) AS win_flag,
  -- 16 hex chars of SHA-256 over the row's values: keys, then a JSON array of integers (floats as
  -- fixed-point integers), so the hashed text is the same on BigQuery and DuckDB
  CAST(SUBSTR(TO_HEX(SHA256(CONCAT(
    IFNULL(game_id, ''), '|', IFNULL(defending_team_abbr, ''), '|', IFNULL(opponent_team_abbr, ''), '|',
    TO_JSON_STRING([own_points, points_allowed, opp_fga, opp_fgm, opp_fg3a, opp_fg3m, z_paint_attempts,
                    z_paint_makes, z_mid_range_attempts, z_mid_range_makes, z_blocks_paint, z_blocks_mid_range,
                    z_blocks_three_pt, stl, dreb, opp_minutes, CAST(ROUND(opponent_possessions * 100) AS INT64)])
  ))), 1, 16) AS STRING) AS data_hash
FROM zoned
