"""Human output on a terminal: the run summary, the check report, the gaps."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import click

from bfplan.check import CheckReport
from bfplan.cli_options import echo_traceback, show_tracebacks
from bfplan.explain import Explanation
from bfplan.gaps import Gap
from bfplan.run.summary import RunSummary


def print_run_summary(summary: RunSummary, plan_path: str) -> None:
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
    if summary.quarantined:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(summary.quarantined.items()))
        click.echo(f"rows quarantined (set aside, the rest committed): {parts}; "
                   f"`bfplan explain {plan_path} PROCESSOR DATE` shows them, bfplan.quarantine holds them")
    for w in summary.warnings:
        click.echo(f"  WARN {w['node']}: {w['summary']}", err=True)
        for finding in w["findings"]:
            where = " ".join(str(x) for x in (finding.get("table"), finding.get("date")) if x)
            click.echo(f"    {where + ': ' if where else ''}{finding['detail']}", err=True)
        if w["more"]:
            click.echo(f"    ... and {w['more']} more (`bfplan check {plan_path}` lists them)", err=True)
    tracebacks = show_tracebacks()
    for f in summary.failures:
        click.echo(f"  FAILED {f['node']}: {f['error']}", err=True)
        if tracebacks:
            echo_traceback(f.get("traceback"))
        if f.get("dates"):
            shown = ", ".join(f["dates"][:8]) + (f" and {len(f['dates']) - 8} more" if len(f["dates"]) > 8 else "")
            click.echo(f"    failing dates: {shown}", err=True)
        for finding in f.get("findings", []):
            where = " ".join(str(x) for x in (finding.get("table"), finding.get("date")) if x)
            click.echo(f"    {where}: {finding['detail']}", err=True)
    for b in summary.blocked_by:
        click.echo(f"  {b['node']} blocked {b['blocked_partitions']} downstream partition(s) "
                   f"from {b['first_date']}", err=True)
    code = [raised_at(f["error"]) or "?" for f in summary.failures if f.get("gate") and f.get("traceback")]
    if code:
        click.echo(f"next: the gate's code raised: fix it at {', '.join(code)} (`bfplan run {plan_path} "
                   "--traceback` prints the traceback), then run again; the gate re-checks and what it blocked "
                   "runs", err=True)
    elif any(f.get("gate") for f in summary.failures):
        click.echo(f"next: fix the data the gate names (`bfplan gaps {plan_path}` lists what is missing or "
                   f"wrong), then `bfplan run {plan_path}` again: the gate re-checks and what it blocked runs; "
                   f"`bfplan check {plan_path}` re-runs the gates alone", err=True)
    elif summary.failures and not broken:
        click.echo(f"next: fix the cause, then `bfplan run {plan_path}` again: done partitions are skipped, "
                   "the failed and blocked ones run", err=True)
    if broken:
        print_breakers(summary, plan_path)


def print_breakers(summary: RunSummary, plan_path: str) -> None:
    """One line per open breaker (its partitions not run, and those it blocked), then the command
    that closes them: a plain re-run would not run them."""
    for name, n in summary.circuit_broken_by.items():
        blocked = f", {n['blocked']} downstream blocked" if n["blocked"] else ""
        click.echo(f"  CIRCUIT BREAKER OPEN {name}: {n['partitions']} partition(s) not run{blocked}", err=True)
    names = ",".join(summary.circuit_broken_by) or "P"
    click.echo(f"next: fix the cause, then `bfplan run {plan_path} --reset-breaker {names}`: a plain re-run "
               "does not run them while the breaker is open (7 days) unless the processor's code or SQL changed "
               "since; done partitions are skipped", err=True)


def print_to_run(desc: dict[str, Any], plan_path: str) -> None:
    """``validate``: what would run, then each open breaker and what it holds back."""
    click.echo(f"{desc['to_run']} partition(s) to run, {desc['already_done']} already done, "
               f"{desc['nodes']} node(s)")
    for b in desc.get("breakers", []):
        head = (f"circuit breaker open: {b['processor']} since {b['opened_at']}, until {b['until']}: "
                f"{b['reason']}; ")
        if b["code_changed"]:
            click.echo(head + f"its code changed since: the next run closes it and runs its {b['partitions']} "
                              "partition(s)")
        else:
            click.echo(head + f"its {b['partitions']} partition(s) are not counted as to run: "
                              f"`bfplan run {plan_path} --reset-breaker {b['processor']}` runs them")


def raised_at(error: str) -> str | None:
    """``FILE:LINE`` of a one-line plugin error (``gate 'g' (plugin p, FILE:LINE) raised ...``)."""
    m = re.search(r"\(plugin [^,()]+, (.+?:\d+)\) raised ", error or "")
    return m.group(1) if m else None


def print_check_report(report: CheckReport) -> None:
    """One line per gate, then its failing and warning findings (capped), then the verdict."""
    marks = {"pass": "ok  ", "warn": "WARN", "fail": "FAIL"}
    for g in report.gates:
        click.echo(f"{marks.get(g['status'], g['status'])} {g['gate']} ({g['stage']})"
                   + (f": {g['summary']}" if g.get("summary") else ""))
        if show_tracebacks():
            echo_traceback(g.get("traceback"), "     ")
        shown = [f for f in g["findings"] if f.get("status", "fail") != "pass"]
        for f in shown[:10]:
            where = " ".join(str(x) for x in (f.get("processor"), f.get("table"), f.get("date")) if x)
            click.echo(f"     {where}: {f['detail']}")
        if len(shown) > 10:
            click.echo(f"     ... and {len(shown) - 10} more finding(s) (use --json for all)")
    click.echo(f"check {report.status}")


def print_gaps(gaps: list[Gap], plan_path: str) -> None:
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
    if by_type.get("degraded"):
        click.echo(f"degraded: `bfplan explain {plan_path} PROCESSOR DATE` follows a partition back to its cause",
                   err=True)


def print_explanation(e: Explanation) -> None:
    """``bfplan explain``: the partition, then each section that has something to say."""
    state = e.state
    head = f"{e.processor} {e.date} ({e.table}): "
    if state is None:
        head += "never run"
    else:
        rows = "no rows" if state["rows"] is None else f"{state['rows']} rows"
        head += f"{state['status']} by run {state['run_id']}, {rows} recorded"
    click.echo(head + (f", {e.rows_now} in the table now" if e.rows_now is not None else ", no table yet"))
    if e.history:
        click.echo("history (newest first):")
        for h in e.history:
            error = f"  {h['error']}" if h.get("error") else ""
            click.echo(f"  {h['finished_at']}  run {h['run_id']}  {h['status']}  {h['rows']} rows{error}")
        latest = next((h["traceback"] for h in e.history if h.get("traceback")), None)
        if latest:
            click.echo("traceback of the latest failure:")
            click.echo("\n".join("  " + line for line in latest.splitlines()))
    for f in e.failures:
        click.echo(f"failures: {f['category']} {f['n']} (e.g. {f['examples']}): {f['reason']}")
    if e.quarantined_total:
        click.echo(f"quarantined: {e.quarantined_total} row(s)")
        for q in e.quarantined:
            where = f" at {q['source']}" if q.get("source") else ""
            click.echo(f"  {q['action']} by {q['rule']}{where}: {q['row_key'] or ''} {q['detail']}")
    for g in e.gates:
        click.echo(f"gate {g['gate']} ({g['stage']}): {g['status']}: {g['detail']}")
    if e.reads:
        click.echo("read:")
        for r in e.reads:
            then = f"{r['partitions_then']} partitions" + (f", {r['rows_then']} rows" if r["rows_then"] is not None
                                                         else "")
            now = f"{r['partitions_now']} partitions" + (f", {r['rows_now']} rows" if r["rows_now"] is not None
                                                       else "")
            since = "; rewritten since" if r["rewritten_since"] else ""
            click.echo(f"  {r['input']} {r['window_start']}..{r['window_end']}: {then} then, {now} now{since}")
    if not e.chain:
        click.echo("gaps: none")
        return
    click.echo("gaps, and what they were built on:")
    for depth, g in e.chain:
        arrow = "  " * depth + ("<- " if depth else "")
        click.echo(f"  {arrow}{g.processor} {g.date} {g.type}: {g.detail}")
    roots = [g for _, g in e.chain if not g.causes]
    if roots:
        click.echo("root cause: " + "; ".join(f"{g.processor} {g.date} ({g.type})" for g in roots))
