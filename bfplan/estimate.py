"""Cost before running: dry-run each SQL processor over the plan's dates (BigQuery).

A dry run is free and reports the bytes a query would scan; on-demand pricing charges per
TiB scanned. A processor whose input tables do not exist yet (a later phase of a first run)
cannot be dry-run; it is listed as such rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from bfplan.errors import WarehouseError
from bfplan.modes import policy_for
from bfplan.plan.model import Plan
from bfplan.plugins import Registry
from bfplan.processors import SqlProcessor
from bfplan.run.params import batch_params, processor_params
from bfplan.warehouse.base import Warehouse


@dataclass(frozen=True)
class Estimate:
    """Bytes one processor would scan over its dates (None: no estimate, with the reason)."""

    processor: str
    bytes: int | None
    note: str = ""


def estimate_plan(plan: Plan, registry: Registry, warehouse: Warehouse,
                  todo: Mapping[str, Sequence[date]]) -> list[Estimate]:
    """One dry run per SQL processor with work to do, over all its dates at once."""
    out = []
    policy = policy_for(plan.mode)
    for _, ref in plan.processor_refs():
        dates = sorted(todo.get(ref.name, ()))
        proc = registry.processors[ref.name]
        if not dates:
            continue
        if not isinstance(proc, SqlProcessor):
            out.append(Estimate(ref.name, None, "not SQL (loads files)"))
            continue
        missing = [t for t in proc.inputs if not warehouse.table_exists(t)]
        if missing:
            out.append(Estimate(ref.name, None, f"inputs do not exist yet ({', '.join(missing)})"))
            continue
        own = processor_params(plan, ref.name, policy)
        params = batch_params({**own, **proc.bound_params(own)}, dates, run_id="estimate",
                              processor=ref.name, mode=plan.mode)
        try:
            scanned = warehouse.estimate_bytes(proc.select_sql, params)
        except WarehouseError as exc:
            out.append(Estimate(ref.name, None, f"dry run failed: {exc}"))
            continue
        out.append(Estimate(ref.name, scanned, "" if scanned is not None else "the warehouse gave no estimate"))
    return out


def cost_document(estimates: Sequence[Estimate], price_per_tib: float) -> dict[str, Any] | None:
    """The ``estimate`` of ``validate --json``: bytes per processor, the total and its price."""
    if not estimates:
        return None
    total = sum(e.bytes or 0 for e in estimates)
    return {"processors": [{"processor": e.processor, "bytes": e.bytes, "note": e.note} for e in estimates],
            "total_bytes": total, "price_per_tib": price_per_tib, "cost_usd": round(total / 2**40 * price_per_tib, 4)}


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"
