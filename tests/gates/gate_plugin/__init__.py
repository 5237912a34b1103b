"""A small pipeline for the gate tests: a file source, two SQL processors, a downstream report.

- ``box`` (file source) loads ``<bucket>/<YYYY-MM-DD>/*.json`` into ``gt.box``: one row per
  player per day;
- ``form`` computes each player's season-to-date form into ``gt.form``; a player with fewer
  than ``@min_games`` games is an INSUFFICIENT_DATA failure, and ``@error_entity`` on
  ``@error_date`` is a PROCESSING_ERROR (the simulated bug); failures go to ``gt.failures``;
- ``team`` sums points per team and day (critical field only, no entities tracked);
- ``report`` reads ``gt.form`` (the downstream phase).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bfplan import hookimpl
from bfplan.processors import Processor, ProcessorContext, ProcessorResult, SqlProcessor

BOX_COLUMNS = {"day": "DATE", "player_id": "STRING", "team": "STRING", "points": "INT64"}


@dataclass(frozen=True)
class BoxFiles(Processor):
    """Loads the day's JSON files: ``{"rows": [{"player_id", "team", "points"}, ...]}``."""

    def source_files(self, params: Mapping[str, Any], day: date) -> list[Path]:
        return sorted((Path(str(params["bucket"])) / day.isoformat()).glob("*.json"))

    def run(self, ctx: ProcessorContext) -> ProcessorResult:
        rows = []
        for day in ctx.dates:
            for path in self.source_files(ctx.params, day):
                for r in json.loads(path.read_text(encoding="utf-8"))["rows"]:
                    rows.append((day, r["player_id"], r["team"], r["points"]))
        ctx.replace_rows(BOX_COLUMNS, rows)
        return ctx.result


@dataclass(frozen=True)
class FormSql(SqlProcessor):
    """``form``'s SQL, with its tables created up front.

    Works around an engine bug: on first use, SqlProcessor with a failures_table creates its
    tables from a TEMP staging table on another DuckDB cursor, which cannot see it.
    """

    def run(self, ctx: ProcessorContext) -> ProcessorResult:
        ctx.warehouse.ensure_table(self.table, FORM_COLUMNS, partition_column=self.partition_column)
        assert self.failures_table
        ctx.warehouse.ensure_table(self.failures_table, self.failure_table_columns(), partition_column="analysis_date")
        return super().run(ctx)


FORM_COLUMNS = {"day": "DATE", "player_id": "STRING", "games": "INT64", "points_avg": "FLOAT64",
                "expected_game_count": "INT64", "actual_game_count": "INT64"}
FORM = """
WITH season AS (
  SELECT d AS day, b.player_id, COUNT(*) AS games, AVG(b.points) AS points_avg,
         MAX(IF(b.day = d, 1, 0)) AS played_today
  FROM UNNEST(@dates) AS d JOIN gt.box AS b ON b.day <= d
  GROUP BY d, b.player_id
)
SELECT day, player_id, CAST(games AS INT64) AS games, CAST(points_avg AS FLOAT64) AS points_avg,
  CASE WHEN player_id = @error_entity AND day = CAST(@error_date AS DATE) THEN 'PROCESSING_ERROR'
       WHEN games < @min_games THEN 'INSUFFICIENT_DATA' END AS failure_category,
  CAST(NULL AS STRING) AS failure_reason, CAST(NULL AS BOOL) AS can_retry,
  CAST(NULL AS STRING) AS failure_type, CAST(NULL AS BOOL) AS is_correctable,
  CAST(NULL AS STRING) AS missing_dates, CAST(NULL AS BOOL) AS raw_data_checked,
  CAST(NULL AS INT64) AS expected_count, CAST(games AS INT64) AS actual_count,
  CAST(NULL AS INT64) AS expected_game_count, CAST(games AS INT64) AS actual_game_count
FROM season WHERE played_today = 1
"""
EXPECTED = "SELECT day AS partition_date, player_id AS entity_id FROM gt.box WHERE day IN UNNEST(@dates)"
TEAM = """
SELECT day, team, CAST(SUM(points) AS INT64) AS points_total FROM gt.box WHERE day IN UNNEST(@dates)
GROUP BY day, team
"""
REPORT = """
SELECT day, CAST(COUNT(*) AS INT64) AS players, CAST(AVG(points_avg) AS FLOAT64) AS league_avg
FROM gt.form WHERE day IN UNNEST(@dates) GROUP BY day
"""


def processors() -> list[Any]:
    """The pipeline's processors (also used by the timing script)."""
    return [
        BoxFiles(name="box", table="gt.box", partition_column="day", entity_key=("player_id",)),
        FormSql(name="form", table="gt.form", partition_column="day", inputs=("gt.box",),
                     entity_key=("player_id",), critical_fields={"points_avg": "not_null", "games": "positive"},
                     expected_entities_sql=EXPECTED, failures_table="gt.failures", lookback_days=None, sql=FORM),
        SqlProcessor(name="team", table="gt.team", partition_column="day", inputs=("gt.box",),
                     entity_key=("team",), critical_fields={"points_total": "positive"}, sql=TEAM),
        SqlProcessor(name="report", table="gt.report", partition_column="day", inputs=("gt.form",), sql=REPORT),
    ]


@hookimpl
def bfplan_processors() -> list[Any]:
    return processors()
