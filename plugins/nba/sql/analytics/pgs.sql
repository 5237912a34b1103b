-- Phase 3 · player_game_summary (PGS): one row per ACTIVE gamebook player per game.
--
-- Box-score stats from the gamebook (player_status = 'active'), shot zones and assisted makes
-- from the play-by-play shot events (BigDataBall), usage from the player's team box score,
-- the points line from the props. Zones: paint = 2-pt shot from <= 8 ft, mid-range = 2-pt
-- shot beyond 8 ft, three = shot_value 3 (counted from the box score).
-- A game without a shot-event file keeps its rows, with NULL zones and has_shot_zone_data FALSE.
--
-- Failures (nba_processing.analytics_failures): PROCESSING_ERROR only for impossible data — a
-- broken points identity, box-score counts that contradict each other, shot events that disagree
-- with the box score when the game has events, or events by a player who was not active. Such a
-- player gets a failure row instead of an output row.
-- Names: the gamebook's and the props' spellings are read through the player registry
-- (nba_analytics.player_registry). A gamebook name the registry could not resolve while it resolved
-- the team's other names of the day is a REGISTRY_LOOKUP_FAILED failure (entity: the name as seen;
-- the reason gives the team's closest roster name), not a row under a name no other source uses.
WITH
registry AS (
  SELECT r.game_date, r.source, r.team_abbr, r.source_lookup, r.player_lookup, r.universal_player_id,
         r.resolved_via
  FROM nba_analytics.player_registry AS r
  WHERE r.game_date IN UNNEST(@dates) AND r.source IN ('gamebook', 'props')
),
registered_teams AS (
  SELECT DISTINCT game_date, team_abbr FROM registry WHERE source = 'gamebook'
),
box AS (
  SELECT
    g.game_id, g.game_date, g.season_year, COALESCE(reg.player_lookup, g.player_lookup) AS player_lookup,
    IF(reg.resolved_via = 'alias', reg.universal_player_id, g.universal_player_id) AS universal_player_id,
    g.player_name, reg.player_lookup IS NULL AND rt.team_abbr IS NOT NULL AS unregistered,
    g.team_abbr, g.opponent_team_abbr, g.is_home, g.starter, g.minutes,
    g.points, g.fgm, g.fga, g.fg3m, g.fg3a, g.ftm, g.fta, g.oreb, g.dreb, g.reb, g.ast, g.stl,
    g.blk, g.tov, g.pf, g.plus_minus
  FROM nba_raw.nbac_gamebook_player_stats AS g
  LEFT JOIN registry AS reg
    ON reg.source = 'gamebook' AND reg.game_date = g.game_date AND reg.team_abbr = g.team_abbr
   AND reg.source_lookup = g.player_lookup
  LEFT JOIN registered_teams AS rt ON rt.game_date = g.game_date AND rt.team_abbr = g.team_abbr
  WHERE g.game_date IN UNNEST(@dates) AND g.player_status = 'active'
),
closest AS (
  -- an unregistered name's nearest roster name on its team (edit distance, then by name)
  SELECT b.game_id, b.player_lookup, r.player_lookup AS suggestion
  FROM box AS b
  JOIN nba_raw.nbac_rosters AS r ON r.game_date = b.game_date AND r.team_abbr = b.team_abbr
  WHERE b.unregistered AND r.game_date IN UNNEST(@dates)
  QUALIFY ROW_NUMBER() OVER (PARTITION BY b.game_id, b.player_lookup
                             ORDER BY EDIT_DISTANCE(b.player_lookup, r.player_lookup), r.player_lookup) = 1
),
events AS (
  SELECT e.game_id, e.game_date, e.team_abbr, e.player_lookup, e.shot_value, e.shot_distance_ft,
         e.made, e.assisted
  FROM nba_raw.bigdataball_shot_events AS e
  WHERE e.game_date IN UNNEST(@dates)
),
event_games AS (
  SELECT DISTINCT game_id FROM events
),
shots AS (
  SELECT
    game_id, game_date, team_abbr, player_lookup,
    COUNT(*) AS ev_fga,
    COUNTIF(made) AS ev_fgm,
    COUNTIF(shot_value = 3) AS ev_fg3a,
    COUNTIF(shot_value = 3 AND made) AS ev_fg3m,
    COUNTIF(shot_value = 2 AND shot_distance_ft <= 8) AS paint_attempts,
    COUNTIF(shot_value = 2 AND shot_distance_ft <= 8 AND made) AS paint_makes,
    COUNTIF(shot_value = 2 AND shot_distance_ft > 8) AS mid_range_attempts,
    COUNTIF(shot_value = 2 AND shot_distance_ft > 8 AND made) AS mid_range_makes,
    COUNTIF(made AND assisted) AS assisted_fg_makes,
    COUNTIF(made AND NOT IFNULL(assisted, FALSE)) AS unassisted_fg_makes,
    -- events that cannot exist: an unknown shot value, a 2 without a distance, an assisted miss
    COUNTIF(shot_value IS NULL OR shot_value NOT IN (2, 3) OR made IS NULL
            OR (shot_value = 2 AND shot_distance_ft IS NULL)
            OR (IFNULL(assisted, FALSE) AND NOT made)) AS bad_events
  FROM events
  GROUP BY game_id, game_date, team_abbr, player_lookup
),
team AS (
  SELECT t.game_id, t.team_abbr, t.minutes, t.fga, t.fta, t.tov
  FROM nba_raw.nbac_team_boxscore AS t
  WHERE t.game_date IN UNNEST(@dates)
),
props AS (
  SELECT p.game_id, COALESCE(reg.player_lookup, p.player_lookup) AS player_lookup, p.points_line
  FROM nba_raw.odds_api_player_points_props AS p
  LEFT JOIN registry AS reg
    ON reg.source = 'props' AND reg.game_date = p.game_date AND reg.team_abbr = p.team_abbr
   AND reg.source_lookup = p.player_lookup
  WHERE p.game_date IN UNNEST(@dates)
  -- one line per player and game: the first bookmaker by name (deterministic)
  QUALIFY ROW_NUMBER() OVER (PARTITION BY p.game_id, COALESCE(reg.player_lookup, p.player_lookup)
                             ORDER BY p.bookmaker, p.points_line) = 1
),
joined AS (
  SELECT
    COALESCE(b.game_id, s.game_id) AS game_id,
    COALESCE(b.game_date, s.game_date) AS game_date,
    COALESCE(b.player_lookup, s.player_lookup) AS player_lookup,
    COALESCE(b.team_abbr, s.team_abbr) AS team_abbr,
    b.game_id IS NOT NULL AS in_box,
    IFNULL(b.unregistered, FALSE) AS unregistered, cl.suggestion,
    eg.game_id IS NOT NULL AS has_events,
    b.season_year, b.universal_player_id, b.player_name, b.opponent_team_abbr, b.is_home, b.starter,
    b.minutes, b.points, b.fgm, b.fga, b.fg3m, b.fg3a, b.ftm, b.fta, b.oreb, b.dreb, b.reb, b.ast,
    b.stl, b.blk, b.tov, b.pf, b.plus_minus,
    IFNULL(s.ev_fga, 0) AS ev_fga, IFNULL(s.ev_fgm, 0) AS ev_fgm,
    IFNULL(s.ev_fg3a, 0) AS ev_fg3a, IFNULL(s.ev_fg3m, 0) AS ev_fg3m,
    IFNULL(s.bad_events, 0) AS bad_events,
    IF(eg.game_id IS NULL, NULL, IFNULL(s.paint_attempts, 0)) AS paint_attempts,
    IF(eg.game_id IS NULL, NULL, IFNULL(s.paint_makes, 0)) AS paint_makes,
    IF(eg.game_id IS NULL, NULL, IFNULL(s.mid_range_attempts, 0)) AS mid_range_attempts,
    IF(eg.game_id IS NULL, NULL, IFNULL(s.mid_range_makes, 0)) AS mid_range_makes,
    IF(eg.game_id IS NULL, NULL, IFNULL(s.assisted_fg_makes, 0)) AS assisted_fg_makes,
    IF(eg.game_id IS NULL, NULL, IFNULL(s.unassisted_fg_makes, 0)) AS unassisted_fg_makes,
    t.minutes AS team_minutes, t.fga AS team_fga, t.fta AS team_fta, t.tov AS team_tov,
    pr.points_line
  FROM box AS b
  FULL OUTER JOIN shots AS s
    ON s.game_id = b.game_id AND s.team_abbr = b.team_abbr AND s.player_lookup = b.player_lookup
  LEFT JOIN event_games AS eg ON eg.game_id = COALESCE(b.game_id, s.game_id)
  LEFT JOIN team AS t ON t.game_id = b.game_id AND t.team_abbr = b.team_abbr
  LEFT JOIN props AS pr ON pr.game_id = b.game_id AND pr.player_lookup = b.player_lookup
  LEFT JOIN closest AS cl ON cl.game_id = b.game_id AND cl.player_lookup = b.player_lookup
),
checked AS (
  SELECT
    j.*,
    IFNULL(CONCAT(
      IF(unregistered, CONCAT('gamebook name ', player_lookup, ' (game ', game_id, ', team ', team_abbr,
                              ') resolves to no rostered player in the registry',
                              IFNULL(CONCAT('; did you mean ', suggestion, '?'), ''), '; '), ''),
      IF(NOT in_box, 'shot events for a player who is not active for this team in the gamebook; ', ''),
      IF(in_box AND points != 2 * (fgm - fg3m) + 3 * fg3m + ftm,
         'points identity broken: points != 2*(fgm-fg3m) + 3*fg3m + ftm; ', ''),
      IF(in_box AND (fgm > fga OR fg3m > fg3a OR fg3a > fga OR fg3m > fgm OR ftm > fta
                     OR reb != oreb + dreb OR LEAST(fgm, fga, fg3m, fg3a, ftm, fta, oreb, dreb, ast, stl,
                                                 blk, tov, pf) < 0),
         'box-score counts contradict each other; ', ''),
      IF(in_box AND has_events AND (ev_fga != fga OR ev_fgm != fgm OR ev_fg3a != fg3a OR ev_fg3m != fg3m),
         CONCAT('shot events disagree with the box score (events fga/fgm/fg3a/fg3m ',
                CAST(ev_fga AS STRING), '/', CAST(ev_fgm AS STRING), '/', CAST(ev_fg3a AS STRING), '/',
                CAST(ev_fg3m AS STRING), ', box ', CAST(fga AS STRING), '/', CAST(fgm AS STRING), '/',
                CAST(fg3a AS STRING), '/', CAST(fg3m AS STRING), '); '), ''),
      IF(bad_events > 0, 'impossible shot events (shot value, distance or assisted miss); ', ''),
      IF(in_box AND (points IS NULL OR fgm IS NULL OR fga IS NULL OR fg3m IS NULL OR fg3a IS NULL
                     OR ftm IS NULL OR fta IS NULL OR minutes IS NULL), 'NULL box-score counts; ', '')
    ), 'NULL box-score counts; ') AS problems
  FROM joined AS j
)
SELECT
  CAST(game_id AS STRING) AS game_id,
  CAST(game_date AS DATE) AS game_date,
  CAST(season_year AS INT64) AS season_year,
  CAST(player_lookup AS STRING) AS player_lookup,
  CAST(universal_player_id AS STRING) AS universal_player_id,
  CAST(player_name AS STRING) AS player_name,
  CAST(team_abbr AS STRING) AS team_abbr,
  CAST(opponent_team_abbr AS STRING) AS opponent_team_abbr,
  CAST(is_home AS BOOL) AS is_home,
  CAST(starter AS BOOL) AS starter,
  CAST(minutes AS FLOAT64) AS minutes_played,
  CAST(points AS INT64) AS points,
  CAST(fgm AS INT64) AS fg_makes,
  CAST(fga AS INT64) AS fg_attempts,
  CAST(fg3m AS INT64) AS three_pt_makes,
  CAST(fg3a AS INT64) AS three_pt_attempts,
  CAST(ftm AS INT64) AS ft_makes,
  CAST(fta AS INT64) AS ft_attempts,
  CAST(oreb AS INT64) AS offensive_rebounds,
  CAST(dreb AS INT64) AS defensive_rebounds,
  CAST(reb AS INT64) AS rebounds,
  CAST(ast AS INT64) AS assists,
  CAST(stl AS INT64) AS steals,
  CAST(blk AS INT64) AS blocks,
  CAST(tov AS INT64) AS turnovers,
  CAST(pf AS INT64) AS personal_fouls,
  CAST(plus_minus AS INT64) AS plus_minus,
  CAST(paint_attempts AS INT64) AS paint_attempts,
  CAST(paint_makes AS INT64) AS paint_makes,
  CAST(mid_range_attempts AS INT64) AS mid_range_attempts,
  CAST(mid_range_makes AS INT64) AS mid_range_makes,
  CAST(assisted_fg_makes AS INT64) AS assisted_fg_makes,
  CAST(unassisted_fg_makes AS INT64) AS unassisted_fg_makes,
  CAST(has_events AS BOOL) AS has_shot_zone_data,
  -- usage = 100 * ((FGA + 0.44*FTA + TOV) * (team minutes / 5)) / (minutes * (team FGA + 0.44*team FTA + team TOV))
  CAST(100 * SAFE_DIVIDE(
    (CAST(fga AS FLOAT64) + 0.44 * fta + tov) * (CAST(team_minutes AS FLOAT64) / 5),
    CAST(minutes AS FLOAT64) * (CAST(team_fga AS FLOAT64) + 0.44 * team_fta + team_tov)
  ) AS FLOAT64) AS usage_rate,
  CAST(SAFE_DIVIDE(CAST(points AS FLOAT64), 2 * (CAST(fga AS FLOAT64) + 0.44 * fta)) AS FLOAT64) AS ts_pct,
  CAST(SAFE_DIVIDE(CAST(fgm AS FLOAT64) + 0.5 * fg3m, CAST(fga AS FLOAT64)) AS FLOAT64) AS efg_pct,
  CAST(TRUE AS BOOL) AS is_active,
  CAST(points_line AS FLOAT64) AS points_line,
  -- 16 hex chars of SHA-256 over the row's values: keys, then a JSON array of integers (floats as
  -- fixed-point integers), so the hashed text is the same on BigQuery and DuckDB
  CAST(SUBSTR(TO_HEX(SHA256(CONCAT(
    IFNULL(game_id, ''), '|', IFNULL(player_lookup, ''), '|', IFNULL(team_abbr, ''), '|',
    TO_JSON_STRING([
      CAST(ROUND(minutes * 100) AS INT64), points, fgm, fga, fg3m, fg3a, ftm, fta, oreb, dreb, ast, stl, blk, tov,
      pf, plus_minus, paint_attempts, paint_makes, mid_range_attempts, mid_range_makes, assisted_fg_makes,
      team_minutes, team_fga, team_fta, team_tov, CAST(ROUND(points_line * 10) AS INT64)])
  ))), 1, 16) AS STRING) AS data_hash,
  -- game counts: kept by the failures split; PGS has no game-count windows
  CAST(NULL AS INT64) AS expected_game_count,
  CAST(NULL AS INT64) AS actual_game_count,
  -- failure fields (NULL category = an output row)
  -- bad or missing source data is a data failure (correctable: fix the source, re-ingest), never
  -- PROCESSING_ERROR, which means a bug: a player with shot events but no gamebook row is missing
  -- upstream; counts that contradict each other are invalid upstream values
  -- a name the registry cannot resolve comes first: until it does, the row's numbers belong to nobody
  CAST(CASE WHEN problems = '' THEN NULL WHEN unregistered THEN 'REGISTRY_LOOKUP_FAILED'
            WHEN NOT in_box THEN 'INCOMPLETE_UPSTREAM' ELSE 'INVALID_UPSTREAM' END
       AS STRING) AS failure_category,
  CAST(IF(problems = '', NULL, SUBSTR(problems, 1, 1000)) AS STRING) AS failure_reason,
  CAST(IF(problems = '', NULL, TRUE) AS BOOL) AS can_retry,
  CAST(CASE WHEN problems = '' THEN NULL WHEN unregistered THEN 'NAME_MISMATCH' WHEN NOT in_box THEN 'DATA_GAP'
            ELSE 'INVALID_VALUE' END AS STRING) AS failure_type,
  CAST(IF(problems = '', NULL, TRUE) AS BOOL) AS is_correctable,
  CAST(NULL AS STRING) AS missing_dates,
  CAST(NULL AS INT64) AS expected_count,
  CAST(NULL AS INT64) AS actual_count,
  CAST(IF(problems = '', NULL, TRUE) AS BOOL) AS raw_data_checked
FROM checked
