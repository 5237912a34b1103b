"""Run events delivered to ``bfplan_on_event`` (notifications, downstream triggers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

EVENT_TYPES = ("run_started", "node_finished", "gate_failed", "phase_completed", "run_finished")


@dataclass(frozen=True)
class Event:
    """One thing that happened in a run."""

    type: str
    run_id: str
    plan: str
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "run_id": self.run_id, "plan": self.plan,
                "at": self.at.isoformat(), **self.data}
