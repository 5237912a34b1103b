-- Phase 3 · player_registry: every player name a source shows on a game day, resolved to a rostered
-- player. The rosters (nba_raw.nbac_rosters, one row per date/team/player) are the truth; the
-- curated aliases (plugins/nba/aliases.csv, bound as @registry_aliases = ['alias|player_lookup', ...])
-- map a known variant spelling to its player.
--
-- One row per (game_date, source, team_abbr, source_lookup): the name as the source spells it, the
-- player it stands for and how it resolved ('roster': the team's roster has that name; 'alias': the
-- alias list maps it to a player on the team's roster). Sources: the gamebook, the props and the
-- injury report of the day.
--
-- Failures (nba_processing.analytics_failures, entity = the name as seen):
--   * REGISTRY_LOOKUP_FAILED (NAME_MISMATCH, correctable: add an alias or fix the source): the name
--     is on no roster row of its team that day, directly or via an alias; the reason names the
--     source, the game, the team and the closest roster name of the team (edit distance);
--   * INCOMPLETE_UPSTREAM (DATA_GAP): the team has no roster rows that day, nothing to check against.
WITH
aliases AS (
  SELECT SUBSTR(a, 1, STRPOS(a, '|') - 1) AS alias, SUBSTR(a, STRPOS(a, '|') + 1) AS player_lookup
  FROM UNNEST(@registry_aliases) AS a
),
roster AS (
  SELECT r.game_date, r.team_abbr, r.player_lookup,
         MAX(r.universal_player_id) AS universal_player_id, MAX(r.player_name) AS player_name
  FROM nba_raw.nbac_rosters AS r
  WHERE r.game_date IN UNNEST(@dates) AND r.player_lookup IS NOT NULL
  GROUP BY r.game_date, r.team_abbr, r.player_lookup
),
rostered_teams AS (
  SELECT DISTINCT game_date, team_abbr FROM roster
),
team_games AS (
  SELECT s.game_date, s.game_id, s.home_team_abbr AS team_abbr
  FROM nba_raw.nbac_schedule AS s WHERE s.game_date IN UNNEST(@dates)
  UNION ALL
  SELECT s.game_date, s.game_id, s.away_team_abbr AS team_abbr
  FROM nba_raw.nbac_schedule AS s WHERE s.game_date IN UNNEST(@dates)
),
seen AS (
  SELECT DISTINCT 'gamebook' AS source, g.game_date, g.game_id, g.team_abbr, g.player_lookup AS source_lookup
  FROM nba_raw.nbac_gamebook_player_stats AS g
  WHERE g.game_date IN UNNEST(@dates) AND g.player_lookup IS NOT NULL
  UNION ALL
  SELECT DISTINCT 'props' AS source, p.game_date, p.game_id, p.team_abbr, p.player_lookup AS source_lookup
  FROM nba_raw.odds_api_player_points_props AS p
  WHERE p.game_date IN UNNEST(@dates) AND p.player_lookup IS NOT NULL
  UNION ALL
  -- the injury report names no game: the team's game of the day (if any) from the schedule
  SELECT DISTINCT 'injuries' AS source, i.game_date, tg.game_id, i.team_abbr, i.player_lookup AS source_lookup
  FROM nba_raw.nbac_injury_report AS i
  LEFT JOIN team_games AS tg ON tg.game_date = i.game_date AND tg.team_abbr = i.team_abbr
  WHERE i.game_date IN UNNEST(@dates) AND i.player_lookup IS NOT NULL
),
resolved AS (
  SELECT s.*,
         rt.team_abbr IS NOT NULL AS has_roster,
         direct.player_lookup AS direct_lookup,
         al.player_lookup AS alias_target,
         via_alias.player_lookup AS alias_lookup,
         COALESCE(direct.universal_player_id, via_alias.universal_player_id) AS universal_player_id,
         COALESCE(direct.player_name, via_alias.player_name) AS player_name
  FROM seen AS s
  LEFT JOIN rostered_teams AS rt ON rt.game_date = s.game_date AND rt.team_abbr = s.team_abbr
  LEFT JOIN roster AS direct
    ON direct.game_date = s.game_date AND direct.team_abbr = s.team_abbr AND direct.player_lookup = s.source_lookup
  LEFT JOIN aliases AS al ON al.alias = s.source_lookup
  LEFT JOIN roster AS via_alias
    ON via_alias.game_date = s.game_date AND via_alias.team_abbr = s.team_abbr
   AND via_alias.player_lookup = al.player_lookup
),
closest AS (
  -- for an unresolved name: the team's roster name nearest to it (edit distance, then by name)
  SELECT u.source, u.game_date, u.team_abbr, u.source_lookup, r.player_lookup AS suggestion,
         EDIT_DISTANCE(u.source_lookup, r.player_lookup) AS distance
  FROM resolved AS u
  JOIN roster AS r ON r.game_date = u.game_date AND r.team_abbr = u.team_abbr
  WHERE u.direct_lookup IS NULL AND u.alias_lookup IS NULL
  QUALIFY ROW_NUMBER() OVER (PARTITION BY u.source, u.game_date, u.team_abbr, u.source_lookup
                             ORDER BY EDIT_DISTANCE(u.source_lookup, r.player_lookup), r.player_lookup) = 1
),
judged AS (
  SELECT r.*, c.suggestion, c.distance,
         CASE
           WHEN r.direct_lookup IS NOT NULL OR r.alias_lookup IS NOT NULL THEN NULL
           WHEN NOT r.has_roster THEN 'INCOMPLETE_UPSTREAM'
           ELSE 'REGISTRY_LOOKUP_FAILED'
         END AS failure_category
  FROM resolved AS r
  LEFT JOIN closest AS c
    ON c.source = r.source AND c.game_date = r.game_date AND c.team_abbr = r.team_abbr
   AND c.source_lookup = r.source_lookup
)
SELECT
  CAST(game_date AS DATE) AS game_date,
  CAST(source AS STRING) AS source,
  CAST(game_id AS STRING) AS game_id,
  CAST(team_abbr AS STRING) AS team_abbr,
  CAST(source_lookup AS STRING) AS source_lookup,
  -- a failure row keeps the name as seen here: it is the failure's entity
  CAST(COALESCE(direct_lookup, alias_lookup, source_lookup) AS STRING) AS player_lookup,
  CAST(universal_player_id AS STRING) AS universal_player_id,
  CAST(player_name AS STRING) AS player_name,
  CAST(CASE WHEN direct_lookup IS NOT NULL THEN 'roster' WHEN alias_lookup IS NOT NULL THEN 'alias' END
       AS STRING) AS resolved_via,
  CAST(NULL AS INT64) AS expected_game_count,
  CAST(NULL AS INT64) AS actual_game_count,
  CAST(failure_category AS STRING) AS failure_category,
  CAST(CASE failure_category
    WHEN 'REGISTRY_LOOKUP_FAILED' THEN SUBSTR(CONCAT(
      source, ' name ', source_lookup, ' (game ', IFNULL(game_id, 'none that day'), ', team ', team_abbr,
      ') is on no roster of ', team_abbr, ' on ', CAST(game_date AS STRING),
      IF(alias_target IS NOT NULL, CONCAT(' (its alias ', alias_target, ' is not on that roster either)'), ''),
      IF(suggestion IS NOT NULL, CONCAT('; did you mean ', suggestion, '? (edit distance ',
                                        CAST(distance AS STRING), ')'), ''),
      '; add an alias to aliases.csv or fix the source'), 1, 1000)
    WHEN 'INCOMPLETE_UPSTREAM' THEN CONCAT(source, ' name ', source_lookup, ' (game ',
      IFNULL(game_id, 'none that day'), '): no roster rows for ', team_abbr, ' on ', CAST(game_date AS STRING),
      ', nothing to resolve it against')
  END AS STRING) AS failure_reason,
  CAST(IF(failure_category IS NULL, NULL, TRUE) AS BOOL) AS can_retry,
  CAST(CASE failure_category WHEN 'REGISTRY_LOOKUP_FAILED' THEN 'NAME_MISMATCH'
                             WHEN 'INCOMPLETE_UPSTREAM' THEN 'DATA_GAP' END AS STRING) AS failure_type,
  CAST(IF(failure_category IS NULL, NULL, TRUE) AS BOOL) AS is_correctable,
  CAST(NULL AS STRING) AS missing_dates,
  CAST(NULL AS INT64) AS expected_count,
  CAST(NULL AS INT64) AS actual_count,
  CAST(IF(failure_category IS NULL, NULL, TRUE) AS BOOL) AS raw_data_checked
FROM judged
