"""A small weather-station pipeline, as a bfplan plugin: a CSV loader, a daily summary, and a
7-day rolling view. It exists to show that bfplan speaks no pipeline's language — and to be
copied: every part of the plugin API a new pipeline needs is used here once.

Files: ``data/stations.csv`` (the stations that should report: the coverage gate's source of
truth) and ``data/readings/YYYY-MM-DD.csv`` (one row per station and 3-hour slot).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bfplan import hookimpl
from bfplan.processors import Processor, ProcessorContext, ProcessorResult, SqlProcessor

READING_COLUMNS = {"day": "DATE", "station": "STRING", "hour": "INT64", "temp_c": "FLOAT64", "rain_mm": "FLOAT64"}
STATION_COLUMNS = {"day": "DATE", "station": "STRING", "name": "STRING", "elevation_m": "INT64"}


def _data(params: Mapping[str, Any]) -> Path:
    return Path(str(params["plan_dir"])) / str(params.get("data", "data"))


@dataclass(frozen=True)
class CsvLoader(Processor):
    """Loads a CSV per day into ``columns`` (name → BigQuery type), the day first."""

    columns: Mapping[str, str] = field(default_factory=dict)
    #: the file of a day, under the plan's data folder; ``{day}`` is the date
    file: str = ""

    def source_files(self, params: Mapping[str, Any], day: date) -> list[Path]:
        path = _data(params) / self.file.format(day=day.isoformat())
        return [path] if path.is_file() else []

    def run(self, ctx: ProcessorContext) -> ProcessorResult:
        kinds = {"STRING": str, "INT64": int, "FLOAT64": float}
        names = list(self.columns)[1:]
        rows = []
        for day in ctx.dates:
            for path in self.source_files(ctx.params, day):
                with path.open(newline="") as f:
                    rows += [(day, *(kinds[self.columns[n]](r[n]) for n in names)) for r in csv.DictReader(f)]
        ctx.replace_rows(self.columns, rows)
        return ctx.result


DAILY = """
SELECT day, station, MIN(temp_c) AS temp_min, MAX(temp_c) AS temp_max, AVG(temp_c) AS temp_avg,
       SUM(rain_mm) AS rain_mm, COUNT(*) AS readings
FROM weather.readings WHERE day IN UNNEST(@dates)
GROUP BY day, station
"""

WEEK = """
SELECT d AS day, s.station, AVG(s.temp_avg) AS temp_avg_7d, SUM(s.rain_mm) AS rain_mm_7d, COUNT(*) AS days_in_window
FROM UNNEST(@dates) AS d
JOIN weather.daily AS s ON s.day BETWEEN DATE_SUB(d, INTERVAL 6 DAY) AND d
GROUP BY d, s.station
"""

#: the stations expected each day, from the stations list (never from the table being checked)
EXPECTED = "SELECT day AS partition_date, station AS entity_id FROM weather.stations WHERE day IN UNNEST(@dates)"


@hookimpl
def bfplan_processors() -> list[Processor]:
    return [
        # the stations list, one partition per day: what each day should have
        CsvLoader(name="stations", table="weather.stations", partition_column="day", entity_key=("station",),
                  columns=STATION_COLUMNS, file="stations.csv", description="the stations that should report"),
        CsvLoader(name="readings", table="weather.readings", partition_column="day", entity_key=("station", "hour"),
                  columns=READING_COLUMNS, file="readings/{day}.csv", description="3-hourly readings, a CSV a day"),
        SqlProcessor(name="daily", table="weather.daily", partition_column="day", inputs=("weather.readings",),
                     entity_key=("station",), critical_fields={"temp_avg": "not_null", "readings": "positive"},
                     expected_entities_sql=EXPECTED, description="each station's day: temperatures, rain",
                     sql=DAILY),
        SqlProcessor(name="week", table="weather.week", partition_column="day", inputs=("weather.daily",),
                     entity_key=("station",), lookback_days=6, expected_entities_sql=EXPECTED,
                     description="each station's last 7 days", sql=WEEK),
    ]
