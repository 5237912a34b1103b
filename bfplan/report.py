"""Human output: the run summary, and the processor x date status grid."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import date
from typing import Any

import click

from bfplan.ledger import Ledger

SYMBOLS = {"done": ("#", "green"), "failed": ("F", "red"), "blocked": ("B", "yellow"),
           "circuit_broken": ("C", "magenta"), "stale": ("S", "cyan"), "missing": (".", "white")}


def print_run_summary(summary: Any, plan_path: str) -> None:
    """What happened, in a few lines, with what to do next when something failed."""
    p = summary.partitions
    g = summary.gates
    broken = p.get("circuit_broken", 0)
    idle = p["done"] == 0 and p["failed"] == 0 and p["blocked"] == 0 and not broken
    if idle and not summary.failures and not summary.stopped_by:
        checked = g["passed"] + g["warned"]
        again = f"; {checked} gate(s) checked again and passed" if checked else ""
        click.echo(f"nothing to do: all {p['skipped']} partition(s) are already done{again} "
                   f"(use --force to recompute, --from P to recompute P and downstream)")
        return
    click.echo(f"run {summary.run_id} {summary.status} in {summary.duration_s:.1f}s: "
               f"{p['done']} partition(s) done ({summary.rows} rows), {p['skipped']} skipped (already done), "
               f"{p['failed']} failed, {p['blocked']} blocked"
               + (f", {broken} not run (circuit breaker open)" if broken else "")
               + f"; gates: {g['passed']} passed, {g['warned']} warned, {g['failed']} failed")
    if summary.stopped_by:
        click.echo(f"  STOPPED: the warehouse refuses writes: {summary.stopped_by}", err=True)
        click.echo(f"next: free what the warehouse needs (disk space, permissions), then `bfplan run {plan_path}` "
                   "again: what committed is kept, nothing is recomputed twice", err=True)
        return
    if summary.entity_failures:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(summary.entity_failures.items()))
        click.echo(f"entity failures by category: {parts}"
                   + ("  (PROCESSING_ERROR means a bug)" if "PROCESSING_ERROR" in summary.entity_failures else
                      "  (no PROCESSING_ERROR: no bug)"))
    for f in summary.failures:
        click.echo(f"  FAILED {f['node']}: {f['error']}", err=True)
        if f.get("dates"):
            shown = ", ".join(f["dates"][:8]) + (f" and {len(f['dates']) - 8} more" if len(f["dates"]) > 8 else "")
            click.echo(f"    failing dates: {shown}", err=True)
        for finding in f.get("findings", []):
            where = " ".join(str(x) for x in (finding.get("table"), finding.get("date")) if x)
            click.echo(f"    {where}: {finding['detail']}", err=True)
    for b in summary.blocked_by:
        click.echo(f"  {b['node']} blocked {b['blocked_partitions']} downstream partition(s) "
                   f"from {b['first_date']}", err=True)
    if any(f.get("gate") for f in summary.failures):
        click.echo(f"next: fix the data the gate names (`bfplan gaps {plan_path}` lists what is missing or "
                   f"wrong), then `bfplan run {plan_path}` again: the gate re-checks and what it blocked runs; "
                   f"`bfplan check {plan_path}` re-runs the gates alone", err=True)
    elif summary.failures:
        click.echo(f"next: fix the cause, then `bfplan run {plan_path}` again: done partitions are skipped, "
                   "the failed and blocked ones run", err=True)
    if broken:
        click.echo(f"  {broken} partition(s) were not run because a circuit breaker is open; after fixing the "
                   f"cause, `bfplan run {plan_path} --reset-breaker` runs them", err=True)


def status_rows(session: Any, start: date | None, end: date | None) -> list[dict[str, Any]]:
    """Every planned partition: its ledger state, ``stale`` when upstream changed since it was
    built, ``missing`` when never recorded or its rows are gone (a missing_date gap)."""
    from bfplan.gaps import find_gaps
    from bfplan.work import expand_dates

    plan, registry, wh = session.plan, session.registry, session.warehouse
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


def print_status_grid(rows: list[dict[str, Any]], plan: Any) -> None:
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


def print_check_report(report: Any) -> None:
    """One line per gate, then its failing and warning findings (capped), then the verdict."""
    marks = {"pass": "ok  ", "warn": "WARN", "fail": "FAIL"}
    for g in report.gates:
        click.echo(f"{marks.get(g['status'], g['status'])} {g['gate']} ({g['stage']})"
                   + (f": {g['summary']}" if g.get("summary") else ""))
        shown = [f for f in g["findings"] if f.get("status", "fail") != "pass"]
        for f in shown[:10]:
            where = " ".join(str(x) for x in (f.get("processor"), f.get("table"), f.get("date")) if x)
            click.echo(f"     {where}: {f['detail']}")
        if len(shown) > 10:
            click.echo(f"     ... and {len(shown) - 10} more finding(s) (use --json for all)")
    click.echo(f"check {report.status}")


def print_gaps(gaps: list[Any], plan_path: str) -> None:
    """Gaps grouped by type, then what to do about them."""
    if not gaps:
        click.echo("no gaps")
        return
    by_type = Counter(g.type for g in gaps)
    for g in gaps:
        click.echo(f"{g.type:<12} {g.processor:<10} {g.date}  {g.detail}")
    click.echo(", ".join(f"{n} {t}" for t, n in by_type.items()))
    if by_type.get("cascade"):
        click.echo(f"cascade: `bfplan run {plan_path} --stale` recomputes stale partitions, upstream first", err=True)
    if set(by_type) - {"cascade"}:
        click.echo(f"missing or bad data: fix upstream first, then `bfplan run {plan_path} --from P --dates D,...` "
                   "recomputes P and everything downstream in order", err=True)


HTML_COLORS = {"done": "#2e7d32", "failed": "#c62828", "blocked": "#f9a825", "circuit_broken": "#6a1b9a",
               "stale": "#00838f", "missing": "#bdbdbd"}


def html_report(session: Any) -> str:
    """A self-contained HTML page: latest runs, the status grid, gate results and gaps."""
    import html
    import json as _json

    from bfplan.gaps import find_gaps

    plan = session.plan
    ledger = Ledger(session.warehouse, plan.name)
    runs = ledger.runs(limit=10)
    rows = status_rows(session, None, None)
    gaps = find_gaps(plan, session.registry, session.warehouse)
    gates = ledger.gate_results(runs[0]["run_id"]) if runs else []
    esc = html.escape
    names = [r.name for _, r in plan.processor_refs()]
    dates = sorted({r["date"] for r in rows})
    by = {(r["processor"], r["date"]): r for r in rows}
    out = [f"<!doctype html><meta charset=utf-8><title>bfplan report: {esc(plan.name)}</title>",
           "<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
           "td,th{padding:2px 6px;border:1px solid #ddd;font-size:12px}.g td{padding:0;width:9px;height:16px}"
           ".g th{font-weight:normal;text-align:right}</style>",
           f"<h1>{esc(plan.name)}</h1><p>{esc(plan.description)} — warehouse {esc(session.warehouse.description)}</p>",
           "<h2>Runs</h2><table><tr><th>run</th><th>status</th><th>at</th><th>done</th><th>skipped</th>"
           "<th>failed</th><th>blocked</th><th>seconds</th></tr>"]
    for r in runs:
        s = _json.loads(r["summary"] or "{}")
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
