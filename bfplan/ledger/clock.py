"""Time as the ledger records it: naive UTC timestamps, and a strictly increasing stamp."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

_last_ns = 0
_ns_lock = threading.Lock()


def utcnow() -> datetime:
    """Naive UTC now (warehouse TIMESTAMP columns are UTC without zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


def monotonic_ns() -> int:
    """A strictly increasing wall-clock nanosecond stamp: orders records within a process."""
    global _last_ns
    with _ns_lock:
        _last_ns = max(_last_ns + 1, time.time_ns())
        return _last_ns
