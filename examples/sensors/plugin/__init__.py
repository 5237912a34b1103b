"""A small weather-station pipeline, as a bfplan plugin: a CSV loader, a daily summary, and a
7-day rolling view. It exists to show that bfplan speaks no pipeline's language — and to be
copied: every part of the plugin API a new pipeline needs is used here once.

Files: ``data/stations.csv`` (the stations that should report: the coverage gate's source of
truth) and ``data/readings/YYYY-MM-DD.csv`` (one row per station and 3-hour slot).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bfplan import hookimpl
from bfplan.loaders import RecordLoader
from bfplan.processors import Processor, SqlProcessor

READING_COLUMNS = {"day": "DATE", "station": "STRING", "hour": "INT64", "temp_c": "FLOAT64", "rain_mm": "FLOAT64"}
STATION_COLUMNS = {"day": "DATE", "station": "STRING", "name": "STRING", "elevation_m": "INT64"}


def _data(params: Mapping[str, Any]) -> Path:
    return Path(str(params["plan_dir"])) / str(params.get("data", "data"))


@dataclass(frozen=True)
class CsvLoader(RecordLoader):
    """Loads a CSV per day into ``columns`` (name → BigQuery type), the day first. A line that
    does not fit (text for a number, a missing field, a NaN) is quarantined with its file and
    line, and the rest loads."""

    #: the file of a day, under the plan's data folder; ``{day}`` is the date
    file: str = ""

    def files(self, params: Mapping[str, Any], day: date) -> list[Path]:
        path = _data(params) / self.file.format(day=day.isoformat())
        return [path] if path.is_file() else []


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
                  columns=READING_COLUMNS, required=("station", "hour"), file="readings/{day}.csv",
                  description="3-hourly readings, a CSV a day",
                  # one reading per station and slot, in a range a thermometer can show
                  contract={"unique_key": ["day", "station", "hour"],
                            "columns": {"temp_c": {"range": [-90, 60]}, "rain_mm": {"range": [0, 500]},
                                        "hour": {"accepted": [0, 3, 6, 9, 12, 15, 18, 21]}},
                            "on_violation": "quarantine"}),
        SqlProcessor(name="daily", table="weather.daily", partition_column="day", inputs=("weather.readings",),
                     entity_key=("station",), critical_fields={"temp_avg": "not_null", "readings": "positive"},
                     expected_entities_sql=EXPECTED, description="each station's day: temperatures, rain",
                     sql=DAILY),
        SqlProcessor(name="week", table="weather.week", partition_column="day", inputs=("weather.daily",),
                     entity_key=("station",), lookback_days=6, expected_entities_sql=EXPECTED,
                     description="each station's last 7 days", sql=WEEK),
    ]
