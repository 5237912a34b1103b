"""When a failed node is tried again, and how long it waits first.

Three kinds of failure: *environment* (the machine refuses writes: disk full, read-only, no
permission) — never retried, and it stops the run; *transient* (rate limits, 5xx, write
conflicts, as the warehouse classifies them) — retried with capped exponential backoff and
jitter; everything else is *permanent* for this run.
"""

from __future__ import annotations

import random
from enum import StrEnum

from bfplan.errors import WarehouseError
from bfplan.warehouse.base import Warehouse

#: the longest wait between two attempts of a node
MAX_BACKOFF_S = 30.0


class FailureKind(StrEnum):
    ENVIRONMENT = "environment"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


def classify(exc: BaseException, warehouse: Warehouse) -> FailureKind:
    """Which kind of failure ``exc`` is."""
    if isinstance(exc, WarehouseError) and exc.environment:
        return FailureKind.ENVIRONMENT
    return FailureKind.TRANSIENT if warehouse.is_transient(exc) else FailureKind.PERMANENT


def backoff_s(attempt: int, base_s: float, *, jitter: float | None = None) -> float:
    """Seconds to wait after failed ``attempt`` (1-based): base * 2^(attempt-1), capped at
    :data:`MAX_BACKOFF_S`, times a jitter in [0.5, 1.5) so retries of many nodes spread out."""
    delay = min(base_s * 2 ** min(attempt - 1, 30), MAX_BACKOFF_S)
    return delay * (0.5 + (random.random() if jitter is None else jitter))
