"""Circuit breakers as a run sees them: which processors are open, counting failed nodes.

The state lives in the ledger (:mod:`bfplan.ledger.breakers`); this is the run's view of it:
processors open at the start (or reset by ``--reset-breaker``, or closed because their code
changed since the trip), and the failed nodes counted in the workers, under a lock, so the very
next queued node of a tripped processor already sees the trip.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import structlog

from bfplan.ledger.breakers import Breakers
from bfplan.processors import Processor, SqlProcessor

log = structlog.get_logger("bfplan.run")


CODE_CHANGED = "code changed"


def code_fingerprint(processor: Processor) -> str | None:
    """A hash of what a processor runs: its SQL for a :class:`SqlProcessor`, and the source of
    its class (unless it is ``SqlProcessor`` itself); None when neither can be read."""
    parts = []
    if isinstance(processor, SqlProcessor):
        with contextlib.suppress(OSError):
            parts.append(processor.select_sql)
    if type(processor) is not SqlProcessor:
        with contextlib.suppress(OSError, TypeError):
            parts.append(inspect.getsource(type(processor)))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16] if parts else None


class BreakerState:
    """Open processors and failure counts of one run."""

    def __init__(self, breakers: Breakers, max_failures: int, run_id: str,
                 fingerprints: Mapping[str, str | None] | None = None) -> None:
        self.breakers = breakers
        self.max_failures = max_failures
        self.run_id = run_id
        #: each processor's code fingerprint now
        self.fingerprints = dict(fingerprints or {})
        self._failures: Counter[str] = Counter()
        self._open: set[str] = set()
        self._lock = threading.Lock()

    def open_for(self, processors: Iterable[str], reset: Sequence[str] | None) -> None:
        """Reset the breakers ``reset`` names (None: all), then note those still open."""
        names = set(processors)
        if reset is None or reset:
            self.breakers.reset(sorted(names if reset is None else set(reset)), self.run_id)
        tripped = self.breakers.tripped()
        changed = changed_since_trip(self.breakers, self.fingerprints, tripped)
        if changed:
            self.breakers.reset(changed, self.run_id, reason=CODE_CHANGED)
            for name in changed:
                log.info("circuit breaker closed: the processor's code changed since it opened", processor=name)
        for name, trip in tripped.items():
            if name in changed:
                continue
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
            self.breakers.trip(processor, n, error, self.run_id, self.fingerprints.get(processor))
        log.error("circuit breaker tripped: remaining nodes of the processor will not run", processor=processor,
                  failures=n, fix=f"investigate the failures, then re-run with --reset-breaker {processor}")

    def tripped_entities(self, processor: str, dates: Sequence[date]) -> list[str]:
        """Entities whose (daily) breaker is open for any of ``dates``."""
        return self.breakers.tripped_entities(processor, dates)


def changed_since_trip(breakers: Breakers, now: Mapping[str, str | None], tripped: Iterable[str]) -> list[str]:
    """The tripped processors whose code fingerprint differs from the one recorded at the trip."""
    then = breakers.fingerprints()
    return sorted(p for p in tripped if p in then and now.get(p) and now[p] != then[p])
