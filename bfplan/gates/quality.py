"""quality: the share of each date's rows that say they are not ready, against its baseline.

For every processor of the stage that declares quality columns (``Processor.quality``, see
:mod:`bfplan.quality`): one query counts, per date, the rows and the rows not ready over the
checked dates and the ``baseline_days`` before them; :func:`bfplan.quality.judge` compares
each date with the median of its recent past. A date whose share rises ``warn_points`` above
it warns, ``fail_points`` above it fails (DEGRADED), as does a share above
``max_not_ready_pct``. One more query names the not-ready entities of the degraded dates.
Rows not ready by design (too little history yet) raise the baseline, not an alarm.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from bfplan.gates.base import Finding, Gate, GateContext, GateResult
from bfplan.gates.common import (
    BOOTSTRAP_SCHEMA,
    DATE_SCHEMA,
    ENTITY_CAP,
    PERCENT_SCHEMA,
    PROCESSORS_SCHEMA,
    capped,
    checked_dates,
    options_schema,
    stage_processors,
)
from bfplan.processors import Processor
from bfplan.quality import BASELINE_DAYS, FAIL_POINTS, WARN_POINTS, judge, measure, window_start
from bfplan.status import GateStatus
from bfplan.warehouse.base import check_identifier

POINTS_SCHEMA = {"type": "number", "minimum": 0, "maximum": 100}


class QualityGate(Gate):
    """Share of not-ready rows per processor and date, against the date's recent past."""

    name = "quality"
    description = "rows that say they are not ready: a date well above its baseline is DEGRADED"
    options_schema = options_schema(
        "Options of the quality gate.",
        processors=PROCESSORS_SCHEMA,
        baseline_days={"description": f"Days before a date whose median not-ready share is its baseline "
                       f"(default {BASELINE_DAYS}).", "type": "integer", "minimum": 1, "maximum": 366},
        warn_points={**POINTS_SCHEMA, "description": f"Points above the baseline that warn (default {WARN_POINTS:g})."},
        fail_points={**POINTS_SCHEMA, "description": f"Points above the baseline that fail (default {FAIL_POINTS:g})."},
        max_not_ready_pct={**PERCENT_SCHEMA, "description": "A not-ready share above this fails, whatever the "
                           "baseline (default: none)."},
        ignore_bootstrap_days=BOOTSTRAP_SCHEMA,
        season_start={**DATE_SCHEMA, "description": "Day 1 of the season (default: the plan's season_start "
                      "var/param, else the stage's first date)."},
    )

    def check(self, ctx: GateContext) -> GateResult:
        dates = checked_dates(ctx)
        procs, findings = stage_processors(ctx)
        procs = [p for p in procs if p.quality is not None]
        if not dates or not procs:
            return GateResult.from_findings(findings, "no quality columns declared by the stage's processors"
                                            if dates else "no dates to check")
        lines = []
        for proc in procs:
            measured = measure(ctx.warehouse, proc, window_start(dates, ctx.options), max(dates))
            verdicts = judge(measured, dates, ctx.options)
            bad = [v for v in verdicts if v.status != GateStatus.PASS]
            names = self._entities(ctx, proc, [v.date for v in bad])
            for v in bad:
                shown, more = capped(names.get(v.date, []))
                eg = f"; e.g. {', '.join(shown)}{more}" if shown else ""
                findings.append(Finding(f"{proc.table} {v.date.isoformat()}: {v.detail}{eg}", v.status, proc.name,
                                        proc.table, v.date, shown))
            worst = max((v.share for v in verdicts), default=0.0)
            lines.append(f"{proc.name}: {len(verdicts)} date(s), {len(bad)} DEGRADED, worst {worst:.1f}% not ready")
        return GateResult.from_findings(findings, "; ".join(lines))

    @staticmethod
    def _entities(ctx: GateContext, proc: Processor, dates: list[date]) -> dict[date, list[str]]:
        """The not-ready entities of ``dates`` (the first :data:`ENTITY_CAP` + 1 of each)."""
        if not dates or not proc.entity_key or proc.quality is None:
            return {}
        col = check_identifier(proc.partition_column)
        sql = (f"SELECT d, e FROM (SELECT CAST({col} AS DATE) AS d, {proc.entity_id_sql} AS e, ROW_NUMBER() OVER "
               f"(PARTITION BY {col} ORDER BY {proc.entity_id_sql}) AS rn FROM {proc.table} "
               f"WHERE {col} IN UNNEST(@bad_dates) AND NOT {proc.quality.sound_sql()}) AS x "
               "WHERE rn <= @cap ORDER BY d, e")
        out: dict[date, list[str]] = defaultdict(list)
        for r in ctx.warehouse.query(sql, {"bad_dates": dates, "cap": ENTITY_CAP + 1}):
            out[r["d"]].append(r["e"])
        return out
