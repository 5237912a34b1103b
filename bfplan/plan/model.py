"""The plan as a program sees it once it is checked: frozen dataclasses, positions kept.

A :class:`Plan` is built by :func:`bfplan.plan.build.load_plan` (or, with every check of the
plan that needs its plugins, :func:`bfplan.plan.validate.validate_plan`); nothing here reads a
file or knows YAML.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

from bfplan.contracts import Contract
from bfplan.errors import PlanIssue
from bfplan.plan.marks import Mark

#: What processor, phase, gate, calendar and variable names must match (also safe in SQL identifiers).
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: what a date written in a plan (or a --var) looks like
DATE_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
#: the dates a plan may name: "season to date" windows start at 1900-01-01 (see bfplan.ledger.lineage),
#: and date arithmetic near year 9999 overflows Python's date
DATE_MIN, DATE_MAX = date(1900, 1, 1), date(2999, 12, 31)


@dataclass(frozen=True)
class GateRef:
    """A gate at a stage boundary: its name, its options (``severity`` removed) and its severity.

    ``severity`` is ``block`` (a failure blocks everything downstream) or ``warn``.
    """

    name: str
    options: Mapping[str, Any] = field(compare=False)
    severity: str
    mark: Mark


@dataclass(frozen=True)
class ProcessorRef:
    """A processor as a plan uses it; ``None`` settings fall back to ``Plan.defaults``.

    ``mark`` is where its name is written; ``params`` are its own, over the plan-wide ``Plan.params``.
    """

    name: str
    depends_on: tuple[str, ...]
    params: Mapping[str, Any] = field(compare=False)
    batch_days: int | None
    retries: int | None
    max_concurrency: int | None
    gates_after: tuple[GateRef, ...]
    mark: Mark
    #: the plan's contract for it, laid over the processor's own (see :mod:`bfplan.contracts`)
    contract: Contract | None = field(default=None, compare=False)


@dataclass(frozen=True)
class DateSpec:
    """Dates as written: ``start``/``end`` (inclusive) or an explicit ``dates`` list, plus a calendar name."""

    start: date | None
    end: date | None
    dates: tuple[date, ...] | None
    calendar: str | None

    def span_days(self) -> int:
        """How many days the spec covers before any calendar: the bound on what ``expand`` builds."""
        if self.dates is not None:
            return len(set(self.dates))
        if self.start is not None and self.end is not None:
            return max(0, (self.end - self.start).days + 1)
        return 0

    def expand(self, calendar: Callable[[date, date], Iterable[date]] | None = None) -> list[date]:
        """The dates, sorted and unique; with ``calendar``, only those it yields between the bounds."""
        if self.dates is not None:
            wanted = set(self.dates)
        elif self.start is not None and self.end is not None:
            wanted = {self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)}
        else:
            return []
        if calendar is not None and wanted:
            wanted &= set(calendar(min(wanted), max(wanted)))
        return sorted(wanted)


@dataclass(frozen=True)
class Phase:
    """A phase; ``dates`` is the plan's DateSpec with this phase's override merged in."""

    name: str
    processors: tuple[ProcessorRef, ...]
    gates_before: tuple[GateRef, ...]
    gates_after: tuple[GateRef, ...]
    dates: DateSpec
    mark: Mark


@dataclass(frozen=True)
class Defaults:
    """Run policies for processors that do not set their own."""

    retries: int = 2
    batch_days: int = 7
    jobs: int = 2
    retry_backoff_s: float = 0.5
    circuit_breaker_max_failures: int = 3
    #: the most nodes a run of the plan may have (checked before anything is built)
    max_nodes: int = 100_000
    #: the most days one date range of the plan may span (checked before it is expanded)
    max_days: int = 36_525


@dataclass(frozen=True)
class Plan:
    """A loaded, valid plan. ``marks`` maps every dotted key path of the document to its position."""

    path: Path
    name: str
    description: str
    dates: DateSpec
    mode: str
    warehouse: Mapping[str, Any] = field(compare=False)
    plugins: tuple[Path, ...]
    vars: Mapping[str, Any] = field(compare=False)
    params: Mapping[str, Any] = field(compare=False)
    defaults: Defaults
    phases: tuple[Phase, ...]
    notify: tuple[Mapping[str, Any], ...] = field(compare=False)
    marks: Mapping[str, Mark] = field(compare=False, repr=False)

    @property
    def base_dir(self) -> Path:
        """The plan file's directory (absolute): what relative paths in the plan are relative to."""
        return self.path.absolute().parent

    def node_bound(self, batch_days: int | None = None) -> int:
        """The most nodes a run can have: each processor's days over its batch size (a calendar
        can only remove dates). ``batch_days`` overrides the plan's batching (a mode's, e.g.
        daily's 1); a daily plan batches by 1."""
        override = batch_days or (1 if self.mode == "daily" else None)
        nodes = 0
        for phase in self.phases:
            days = phase.dates.span_days()
            for ref in phase.processors:
                batch = override or ref.batch_days or self.defaults.batch_days
                nodes += -(-days // max(1, batch))
        return nodes

    def processor_refs(self) -> list[tuple[Phase, ProcessorRef]]:
        """Every processor of the plan with its phase, in plan order."""
        return [(phase, ref) for phase in self.phases for ref in phase.processors]

    def mark_of(self, path: str) -> Mark:
        """The position of ``path`` (``phases[0].processors[1]``), else of its nearest ancestor."""
        while path and path not in self.marks:
            parent = re.sub(r"(\[\d+\]|\.?[^.\[\]]*)$", "", path)
            path = parent if parent != path else ""
        return self.marks.get(path, Mark(1, 1))

    def issue(self, path: str, message: str) -> PlanIssue:
        """A ``PlanIssue`` at ``path``'s position in this plan's file."""
        mark = self.mark_of(path)
        return PlanIssue(str(self.path), mark.line, mark.col, path, message)


class RegistryLike(Protocol):
    """What ``load_plan`` needs from the plugin registry: its names (and optional schemas)."""

    processors: Mapping[str, Any]
    gates: Mapping[str, Any]
    calendars: Mapping[str, Any]
    warehouses: Mapping[str, Any]


def out_of_range(day: date) -> str:
    """The message for a date outside what a plan may name."""
    return f"date {day.isoformat()} is out of range (plans cover {DATE_MIN}..{DATE_MAX})"
