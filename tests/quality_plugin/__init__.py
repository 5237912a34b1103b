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


MIRROR = "SELECT day, k, v, label FROM q.feed WHERE day IN UNNEST(@dates) AND k NOT IN UNNEST(@drop)"


@hookimpl
def bfplan_processors() -> list[Processor]:
    return [
        Feed(name="feed", table="q.feed", partition_column="day", entity_key=("k",),
             contract={"unique_key": ["day", "k"]}),
        SqlProcessor(name="mirror", table="q.mirror", partition_column="day", inputs=("q.feed",),
                     entity_key=("k",), sql=MIRROR,
                     contract={"rows_match": {"input": "q.feed", "key": ["k"], "where": "label != 'skip'"}}),
    ]
