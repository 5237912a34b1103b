"""A running plan's live progress: what ``bfplan status`` shows while the run holds the warehouse.

DuckDB lets one process write a database file and nobody else read it meanwhile, so the run
publishes its progress through :meth:`Warehouse.publish_progress` (DuckDB: a JSON file next to
the database, replaced whole): the planned partitions with the ledger's state as the run found
it, ``pending`` for those it is to compute, and each node's outcome as it lands. Writes are
throttled (at most every ``every_s`` seconds, plus the first and the last; cells are
lists, not mappings, so that a run of 10,000 partitions writes its file in milliseconds), so a run of 10,000
small nodes does not spend its time rewriting the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from bfplan.hostinfo import host
from bfplan.ledger.clock import utcnow
from bfplan.ledger.ledger import PartitionState
from bfplan.warehouse.base import Warehouse

PENDING = "pending"


class LiveProgress:
    """The progress document of one run, kept current and published."""

    def __init__(self, warehouse: Warehouse, plan: str, run_id: str, planned: Mapping[str, Sequence[date]],
                 state: Mapping[tuple[str, date], PartitionState], todo: Mapping[str, Sequence[date]],
                 total_nodes: int, *, every_s: float = 1.0) -> None:
        self.wh = warehouse
        self.every_s = every_s
        self._lock = threading.Lock()
        self._last = 0.0
        # (processor, date) -> [processor, date, status, run_id, rows]: lists encode fast
        self._cells: dict[tuple[str, date], list[Any]] = {}
        iso: dict[date, str] = {}
        for name, dates in planned.items():
            for d in dates:
                day = iso.get(d) or iso.setdefault(d, d.isoformat())
                st = state.get((name, d))
                self._cells[(name, d)] = ([name, day, st.status, st.run_id, st.rows] if st
                                          else [name, day, "missing", None, None])
        for name, dates in todo.items():
            for d in dates:
                self._cells[(name, d)] = [name, iso.get(d) or d.isoformat(), PENDING, run_id, None]
        self._head = {"run_id": run_id, "plan": plan, "host": host(), "pid": os.getpid(),
                      "since": f"{utcnow():%Y-%m-%d %H:%M:%S} UTC", "finished_nodes": 0, "total_nodes": total_nodes}

    def record(self, processor: str, dates: Iterable[date], status: str, rows: int | None = None, *,
               node: bool = True) -> None:
        """A node's outcome for its dates (``node`` False: dates blocked by another's failure)."""
        with self._lock:
            for d in dates:
                cell = self._cells.get((processor, d))
                if cell is not None:
                    cell[2], cell[4] = str(status), rows
            if node:
                self._head["finished_nodes"] += 1
        self.publish()

    def publish(self, *, force: bool = False) -> None:
        """Write the document if ``every_s`` passed since the last write (or ``force``)."""
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last < self.every_s:
                return
            self._last = now
            doc = {**self._head, "updated": f"{utcnow():%Y-%m-%d %H:%M:%S} UTC",
                   "cells": [list(c) for c in self._cells.values()]}
        with contextlib.suppress(OSError):  # a progress file that cannot be written never stops the run
            self.wh.publish_progress(doc)


def read_live(path: Path) -> dict[str, Any] | None:
    """A published progress document, its cells as ``status``'s partition rows (``partitions``),
    or None when there is none (or it is unreadable)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        cells = doc.pop("cells")
        doc["partitions"] = [{"processor": p, "date": d, "status": st, "run_id": run, "rows": rows,
                              "duration_s": None} for p, d, st, run, rows in cells]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return doc
