"""The ledger, kept in the warehouse (schema ``bfplan``): runs, partition outcomes, gate verdicts,
lineage, the run lock and circuit breakers. ``tables`` holds every schema; ``ledger`` reads and
writes runs, partitions and gates; ``lineage`` versions and staleness; ``lock`` and ``breakers``
the state that keeps runs apart and stops runaway retries."""

from __future__ import annotations

from bfplan.ledger.clock import monotonic_ns, utcnow
from bfplan.ledger.ledger import GateState, Ledger, PartitionState, new_run_id

__all__ = ["GateState", "Ledger", "PartitionState", "monotonic_ns", "new_run_id", "utcnow"]
