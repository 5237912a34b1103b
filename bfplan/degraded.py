"""Degraded partitions: present, but built on a hole — and which hole.

Two ways a partition is degraded:

* **built on a loss** — its current version read an upstream partition *after* that partition
  lost rows (:mod:`bfplan.ledger.losses`), directly or through other degraded partitions: a
  loss that was re-ingested and propagated with ``run --stale`` leaves every table fresh, and
  this is what still says so;
* **not ready** — the processor declares quality columns (:class:`bfplan.quality.Quality`)
  and too many of the partition's rows say they are not ready (see :mod:`bfplan.quality`).

Either way the cause is found through lineage: the upstream partitions in the windows it read
that lost rows, are degraded themselves, or are missing.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from bfplan.ledger.lineage import Read
from bfplan.ledger.losses import Loss

#: upstream causes named per partition (the rest are counted)
MAX_CAUSES = 3


@dataclass(frozen=True)
class Cause:
    """An upstream partition a degraded partition was built from, and what is wrong with it."""

    processor: str
    date: date
    what: str

    def __str__(self) -> str:
        return f"{self.processor} {self.date.isoformat()} ({self.what})"


@dataclass
class Degraded:
    """A partition built on a hole: its causes upstream, and its own loss if it has one."""

    processor: str
    date: date
    causes: list[Cause] = field(default_factory=list)
    more: int = 0
    loss: Loss | None = None

    def describe(self) -> str:
        named = ", ".join(str(c) for c in self.causes)
        more = f" and {self.more} more" if self.more else ""
        own = f"{self.loss.describe()}; " if self.loss else ""
        return f"{own}built from {named}{more}"


def causes_in(reads: Sequence[Read], bad: Mapping[str, Sequence[tuple[date, int, str]]]) -> tuple[list[Cause], int]:
    """The bad upstream partitions (date, version, what; sorted by date) in the windows of
    ``reads`` that the reads saw (written before them), the first :data:`MAX_CAUSES` named."""
    causes: list[Cause] = []
    total = 0
    for r in reads:
        items = bad.get(r.input_processor, ())
        lo = bisect.bisect_left(items, (r.window_start,))
        hi = bisect.bisect_right(items, (r.window_end, 1 << 63))
        for d, version, what in items[lo:hi]:
            if version <= r.max_input_version:  # written before this read: it was built on it
                total += 1
                if len(causes) < MAX_CAUSES:
                    causes.append(Cause(r.input_processor, d, what))
    return causes, total - len(causes)


def built_on_losses(losses: Mapping[tuple[str, date], Loss], reads: Sequence[Read]) -> dict[tuple[str, date], Degraded]:
    """Every partition whose current version was built, directly or not, on a partition that
    had lost rows when it was read."""
    by_partition: dict[tuple[str, date], list[Read]] = defaultdict(list)
    version_of: dict[tuple[str, date], int] = {}
    for r in reads:
        by_partition[(r.processor, r.date)].append(r)
        version_of[(r.processor, r.date)] = r.version
    bad: dict[str, list[tuple[date, int, str]]] = defaultdict(list)
    for loss in losses.values():
        bad[loss.processor].append((loss.date, loss.version, f"lost {loss.lost} of {loss.was} rows"))
    for items in bad.values():
        items.sort()
    found: dict[tuple[str, date], Degraded] = {}
    changed = True
    while changed:  # a fixpoint: each pass reaches one more step downstream
        changed = False
        for key, rs in by_partition.items():
            if key in found:
                continue
            causes, more = causes_in(rs, bad)
            if not causes:
                continue
            found[key] = Degraded(key[0], key[1], causes, more, losses.get(key))
            if key not in losses:
                bisect.insort(bad[key[0]], (key[1], version_of[key], "built on a loss"))
            changed = True
    return found
