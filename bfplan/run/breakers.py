"""Circuit breakers as a run sees them: which processors are open, counting failed nodes.

The state lives in the ledger (:mod:`bfplan.ledger.breakers`); this is the run's view of it:
processors open at the start (or reset by ``--reset-breaker``), and the failed nodes counted
in the workers, under a lock, so the very next queued node of a tripped processor already
sees the trip.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date

import structlog

from bfplan.ledger.breakers import Breakers

log = structlog.get_logger("bfplan.run")


class BreakerState:
    """Open processors and failure counts of one run."""

    def __init__(self, breakers: Breakers, max_failures: int, run_id: str) -> None:
        self.breakers = breakers
        self.max_failures = max_failures
        self.run_id = run_id
        self._failures: Counter[str] = Counter()
        self._open: set[str] = set()
        self._lock = threading.Lock()

    def open_for(self, processors: Iterable[str], reset: Sequence[str] | None) -> None:
        """Reset the breakers ``reset`` names (None: all), then note those still open."""
        names = set(processors)
        if reset is None or reset:
            self.breakers.reset(sorted(names if reset is None else set(reset)), self.run_id)
        for name, trip in self.breakers.tripped().items():
            if name in names:
                self._open.add(name)
                log.error("circuit breaker open", processor=name, since=str(trip["at"]),
                          until=str(trip["until_at"]), reason=trip["reason"],
                          fix=f"investigate, then re-run with --reset-breaker {name}")

    def is_open(self, processor: str) -> bool:
        return processor in self._open

    def count_failure(self, processor: str, error: str) -> None:
        """One more failed node of ``processor``; trips its breaker at ``max_failures``."""
        with self._lock:
            self._failures[processor] += 1
            n = self._failures[processor]
            if not (self.max_failures and n >= self.max_failures and processor not in self._open):
                return
            self._open.add(processor)
            self.breakers.trip(processor, n, error, self.run_id)
        log.error("circuit breaker tripped: remaining nodes of the processor will not run", processor=processor,
                  failures=n, fix=f"investigate the failures, then re-run with --reset-breaker {processor}")

    def tripped_entities(self, processor: str, dates: Sequence[date]) -> list[str]:
        """Entities whose (daily) breaker is open for any of ``dates``."""
        return self.breakers.tripped_entities(processor, dates)
