"""The ``bfplan`` command line: parse, call, print. No logic a test would call without the CLI.

Exit codes: 0 ok; 1 a node or blocking gate failed (or gaps found); 2 bad input;
3 warehouse or run lock unavailable; 130 interrupted.
"""

from __future__ import annotations

import sys

import click

from bfplan.cli_new import new
from bfplan.cli_options import (
    BfplanGroup,
    emit_json,
    global_options,
    global_values,
    held,
    open_plan,
    parse_date,
    parse_dates,
    parse_names,
    var_overrides,
)
from bfplan.errors import LockError, UsageError


@click.group(cls=BfplanGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bfplan")
@global_options
def cli() -> None:
    """Run declarative backfill plans for multi-phase, date-partitioned pipelines.

    A plan (YAML) names dates, phases of processors and gates between them. bfplan runs
    the phases in order over all their dates, records every partition in a ledger in the
    warehouse, and resumes where it stopped. Start with `bfplan validate PLAN`.
    """


cli.add_command(new)


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@global_options
def validate(plan: str) -> None:
    """Check PLAN without running it: schema, plugins, DAG, what would run, what is done.

    Exit 0 when valid, 2 with every problem as PLAN:LINE:COL: message.
    """
    from bfplan.describe import describe_plan
    from bfplan.estimate import human_bytes
    from bfplan.report.text import print_to_run
    from bfplan.sqlcheck import check_sql

    session = open_plan(plan, read_only=True)
    try:
        check_sql(session)
        described = describe_plan(session)
    finally:
        session.close()
    desc, note, estimate = described.doc, described.note, described.doc["estimate"]
    if note:
        click.echo(note, err=True)
    if global_values().get("json_out"):
        emit_json({"valid": True, "errors": [], "nodes": desc["nodes"], "to_run": desc["to_run"],
               "already_done": desc["already_done"], "stages": desc["stages"], "policy": desc["policy"],
               "estimate": estimate, "breakers": desc["breakers"]})
        return
    p = session.plan
    click.echo(f"{plan}: valid — plan {p.name!r}, mode {p.mode}, {len(p.phases)} phase(s)")
    for st in desc["stages"]:
        procs = ", ".join(f"{x['name']} ({x['dates']} dates in {x['nodes']} nodes)" for x in st["processors"])
        click.echo(f"  phase {st['phase']}: {procs or 'nothing to run'}")
        for g in st["gates"]:
            click.echo(f"    gate {g}")
    print_to_run(desc, plan)
    if estimate:
        click.echo("estimated bytes scanned (BigQuery dry runs):")
        for e in estimate["processors"]:
            size = human_bytes(e["bytes"]) if e["bytes"] is not None else f"n/a: {e['note']}"
            click.echo(f"  {e['processor']:<24} {size}")
        click.echo(f"  {'total':<24} {human_bytes(estimate['total_bytes'])} = ${estimate['cost_usd']:.4f} "
                   f"on demand at ${estimate['price_per_tib']}/TiB")
    click.echo(f"policy: {desc['policy']['mode']} mode")
    for item in desc["policy"]["settings"]:
        click.echo(f"  {item['setting']:<26} {item['value']!s:<10} {item['why']}")


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--start", help="First date (YYYY-MM-DD) of the plan's dates to run.")
@click.option("--end", help="Last date (YYYY-MM-DD) of the plan's dates to run.")
@click.option("--dates", help="Comma-separated dates to run (instead of --start/--end).")
@click.option("--only", help="Run only these processors (comma-separated).")
@click.option("--from", "from_", help="Recompute these processors and everything downstream of them.")
@click.option("--force", is_flag=True, help="Recompute partitions already done.")
@click.option("--rerun-failed", is_flag=True,
              help="Recompute only partitions that failed or were blocked, or have correctable entity failures.")
@click.option("--stale", is_flag=True,
              help="Bring the plan up to date: recompute stale partitions (upstream rewritten, or their source "
                   "files changed, since they were built) and their readers, and build what was never built.")
@click.option("--mode", type=click.Choice(["backfill", "daily"]), help="Override the plan's mode.")
@click.option("--jobs", type=click.IntRange(min=1), help="Nodes to run at once (default: the plan's).")
@click.option("--dry-run", is_flag=True, help="Print what would run; touch nothing.")
@click.option("--reset-breaker", is_flag=False, flag_value="*", default=None, metavar="[P,...]",
              help="Close the circuit breaker of these processors (all without a value) before running.")
@click.option("--steal-lock", is_flag=True, help="Take the plan's run lock from a run that stopped heartbeating.")
@global_options
def run(plan: str, start: str | None, end: str | None, dates: str | None, only: str | None, from_: str | None,
        force: bool, rerun_failed: bool, stale: bool, mode: str | None, jobs: int | None, dry_run: bool,
        reset_breaker: str | None, steal_lock: bool) -> None:
    """Run PLAN phase by phase; skip partitions already done; resume after a failure.

    Exit 0 when everything succeeded, 1 when a node or a blocking gate failed (the rest of
    the run carries on where it does not depend on it), 130 when interrupted.
    """
    from bfplan.describe import describe_plan
    from bfplan.progress import progress_reporter
    from bfplan.run.runner import Runner, RunOptions
    from bfplan.run.selection import Selection
    from bfplan.status import RunStatus

    if dates and (start or end):
        raise UsageError("--dates cannot be combined with --start/--end")
    sel = Selection(start=parse_date(start, "--start"), end=parse_date(end, "--end"), dates=parse_dates(dates),
                    only=parse_names(only), from_=parse_names(from_), force=force, rerun_failed=rerun_failed,
                    stale=stale)
    session = open_plan(plan, read_only=dry_run)
    as_json = bool(global_values().get("json_out"))
    try:
        reset = () if reset_breaker is None else (None if reset_breaker == "*" else parse_names(reset_breaker))
        options = RunOptions(selection=sel, mode=mode, jobs=jobs, dry_run=dry_run, command=" ".join(sys.argv),
                             reset_breaker=reset, steal_lock=steal_lock)
        if dry_run:
            desc = describe_plan(session, options).doc
            if as_json:
                emit_json({"dry_run": True, **desc})
            else:
                for name, n in desc["todo"].items():
                    click.echo(f"would run {name}: {n} partition(s), {desc['skipped'][name]} already done")
            return
        with progress_reporter(enabled=not as_json) as on_node:
            summary = Runner(session.plan, session.registry, session.warehouse, options, on_node=on_node).run()
    finally:
        session.close()
    if as_json:
        emit_json(summary.as_dict())
    else:
        from bfplan.report.text import print_run_summary

        print_run_summary(summary, plan)
    if summary.stopped_by:
        sys.exit(3)
    if summary.status == RunStatus.INTERRUPTED:
        sys.exit(130)
    if summary.status != RunStatus.SUCCEEDED:
        sys.exit(1)


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--start", help="First date to show.")
@click.option("--end", help="Last date to show.")
@global_options
def status(plan: str, start: str | None, end: str | None) -> None:
    """Show the processor x date grid of PLAN from the ledger.

    While a run holds the warehouse, the grid comes from the run's live progress instead.
    """
    from bfplan.report.grid import print_status_grid, status_rows
    from bfplan.run.live import read_live

    first, last = parse_date(start, "--start"), parse_date(end, "--end")
    session = open_plan(plan, read_only=True)
    live = None
    try:
        try:
            rows = status_rows(session.plan, session.registry, session.warehouse, first, last)
        except LockError as exc:
            live = read_live(exc.progress) if exc.progress else None
            if live is None:
                raise
            rows = [r for r in live["partitions"] if (first is None or r["date"] >= first.isoformat())
                    and (last is None or r["date"] <= last.isoformat())]
        missing = not session.warehouse.exists if live is None else False
    finally:
        session.close()
    if global_values().get("json_out"):
        head = {"live": {k: v for k, v in live.items() if k != "partitions"}} if live else {}
        emit_json({"partitions": rows, **head})
        return
    if live:
        click.echo(f"run {live['run_id']} in progress since {live['since']} (pid {live['pid']} on {live['host']}): "
                   f"{live['finished_nodes']} of {live['total_nodes']} node(s) finished; updated {live['updated']}")
    elif missing:
        click.echo("note: the warehouse does not exist yet: nothing has run", err=True)
    print_status_grid(rows, session.plan)


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--gate", help="Run only the gates with this name.")
@click.option("--start", help="First date to check.")
@click.option("--end", help="Last date to check.")
@click.option("--strict", is_flag=True, help="Any failing finding fails the check, even of warn-only gates.")
@global_options
def check(plan: str, gate: str | None, start: str | None, end: str | None, strict: bool) -> None:
    """Run PLAN's gates on their own against the warehouse as it is (post-run validation).

    Exit 0 when every blocking gate passes, 1 when one fails (with --strict: any failure).
    """
    from bfplan.check import run_checks
    from bfplan.report.text import print_check_report

    first, last = parse_date(start, "--start"), parse_date(end, "--end")
    session = open_plan(plan)
    try:
        session.require_existing()
        report = run_checks(session.plan, session.registry, session.warehouse, gate=gate,
                            start=first, end=last, strict=strict)
    except LockError as exc:
        raise held(exc, plan, "check") from exc
    finally:
        session.close()
    if global_values().get("json_out"):
        emit_json({"status": str(report.status), "gates": report.gates})
    else:
        print_check_report(report)
    sys.exit(report.exit_code)


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the baseline here (default: stdout).")
@click.option("--start", help="First date to learn from.")
@click.option("--end", help="Last date to learn from.")
@global_options
def baseline(plan: str, output: str | None, start: str | None, end: str | None) -> None:
    """Learn per-processor failure-rate bands from PLAN's clean history in the warehouse.

    For the processors of PLAN's failure_rate gates: the failure rate per season week, as the
    gate measures it, merged into bands of near-equal rates. Point the gate at the file with
    `failure_rate: {baseline: FILE}` (relative to the plan): a week then warns (fails with
    strict) when its rate leaves the processor's learned band by more than `tolerance` points.
    Learns only from built dates: a processor-date the ledger does not call done (blocked,
    failed, never run), or with expected entities neither written nor failed, is skipped, and
    the output says how many and why. Refuses (exit 2) a history with a standing
    PROCESSING_ERROR, or one with nothing to learn from.
    """
    from bfplan.baseline import dump, learn, skipped_note
    from bfplan.check import gate_contexts
    from bfplan.gates.baseline import BaselineError

    first, last = parse_date(start, "--start"), parse_date(end, "--end")
    session = open_plan(plan, read_only=True)
    try:
        session.require_existing()
        contexts = gate_contexts(session.plan, session.registry, session.warehouse, "failure_rate",
                                 start=first, end=last)
        if not contexts:
            raise UsageError("this plan declares no failure_rate gate to learn a baseline for")
        doc = learn(contexts)
    except BaselineError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        session.close()
    text, note = dump(doc), skipped_note(doc["skipped"])
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
        bands = sum(len(b) for b in doc["processors"].values())
        click.echo(f"baseline of {len(doc['processors'])} processor(s), {bands} band(s) written to {output}")
    else:
        click.echo(text, nl=False)
    if note:  # with the YAML on stdout, the note goes to stderr
        click.echo(note + " (only built, fully accounted dates teach)", err=not output)


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--start", help="First date to look at.")
@click.option("--end", help="Last date to look at.")
@global_options
def gaps(plan: str, start: str | None, end: str | None) -> None:
    """Find gaps in PLAN's tables: missing_date, partial, null_field, zero_value, cascade, degraded.

    Reads the data itself, not just the ledger: a rewrite that lost rows is partial, and what
    was built on it (or has far more rows not ready than its recent past) is degraded, with
    its upstream cause. Exit 1 when any gap is found.
    """
    from bfplan.gaps import find_gaps
    from bfplan.report.text import print_gaps

    first, last = parse_date(start, "--start"), parse_date(end, "--end")
    session = open_plan(plan, read_only=True)
    try:
        found = find_gaps(session.plan, session.registry, session.warehouse, start=first, end=last)
    except LockError as exc:
        raise held(exc, plan, "gaps") from exc
    finally:
        session.close()
    if global_values().get("json_out"):
        emit_json({"gaps": [g.as_dict() for g in found]})
    else:
        print_gaps(found, plan)
    if found:
        sys.exit(1)


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.argument("processor")
@click.argument("day", metavar="DATE")
@global_options
def explain(plan: str, processor: str, day: str) -> None:
    """Why PROCESSOR's partition of DATE is what it is: history, failures, quarantined rows,
    gates, what it read, its gaps, and the chain of upstream gaps back to the root cause."""
    from bfplan.explain import explain as explain_partition
    from bfplan.plan.marks import did_you_mean
    from bfplan.report.text import print_explanation

    when = parse_date(day, "DATE")
    assert when is not None
    session = open_plan(plan, read_only=True)
    try:
        names = [r.name for _, r in session.plan.processor_refs()]
        if processor not in names:
            raise UsageError(f"{processor!r} is not a processor of this plan{did_you_mean(processor, names)}")
        found = explain_partition(session.plan, session.registry, session.warehouse, processor, when)
    except LockError as exc:
        raise held(exc, plan, "explain") from exc
    finally:
        session.close()
    if global_values().get("json_out"):
        emit_json(found.as_dict())
    else:
        print_explanation(found)


@cli.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Where to write the HTML file.")
@global_options
def report(plan: str, output: str) -> None:
    """Write a self-contained HTML report of PLAN: runs, status grid, gate results, gaps."""
    from pathlib import Path

    from bfplan.report.html import html_report

    target = Path(output)
    if not target.parent.is_dir():
        raise UsageError(f"-o {output}: the folder {target.parent} does not exist")
    session = open_plan(plan, read_only=True)
    try:
        page = html_report(session.plan, session.registry, session.warehouse)
    except LockError as exc:
        raise held(exc, plan, "report") from exc
    finally:
        session.close()
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"-o {output}: cannot write: {exc.strerror}") from None
    if global_values().get("json_out"):
        emit_json({"output": output, "bytes": len(page.encode())})
    else:
        click.echo(f"wrote {output}")


@cli.command()
@click.option("--plan", "plan_path", type=click.Path(dir_okay=False), help="Also load this plan's plugin paths.")
@global_options
def plugins(plan_path: str | None) -> None:
    """List registered processors, gates, warehouses and calendars, and where each came from."""
    from pathlib import Path

    from bfplan.plan import read_plugin_paths
    from bfplan.plugins import load_registry
    from bfplan.session import plugins_in

    paths = [p for _, p in read_plugin_paths(Path(plan_path), overrides=var_overrides())] if plan_path else []
    reg = load_registry([*paths, *plugins_in(global_values().get("plugins_dir", []))],
                        disabled=global_values().get("disable_plugin", []))
    doc = reg.as_dict()
    if global_values().get("json_out"):
        emit_json(doc)
        return
    for kind, items in doc.items():
        click.echo(f"{kind}:")
        for item in items:
            extra = f"  -> {item['table']}" if "table" in item else ""
            click.echo(f"  {item['name']:<28} {item['source']}{extra}")
