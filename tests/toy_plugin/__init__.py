"""A tiny plugin for the engine tests: a source, two consumers, and processors that misbehave."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bfplan import hookimpl
from bfplan.errors import WarehouseError
from bfplan.gates.base import Gate, GateContext, GateResult
from bfplan.processors import Processor, ProcessorContext, ProcessorResult, SqlProcessor

SRC = """
SELECT d AS day, n AS k, CAST(n * 10 + EXTRACT(DAY FROM d) AS INT64) AS v
FROM UNNEST(@dates) AS d CROSS JOIN UNNEST(GENERATE_ARRAY(1, 3)) AS n
"""
EXPECTED = """
SELECT d AS partition_date, CAST(n AS STRING) AS entity_id
FROM UNNEST(@dates) AS d CROSS JOIN UNNEST(GENERATE_ARRAY(1, 3)) AS n
"""
DBL = "SELECT day, k, CAST(v * 2 AS INT64) AS v FROM toy.src WHERE day IN UNNEST(@dates)"
SIDE = "SELECT day, CAST(SUM(v) AS INT64) AS total FROM toy.src WHERE day IN UNNEST(@dates) GROUP BY day"
CUM = """
SELECT d AS day, CAST((SELECT SUM(v) FROM toy.dbl WHERE dbl.day <= d) AS INT64) AS running
FROM UNNEST(@dates) AS d
"""

ENT = """
SELECT d AS day, CAST(n AS STRING) AS k, CAST(n * 10 AS INT64) AS v,
  CASE WHEN CAST(n AS STRING) IN UNNEST(@circuit_broken_entities) THEN 'CIRCUIT_BREAKER_ACTIVE'
       WHEN CAST(n AS STRING) IN UNNEST(@missing) THEN 'INCOMPLETE_DATA' END AS failure_category,
  IF(CAST(n AS STRING) IN UNNEST(@missing), 'games missing (simulated)', NULL) AS failure_reason,
  IF(CAST(n AS STRING) IN UNNEST(@missing), TRUE, NULL) AS can_retry,
  IF(CAST(n AS STRING) IN UNNEST(@missing), IF(n = 3, 'PLAYER_DNP', 'DATA_GAP'), NULL) AS failure_type,
  IF(CAST(n AS STRING) IN UNNEST(@missing), n != 3, NULL) AS is_correctable,
  CAST(NULL AS STRING) AS missing_dates, CAST(NULL AS BOOL) AS raw_data_checked,
  CAST(NULL AS INT64) AS expected_count, CAST(NULL AS INT64) AS actual_count
FROM UNNEST(@dates) AS d CROSS JOIN UNNEST(GENERATE_ARRAY(1, 3)) AS n
"""

#: attempts per (processor, first date) — lets tests see retries
ATTEMPTS: Counter[tuple[str, date]] = Counter()
_lock = threading.Lock()


@dataclass(frozen=True)
class Flaky(Processor):
    """Writes like ``side`` but raises for the dates in ``params['fail_on']``."""

    def run(self, ctx: ProcessorContext) -> ProcessorResult:
        bad = {date.fromisoformat(str(d)) for d in ctx.params.get("fail_on", [])}
        if bad & set(ctx.dates):
            raise RuntimeError(f"flaky failed on {sorted(bad & set(ctx.dates))}")
        ctx.replace_partitions("SELECT day, CAST(COUNT(*) AS INT64) AS n FROM toy.src "
                               "WHERE day IN UNNEST(@dates) GROUP BY day")
        return ctx.result


@dataclass(frozen=True)
class Halfway(Processor):
    """Rewrites its partitions, then raises when ``params['explode']``: the write must roll back."""

    def run(self, ctx: ProcessorContext) -> ProcessorResult:
        ctx.replace_partitions("SELECT day, CAST(@marker AS STRING) AS marker FROM UNNEST(@dates) AS day")
        if ctx.params.get("explode"):
            raise RuntimeError("exploded after writing")
        return ctx.result


@dataclass(frozen=True)
class Transient(Processor):
    """Raises a transient warehouse error the first ``params['transient_failures']`` attempts."""

    def run(self, ctx: ProcessorContext) -> ProcessorResult:
        with _lock:
            ATTEMPTS[(self.name, ctx.dates[0])] += 1
            n = ATTEMPTS[(self.name, ctx.dates[0])]
        if n <= int(ctx.params.get("transient_failures", 0)):
            raise WarehouseError("rate limit exceeded (simulated)", transient=True)
        ctx.replace_partitions("SELECT day, 1 AS ok FROM UNNEST(@dates) AS day")
        return ctx.result


@dataclass(frozen=True)
class Noop(Processor):
    """Does nothing (engine overhead)."""

    sleep_s: float = 0.0

    def run(self, ctx: ProcessorContext) -> ProcessorResult:
        pause = float(ctx.params.get("sleep_s", self.sleep_s))
        if pause:
            time.sleep(pause)
        return ctx.result


@dataclass(frozen=True)
class Bulk(Processor):
    """Writes ``params['rows_per_day']`` (default 2,000) rows of 200 characters a day: enough bytes
    to fill a small disk, or to give a database file many data blocks."""

    def run(self, ctx: ProcessorContext) -> ProcessorResult:
        ctx.replace_partitions("SELECT day, n, REPEAT('x', 200) AS payload FROM UNNEST(@dates) AS day "
                               "CROSS JOIN UNNEST(GENERATE_ARRAY(1, @rows_per_day)) AS n",
                               {"rows_per_day": int(ctx.params.get("rows_per_day", 2000))})
        return ctx.result


def processors() -> list[Any]:
    return [
        SqlProcessor(name="src", table="toy.src", partition_column="day", entity_key=("k",), sql=SRC,
                     critical_fields={"v": "positive"}, expected_entities_sql=EXPECTED),
        SqlProcessor(name="dbl", table="toy.dbl", partition_column="day", inputs=("toy.src",), sql=DBL),
        SqlProcessor(name="side", table="toy.side", partition_column="day", inputs=("toy.src",), sql=SIDE),
        SqlProcessor(name="cum", table="toy.cum", partition_column="day", inputs=("toy.dbl",), sql=CUM,
                     lookback_days=None),
        SqlProcessor(name="ent", table="toy.ent", partition_column="day", entity_key=("k",), sql=ENT,
                     failures_table="toy.failures", expected_entities_sql=EXPECTED,
                     permanent_failure_types=("PLAYER_DNP",)),
        Flaky(name="flaky", table="toy.flaky", partition_column="day", inputs=("toy.src",)),
        Halfway(name="halfway", table="toy.halfway", partition_column="day"),
        Transient(name="transient", table="toy.transient", partition_column="day"),
        Noop(name="noop", table="toy.noop", partition_column="day"),
        Noop(name="slow", table="toy.slow", partition_column="day", sleep_s=0.2),
        Bulk(name="bulk", table="toy.bulk", partition_column="day"),
        # what the mode's policy hands a processor
        SqlProcessor(name="modeflags", table="toy.modeflags", partition_column="day",
                     sql="SELECT day, @check_completeness AS check_completeness, @backfill_mode AS backfill_mode "
                         "FROM UNNEST(@dates) AS day"),
    ]


@hookimpl
def bfplan_processors() -> list[Any]:
    return processors()


class Sleepy(Gate):
    """Touches ``options.marker`` (a file) when it starts, then sleeps ``options.sleep_s``, then
    passes: lets tests kill a run while a gate is running."""

    name = "sleepy"
    options_schema = {"type": "object", "additionalProperties": False,
                      "properties": {"severity": {"enum": ["block", "warn"]}, "marker": {"type": "string"},
                                     "sleep_s": {"type": "number", "minimum": 0, "maximum": 600}}}

    def check(self, ctx: GateContext) -> GateResult:
        marker = ctx.options.get("marker")
        if marker:
            Path(str(marker)).write_text("started")
        time.sleep(float(ctx.options.get("sleep_s", 0)))
        return GateResult("pass", [], "slept")


class Writer(Gate):
    """Tries to write through its context (gates must not be able to)."""

    name = "writer"

    def check(self, ctx: GateContext) -> GateResult:
        ctx.warehouse.execute("DELETE FROM toy.src WHERE TRUE")
        return GateResult("pass", [], "wrote")


@hookimpl
def bfplan_gates() -> list[Any]:
    return [Sleepy(), Writer()]
