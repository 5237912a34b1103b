"""Lineage and staleness: which upstream partitions (at which write versions) each partition read.

Every ``done`` record has a version (its ledger stamp). When a processor writes partition
``d``, the ledger also records, per input produced by another processor of the plan, the
window of upstream dates it read (``[d - lookback, d]``; season to date when the lookback is
None), the highest upstream version in that window and how many upstream partitions it had.
These lineage rows commit in the same transaction as the data.

A partition is **stale** when, for one of its inputs, the window now holds a newer upstream
version (rewritten after it was built) or more partitions (missing when it was built). That
is one set-based query over the ledger; no data is scanned.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bfplan.ledger.clock import monotonic_ns
from bfplan.ledger.tables import LINEAGE, PARTITIONS
from bfplan.status import PartitionStatus
from bfplan.warehouse.base import Warehouse

if TYPE_CHECKING:
    from bfplan.ledger.ledger import PartitionState
    from bfplan.processors import Processor

#: the start of "season to date" windows
EPOCH = date(1900, 1, 1)


def input_lookback(processor: Processor, table: str) -> int | None:
    """Days back ``processor`` reads ``table`` (per-input override, else its lookback_days)."""
    per_input = getattr(processor, "input_lookback", None) or {}
    return per_input.get(table, processor.lookback_days)


class VersionIndex:
    """The current ``done`` version of every partition of the plan's processors, kept up to date
    by the runner as nodes commit (thread-safe)."""

    def __init__(self, versions: Mapping[str, Mapping[date, int]]) -> None:
        self._lock = threading.Lock()
        self._dates: dict[str, list[date]] = {}
        self._versions: dict[str, dict[date, int]] = {}
        for proc, by_date in versions.items():
            self._versions[proc] = dict(by_date)
            self._dates[proc] = sorted(by_date)

    @classmethod
    def from_state(cls, state: Mapping[tuple[str, date], PartitionState]) -> VersionIndex:
        """Build from ``Ledger.current()`` (only ``done`` partitions have a version)."""
        versions: dict[str, dict[date, int]] = {}
        for (proc, d), st in state.items():
            if st.status == PartitionStatus.DONE:
                versions.setdefault(proc, {})[d] = st.recorded_ns
        return cls(versions)

    def update(self, processor: str, versions: Mapping[date, int]) -> None:
        with self._lock:
            current = self._versions.setdefault(processor, {})
            current.update(versions)
            self._dates[processor] = sorted(current)

    def summary(self, processor: str) -> tuple[int, int]:
        """(newest version, partitions) of ``processor``: changes whenever one of them is rewritten."""
        with self._lock:
            versions = self._versions.get(processor, {})
            return (max(versions.values(), default=0), len(versions))

    def window(self, processor: str, start: date, end: date) -> tuple[int, int]:
        """(max version, partition count) of ``processor``'s partitions in [start, end]."""
        with self._lock:
            dates = self._dates.get(processor, [])
            lo, hi = bisect.bisect_left(dates, start), bisect.bisect_right(dates, end)
            versions = self._versions.get(processor, {})
            window = [versions[d] for d in dates[lo:hi]]
        return (max(window) if window else 0), len(window)


@dataclass(frozen=True)
class Producers:
    """Which processor of the plan writes each table."""

    by_table: Mapping[str, str]

    @classmethod
    def of(cls, processors: Iterable[Processor]) -> Producers:
        return cls({p.table: p.name for p in processors})


def lineage_records(plan_name: str, run_id: str, processor: Processor, versions: Mapping[date, int],
                    producers: Producers, index: VersionIndex) -> list[tuple]:
    """The lineage rows of the partitions ``processor`` just wrote (``versions``: date → version)."""
    rows = []
    for table in processor.inputs:
        upstream = producers.by_table.get(table)
        if upstream is None or upstream == processor.name:
            continue
        lookback = input_lookback(processor, table)
        for d, version in versions.items():
            start = EPOCH if lookback is None else d - timedelta(days=lookback)
            top, count = index.window(upstream, start, d)
            rows.append((plan_name, run_id, processor.name, d, version, upstream, start, d, top, count,
                         monotonic_ns()))
    return rows


STALE_SQL = f"""
WITH latest AS (
  SELECT processor, partition_date, status, recorded_ns AS version
  FROM {PARTITIONS} WHERE plan_name = @plan
  QUALIFY ROW_NUMBER() OVER (PARTITION BY processor, partition_date ORDER BY recorded_ns DESC) = 1
),
done AS (SELECT processor, partition_date, version FROM latest WHERE status = 'done'),
lin AS (
  SELECT l.processor, l.partition_date, l.input_processor, l.window_start, l.window_end,
         l.max_input_version, l.input_partitions
  FROM {LINEAGE} AS l
  JOIN done AS d ON d.processor = l.processor AND d.partition_date = l.partition_date AND d.version = l.version
  WHERE l.plan_name = @plan
)
SELECT lin.processor, lin.partition_date, lin.input_processor,
       ANY_VALUE(lin.max_input_version) AS seen_version, ANY_VALUE(lin.input_partitions) AS seen_partitions,
       MAX(u.version) AS now_version, COUNT(u.version) AS now_partitions,
       MIN(IF(u.version > lin.max_input_version, u.partition_date, NULL)) AS first_changed
FROM lin
LEFT JOIN done AS u
  ON u.processor = lin.input_processor AND u.partition_date BETWEEN lin.window_start AND lin.window_end
GROUP BY lin.processor, lin.partition_date, lin.input_processor
HAVING MAX(u.version) > ANY_VALUE(lin.max_input_version) OR COUNT(u.version) > ANY_VALUE(lin.input_partitions)
"""


@dataclass(frozen=True)
class Stale:
    """A partition built from upstream data that has changed since (or was missing then)."""

    processor: str
    date: date
    input_processor: str
    reason: str


def stale_partitions(warehouse: Warehouse, plan_name: str, processors: Sequence[str] | None = None) -> list[Stale]:
    """Every stale partition of the plan (optionally of some processors), by its first reason."""
    if not warehouse.table_exists(LINEAGE):
        return []
    seen: dict[tuple[str, date], Stale] = {}
    for r in warehouse.query(STALE_SQL, {"plan": plan_name}):
        if processors is not None and r["processor"] not in processors:
            continue
        key = (r["processor"], r["partition_date"])
        missing = r["now_partitions"] - r["seen_partitions"]
        if missing > 0:
            reason = f"{missing} {r['input_processor']} partition(s) it reads were missing when it was built"
        else:
            reason = f"{r['input_processor']} {r['first_changed']} was rewritten after it was built"
        seen.setdefault(key, Stale(r["processor"], r["partition_date"], r["input_processor"], reason))
    return sorted(seen.values(), key=lambda s: (s.processor, s.date))
