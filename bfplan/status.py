"""The words for outcomes, in one place: partitions, gates and runs (string enums, so the ledger
stores and compares them as the plain text it always held)."""

from __future__ import annotations

from enum import StrEnum


class PartitionStatus(StrEnum):
    """What the ledger says of one (processor, date). Only DONE means "the data committed"."""

    DONE = "done"
    FAILED = "failed"
    BLOCKED = "blocked"
    CIRCUIT_BROKEN = "circuit_broken"


class GateStatus(StrEnum):
    """A gate's verdict (RUNNING: recorded when it starts; the latest record if it never ended)."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    RUNNING = "running"

    @property
    def level(self) -> int:
        """pass < warn < fail, for "the worst of these"."""
        return {"pass": 0, "warn": 1, "fail": 2}.get(self.value, 0)


class RunStatus(StrEnum):
    """A run's outcome as the ledger and ``run --json`` report it."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
