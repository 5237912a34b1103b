"""freshness: in daily mode, the partitions a stage stands on were written recently.

The seed's daily "freshness validation" (it catches stuck pipelines). From the ledger
(``bfplan.partition_log``), the latest ``done`` record of each partition of the checked
processors on the stage's dates must have finished within ``max_age_hours``; a stale or
never-written partition fails (daily mode), one finding each. The checked processors are
the ``processors`` option if given, else: before a phase, the upstream processors producing
the stage's inputs; after a phase or processor, the stage's own processors.

In backfill mode the gate passes with a note: backfills rewrite history on purpose and the
seed's backfill mode only warns on stale upstream data, which the coverage and preflight
gates already cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bfplan.gates.base import Finding, Gate, GateContext, GateResult
from bfplan.gates.common import date_filter, options_schema
from bfplan.ledger.clock import utcnow
from bfplan.ledger.tables import PARTITIONS
from bfplan.status import GateStatus, PartitionStatus

DEFAULT_MAX_AGE_HOURS = 24.0

_LATEST = f"""
SELECT processor, partition_date AS d, finished_at FROM (
  SELECT processor, partition_date, finished_at,
         ROW_NUMBER() OVER (PARTITION BY processor, partition_date ORDER BY recorded_ns DESC) AS rn
  FROM {PARTITIONS}
  WHERE plan_name = @plan_name AND status = '{PartitionStatus.DONE.value}' AND processor IN UNNEST(@processors)
    AND {date_filter('partition_date')}
) AS __latest WHERE rn = 1
"""


class FreshnessGate(Gate):
    """Upstream partitions were written within ``max_age_hours`` (daily mode)."""

    name = "freshness"
    description = "daily mode: the partitions a stage stands on were written within max_age_hours"
    options_schema = options_schema(
        "Options of the freshness gate.",
        max_age_hours={"description": "Oldest acceptable write, in hours (default 24).",
                       "type": "number", "exclusiveMinimum": 0},
        processors={"description": "Check these processors of the plan (default: the stage's upstream "
                    "producers before a phase, its own processors after).",
                    "type": "array", "items": {"type": "string"}, "uniqueItems": True},
    )

    def check(self, ctx: GateContext) -> GateResult:
        """One ledger query over the checked processors and dates."""
        if ctx.mode != "daily":
            return GateResult(GateStatus.PASS, [], "backfill mode: freshness is a daily-mode check, not checked")
        if not ctx.dates:
            return GateResult(GateStatus.PASS, [], "no dates to check")
        procs = self._checked(ctx)
        unknown = [n for n in ctx.options.get("processors") or () if n not in {p.name for p in procs}]
        if unknown:
            named = [Finding(f"processors option names {n!r}, which is not a processor of this plan",
                             GateStatus.FAIL, n) for n in unknown]
            return GateResult(GateStatus.FAIL, named, "unknown processors")
        if not procs:
            return GateResult(GateStatus.PASS, [], "no upstream processors to check")
        max_age = float(ctx.options.get("max_age_hours", DEFAULT_MAX_AGE_HOURS))
        now = utcnow()
        cutoff = now - timedelta(hours=max_age)
        latest: dict[tuple[str, Any], Any] = {}
        if ctx.warehouse.table_exists(PARTITIONS) and ctx.plan is not None:
            dates = sorted(ctx.dates)
            params = {"plan_name": ctx.plan.name, "processors": sorted(p.name for p in procs),
                      "dates": dates, "start_date": dates[0], "end_date": dates[-1]}
            latest = {(r["processor"], r["d"]): _naive_utc(r["finished_at"])
                      for r in ctx.warehouse.query(_LATEST, params)}
        findings = []
        for proc in procs:
            for d in sorted(ctx.dates):
                at = latest.get((proc.name, d))
                if at is None:
                    detail = f"{proc.table} {d.isoformat()}: no done partition in the ledger"
                elif at < cutoff:
                    age = (now - at).total_seconds() / 3600
                    detail = (f"{proc.table} {d.isoformat()}: stale, written {at.isoformat(' ', 'seconds')} "
                              f"({age:.1f} h ago, max {max_age:g} h)")
                else:
                    continue
                findings.append(Finding(detail, GateStatus.FAIL, proc.name, proc.table, d))
        checked = len(procs) * len(ctx.dates)
        return GateResult.from_findings(
            findings, f"{checked - len(findings)} of {checked} partitions of {', '.join(p.name for p in procs)} "
                      f"written within {max_age:g} h")

    @staticmethod
    def _checked(ctx: GateContext) -> Sequence[Any]:
        wanted = ctx.options.get("processors")
        if wanted:
            every = {p.name: p for p in (*ctx.upstream, *ctx.processors)}
            if ctx.registry is not None:
                every = {**ctx.registry.processors, **every}
            return [every[n] for n in wanted if n in every]
        if ctx.stage.startswith("before"):
            inputs = {t for p in ctx.processors for t in p.inputs}
            return [p for p in ctx.upstream if p.table in inputs]
        return list(ctx.processors)


def _naive_utc(value: datetime | None) -> datetime | None:
    # DuckDB returns the ledger's naive UTC stamps; BigQuery returns aware ones.
    if value is not None and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value
