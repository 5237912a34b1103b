"""Backfill vs daily, as explicit policy: what each mode changes, and why.

The seed runbook's "backfill mode" is a bundle of switches scattered through processors;
here it is one object per mode that the runner, the gates and the processors read
(processors get the thresholds as parameters: ``@min_players``, ``@min_teams`` …).
``bfplan validate`` prints the policy in effect with each reason.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Policy:
    """What a mode does. Each field's metadata ``why`` says the reason (printed by validate)."""

    mode: str
    #: days per node; None: the plan's batch_days (set-based SQL over a batch of dates)
    batch_days: int | None
    #: "existence": at least one upstream row per date; "full": the plan's thresholds and freshness
    dependency_check: str
    #: per-entity completeness of rolling windows (L5/L10/L7d/L14d) checked, or treated as 100%
    entity_completeness: bool
    #: alerts and notifications (webhooks) for node and gate failures
    alerts: bool
    #: minimum upstream entities per date before a processor runs (players, teams, phase-3 rows)
    min_players: int
    min_teams: int
    min_phase3_rows: int
    #: seconds before a warehouse query is abandoned
    query_timeout_s: int
    #: per-entity circuit breaker (attempts recorded; trips after N attempts)
    entity_circuit_breaker: bool
    #: reprocess attempts recorded in the ledger
    record_reprocess_attempts: bool
    #: downstream triggers (the phase_completed event) emitted
    downstream_triggers: bool
    #: dates older than this many days are refused (None: never); --force overrides
    reject_older_than_days: int | None
    #: stale upstream data: "warn" or "fail"
    stale_upstream: str

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def explain(self) -> list[tuple[str, Any, str]]:
        """(setting, value, why) for every setting."""
        return [(name, getattr(self, name), WHY[self.mode][name]) for name in WHY[self.mode]]

    def processor_params(self) -> dict[str, Any]:
        """Thresholds processors may bind as SQL parameters."""
        return {"min_players": self.min_players, "min_teams": self.min_teams,
                "min_phase3_rows": self.min_phase3_rows, "check_completeness": self.entity_completeness}


BACKFILL = Policy(
    mode="backfill", batch_days=None, dependency_check="existence", entity_completeness=False, alerts=False,
    min_players=20, min_teams=5, min_phase3_rows=1, query_timeout_s=60, entity_circuit_breaker=False,
    record_reprocess_attempts=False, downstream_triggers=False, reject_older_than_days=None,
    stale_upstream="warn",
)

DAILY = Policy(
    mode="daily", batch_days=1, dependency_check="full", entity_completeness=True, alerts=True,
    min_players=100, min_teams=10, min_phase3_rows=100, query_timeout_s=300, entity_circuit_breaker=True,
    record_reprocess_attempts=True, downstream_triggers=True, reject_older_than_days=90, stale_upstream="fail",
)

WHY: dict[str, dict[str, str]] = {
    "backfill": {
        "batch_days": "throughput first: one set-based statement per processor per batch of dates",
        "dependency_check": "a quick existence check (>= 1 upstream row per date) still prevents cascade "
                            "contamination; the full check costs minutes per date",
        "entity_completeness": "historical windows are complete by construction; treated as 100%",
        "alerts": "you validate a backfill yourself (bfplan check); alerts would be noise",
        "min_players": "relaxed thresholds (players 100 -> 20, teams 10 -> 5): early-season dates are small",
        "min_teams": "relaxed with min_players",
        "min_phase3_rows": "any Phase 3 data is enough to proceed in a backfill",
        "query_timeout_s": "batched queries are small and should fail fast (300 s -> 60 s)",
        "entity_circuit_breaker": "a backfill reprocesses on purpose; no runaway daily retries to stop",
        "record_reprocess_attempts": "nothing reads them without the entity circuit breaker",
        "downstream_triggers": "phases run in order inside the plan; triggering the next phase would double it",
        "reject_older_than_days": "old dates are what a backfill is for",
        "stale_upstream": "upstream is being rebuilt in the same plan; staleness only warns",
    },
    "daily": {
        "batch_days": "one date per node: today's data, fully checked",
        "dependency_check": "full dependency and freshness validation before processing",
        "entity_completeness": "each entity's rolling windows must be complete (L5/L10/L7d/L14d)",
        "alerts": "failures must be seen: node and gate failures are notified",
        "min_players": "production thresholds: fewer than 100 players means an upstream problem",
        "min_teams": "production thresholds: fewer than 10 teams means an upstream problem",
        "min_phase3_rows": "production thresholds",
        "query_timeout_s": "full validation queries need time (300 s)",
        "entity_circuit_breaker": "stops runaway retries of the same entity (trips after N attempts)",
        "record_reprocess_attempts": "the circuit breaker counts them",
        "downstream_triggers": "phase_completed events trigger the next pipeline step",
        "reject_older_than_days": "a date older than 90 days is a backfill; use backfill mode (or --force)",
        "stale_upstream": "processing on stale upstream data would publish wrong numbers",
    },
}

POLICIES = {"backfill": BACKFILL, "daily": DAILY}


def policy_for(mode: str) -> Policy:
    """The policy of ``mode`` ("backfill" or "daily")."""
    return POLICIES[mode]
