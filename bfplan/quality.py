"""Quality columns: what a processor's rows say of themselves, and when a date is degraded.

A processor declares its quality columns (:class:`Quality`): ``ready`` (TRUE when the row is
fit for use), ``completeness`` (a percentage of what it needed that it had) and ``flags``
(booleans TRUE when the row had everything it needed, e.g. "has a matchup"). A row is **not
ready** when ``ready`` or a flag is not TRUE, or its completeness is under ``min_completeness``.

Some rows are not ready by design (too little history early on, an entity with too few
samples); a hole makes *more* of them not ready than usual. So a date is judged against its
own recent past: its **baseline** is the median not-ready share of the processor's dates in
the ``baseline_days`` before it, and the date is DEGRADED when its share exceeds the baseline
by ``warn_points`` (warn) or ``fail_points`` (fail) percentage points, or exceeds
``max_not_ready_pct`` outright (fail). :func:`judge` is the one place this rule lives: the
``quality`` gate and ``bfplan gaps`` both call it.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from bfplan.status import GateStatus

if TYPE_CHECKING:
    from bfplan.processors import Processor
    from bfplan.warehouse.base import Warehouse

#: the defaults of the options below (the quality gate's schema documents them)
BASELINE_DAYS = 28
WARN_POINTS = 20.0
FAIL_POINTS = 40.0
#: a baseline needs at least this many earlier dates
MIN_HISTORY = 3


@dataclass(frozen=True)
class Quality:
    """A processor's quality columns (see the module's docs); all optional."""

    ready: str | None = None
    completeness: str | None = None
    flags: tuple[str, ...] = ()
    min_completeness: float | None = None

    def __post_init__(self) -> None:
        from bfplan.warehouse.base import check_identifier

        object.__setattr__(self, "flags", tuple(self.flags))
        for col in (self.ready, self.completeness, *self.flags):
            if col is not None:
                check_identifier(col, "quality column")
        if not (self.ready or self.flags or (self.completeness and self.min_completeness is not None)):
            raise ValueError("quality: declare ready, flags, or completeness with min_completeness")
        if self.min_completeness is not None and not 0 <= self.min_completeness <= 100:
            raise ValueError("quality: min_completeness is a percentage, 0 to 100")

    @classmethod
    def of(cls, value: Quality | Mapping[str, Any] | None) -> Quality | None:
        if value is None or isinstance(value, Quality):
            return value
        return cls(**dict(value))

    def sound_sql(self) -> str:
        """SQL TRUE for a row that is ready (NULL counts as not)."""
        from bfplan.warehouse.base import check_identifier

        tests = [f"IFNULL({check_identifier(c)}, FALSE)" for c in (self.ready, *self.flags) if c]
        if self.completeness and self.min_completeness is not None:
            tests.append(f"IFNULL({check_identifier(self.completeness)} >= {float(self.min_completeness)!r}, FALSE)")
        return "(" + " AND ".join(tests) + ")"


@dataclass(frozen=True)
class DateQuality:
    """One date of a processor: rows, rows not ready, mean completeness."""

    date: date
    rows: int
    not_ready: int
    completeness: float | None

    @property
    def share(self) -> float:
        return 100.0 * self.not_ready / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class Verdict:
    """How one date stands against its baseline."""

    date: date
    status: str
    share: float
    baseline: float | None
    detail: str


def measure(wh: Warehouse, proc: Processor, start: date, end: date) -> dict[date, DateQuality]:
    """Per date in [start, end], the processor's rows and rows not ready: one query."""
    quality = proc.quality
    if quality is None or not wh.table_exists(proc.table):
        return {}
    from bfplan.warehouse.base import check_identifier

    col = check_identifier(proc.partition_column)
    completeness = f"AVG({check_identifier(quality.completeness)})" if quality.completeness else "NULL"
    sql = (f"SELECT CAST({col} AS DATE) AS d, COUNT(*) AS n, COUNTIF(NOT {quality.sound_sql()}) AS bad, "
           f"{completeness} AS c FROM {proc.table} WHERE {col} BETWEEN @start AND @end GROUP BY 1")
    return {r["d"]: DateQuality(r["d"], r["n"], r["bad"], r["c"]) for r in wh.query(sql, {"start": start, "end": end})}


def window_start(dates: Sequence[date], options: Mapping[str, Any]) -> date:
    """The first date :func:`judge` needs measured for ``dates`` (their baselines' start)."""
    return min(dates) - timedelta(days=int(options.get("baseline_days", BASELINE_DAYS)))


def judge(measured: Mapping[date, DateQuality], dates: Sequence[date], options: Mapping[str, Any]) -> list[Verdict]:
    """Each of ``dates`` that has rows, against its baseline (``options``: the quality gate's)."""
    days = int(options.get("baseline_days", BASELINE_DAYS))
    warn = float(options.get("warn_points", WARN_POINTS))
    fail = float(options.get("fail_points", FAIL_POINTS))
    ceiling = options.get("max_not_ready_pct")
    known = sorted(measured)
    verdicts = []
    for d in sorted(dates):
        q = measured.get(d)
        if q is None or not q.rows:
            continue
        history = [measured[x].share for x in known if d - timedelta(days=days) <= x < d and measured[x].rows]
        baseline = statistics.median(history) if len(history) >= MIN_HISTORY else None
        share = q.share
        status, why = GateStatus.PASS, ""
        if ceiling is not None and share > float(ceiling):
            status, why = GateStatus.FAIL, f"above the {float(ceiling):g}% allowed"
        elif baseline is not None and share - baseline > fail:
            status, why = GateStatus.FAIL, f"{share - baseline:.1f} points above its baseline"
        elif baseline is not None and share - baseline > warn:
            status, why = GateStatus.WARN, f"{share - baseline:.1f} points above its baseline"
        base = f"baseline {baseline:.1f}%" if baseline is not None else "no baseline yet"
        completeness = f", completeness {q.completeness:.1f}%" if q.completeness is not None else ""
        detail = (f"{q.not_ready} of {q.rows} rows not ready ({share:.1f}%, {base}{completeness})"
                  + (f": DEGRADED, {why}" if why else ""))
        verdicts.append(Verdict(d, status, share, baseline, detail))
    return verdicts
