"""A plugin for the contract, quarantine and quality tests: rows come from the plan's params.

``feed`` writes ``params['rows']`` (``[day, k, v, label]``; ``v`` may be ``"nan"`` or ``"inf"``)
through Python rows; ``mirror`` copies them with SQL (dropping the keys in ``params['drop']``),
so both write paths of each warehouse meet the same contracts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bfplan import hookimpl
from bfplan.processors import Processor, ProcessorContext, ProcessorResult, SqlProcessor

COLUMNS = {"day": "DATE", "k": "STRING", "v": "FLOAT64", "label": "STRING"}


@dataclass(frozen=True)
class Feed(Processor):
    def run(self, ctx: ProcessorContext) -> ProcessorResult:
        rows = [(date.fromisoformat(str(day)), k, float(v) if v is not None else None, label)
                for day, k, v, label in ctx.params.get("rows", [])]
        ctx.replace_rows(COLUMNS, rows)
        return ctx.result


#: per day, the mirror's rows of that day and the day before (a 2-day window: lineage with a lookback)
TALLY = """
SELECT d AS day, CAST(COUNT(m.k) AS INT64) AS n
FROM UNNEST(@dates) AS d LEFT JOIN q.mirror AS m ON m.day BETWEEN DATE_SUB(d, INTERVAL 1 DAY) AND d
GROUP BY d
"""
#: a row is ready when the mirror has it and it is not late (late rows are not ready by design)
GRADED = """
SELECT f.day, f.k, IFNULL(m.k IS NOT NULL AND m.label != 'late', FALSE) AS ready
FROM q.feed AS f LEFT JOIN q.mirror AS m ON m.day = f.day AND m.k = f.k
WHERE f.day IN UNNEST(@dates)
"""
MIRROR = "SELECT day, k, v, label FROM q.feed WHERE day IN UNNEST(@dates) AND k NOT IN UNNEST(@drop)"


@hookimpl
def bfplan_processors() -> list[Processor]:
    return [
        Feed(name="feed", table="q.feed", partition_column="day", entity_key=("k",),
             contract={"unique_key": ["day", "k"]}),
        SqlProcessor(name="mirror", table="q.mirror", partition_column="day", inputs=("q.feed",),
                     entity_key=("k",), sql=MIRROR,
                     contract={"rows_match": {"input": "q.feed", "key": ["k"], "where": "label != 'skip'"}}),
        SqlProcessor(name="graded", table="q.graded", partition_column="day", inputs=("q.feed", "q.mirror"),
                     entity_key=("k",), quality={"ready": "ready"}, sql=GRADED),
        SqlProcessor(name="tally", table="q.tally", partition_column="day", inputs=("q.mirror",), lookback_days=1,
                     sql=TALLY),
    ]
