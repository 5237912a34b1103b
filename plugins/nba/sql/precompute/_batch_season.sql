-- Shared by the Phase 4 queries (included where a query says `-- @include _batch_season.sql date_col=X`):
-- the batch's dates as column {date_col}, each with its season and season day (days since the
-- season's first scheduled game, from nba_raw.nbac_schedule; day 0 is opening night), and
-- completeness_checked: whether daily mode's per-entity INCOMPLETE_DATA check applies to the date.
-- It is the check_completeness parameter (daily mode) outside the completeness checker's own 30-day bootstrap
-- window (spec §1, "the completeness checker has its own 30-day bootstrap window"; spec §4,
-- "readiness under 90% outside bootstrap"): season days 0-29 are never INCOMPLETE_DATA. The only
-- place that rule lives; the 14-day BOOTSTRAP_DAYS (no rows, INSUFFICIENT_DATA) is separate.
batch AS (
  SELECT d AS {date_col} FROM UNNEST(@dates) AS d
),
season_starts AS (
  SELECT season_year, MIN(game_date) AS season_start
  FROM nba_raw.nbac_schedule
  GROUP BY season_year
),
batch_season AS (
  SELECT b.{date_col}, s.season_year, s.season_start,
         DATE_DIFF(b.{date_col}, s.season_start, DAY) AS season_day,
         @check_completeness AND DATE_DIFF(b.{date_col}, s.season_start, DAY) >= 30 AS completeness_checked
  FROM batch AS b
  JOIN season_starts AS s ON s.season_start <= b.{date_col}
  WHERE TRUE
  QUALIFY ROW_NUMBER() OVER (PARTITION BY b.{date_col} ORDER BY s.season_start DESC) = 1
),
