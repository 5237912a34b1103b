"""The self-contained HTML report of a plan: latest runs, the status grid, gate results, gaps."""

from __future__ import annotations

import html
import json

from bfplan.gaps import find_gaps
from bfplan.ledger.ledger import Ledger
from bfplan.plan.model import Plan
from bfplan.plugins import Registry
from bfplan.report.grid import status_rows
from bfplan.warehouse.base import Warehouse

HTML_COLORS = {"done": "#2e7d32", "failed": "#c62828", "blocked": "#f9a825", "circuit_broken": "#6a1b9a",
               "stale": "#00838f", "missing": "#bdbdbd"}


def html_report(plan: Plan, registry: Registry, warehouse: Warehouse) -> str:
    """A self-contained HTML page: latest runs, the status grid, gate results and gaps."""
    ledger = Ledger(warehouse, plan.name)
    runs = ledger.runs(limit=10)
    rows = status_rows(plan, registry, warehouse, None, None)
    gaps = find_gaps(plan, registry, warehouse)
    gates = ledger.gate_results(runs[0]["run_id"]) if runs else []
    esc = html.escape
    names = [r.name for _, r in plan.processor_refs()]
    dates = sorted({r["date"] for r in rows})
    by = {(r["processor"], r["date"]): r for r in rows}
    out = [f"<!doctype html><meta charset=utf-8><title>bfplan report: {esc(plan.name)}</title>",
           "<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
           "td,th{padding:2px 6px;border:1px solid #ddd;font-size:12px}.g td{padding:0;width:9px;height:16px}"
           ".g th{font-weight:normal;text-align:right}</style>",
           f"<h1>{esc(plan.name)}</h1><p>{esc(plan.description)} — warehouse {esc(warehouse.description)}</p>",
           "<h2>Runs</h2><table><tr><th>run</th><th>status</th><th>at</th><th>done</th><th>skipped</th>"
           "<th>failed</th><th>blocked</th><th>seconds</th></tr>"]
    for r in runs:
        s = json.loads(r["summary"] or "{}")
        p = s.get("partitions", {})
        out.append(f"<tr><td>{esc(r['run_id'])}</td><td>{esc(r['status'])}</td><td>{r['at']:%Y-%m-%d %H:%M}</td>"
                   + "".join(f"<td>{p.get(k, '')}</td>" for k in ("done", "skipped", "failed", "blocked"))
                   + f"<td>{s.get('duration_s', '')}</td></tr>")
    out.append("</table><h2>Partitions</h2><table class=g>")
    for n in names:
        cells = []
        for d in dates:
            r = by.get((n, d))
            st = r["status"] if r else "missing"
            tip = esc(f"{n} {d}: {st}" + (f" — {r['error']}" if r and r.get("error") else ""))
            cells.append(f'<td title="{tip}" style="background:{HTML_COLORS.get(st, "#fff")}"></td>')
        out.append(f"<tr><th>{esc(n)}</th>{''.join(cells)}</tr>")
    out.append("</table><p>" + " ".join(
        f'<span style="color:{c}">&#9632;</span> {k}' for k, c in HTML_COLORS.items()) + "</p>")
    out.append("<h2>Gates (latest run)</h2><table><tr><th>gate</th><th>stage</th><th>status</th><th>summary</th></tr>")
    for g in gates:
        out.append(f"<tr><td>{esc(g['gate'])}</td><td>{esc(g['stage'])}</td><td>{esc(g['status'])}</td>"
                   f"<td>{esc(g['summary'] or '')}</td></tr>")
    out.append(f"</table><h2>Gaps ({len(gaps)})</h2><table><tr><th>type</th><th>processor</th><th>date</th>"
               "<th>detail</th></tr>")
    for g in gaps[:500]:
        out.append(f"<tr><td>{g.type}</td><td>{esc(g.processor)}</td><td>{g.date}</td><td>{esc(g.detail)}</td></tr>")
    out.append("</table>")
    return "\n".join(out)
