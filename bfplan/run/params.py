"""What a processor is handed as ``params`` — built here and nowhere else.

The runner hands them to the processor; gates bind the same values in their queries (a
processor's ``expected_entities_sql`` runs inside gate queries); the cost estimate dry-runs
the processor's SQL with them. In order, later ones winning: the plan's folder, the mode's
switches, the plan's vars, its plan-wide params, the processor's own params.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from bfplan.modes import Policy
from bfplan.plan.model import Plan


def processor_params(plan: Plan, name: str | None, policy: Policy, *,
                     circuit_broken_entities: Sequence[str] = ()) -> dict[str, Any]:
    """``name``'s params (``None``: the plan-wide ones only)."""
    own = next((ref.params for _, ref in plan.processor_refs() if ref.name == name), {}) if name else {}
    return {"plan_dir": str(plan.base_dir), **policy.processor_params(),
            "circuit_broken_entities": list(circuit_broken_entities), **plan.vars, **plan.params, **own}


def batch_params(params: dict[str, Any], dates: Sequence[date], *, run_id: str, processor: str,
                 mode: str) -> dict[str, Any]:
    """``params`` plus what every statement of one batch may bind: its dates, the run, the mode."""
    days = sorted(dates)
    return {**params, "dates": days, "start_date": days[0], "end_date": days[-1], "run_id": run_id,
            "processor_name": processor, "backfill_mode": mode == "backfill"}
