"""The processor x date grid: every planned partition's state, as text or as data."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import date
from typing import Any

import click

from bfplan.gaps import find_gaps
from bfplan.ledger.ledger import Ledger
from bfplan.plan.dates import expand_dates
from bfplan.plan.model import Plan
from bfplan.plugins import Registry
from bfplan.warehouse.base import Warehouse

SYMBOLS = {"done": ("#", "green"), "failed": ("F", "red"), "blocked": ("B", "yellow"),
           "circuit_broken": ("C", "magenta"), "stale": ("S", "cyan"), "missing": (".", "white")}


def status_rows(plan: Plan, registry: Registry, wh: Warehouse, start: date | None,
                end: date | None) -> list[dict[str, Any]]:
    """Every planned partition: its ledger state, ``stale`` when upstream changed since it was
    built, ``missing`` when never recorded or its rows are gone (a missing_date gap)."""
    names = [r.name for _, r in plan.processor_refs()]
    state = Ledger(wh, plan.name).current(names, start, end)
    gaps = {(g.processor, g.date): g for g in find_gaps(plan, registry, wh, start=start, end=end)}
    rows = []
    for phase in plan.phases:
        dates = [d for d in expand_dates(phase.dates, registry, plan)
                 if (start is None or d >= start) and (end is None or d <= end)]
        for ref in phase.processors:
            for d in dates:
                st = state.get((ref.name, d))
                row = st.as_dict() if st else {"processor": ref.name, "date": d.isoformat(), "status": "missing",
                                                "run_id": None, "rows": None, "duration_s": None,
                                                "attempt": None, "error": None}
                gap = gaps.get((ref.name, d))
                if row["status"] == "done" and gap is not None and gap.type in ("cascade", "missing_date"):
                    row["status"] = "stale" if gap.type == "cascade" else "missing"
                    row["error"] = gap.detail
                rows.append(row)
    return rows


def print_status_grid(rows: list[dict[str, Any]], plan: Plan) -> None:
    """Processor rows x date columns, one character per partition, coloured on a TTY."""
    color = sys.stdout.isatty()
    names = [r.name for _, r in plan.processor_refs()]
    dates = sorted({r["date"] for r in rows})
    if not dates:
        click.echo("the ledger has no partitions for this plan yet (run `bfplan run` first)")
        return
    by = {(r["processor"], r["date"]): r["status"] for r in rows}
    width = max(len(n) for n in names)
    months = "".join("|" if d[8:10] == "01" else " " for d in dates)
    click.echo(f"{'':<{width}}  {dates[0]} .. {dates[-1]}")
    click.echo(f"{'':<{width}}  {months}")
    counts: Counter[str] = Counter()
    for n in names:
        cells = []
        for d in dates:
            st = by.get((n, d), "missing")
            counts[st] += 1
            sym, col = SYMBOLS.get(st, ("?", "white"))
            cells.append(click.style(sym, fg=col) if color else sym)
        click.echo(f"{n:<{width}}  {''.join(cells)}")
    legend = "  ".join(f"{SYMBOLS[k][0]} {k} ({counts.get(k, 0)})" for k in SYMBOLS)
    click.echo(legend)


