-- Phase 3 · upcoming_team_game_context (UTGC): 2 rows per scheduled game on game_date (home and away).
--
-- Phase 2 raw only. The rows come from the schedule (the independent truth): every game scheduled on
-- the date, whatever its status (the context is pregame), one row per side. Every window is strictly
-- BEFORE game_date and inside the same season; "a game" in a window is a final (game_status = 3)
-- scheduled game.
--   game_number_in_season   the team's final games before the date + 1
--   days_since_last_game    calendar gap to the previous final game (NULL for the first game)
--   team_days_rest          that gap - 1 (the docs' days_rest); team_back_to_back: gap = 1 (as HEAD)
--   games_in_last_7/14_days final games in [game_date - 7, game_date - 1] (resp. 14)
--   opponent_days_rest / opponent_back_to_back: the same for the opponent
--   game_spread / game_total / spread_movement / total_movement: NULL, always: the simulated raw bucket
--     has no game-lines feed (production: odds_api_game_lines, an optional source)
--   starters_out_count      starters of the team's previous final game (gamebook `starter`) listed `out`
--                           in the day's injury report (one status per player: the most severe)
--   questionable_players_count  the team's players listed `questionable` or `doubtful` that day
--   team_win/loss_streak_entering  consecutive wins (losses) ending at the team's last game with a box
--                           score (nbac_team_boxscore: points vs the opponent's); 0 when the last game
--                           went the other way or there is none
--   last_game_margin / last_game_result ('W' / 'L'): that last game (NULL before the first)
--   travel_miles            great-circle miles from the previous final game's arena (the home team's
--                           city below) to this game's; the first game of the season starts from home
WITH
day_teams AS (
  SELECT s.game_id, s.game_date, s.season_year, s.home_team_abbr AS team_abbr,
         s.away_team_abbr AS opponent_team_abbr, TRUE AS home_game, s.home_team_abbr AS venue_team_abbr
  FROM nba_raw.nbac_schedule AS s
  WHERE s.game_date IN UNNEST(@dates)
  UNION ALL
  SELECT s.game_id, s.game_date, s.season_year, s.away_team_abbr, s.home_team_abbr, FALSE, s.home_team_abbr
  FROM nba_raw.nbac_schedule AS s
  WHERE s.game_date IN UNNEST(@dates)
),
batch_teams AS (
  -- each team of the batch's dates, and the opponent's entry for opponent rest
  SELECT DISTINCT game_date, season_year, team_abbr FROM day_teams
),
sched_hist AS (
  -- the final scheduled games of each team up to the batch, with where they were played
  SELECT s.game_date, s.season_year, s.home_team_abbr AS team_abbr, s.home_team_abbr AS venue_team_abbr
  FROM nba_raw.nbac_schedule AS s
  WHERE s.game_status = 3 AND s.game_date < @end_date AND s.game_date >= DATE_SUB(@start_date, INTERVAL 366 DAY)
  UNION ALL
  SELECT s.game_date, s.season_year, s.away_team_abbr, s.home_team_abbr
  FROM nba_raw.nbac_schedule AS s
  WHERE s.game_status = 3 AND s.game_date < @end_date AND s.game_date >= DATE_SUB(@start_date, INTERVAL 366 DAY)
),
team_sched AS (
  -- per (batch date, team): the team's final games of the season before that date, newest first
  SELECT b.game_date AS gd, b.team_abbr, h.game_date AS sd, h.venue_team_abbr,
         ROW_NUMBER() OVER (PARTITION BY b.game_date, b.team_abbr ORDER BY h.game_date DESC) AS rn
  FROM batch_teams AS b
  JOIN sched_hist AS h ON h.team_abbr = b.team_abbr AND h.season_year = b.season_year AND h.game_date < b.game_date
),
sched_ctx AS (
  SELECT gd, team_abbr, COUNT(*) AS games_before, MAX(sd) AS prev_game_date,
         MAX(IF(rn = 1, venue_team_abbr, NULL)) AS prev_venue,
         COUNTIF(sd >= DATE_SUB(gd, INTERVAL 7 DAY)) AS games_7,
         COUNTIF(sd >= DATE_SUB(gd, INTERVAL 14 DAY)) AS games_14
  FROM team_sched
  GROUP BY gd, team_abbr
),
results AS (
  -- each team's games with a box score: the margin against the opponent's box score
  SELECT t.game_date, t.season_year, t.team_abbr, t.points - o.points AS margin
  FROM nba_raw.nbac_team_boxscore AS t
  JOIN nba_raw.nbac_team_boxscore AS o
    ON o.game_id = t.game_id AND o.team_abbr = t.opponent_team_abbr
   AND o.game_date < @end_date AND o.game_date >= DATE_SUB(@start_date, INTERVAL 366 DAY)
  WHERE t.game_date < @end_date AND t.game_date >= DATE_SUB(@start_date, INTERVAL 366 DAY)
),
form AS (
  SELECT b.game_date AS gd, b.team_abbr, r.margin, r.margin > 0 AS won,
         ROW_NUMBER() OVER w AS rn,
         FIRST_VALUE(r.margin > 0) OVER w AS last_won
  FROM batch_teams AS b
  JOIN results AS r ON r.team_abbr = b.team_abbr AND r.season_year = b.season_year AND r.game_date < b.game_date
  WINDOW w AS (PARTITION BY b.game_date, b.team_abbr ORDER BY r.game_date DESC)
),
form_ctx AS (
  -- the streak: the games before the first one that went the other way (all of them if none did)
  SELECT gd, team_abbr,
         MAX(IF(rn = 1, margin, NULL)) AS last_margin,
         COALESCE(MIN(IF(won != last_won, rn, NULL)) - 1, COUNT(*)) AS streak
  FROM form
  GROUP BY gd, team_abbr
),
injuries AS (
  SELECT i.game_date, i.team_abbr, i.player_lookup, i.injury_status
  FROM nba_raw.nbac_injury_report AS i
  WHERE i.game_date IN UNNEST(@dates)
  -- one status per player and day: the most severe listing
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY i.game_date, i.player_lookup
    ORDER BY CASE i.injury_status WHEN 'out' THEN 0 WHEN 'doubtful' THEN 1 WHEN 'questionable' THEN 2
                                  WHEN 'probable' THEN 3 ELSE 4 END, i.team_abbr) = 1
),
prev_starters AS (
  -- the starters of each team's previous final game
  SELECT DISTINCT ts.gd, ts.team_abbr, g.player_lookup
  FROM team_sched AS ts
  JOIN nba_raw.nbac_gamebook_player_stats AS g
    ON g.game_date = ts.sd AND g.team_abbr = ts.team_abbr AND g.starter
   AND g.game_date < @end_date AND g.game_date >= DATE_SUB(@start_date, INTERVAL 366 DAY)
  WHERE ts.rn = 1
),
personnel AS (
  SELECT i.game_date AS gd, i.team_abbr,
         COUNTIF(i.injury_status = 'out' AND ps.player_lookup IS NOT NULL) AS starters_out,
         COUNTIF(i.injury_status IN ('questionable', 'doubtful')) AS questionable
  FROM injuries AS i
  LEFT JOIN prev_starters AS ps
    ON ps.gd = i.game_date AND ps.team_abbr = i.team_abbr AND ps.player_lookup = i.player_lookup
  GROUP BY i.game_date, i.team_abbr
),
venues AS (
  -- each team's home arena (degrees; city-level precision is plenty for travel miles)
  SELECT 'ATL' AS team_abbr, 33.757 AS lat, -84.396 AS lon UNION ALL SELECT 'BKN', 40.683, -73.976
  UNION ALL SELECT 'BOS', 42.366, -71.062 UNION ALL SELECT 'CHA', 35.225, -80.839
  UNION ALL SELECT 'CHI', 41.881, -87.674 UNION ALL SELECT 'CLE', 41.496, -81.688
  UNION ALL SELECT 'DAL', 32.790, -96.810 UNION ALL SELECT 'DEN', 39.749, -105.008
  UNION ALL SELECT 'DET', 42.341, -83.055 UNION ALL SELECT 'GSW', 37.768, -122.388
  UNION ALL SELECT 'HOU', 29.751, -95.362 UNION ALL SELECT 'IND', 39.764, -86.156
  UNION ALL SELECT 'LAC', 34.043, -118.267 UNION ALL SELECT 'LAL', 34.043, -118.267
  UNION ALL SELECT 'MEM', 35.138, -90.051 UNION ALL SELECT 'MIA', 25.781, -80.188
  UNION ALL SELECT 'MIL', 43.045, -87.917 UNION ALL SELECT 'MIN', 44.980, -93.276
  UNION ALL SELECT 'NOP', 29.949, -90.082 UNION ALL SELECT 'NYK', 40.751, -73.993
  UNION ALL SELECT 'OKC', 35.463, -97.515 UNION ALL SELECT 'ORL', 28.539, -81.384
  UNION ALL SELECT 'PHI', 39.901, -75.172 UNION ALL SELECT 'PHX', 33.446, -112.071
  UNION ALL SELECT 'POR', 45.532, -122.667 UNION ALL SELECT 'SAC', 38.580, -121.500
  UNION ALL SELECT 'SAS', 29.427, -98.438 UNION ALL SELECT 'TOR', 43.643, -79.379
  UNION ALL SELECT 'UTA', 40.768, -111.901 UNION ALL SELECT 'WAS', 38.898, -77.021
),
ctx AS (
  SELECT d.*,
         IFNULL(sc.games_before, 0) + 1 AS game_number_in_season,
         DATE_DIFF(d.game_date, sc.prev_game_date, DAY) AS gap,
         DATE_DIFF(d.game_date, oc.prev_game_date, DAY) AS opp_gap,
         IFNULL(sc.games_7, 0) AS games_7, IFNULL(sc.games_14, 0) AS games_14,
         IFNULL(p.starters_out, 0) AS starters_out, IFNULL(p.questionable, 0) AS questionable,
         f.last_margin, IFNULL(f.streak, 0) AS streak,
         -- haversine, earth radius 3958.8 miles; ACOS(-1) is pi
         3958.8 * 2 * ASIN(SQRT(
           POW(SIN((vt.lat - vf.lat) * ACOS(-1) / 360), 2)
           + COS(vf.lat * ACOS(-1) / 180) * COS(vt.lat * ACOS(-1) / 180) * POW(SIN((vt.lon - vf.lon) * ACOS(-1) / 360), 2)
         )) AS miles
  FROM day_teams AS d
  LEFT JOIN sched_ctx AS sc ON sc.gd = d.game_date AND sc.team_abbr = d.team_abbr
  LEFT JOIN sched_ctx AS oc ON oc.gd = d.game_date AND oc.team_abbr = d.opponent_team_abbr
  LEFT JOIN form_ctx AS f ON f.gd = d.game_date AND f.team_abbr = d.team_abbr
  LEFT JOIN personnel AS p ON p.gd = d.game_date AND p.team_abbr = d.team_abbr
  LEFT JOIN venues AS vf ON vf.team_abbr = COALESCE(sc.prev_venue, d.team_abbr)
  LEFT JOIN venues AS vt ON vt.team_abbr = d.venue_team_abbr
),
final AS (
  SELECT
    game_id, game_date, season_year, team_abbr, opponent_team_abbr, home_game, game_number_in_season,
    gap AS days_since_last_game,
    gap - 1 AS team_days_rest,
    IFNULL(gap = 1, FALSE) AS team_back_to_back,
    games_7 AS games_in_last_7_days,
    games_14 AS games_in_last_14_days,
    opp_gap - 1 AS opponent_days_rest,
    IFNULL(opp_gap = 1, FALSE) AS opponent_back_to_back,
    starters_out AS starters_out_count,
    questionable AS questionable_players_count,
    IF(last_margin > 0, streak, 0) AS team_win_streak_entering,
    IF(last_margin <= 0, streak, 0) AS team_loss_streak_entering,
    last_margin AS last_game_margin,
    CASE WHEN last_margin > 0 THEN 'W' WHEN last_margin <= 0 THEN 'L' END AS last_game_result,
    CAST(ROUND(miles) AS INT64) AS travel_miles
  FROM ctx
)
SELECT
  CAST(game_id AS STRING) AS game_id,
  CAST(game_date AS DATE) AS game_date,
  CAST(season_year AS INT64) AS season_year,
  CAST(team_abbr AS STRING) AS team_abbr,
  CAST(opponent_team_abbr AS STRING) AS opponent_team_abbr,
  CAST(home_game AS BOOL) AS home_game,
  CAST(game_number_in_season AS INT64) AS game_number_in_season,
  CAST(days_since_last_game AS INT64) AS days_since_last_game,
  CAST(team_days_rest AS INT64) AS team_days_rest,
  CAST(team_back_to_back AS BOOL) AS team_back_to_back,
  CAST(games_in_last_7_days AS INT64) AS games_in_last_7_days,
  CAST(games_in_last_14_days AS INT64) AS games_in_last_14_days,
  CAST(opponent_days_rest AS INT64) AS opponent_days_rest,
  CAST(opponent_back_to_back AS BOOL) AS opponent_back_to_back,
  CAST(NULL AS FLOAT64) AS game_spread,
  CAST(NULL AS FLOAT64) AS game_total,
  CAST(NULL AS FLOAT64) AS spread_movement,
  CAST(NULL AS FLOAT64) AS total_movement,
  CAST(starters_out_count AS INT64) AS starters_out_count,
  CAST(questionable_players_count AS INT64) AS questionable_players_count,
  CAST(team_win_streak_entering AS INT64) AS team_win_streak_entering,
  CAST(team_loss_streak_entering AS INT64) AS team_loss_streak_entering,
  CAST(last_game_margin AS INT64) AS last_game_margin,
  CAST(last_game_result AS STRING) AS last_game_result,
  CAST(travel_miles AS INT64) AS travel_miles,
  -- 16 hex chars of SHA-256 over the row's values (integers only, so the same text on both engines)
  CAST(SUBSTR(TO_HEX(SHA256(CONCAT(
    IFNULL(game_id, ''), '|', IFNULL(team_abbr, ''), '|', IFNULL(last_game_result, ''), '|',
    TO_JSON_STRING([
      game_number_in_season, days_since_last_game, games_in_last_7_days, games_in_last_14_days,
      opponent_days_rest, starters_out_count, questionable_players_count, team_win_streak_entering,
      team_loss_streak_entering, last_game_margin, travel_miles])
  ))), 1, 16) AS STRING) AS data_hash
FROM final
