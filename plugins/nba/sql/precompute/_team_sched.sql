-- Shared by the Phase 4 queries: every final scheduled game of each team (home and away sides)
-- up to the batch's last date, numbered per team and season (sched_idx 1, 2, ...).
team_sched AS (
  SELECT season_year, game_date, game_id, team_abbr,
         ROW_NUMBER() OVER (PARTITION BY season_year, team_abbr ORDER BY game_date, game_id) AS sched_idx
  FROM (
    SELECT season_year, game_date, game_id, home_team_abbr AS team_abbr
    FROM nba_raw.nbac_schedule WHERE game_status = 3 AND game_date <= @end_date
    UNION ALL
    SELECT season_year, game_date, game_id, away_team_abbr AS team_abbr
    FROM nba_raw.nbac_schedule WHERE game_status = 3 AND game_date <= @end_date
  ) AS s
),
