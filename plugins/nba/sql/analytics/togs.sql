-- Phase 3 · team_offense_game_summary (TOGS): one row per team per game, from the team box score.
--
-- possessions: Dean Oliver's estimate FGA + 0.44*FTA - OREB + TOV, averaged over both teams of
-- the game (so both teams of a game have the same possessions); pace = possessions per 48
-- minutes = 48 * possessions / (team minutes / 5); offensive_rating = 100 * points / possessions.
WITH
box AS (
  SELECT
    t.game_id, t.game_date, t.season_year, t.team_abbr, t.opponent_team_abbr, t.is_home,
    t.points, t.fga, t.fgm, t.fg3a, t.fg3m, t.fta, t.ftm, t.oreb, t.tov, t.minutes,
    CAST(t.fga AS FLOAT64) + 0.44 * t.fta - t.oreb + t.tov AS poss_estimate
  FROM nba_raw.nbac_team_boxscore AS t
  WHERE t.game_date IN UNNEST(@dates)
),
game AS (
  SELECT
    b.*,
    o.points AS opp_points,
    (b.poss_estimate + o.poss_estimate) / 2 AS possessions
  FROM box AS b
  JOIN box AS o ON o.game_id = b.game_id AND o.team_abbr = b.opponent_team_abbr
)
SELECT
  CAST(game_id AS STRING) AS game_id,
  CAST(game_date AS DATE) AS game_date,
  CAST(season_year AS INT64) AS season_year,
  CAST(team_abbr AS STRING) AS team_abbr,
  CAST(opponent_team_abbr AS STRING) AS opponent_team_abbr,
  CAST(is_home AS BOOL) AS is_home,
  CAST(points AS INT64) AS points,
  CAST(fga AS INT64) AS fg_attempts,
  CAST(fgm AS INT64) AS fg_makes,
  CAST(fg3a AS INT64) AS three_pt_attempts,
  CAST(fg3m AS INT64) AS three_pt_makes,
  CAST(fta AS INT64) AS ft_attempts,
  CAST(ftm AS INT64) AS ft_makes,
  CAST(oreb AS INT64) AS offensive_rebounds,
  CAST(tov AS INT64) AS turnovers,
  CAST(possessions AS FLOAT64) AS possessions,
  CAST(SAFE_DIVIDE(48 * possessions, CAST(minutes AS FLOAT64) / 5) AS FLOAT64) AS pace,
  CAST(SAFE_DIVIDE(100 * CAST(points AS FLOAT64), possessions) AS FLOAT64) AS offensive_rating,
  CAST(points > opp_points AS BOOL) AS win_flag,
  CAST(points - opp_points AS INT64) AS margin,
  CAST(minutes AS INT64) AS minutes,
  CAST(opp_points AS INT64) AS opponent_points,
  -- 16 hex chars of SHA-256 over the row's values: keys, then a JSON array of integers (floats as
  -- fixed-point integers), so the hashed text is the same on BigQuery and DuckDB
  CAST(SUBSTR(TO_HEX(SHA256(CONCAT(
    IFNULL(game_id, ''), '|', IFNULL(team_abbr, ''), '|', IFNULL(opponent_team_abbr, ''), '|',
    TO_JSON_STRING([points, opp_points, fga, fgm, fg3a, fg3m, fta, ftm, oreb, tov, minutes,
                    CAST(ROUND(possessions * 100) AS INT64)])
  ))), 1, 16) AS STRING) AS data_hash
FROM game
