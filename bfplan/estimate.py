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


@dataclass(frozen=True)
class Estimate:
    """Bytes one processor would scan over its dates (None: no estimate, with the reason)."""

    processor: str
    bytes: int | None
    note: str = ""


def estimate_plan(plan: Any, registry: Any, warehouse: Any, todo: Mapping[str, Sequence[date]]) -> list[Estimate]:
    """One dry run per SQL processor with work to do, over all its dates at once."""
    out = []
    for _, ref in plan.processor_refs():
        dates = sorted(todo.get(ref.name, ()))
        proc = registry.processors[ref.name]
        if not dates:
            continue
        sql = getattr(proc, "select_sql", None)
        if not sql:
            out.append(Estimate(ref.name, None, "not SQL (loads files)"))
            continue
        missing = [t for t in proc.inputs if not warehouse.table_exists(t)]
        if missing:
            out.append(Estimate(ref.name, None, f"inputs do not exist yet ({', '.join(missing)})"))
            continue
        params = {"plan_dir": str(plan.path.parent), "circuit_broken_entities": [], **plan.vars, **plan.params,
                  **ref.params, "dates": dates, "start_date": dates[0], "end_date": dates[-1], "run_id": "estimate",
                  "processor_name": ref.name, "backfill_mode": plan.mode == "backfill", "min_players": 20,
                  "min_teams": 5, "min_phase3_rows": 1, "check_completeness": False}
        try:
            scanned = warehouse.estimate_bytes(sql, params)
        except WarehouseError as exc:
            out.append(Estimate(ref.name, None, f"dry run failed: {exc}"))
            continue
        out.append(Estimate(ref.name, scanned, "" if scanned is not None else "the warehouse gave no estimate"))
    return out


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"
