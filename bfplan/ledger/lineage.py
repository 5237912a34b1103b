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
import functools
import operator
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, NamedTuple

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


class Version(NamedTuple):
    """A done partition: when it was recorded (its version), its rows and its content hash."""

    version: int
    rows: int | None = None
    content_hash: int | None = None


class Window(NamedTuple):
    """What a window of upstream partitions held: newest version, partitions, rows, content hash."""

    version: int
    partitions: int
    rows: int | None
    content_hash: int | None


class VersionIndex:
    """The current ``done`` version (and content) of every partition of the plan's processors,
    kept up to date by the runner as nodes commit (thread-safe)."""

    def __init__(self, versions: Mapping[str, Mapping[date, Version | int]]) -> None:
        self._lock = threading.Lock()
        self._dates: dict[str, list[date]] = {}
        self._versions: dict[str, dict[date, Version]] = {}
        for proc, by_date in versions.items():
            self._versions[proc] = {d: v if isinstance(v, Version) else Version(v) for d, v in by_date.items()}
            self._dates[proc] = sorted(by_date)

    @classmethod
    def from_state(cls, state: Mapping[tuple[str, date], PartitionState]) -> VersionIndex:
        """Build from ``Ledger.current()`` (only ``done`` partitions have a version)."""
        versions: dict[str, dict[date, Version]] = {}
        for (proc, d), st in state.items():
            if st.status == PartitionStatus.DONE:
                versions.setdefault(proc, {})[d] = Version(st.recorded_ns, st.rows, st.content_hash)
        return cls(versions)

    def update(self, processor: str, versions: Mapping[date, Version]) -> None:
        with self._lock:
            current = self._versions.setdefault(processor, {})
            current.update(versions)
            self._dates[processor] = sorted(current)

    def summary(self, processor: str) -> tuple[int, int]:
        """(newest version, partitions) of ``processor``: changes whenever one of them is rewritten."""
        with self._lock:
            versions = self._versions.get(processor, {})
            return (max((v.version for v in versions.values()), default=0), len(versions))

    def window(self, processor: str, start: date, end: date) -> Window:
        """What ``processor``'s partitions in [start, end] hold now (rows and hash: None when a
        partition's content is not known, e.g. recorded by an older bfplan)."""
        with self._lock:
            dates = self._dates.get(processor, [])
            lo, hi = bisect.bisect_left(dates, start), bisect.bisect_right(dates, end)
            versions = self._versions.get(processor, {})
            window = [versions[d] for d in dates[lo:hi]]
        rows = None if any(v.rows is None for v in window) else sum(v.rows or 0 for v in window)
        hashed = not any(v.content_hash is None for v in window)
        content = functools.reduce(operator.xor, (v.content_hash or 0 for v in window), 0) if hashed else None
        return Window(max((v.version for v in window), default=0), len(window), rows, content)


@dataclass(frozen=True)
class Producers:
    """Which processor of the plan writes each table."""

    by_table: Mapping[str, str]

    @classmethod
    def of(cls, processors: Iterable[Processor]) -> Producers:
        return cls({p.table: p.name for p in processors})


def lineage_records(plan_name: str, run_id: str, processor: Processor, versions: Mapping[date, int],
                    producers: Producers, index: VersionIndex) -> list[tuple]:
    """The lineage rows of the partitions ``processor`` just wrote (``versions``: date → version):
    per input window, its newest version, partitions, rows and content hash as read."""
    rows = []
    for table in processor.inputs:
        upstream = producers.by_table.get(table)
        if upstream is None or upstream == processor.name:
            continue
        lookback = input_lookback(processor, table)
        for d, version in versions.items():
            start = EPOCH if lookback is None else d - timedelta(days=lookback)
            w = index.window(upstream, start, d)
            rows.append((plan_name, run_id, processor.name, d, version, upstream, start, d, w.version, w.partitions,
                         monotonic_ns(), w.rows, w.content_hash))
    return rows


STALE_SQL = """
WITH latest AS (
  SELECT processor, partition_date, status, recorded_ns AS version, row_count
  FROM {partitions} WHERE plan_name = @plan
  QUALIFY ROW_NUMBER() OVER (PARTITION BY processor, partition_date ORDER BY recorded_ns DESC) = 1
),
done AS (SELECT processor, partition_date, version, row_count FROM latest WHERE status = 'done'),
lin AS (
  SELECT l.processor, l.partition_date, l.input_processor, l.window_start, l.window_end,
         l.max_input_version, l.input_partitions, {input_rows} AS input_rows
  FROM {lineage} AS l
  JOIN done AS d ON d.processor = l.processor AND d.partition_date = l.partition_date AND d.version = l.version
  WHERE l.plan_name = @plan
)
SELECT lin.processor, lin.partition_date, lin.input_processor,
       ANY_VALUE(lin.max_input_version) AS seen_version, ANY_VALUE(lin.input_partitions) AS seen_partitions,
       ANY_VALUE(lin.input_rows) AS seen_rows, SUM(u.row_count) AS now_rows,
       MAX(u.version) AS now_version, COUNT(u.version) AS now_partitions,
       MIN(IF(u.version > lin.max_input_version, u.partition_date, NULL)) AS first_changed
FROM lin
LEFT JOIN done AS u
  ON u.processor = lin.input_processor AND u.partition_date BETWEEN lin.window_start AND lin.window_end
GROUP BY lin.processor, lin.partition_date, lin.input_processor
HAVING MAX(u.version) > ANY_VALUE(lin.max_input_version) OR COUNT(u.version) > ANY_VALUE(lin.input_partitions)
"""


READS_SQL = """
WITH done AS (
  SELECT processor, partition_date, status, recorded_ns AS version FROM {partitions} WHERE plan_name = @plan
  QUALIFY ROW_NUMBER() OVER (PARTITION BY processor, partition_date ORDER BY recorded_ns DESC) = 1
)
SELECT l.processor, l.partition_date, d.version, l.input_processor, l.window_start, l.window_end,
       l.max_input_version, l.input_partitions, {input_rows} AS input_rows
FROM {lineage} AS l
JOIN done AS d ON d.processor = l.processor AND d.partition_date = l.partition_date AND d.version = l.version
WHERE l.plan_name = @plan AND d.status = 'done'
"""


@dataclass(frozen=True)
class Read:
    """What the current version of a partition read of one input: a window of its partitions."""

    processor: str
    date: date
    version: int
    input_processor: str
    window_start: date
    window_end: date
    #: the newest input version in the window then: input partitions written later were not read
    max_input_version: int
    input_partitions: int
    input_rows: int | None


def current_reads(warehouse: Warehouse, plan_name: str, processor: str | None = None,
                  day: date | None = None) -> list[Read]:
    """The reads of every done partition's current version (optionally of one processor and date)."""
    if not warehouse.table_exists(LINEAGE):
        return []
    input_rows = "l.input_rows" if "input_rows" in warehouse.table_columns(LINEAGE) else "CAST(NULL AS INT64)"
    sql = READS_SQL.format(partitions=PARTITIONS, lineage=LINEAGE, input_rows=input_rows)
    params: dict[str, object] = {"plan": plan_name}
    if processor is not None:
        sql += " AND l.processor = @processor"
        params["processor"] = processor
    if day is not None:
        sql += " AND l.partition_date = @day"
        params["day"] = day
    return [Read(r["processor"], r["partition_date"], r["version"], r["input_processor"], r["window_start"],
                 r["window_end"], r["max_input_version"], r["input_partitions"], r["input_rows"])
            for r in warehouse.query(sql, params)]


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
    input_rows = "l.input_rows" if "input_rows" in warehouse.table_columns(LINEAGE) else "CAST(NULL AS INT64)"
    sql = STALE_SQL.format(partitions=PARTITIONS, lineage=LINEAGE, input_rows=input_rows)
    for r in warehouse.query(sql, {"plan": plan_name}):
        if processors is not None and r["processor"] not in processors:
            continue
        key = (r["processor"], r["partition_date"])
        missing = r["now_partitions"] - r["seen_partitions"]
        if missing > 0:
            reason = f"{missing} {r['input_processor']} partition(s) it reads were missing when it was built"
        else:
            reason = f"{r['input_processor']} {r['first_changed']} was rewritten after it was built"
            seen_rows, now_rows = r["seen_rows"], r["now_rows"]
            if seen_rows is not None and now_rows is not None and now_rows != seen_rows:
                change = f"{seen_rows - now_rows} lost" if now_rows < seen_rows else f"{now_rows - seen_rows} more"
                reason += f" (the {r['input_processor']} rows it read: {seen_rows} then, {now_rows} now: {change})"
        seen.setdefault(key, Stale(r["processor"], r["partition_date"], r["input_processor"], reason))
    return sorted(seen.values(), key=lambda s: (s.processor, s.date))
