"""Losses: partitions whose latest write holds fewer rows than an earlier write of the same date.

The ledger keeps every ``done`` record with its row count, so a rewrite that *loses* rows — a
source file gone when it was reloaded, rows deleted upstream and recomputed, a contract that
set rows aside — is found from the ledger alone, however the rewrite happened (``run``,
``--force``, ``--stale``). A loss stands until the partition holds as many rows as its fullest
earlier version again. :mod:`bfplan.degraded` follows lineage from each loss to the
partitions built on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bfplan.ledger.tables import PARTITIONS, QUARANTINE
from bfplan.warehouse.base import Warehouse

LOSS_SQL = """
WITH history AS (
  SELECT processor, partition_date, status, row_count, run_id, recorded_ns,
         ROW_NUMBER() OVER (PARTITION BY processor, partition_date ORDER BY recorded_ns DESC) AS newest
  FROM {partitions} WHERE plan_name = @plan
),
latest AS (SELECT * FROM history WHERE newest = 1 AND status = 'done' AND row_count IS NOT NULL)
SELECT l.processor, l.partition_date, l.row_count AS now_rows, l.run_id, l.recorded_ns AS version,
       MAX(h.row_count) AS was_rows
FROM latest AS l
JOIN history AS h
  ON h.processor = l.processor AND h.partition_date = l.partition_date AND h.newest > 1 AND h.status = 'done'
GROUP BY l.processor, l.partition_date, l.row_count, l.run_id, l.recorded_ns
HAVING MAX(h.row_count) > l.row_count
"""


@dataclass(frozen=True)
class Loss:
    """A partition now holding fewer rows than an earlier write of it."""

    processor: str
    date: date
    was: int
    now: int
    run_id: str
    #: the version (ledger stamp) of the write that lost them
    version: int
    #: rows of that write set aside by a contract or a loader (part of the loss, accounted for)
    quarantined: int = 0

    @property
    def lost(self) -> int:
        return self.was - self.now

    def describe(self) -> str:
        aside = f", {self.quarantined} of them quarantined" if self.quarantined else ""
        return f"lost {self.lost} of {self.was} rows when run {self.run_id} rewrote it ({self.now} now{aside})"


def find_losses(warehouse: Warehouse, plan_name: str,
                processors: Iterable[str] | None = None) -> dict[tuple[str, date], Loss]:
    """Every partition of the plan whose latest write lost rows, by (processor, date)."""
    if not warehouse.table_exists(PARTITIONS):
        return {}
    only = set(processors) if processors is not None else None
    rows = [r for r in warehouse.query(LOSS_SQL.format(partitions=PARTITIONS), {"plan": plan_name})
            if only is None or r["processor"] in only]
    aside: dict[tuple[str, date, str], int] = {}
    if rows and warehouse.table_exists(QUARANTINE):
        for q in warehouse.query(
                f"SELECT processor, partition_date, run_id, COUNT(*) AS n FROM {QUARANTINE} "
                "WHERE plan_name = @plan AND action = 'quarantined' AND run_id IN UNNEST(@runs) GROUP BY 1, 2, 3",
                {"plan": plan_name, "runs": sorted({r["run_id"] for r in rows})}):
            aside[(q["processor"], q["partition_date"], q["run_id"])] = q["n"]
    return {(r["processor"], r["partition_date"]): Loss(
        r["processor"], r["partition_date"], r["was_rows"], r["now_rows"], r["run_id"], r["version"],
        aside.get((r["processor"], r["partition_date"], r["run_id"]), 0)) for r in rows}
