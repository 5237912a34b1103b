-- Phase 3 · upcoming_player_game_context (UPGC): one row per player per game on game_date.
--
-- Phase 2 raw only. Players: the gamebook's players of the date whose status is 'active' or 'dnp'
-- (an 'inactive' player was ruled out before the game). Every window is strictly BEFORE game_date
-- and inside the same season.
--
-- History: production reads 30 days of BDL box scores; this reproduction has no BDL feed, so the
-- NBA.com gamebook (nbac_gamebook_player_stats) is the box-score history instead: the 30 days
-- before game_date, like production's. A "game" in a player window is an ACTIVE gamebook row.
--   days_rest        calendar gap to the previous active game - 1 (NULL for the first game of the
--                    season; looks back to season start, not only 30 days)
--   back_to_back     raw gap = 1 (as HEAD does; the 12/10 code's days_rest = 0 test was a bug)
--   *_last_7/14_days games in [game_date - 7, game_date - 1] (resp. 14)
--   back_to_backs_last_14_days  consecutive-day pairs of active games inside the 14-day window
--   points_avg_last_5/10: the last 5/10 active games of the 30-day history
--   usage_rate_last_7: mean usage (PGS's formula on the gamebook row and its team box score) over
--     the games of the last 7 days
--   projected_usage_rate: the reference leaves it NULL ("TODO: future"); here it is the mean
--     usage over the last 10 active games (PCF's usage spike compares it with usage_rate_last_7)
--   team/opponent pace_last_10: mean game pace (TOGS formula) over the team's last 10 final games
--   team/opponent_days_rest: from the schedule (game_status = 3), gap - 1
--   star_teammates_out: teammates of the day with points_avg_last_10 >= 20 who are 'out' in the
--     injury report or 'inactive' in the gamebook
-- Completeness per window (L5, L10, L7d, L14d, L30d), in percent: games found ÷ games the team
-- played in the schedule (nbac_schedule, game_status = 3) over the same window, capped at 100
-- and 100 when the team played none. "Found" = the player's gamebook rows of any status (the
-- data exists; a DNP is not a data gap). L5/L10: the team's last 5/10 game dates on which the
-- player has a gamebook row.
-- Names: every source's spelling is read through the player registry (nba_analytics.player_registry,
-- as PGS does), so an alias puts a variant's rows under the player's roster name; a name the
-- registry could not resolve stays as the source spells it (the registry and PGS report it).
WITH
registry AS (
  SELECT r.game_date, r.source, r.team_abbr, r.source_lookup, r.player_lookup
  FROM nba_analytics.player_registry AS r
  WHERE r.game_date >= DATE_SUB(@start_date, INTERVAL 366 DAY) AND r.game_date <= @end_date
),
gamebook AS (
  SELECT g.game_id, g.game_date, g.season_year, COALESCE(reg.player_lookup, g.player_lookup) AS player_lookup,
         g.universal_player_id, g.team_abbr, g.opponent_team_abbr, g.is_home, g.player_status, g.minutes,
         g.points, g.fga, g.fta, g.tov
  FROM nba_raw.nbac_gamebook_player_stats AS g
  LEFT JOIN registry AS reg
    ON reg.source = 'gamebook' AND reg.game_date = g.game_date AND reg.team_abbr = g.team_abbr
   AND reg.source_lookup = g.player_lookup
  WHERE g.game_date >= DATE_SUB(@start_date, INTERVAL 366 DAY) AND g.game_date <= @end_date
),
day_players AS (
  -- every gamebook player of the batch's dates, any status (teammates count for stars out)
  SELECT g.game_id, g.game_date, g.season_year, g.player_lookup, g.universal_player_id, g.team_abbr,
         g.opponent_team_abbr, g.is_home, g.player_status AS gamebook_status
  FROM gamebook AS g
  WHERE g.game_date IN UNNEST(@dates)
),
game_pace AS (
  -- pace of each game of the season so far: Dean Oliver possessions averaged over both teams, per 48 minutes
  SELECT t.game_id,
         SAFE_DIVIDE(48 * AVG(CAST(t.fga AS FLOAT64) + 0.44 * t.fta - t.oreb + t.tov), MAX(t.minutes) / 5) AS pace
  FROM nba_raw.nbac_team_boxscore AS t
  WHERE t.game_date < @end_date AND t.game_date >= DATE_SUB(@start_date, INTERVAL 366 DAY)
  GROUP BY t.game_id
),
team_sched AS (
  -- per (batch date, team): the team's final scheduled games of the season before that date, newest first
  SELECT td.game_date AS gd, td.team_abbr, s.game_date AS sd, gp.pace,
         ROW_NUMBER() OVER (PARTITION BY td.game_date, td.team_abbr ORDER BY s.game_date DESC) AS rn
  FROM (SELECT DISTINCT game_date, season_year, team_abbr FROM day_players) AS td
  JOIN (
    SELECT s.game_id, s.game_date, s.season_year, team_abbr
    FROM nba_raw.nbac_schedule AS s
    CROSS JOIN UNNEST([s.home_team_abbr, s.away_team_abbr]) AS team_abbr
    WHERE s.game_status = 3 AND s.game_date < @end_date AND s.game_date >= DATE_SUB(@start_date, INTERVAL 366 DAY)
  ) AS s ON s.team_abbr = td.team_abbr AND s.season_year = td.season_year AND s.game_date < td.game_date
  LEFT JOIN game_pace AS gp ON gp.game_id = s.game_id
),
team_ctx AS (
  SELECT gd, team_abbr, MAX(sd) AS prev_game_date,
         AVG(IF(rn <= 10, pace, NULL)) AS pace_last_10,
         COUNTIF(rn <= 5) AS exp_l5, COUNTIF(rn <= 10) AS exp_l10,
         COUNTIF(sd >= DATE_SUB(gd, INTERVAL 7 DAY)) AS exp_l7d,
         COUNTIF(sd >= DATE_SUB(gd, INTERVAL 14 DAY)) AS exp_l14d,
         COUNTIF(sd >= DATE_SUB(gd, INTERVAL 30 DAY)) AS exp_l30d
  FROM team_sched
  GROUP BY gd, team_abbr
),
player_hist AS (
  -- each player of the batch x his gamebook rows (any status) from 30 days before the batch on: the
  -- gamebook is the box-score history here (production: 30 days of BDL box scores); in_window marks
  -- the 30 days before the row's own date
  SELECT
    d.game_date AS gd, d.player_lookup, h.game_date AS hd, h.player_status = 'active' AS active,
    h.game_date >= DATE_SUB(d.game_date, INTERVAL 30 DAY) AS in_window,
    h.minutes, h.points,
    100 * SAFE_DIVIDE(
      (CAST(h.fga AS FLOAT64) + 0.44 * h.fta + h.tov) * (CAST(t.minutes AS FLOAT64) / 5),
      h.minutes * (CAST(t.fga AS FLOAT64) + 0.44 * t.fta + t.tov)) AS usage_rate,
    -- the active games of the window, newest first, each with the previous one's date
    ROW_NUMBER() OVER w AS rn,
    LEAD(h.game_date) OVER w AS prev_hd
  FROM day_players AS d
  JOIN gamebook AS h
    ON h.player_lookup = d.player_lookup AND h.season_year = d.season_year AND h.game_date < d.game_date
  LEFT JOIN nba_raw.nbac_team_boxscore AS t
    ON t.game_id = h.game_id AND t.team_abbr = h.team_abbr
   AND t.game_date < @end_date AND t.game_date >= DATE_SUB(@start_date, INTERVAL 30 DAY)
  WHERE h.game_date < @end_date AND h.game_date >= DATE_SUB(@start_date, INTERVAL 30 DAY)
  WINDOW w AS (
    PARTITION BY d.game_date, d.player_lookup, h.player_status = 'active',
                 h.game_date >= DATE_SUB(d.game_date, INTERVAL 30 DAY)
    ORDER BY h.game_date DESC)
),
player_agg AS (
  SELECT
    gd, player_lookup,
    MAX(IF(active, hd, NULL)) AS recent_active_date,
    COUNTIF(active AND hd >= DATE_SUB(gd, INTERVAL 7 DAY)) AS games_7,
    COUNTIF(active AND hd >= DATE_SUB(gd, INTERVAL 14 DAY)) AS games_14,
    SUM(IF(active AND hd >= DATE_SUB(gd, INTERVAL 7 DAY), minutes, 0)) AS minutes_7,
    SUM(IF(active AND hd >= DATE_SUB(gd, INTERVAL 14 DAY), minutes, 0)) AS minutes_14,
    -- consecutive-day pairs of active games inside [gd - 14, gd - 1]
    COUNTIF(active AND in_window AND prev_hd >= DATE_SUB(gd, INTERVAL 14 DAY)
            AND DATE_DIFF(hd, prev_hd, DAY) = 1) AS b2b_14,
    AVG(IF(active AND hd >= DATE_SUB(gd, INTERVAL 7 DAY), usage_rate, NULL)) AS usage_7,
    AVG(IF(active AND in_window AND rn <= 5, points, NULL)) AS points_5,
    AVG(IF(active AND in_window AND rn <= 10, points, NULL)) AS points_10,
    AVG(IF(active AND in_window AND rn <= 10, usage_rate, NULL)) AS usage_10,
    COUNTIF(hd >= DATE_SUB(gd, INTERVAL 7 DAY)) AS found_l7d,
    COUNTIF(hd >= DATE_SUB(gd, INTERVAL 14 DAY)) AS found_l14d,
    COUNTIF(in_window) AS found_l30d
  FROM player_hist
  GROUP BY gd, player_lookup
),
earlier_active AS (
  -- each player's last active game more than 30 days before the batch's first date (days_rest
  -- looks back to season start; later games are in player_hist)
  SELECT g.player_lookup, g.season_year, MAX(g.game_date) AS last_active_date
  FROM gamebook AS g
  WHERE g.player_status = 'active' AND g.game_date < DATE_SUB(@start_date, INTERVAL 30 DAY)
    AND g.game_date >= DATE_SUB(@start_date, INTERVAL 366 DAY)
  GROUP BY g.player_lookup, g.season_year
),
player_games_found AS (
  -- L5/L10 data found: the team's last 5/10 scheduled dates on which the player has a gamebook row
  SELECT d.game_date AS gd, d.player_lookup,
         COUNTIF(t.rn <= 5 AND g.player_lookup IS NOT NULL) AS found_l5,
         COUNTIF(g.player_lookup IS NOT NULL) AS found_l10
  FROM day_players AS d
  JOIN team_sched AS t ON t.gd = d.game_date AND t.team_abbr = d.team_abbr AND t.rn <= 10
  LEFT JOIN gamebook AS g
    ON g.player_lookup = d.player_lookup AND g.game_date = t.sd
   AND g.game_date < @end_date AND g.game_date >= DATE_SUB(@start_date, INTERVAL 366 DAY)
  GROUP BY d.game_date, d.player_lookup
),
injuries AS (
  SELECT i.game_date, COALESCE(reg.player_lookup, i.player_lookup) AS player_lookup, i.injury_status
  FROM nba_raw.nbac_injury_report AS i
  LEFT JOIN registry AS reg
    ON reg.source = 'injuries' AND reg.game_date = i.game_date AND reg.team_abbr = i.team_abbr
   AND reg.source_lookup = i.player_lookup
  WHERE i.game_date BETWEEN @start_date AND @end_date
  -- one status per player and day: the most severe listing
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY i.game_date, COALESCE(reg.player_lookup, i.player_lookup)
    ORDER BY CASE i.injury_status WHEN 'out' THEN 0 WHEN 'doubtful' THEN 1 WHEN 'questionable' THEN 2
                                  WHEN 'probable' THEN 3 ELSE 4 END, i.team_abbr) = 1
),
props AS (
  -- one line per player and game: the first bookmaker by name (deterministic)
  SELECT p.game_id, COALESCE(reg.player_lookup, p.player_lookup) AS player_lookup, p.points_line
  FROM nba_raw.odds_api_player_points_props AS p
  LEFT JOIN registry AS reg
    ON reg.source = 'props' AND reg.game_date = p.game_date AND reg.team_abbr = p.team_abbr
   AND reg.source_lookup = p.player_lookup
  WHERE p.game_date BETWEEN @start_date AND @end_date
  QUALIFY ROW_NUMBER() OVER (PARTITION BY p.game_id, COALESCE(reg.player_lookup, p.player_lookup)
                             ORDER BY p.bookmaker, p.points_line) = 1
),
players AS (
  SELECT
    d.*,
    a.games_7, a.games_14, a.minutes_7, a.minutes_14, a.b2b_14, a.usage_7,
    a.points_5, a.points_10, a.usage_10, a.found_l7d, a.found_l14d, a.found_l30d,
    f.found_l5, f.found_l10, i.injury_status,
    -- the previous active game: in the 30-day history if there is one, else from the whole season
    COALESCE(a.recent_active_date, e.last_active_date) AS last_active_date,
    IF(a.points_10 >= 20 AND (d.gamebook_status = 'inactive' OR i.injury_status = 'out'), 1, 0) AS star_out
  FROM day_players AS d
  LEFT JOIN player_agg AS a ON a.gd = d.game_date AND a.player_lookup = d.player_lookup
  LEFT JOIN player_games_found AS f ON f.gd = d.game_date AND f.player_lookup = d.player_lookup
  LEFT JOIN earlier_active AS e ON e.player_lookup = d.player_lookup AND e.season_year = d.season_year
  LEFT JOIN injuries AS i ON i.game_date = d.game_date AND i.player_lookup = d.player_lookup
),
ctx AS (
  SELECT
    p.*,
    SUM(p.star_out) OVER (PARTITION BY p.game_date, p.team_abbr) - p.star_out AS stars_out,
    tc.prev_game_date AS team_prev_game_date, tc.pace_last_10 AS team_pace_last_10,
    IFNULL(tc.exp_l5, 0) AS exp_l5, IFNULL(tc.exp_l10, 0) AS exp_l10, IFNULL(tc.exp_l7d, 0) AS exp_l7d,
    IFNULL(tc.exp_l14d, 0) AS exp_l14d, IFNULL(tc.exp_l30d, 0) AS exp_l30d,
    oc.prev_game_date AS opp_prev_game_date, oc.pace_last_10 AS opp_pace_last_10,
    pr.points_line, r.birth_date, s.is_playoffs
  FROM players AS p
  LEFT JOIN team_ctx AS tc ON tc.gd = p.game_date AND tc.team_abbr = p.team_abbr
  LEFT JOIN team_ctx AS oc ON oc.gd = p.game_date AND oc.team_abbr = p.opponent_team_abbr
  LEFT JOIN props AS pr ON pr.game_id = p.game_id AND pr.player_lookup = p.player_lookup
  LEFT JOIN nba_raw.nbac_rosters AS r
    ON r.game_date = p.game_date AND r.player_lookup = p.player_lookup AND r.team_abbr = p.team_abbr
   AND r.game_date BETWEEN @start_date AND @end_date
  LEFT JOIN nba_raw.nbac_schedule AS s
    ON s.game_id = p.game_id AND s.game_date BETWEEN @start_date AND @end_date
),
final AS (
  SELECT
    game_id, game_date, season_year, player_lookup, universal_player_id, team_abbr, opponent_team_abbr, is_home,
    points_line IS NOT NULL AS has_prop_line,
    points_line,
    IFNULL(injury_status, 'available') AS player_status,
    DATE_DIFF(game_date, last_active_date, DAY) - 1 AS days_rest,
    IFNULL(DATE_DIFF(game_date, last_active_date, DAY) = 1, FALSE) AS back_to_back,
    IFNULL(games_7, 0) AS games_in_last_7_days,
    IFNULL(games_14, 0) AS games_in_last_14_days,
    IFNULL(minutes_7, 0) AS minutes_in_last_7_days,
    IFNULL(minutes_14, 0) AS minutes_in_last_14_days,
    IFNULL(b2b_14, 0) AS back_to_backs_last_14_days,
    SAFE_DIVIDE(minutes_7, games_7) AS avg_minutes_per_game_last_7,
    points_5 AS points_avg_last_5,
    points_10 AS points_avg_last_10,
    usage_7 AS usage_rate_last_7,
    usage_10 AS projected_usage_rate,
    team_pace_last_10,
    opp_pace_last_10 AS opponent_pace_last_10,
    team_pace_last_10 - opp_pace_last_10 AS pace_differential,
    stars_out AS star_teammates_out,
    DATE_DIFF(game_date, team_prev_game_date, DAY) - 1 AS team_days_rest,
    DATE_DIFF(game_date, opp_prev_game_date, DAY) - 1 AS opponent_days_rest,
    IF(IFNULL(is_playoffs, FALSE), 'playoffs', 'regular_season') AS season_phase,
    EXTRACT(YEAR FROM game_date) - EXTRACT(YEAR FROM birth_date)
      - IF(EXTRACT(MONTH FROM game_date) * 100 + EXTRACT(DAY FROM game_date)
           < EXTRACT(MONTH FROM birth_date) * 100 + EXTRACT(DAY FROM birth_date), 1, 0) AS player_age,
    IF(exp_l5 = 0, 100.0, 100 * SAFE_DIVIDE(LEAST(IFNULL(found_l5, 0), exp_l5), exp_l5)) AS l5_completeness_pct,
    IF(exp_l10 = 0, 100.0, 100 * SAFE_DIVIDE(LEAST(IFNULL(found_l10, 0), exp_l10), exp_l10)) AS l10_completeness_pct,
    IF(exp_l7d = 0, 100.0, 100 * SAFE_DIVIDE(LEAST(IFNULL(found_l7d, 0), exp_l7d), exp_l7d)) AS l7d_completeness_pct,
    IF(exp_l14d = 0, 100.0, 100 * SAFE_DIVIDE(LEAST(IFNULL(found_l14d, 0), exp_l14d), exp_l14d)) AS l14d_completeness_pct,
    IF(exp_l30d = 0, 100.0, 100 * SAFE_DIVIDE(LEAST(IFNULL(found_l30d, 0), exp_l30d), exp_l30d)) AS l30d_completeness_pct,
    exp_l30d AS l30d_expected_games,
    LEAST(IFNULL(found_l30d, 0), exp_l30d) AS l30d_found_games
  FROM ctx
  WHERE gamebook_status IN ('active', 'dnp')
)
SELECT
  CAST(game_id AS STRING) AS game_id,
  CAST(game_date AS DATE) AS game_date,
  CAST(season_year AS INT64) AS season_year,
  CAST(player_lookup AS STRING) AS player_lookup,
  CAST(universal_player_id AS STRING) AS universal_player_id,
  CAST(team_abbr AS STRING) AS team_abbr,
  CAST(opponent_team_abbr AS STRING) AS opponent_team_abbr,
  CAST(is_home AS BOOL) AS is_home,
  CAST(has_prop_line AS BOOL) AS has_prop_line,
  CAST(points_line AS FLOAT64) AS points_line,
  CAST(player_status AS STRING) AS player_status,
  CAST(days_rest AS INT64) AS days_rest,
  CAST(back_to_back AS BOOL) AS back_to_back,
  CAST(games_in_last_7_days AS INT64) AS games_in_last_7_days,
  CAST(games_in_last_14_days AS INT64) AS games_in_last_14_days,
  CAST(minutes_in_last_7_days AS FLOAT64) AS minutes_in_last_7_days,
  CAST(minutes_in_last_14_days AS FLOAT64) AS minutes_in_last_14_days,
  CAST(back_to_backs_last_14_days AS INT64) AS back_to_backs_last_14_days,
  CAST(avg_minutes_per_game_last_7 AS FLOAT64) AS avg_minutes_per_game_last_7,
  CAST(points_avg_last_5 AS FLOAT64) AS points_avg_last_5,
  CAST(points_avg_last_10 AS FLOAT64) AS points_avg_last_10,
  CAST(usage_rate_last_7 AS FLOAT64) AS usage_rate_last_7,
  CAST(projected_usage_rate AS FLOAT64) AS projected_usage_rate,
  CAST(team_pace_last_10 AS FLOAT64) AS team_pace_last_10,
  CAST(opponent_pace_last_10 AS FLOAT64) AS opponent_pace_last_10,
  CAST(pace_differential AS FLOAT64) AS pace_differential,
  CAST(star_teammates_out AS INT64) AS star_teammates_out,
  CAST(team_days_rest AS INT64) AS team_days_rest,
  CAST(opponent_days_rest AS INT64) AS opponent_days_rest,
  CAST(season_phase AS STRING) AS season_phase,
  CAST(player_age AS INT64) AS player_age,
  CAST(l5_completeness_pct AS FLOAT64) AS l5_completeness_pct,
  CAST(l10_completeness_pct AS FLOAT64) AS l10_completeness_pct,
  CAST(l7d_completeness_pct AS FLOAT64) AS l7d_completeness_pct,
  CAST(l14d_completeness_pct AS FLOAT64) AS l14d_completeness_pct,
  CAST(l30d_completeness_pct AS FLOAT64) AS l30d_completeness_pct,
  CAST(l30d_expected_games AS INT64) AS l30d_expected_games,
  CAST(l30d_found_games AS INT64) AS l30d_found_games,
  -- 16 hex chars of SHA-256 over the row's values: keys, then a JSON array of integers (floats as
  -- fixed-point integers), so the hashed text is the same on BigQuery and DuckDB
  CAST(SUBSTR(TO_HEX(SHA256(CONCAT(
    IFNULL(game_id, ''), '|', IFNULL(player_lookup, ''), '|', IFNULL(team_abbr, ''), '|',
    IFNULL(player_status, ''), '|', IFNULL(season_phase, ''), '|',
    TO_JSON_STRING([
      CAST(ROUND(points_line * 10) AS INT64), days_rest, games_in_last_7_days, games_in_last_14_days,
      CAST(ROUND(minutes_in_last_7_days * 100) AS INT64), CAST(ROUND(minutes_in_last_14_days * 100) AS INT64),
      back_to_backs_last_14_days, CAST(ROUND(points_avg_last_5 * 1000) AS INT64),
      CAST(ROUND(points_avg_last_10 * 1000) AS INT64), CAST(ROUND(usage_rate_last_7 * 1000) AS INT64),
      CAST(ROUND(projected_usage_rate * 1000) AS INT64), CAST(ROUND(team_pace_last_10 * 1000) AS INT64),
      CAST(ROUND(opponent_pace_last_10 * 1000) AS INT64), star_teammates_out, team_days_rest,
      opponent_days_rest, player_age, CAST(ROUND(l5_completeness_pct * 100) AS INT64),
      CAST(ROUND(l10_completeness_pct * 100) AS INT64), CAST(ROUND(l7d_completeness_pct * 100) AS INT64),
      CAST(ROUND(l14d_completeness_pct * 100) AS INT64), CAST(ROUND(l30d_completeness_pct * 100) AS INT64)])
  ))), 1, 16) AS STRING) AS data_hash
FROM final
