"""Backfill vs daily, as explicit policy: what each mode changes, and why.

The seed runbook's "backfill mode" is a bundle of switches scattered through processors; here
it is one object per mode that the runner, the gates and the processors read. Every field is
enforced by code (a test per field shows the behaviour change with it), and ``bfplan validate``
prints each with its reason. Thresholds that belong to one pipeline (how many rows make a
normal day) are that pipeline's, not the engine's: processors see the mode (``@backfill_mode``) and
the completeness switch (``@check_completeness``) and decide.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Policy:
    """What a mode does. ``WHY`` holds the reason of every field (printed by validate)."""

    mode: str
    #: days per node; None: the plan's batch_days (set-based SQL over a batch of dates)
    batch_days: int | None
    #: processors are asked to check each entity's window completeness (``@check_completeness``)
    entity_completeness: bool
    #: alerts (run_started, node_finished, gate_failed events: webhooks and other notifiers)
    alerts: bool
    #: per-entity circuit breaker (entities tripped after N attempts are handed to processors)
    entity_circuit_breaker: bool
    #: each entity failure is recorded as a reprocess attempt in the ledger
    record_reprocess_attempts: bool
    #: downstream triggers: the phase_completed event
    downstream_triggers: bool
    #: dates older than this many days are refused (None: never); --force overrides
    reject_older_than_days: int | None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def explain(self) -> list[tuple[str, Any, str]]:
        """(setting, value, why) for every setting."""
        return [(name, getattr(self, name), WHY[self.mode][name]) for name in WHY[self.mode]]

    def processor_params(self) -> dict[str, Any]:
        """What processors bind of the policy (``@check_completeness``)."""
        return {"check_completeness": self.entity_completeness}


BACKFILL = Policy(mode="backfill", batch_days=None, entity_completeness=False, alerts=False,
                  entity_circuit_breaker=False, record_reprocess_attempts=False, downstream_triggers=False,
                  reject_older_than_days=None)

DAILY = Policy(mode="daily", batch_days=1, entity_completeness=True, alerts=True, entity_circuit_breaker=True,
               record_reprocess_attempts=True, downstream_triggers=True, reject_older_than_days=90)

WHY: dict[str, dict[str, str]] = {
    "backfill": {
        "batch_days": "throughput first: one set-based statement per processor per batch of dates",
        "entity_completeness": "historical windows are complete by construction; processors treat them as 100%",
        "alerts": "you validate a backfill yourself (bfplan check); alerts would be noise",
        "entity_circuit_breaker": "a backfill reprocesses on purpose; no runaway daily retries to stop",
        "record_reprocess_attempts": "nothing reads them without the entity circuit breaker",
        "downstream_triggers": "phases run in order inside the plan; triggering the next phase would double it",
        "reject_older_than_days": "old dates are what a backfill is for",
    },
    "daily": {
        "batch_days": "one date per node: today's data, fully checked",
        "entity_completeness": "each entity's rolling windows must be complete (processors check @check_completeness)",
        "alerts": "failures must be seen: node and gate failures are notified",
        "entity_circuit_breaker": "stops runaway retries of the same entity (trips after N attempts)",
        "record_reprocess_attempts": "the circuit breaker counts them",
        "downstream_triggers": "phase_completed events trigger the next pipeline step",
        "reject_older_than_days": "a date older than 90 days is a backfill; use backfill mode (or --force)",
    },
}

POLICIES = {"backfill": BACKFILL, "daily": DAILY}


def policy_for(mode: str) -> Policy:
    """The policy of ``mode`` ("backfill" or "daily")."""
    return POLICIES[mode]
