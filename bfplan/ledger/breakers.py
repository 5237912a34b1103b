"""Circuit breakers: stop runaway retries of a processor (any mode) or of an entity (daily).

Processor breaker: when a processor's nodes fail ``max_failures`` times in a run, its remaining
nodes are not started (CIRCUIT_BROKEN) and the trip is recorded; later runs refuse the
processor until the trip expires (7 days, as the seed's breaker) or ``--reset-breaker``, or
until the processor's code changes: the trip records a fingerprint of the code (see
:func:`bfplan.run.breakers.code_fingerprint`), and a run that finds another one closes the
breaker (a reset with the reason ``code changed``: the fix was deployed).

Entity breaker (daily mode, per the seed's ``reprocess_attempts``): every entity failure a
processor records is an attempt; on the ``max_failures``-th attempt for the same entity and
date the entity is tripped. Processors receive the tripped entities as the
``@circuit_broken_entities`` parameter and report them as CIRCUIT_BREAKER_ACTIVE.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from bfplan.ledger.clock import monotonic_ns, utcnow
from bfplan.ledger.tables import (
    ATTEMPT_COLUMNS,
    ATTEMPTS,
    BREAKER_CODE,
    BREAKER_CODE_COLUMNS,
    BREAKER_COLUMNS,
    BREAKERS,
)
from bfplan.warehouse.base import Warehouse

COOLDOWN = timedelta(days=7)


class Breakers:
    """Breaker state of one plan, in the ledger."""

    def __init__(self, warehouse: Warehouse, plan_name: str, *, read_only: bool = False) -> None:
        self.wh = warehouse
        self.plan_name = plan_name
        if not read_only:
            warehouse.ensure_table(BREAKERS, BREAKER_COLUMNS)
            warehouse.ensure_table(BREAKER_CODE, BREAKER_CODE_COLUMNS)
            warehouse.ensure_table(ATTEMPTS, ATTEMPT_COLUMNS)

    @classmethod
    def reader(cls, warehouse: Warehouse, plan_name: str) -> Breakers | None:
        """Breakers to read without writing (``validate``); None when none was ever recorded."""
        if not warehouse.exists or not warehouse.table_exists(BREAKERS):
            return None
        return cls(warehouse, plan_name, read_only=True)

    def fingerprints(self) -> dict[str, str]:
        """Each processor's code fingerprint as of its latest trip."""
        if not self.wh.table_exists(BREAKER_CODE):
            return {}
        rows = self.wh.query(
            f"SELECT processor, fingerprint FROM {BREAKER_CODE} WHERE plan_name = @plan "
            "QUALIFY ROW_NUMBER() OVER (PARTITION BY processor ORDER BY recorded_ns DESC) = 1",
            {"plan": self.plan_name},
        )
        return {r["processor"]: r["fingerprint"] for r in rows}

    def tripped(self, now: datetime | None = None) -> dict[str, dict[str, Any]]:
        """Processors whose latest breaker record is a trip that has not expired."""
        now = now or utcnow()
        rows = self.wh.query(
            f"SELECT processor, event, failures, reason, event_at AS at, until_at, run_id FROM {BREAKERS} "
            "WHERE plan_name = @plan QUALIFY ROW_NUMBER() OVER (PARTITION BY processor ORDER BY recorded_ns DESC) = 1",
            {"plan": self.plan_name},
        )
        return {r["processor"]: r for r in rows if r["event"] == "tripped" and r["until_at"] > now}

    def trip(self, processor: str, failures: int, reason: str, run_id: str, fingerprint: str | None = None) -> None:
        now = utcnow()
        if fingerprint:
            self.wh.append_rows(BREAKER_CODE, BREAKER_CODE_COLUMNS,
                                [(self.plan_name, processor, fingerprint, run_id, monotonic_ns())])
        row = (self.plan_name, processor, "tripped", failures, reason[:1000], now, now + COOLDOWN, run_id,
               monotonic_ns())
        self.wh.append_rows(BREAKERS, BREAKER_COLUMNS, [row])

    def reset(self, processors: Iterable[str], run_id: str, reason: str = "--reset-breaker") -> None:
        """Close the breakers of these processors (and their entities' attempt counts)."""
        now = utcnow()
        rows = [(self.plan_name, p, "reset", 0, reason, now, now, run_id, monotonic_ns())
                for p in processors]
        self.wh.append_rows(BREAKERS, BREAKER_COLUMNS, rows)

    # -- entity level (daily) -----------------------------------------------------------------
    def record_attempts(self, processor: str, failures: Sequence[dict[str, Any]], run_id: str,
                        max_failures: int) -> int:
        """Count one attempt per failed (entity, date); trip those at ``max_failures``. Returns trips."""
        if not failures:
            return 0
        dates = sorted({f["analysis_date"] for f in failures})
        previous = {
            (r["entity_id"], r["analysis_date"]): r["n"]
            for r in self.wh.query(
                f"SELECT entity_id, analysis_date, COUNT(*) AS n FROM {ATTEMPTS} WHERE plan_name = @plan "
                "AND processor_name = @processor AND analysis_date IN UNNEST(@dates) "
                "AND recorded_ns > @since GROUP BY entity_id, analysis_date",
                {"plan": self.plan_name, "processor": processor, "dates": dates, "since": self._reset_ns(processor)},
            )
        }
        now = utcnow()
        rows, trips = [], 0
        for f in failures:
            n = previous.get((f["entity_id"], f["analysis_date"]), 0) + 1
            tripped = n >= max_failures
            trips += tripped
            rows.append((self.plan_name, processor, f["entity_id"], f["analysis_date"], n, now,
                         f.get("failure_category"), tripped, now + COOLDOWN if tripped else None, run_id,
                         monotonic_ns()))
        self.wh.append_rows(ATTEMPTS, ATTEMPT_COLUMNS, rows)
        return trips

    def _reset_ns(self, processor: str) -> int:
        rows = self.wh.query(
            f"SELECT MAX(recorded_ns) AS ns FROM {BREAKERS} WHERE plan_name = @plan AND processor = @processor "
            "AND event = 'reset'", {"plan": self.plan_name, "processor": processor})
        return (rows[0]["ns"] if rows else None) or 0

    def tripped_entities(self, processor: str, dates: Sequence[date]) -> list[str]:
        """Entities whose breaker is open for any of ``dates``."""
        rows = self.wh.query(
            f"SELECT DISTINCT entity_id FROM {ATTEMPTS} WHERE plan_name = @plan AND processor_name = @processor "
            "AND analysis_date IN UNNEST(@dates) AND circuit_breaker_tripped AND circuit_breaker_until > @now "
            "AND recorded_ns > @since ORDER BY entity_id",
            {"plan": self.plan_name, "processor": processor, "dates": list(dates), "now": utcnow(),
             "since": self._reset_ns(processor)},
        )
        return [r["entity_id"] for r in rows]
