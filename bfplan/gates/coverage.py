"""coverage: per processor and date, every expected entity has a row or a recorded failure.

The seed's ``validate_backfill_coverage.py`` as a gate. For each of the stage's processors that
declares ``expected_entities_sql``, one query compares, per date, the expected entities with
the entities in the output table and in its failures table. A date's status:

- NO_EXPECTED: nothing expected that day (pass);
- no rows but entities expected: DEPS_MISSING when a ``DATE_LEVEL`` failure explains it (warn),
  SKIPPED when every expected entity has only expected-skip failures (pass), else UNTRACKED (fail);
- DEPS_EXPECTED: a DEPS_MISSING date whose upstreams were legitimately short that day (every
  upstream entity accounted, some only by expected skips: :mod:`bfplan.gates.upstream`), e.g. an
  early-season warm-up where an input has no rows yet (pass; the summary names the upstreams);
- rows present: INVESTIGATE when a failure has a category that is not an expected skip, e.g.
  PROCESSING_ERROR or the singular MISSING_DEPENDENCY (fail), else OK.

With ``reconcile: true`` every expected entity must be accounted for (a row or an entity-level
failure): unaccounted entities are named and fail the date. Coverage = (with a row + failure
only) ÷ expected; a date below ``min_coverage`` (default 100 with reconcile) fails. Without
reconcile, unaccounted entities on a date with rows only warn.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any

from bfplan.failures import DATE_LEVEL
from bfplan.gates.base import Finding, Gate, GateContext, GateResult
from bfplan.gates.common import (
    ENTITY_CAP,
    PERCENT_SCHEMA,
    PROCESSORS_SCHEMA,
    capped,
    entity_ctes,
    fmt_pct,
    options_schema,
    pct,
    query_params,
    stage_processors,
)
from bfplan.gates.upstream import explained_dates
from bfplan.processors import Processor
from bfplan.status import GateStatus

#: date statuses and what they mean for the gate
STATUS_LEVEL = {"OK": GateStatus.PASS, "NO_EXPECTED": GateStatus.PASS, "SKIPPED": GateStatus.PASS,
                "DEPS_MISSING": GateStatus.WARN, "DEPS_EXPECTED": GateStatus.PASS, "UNTRACKED": GateStatus.FAIL,
                "INVESTIGATE": GateStatus.FAIL}

_SUMMARY = """
WITH {ctes},
entity_fails AS (
  SELECT d, e, LOGICAL_AND(c IN UNNEST(@expected_skips)) AS skip_only
  FROM fails WHERE e <> '{date_level}' GROUP BY d, e
),
per_entity AS (
  SELECT x.d, x.e, a.e IS NOT NULL AS has_row, f.e IS NOT NULL AS has_fail,
         COALESCE(f.skip_only, FALSE) AS skip_only
  FROM expected AS x
  LEFT JOIN actual AS a ON a.d = x.d AND a.e = x.e
  LEFT JOIN entity_fails AS f ON f.d = x.d AND f.e = x.e
),
by_date AS (
  SELECT d, COUNT(*) AS expected, COUNTIF(has_row) AS with_row,
         COUNTIF(NOT has_row AND has_fail) AS failure_only,
         COUNTIF(NOT has_row AND NOT has_fail) AS unaccounted,
         COUNTIF(has_fail AND skip_only) AS skipped
  FROM per_entity GROUP BY d
),
actual_by_date AS (SELECT d, COUNT(*) AS actual FROM actual GROUP BY d),
categories AS (
  SELECT d, c, e = '{date_level}' AS date_level, COUNT(DISTINCT e) AS n
  FROM fails GROUP BY d, c, e = '{date_level}'
),
categories_by_date AS (
  SELECT d, ARRAY_AGG(STRUCT(c AS category, date_level AS date_level, n AS n)) AS categories
  FROM categories GROUP BY d
),
dates AS (
  SELECT d FROM by_date UNION DISTINCT SELECT d FROM actual_by_date
  UNION DISTINCT SELECT d FROM categories_by_date
)
SELECT dates.d, b.expected, b.with_row, b.failure_only, b.unaccounted, b.skipped, a.actual, k.categories
FROM dates
LEFT JOIN by_date AS b ON b.d = dates.d
LEFT JOIN actual_by_date AS a ON a.d = dates.d
LEFT JOIN categories_by_date AS k ON k.d = dates.d
"""

# Entities to name in findings: the unaccounted ones and those with a category that is not an
# expected skip, at most @cap per (date, kind), only on the dates that have a finding.
_SAMPLES = """
WITH {ctes},
accounted AS (
  SELECT d, e FROM actual UNION DISTINCT SELECT d, e FROM fails WHERE e <> '{date_level}'
),
named AS (
  SELECT x.d, 'UNACCOUNTED' AS kind, x.e FROM expected AS x
  LEFT JOIN accounted AS a ON a.d = x.d AND a.e = x.e WHERE a.e IS NULL
  UNION ALL
  SELECT DISTINCT d, c AS kind, e FROM fails
  WHERE e <> '{date_level}' AND c NOT IN UNNEST(@expected_skips)
),
ranked AS (
  SELECT d, kind, e, ROW_NUMBER() OVER (PARTITION BY d, kind ORDER BY e) AS rn
  FROM named WHERE d IN UNNEST(@problem_dates)
)
SELECT d, kind, e FROM ranked WHERE rn <= @cap ORDER BY d, kind, e
"""


class CoverageGate(Gate):
    """Expected entities vs output rows vs recorded failures, per processor and date."""

    name = "coverage"
    description = "every expected entity has a row or a recorded failure (DEPS_MISSING/UNTRACKED/INVESTIGATE)"
    options_schema = options_schema(
        "Options of the coverage gate.",
        processors=PROCESSORS_SCHEMA,
        reconcile={"description": "Every expected entity needs a row or an entity-level failure; "
                   "unaccounted entities fail.", "type": "boolean"},
        min_coverage={**PERCENT_SCHEMA, "description": "Fail a date whose coverage (%) is below this "
                      "(default 100 with reconcile, else not checked)."},
        expected_skips={"description": "Failure categories that are expected skips (default: the seed's list).",
                        "type": "array", "items": {"type": "string"}},
    )

    def check(self, ctx: GateContext) -> GateResult:
        """One summary query per processor (and one for the entities to name, if any)."""
        if not ctx.dates:
            return GateResult(GateStatus.PASS, [], "no dates to check")
        procs, findings = stage_processors(ctx)
        lines = []
        for proc in procs:
            if not proc.expected_entities_sql:
                lines.append(f"{proc.name}: no expected_entities_sql, not tracked")
                continue
            line, found = self._check_processor(ctx, proc)
            lines.append(line)
            findings.extend(found)
        return GateResult.from_findings(findings, "; ".join(lines))

    def _check_processor(self, ctx: GateContext, proc: Processor) -> tuple[str, list[Finding]]:
        skips = list(ctx.options.get("expected_skips") or proc.expected_skips)
        reconcile = bool(ctx.options.get("reconcile", False))
        min_cov = ctx.options.get("min_coverage", 100.0 if reconcile else None)
        ctes = entity_ctes(ctx, proc)
        params = query_params(ctx, proc, gate_processor=proc.name, expected_skips=skips)
        rows = {r["d"]: r for r in ctx.warehouse.query(_SUMMARY.format(ctes=ctes, date_level=DATE_LEVEL), params)}
        # DEPS_MISSING dates whose inputs were legitimately short: expected, not a warning
        deps = [d for d in ctx.dates if (r := rows.get(d)) and r["expected"] and not r["actual"]
                and any(c["date_level"] for c in r["categories"] or [])]
        expected_absence = explained_dates(ctx, proc, deps)

        statuses: Counter[str] = Counter()
        totals = Counter()
        # date -> (finding status, detail, entities in all per kind of entity named)
        verdicts: dict[date, tuple[str, str, dict[str, int]]] = {}
        for d in sorted(ctx.dates):
            r = rows.get(d) or {}
            expected, actual = r.get("expected") or 0, r.get("actual") or 0
            with_row, failure_only = r.get("with_row") or 0, r.get("failure_only") or 0
            unaccounted, skipped = r.get("unaccounted") or 0, r.get("skipped") or 0
            cats = r.get("categories") or []
            date_level = sorted({c["category"] for c in cats if c["date_level"]})
            bad = sorted({c["category"] for c in cats if c["category"] not in skips})
            status = _date_status(expected, actual, skipped, bool(date_level), bool(bad))
            if status == "DEPS_MISSING" and d in expected_absence:
                status = "DEPS_EXPECTED"
            statuses[status] += 1
            totals.update(expected=expected, accounted=with_row + failure_only, with_row=with_row,
                          failure_only=failure_only)
            level = STATUS_LEVEL[status]
            coverage = pct(with_row + failure_only, expected)
            notes = []
            if status == "DEPS_MISSING":
                notes.append(f"date-level failure ({', '.join(date_level)})")
            if status == "INVESTIGATE":
                notes.append("categories to investigate: " + ", ".join(
                    f"{c['category']} x{c['n']}" for c in cats if c["category"] in bad))
            if unaccounted and expected and status != "DEPS_EXPECTED":
                if reconcile:
                    level = GateStatus.FAIL
                elif level == GateStatus.PASS:
                    level = GateStatus.WARN
                    notes.append("use reconcile: true to fail on unaccounted entities")
            if min_cov is not None and expected and coverage < float(min_cov) and status != "DEPS_EXPECTED":
                level = GateStatus.FAIL
                notes.append(f"below min_coverage {fmt_pct(float(min_cov))}")
            if level != GateStatus.PASS:
                detail = (f"{status}: {expected} expected, {actual} with rows in {proc.table}, "
                          f"{failure_only} failure-only, {unaccounted} unaccounted; "
                          f"coverage {fmt_pct(coverage)}")
                kinds = {"UNACCOUNTED": unaccounted, **{c["category"]: c["n"] for c in cats
                                                         if c["category"] in bad and not c["date_level"]}}
                verdicts[d] = (level, "; ".join([detail, *notes]), kinds)

        findings = self._findings(ctx, proc, verdicts, ctes, params)
        counts = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
        line = (f"{proc.name}: {counts}; coverage {fmt_pct(pct(totals['accounted'], totals['expected']))} "
                f"({totals['with_row']} with rows + {totals['failure_only']} failure-only "
                f"of {totals['expected']} expected)")
        if expected_absence:
            names = sorted({u for ups in expected_absence.values() for u in ups})
            line += (f"; DEPS_EXPECTED on {len(expected_absence)} date(s) "
                     f"({min(expected_absence).isoformat()}..{max(expected_absence).isoformat()}): "
                     f"upstream {', '.join(names)} short by expected skips")
        return line, findings

    @staticmethod
    def _findings(ctx: GateContext, proc: Processor, verdicts: dict[date, tuple[str, str, dict[str, int]]], ctes: str,
                  params: dict[str, Any]) -> list[Finding]:
        if not verdicts:
            return []
        sql = _SAMPLES.format(ctes=ctes, date_level=DATE_LEVEL)
        named: dict[date, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for r in ctx.warehouse.query(sql, {**params, "problem_dates": sorted(verdicts), "cap": ENTITY_CAP}):
            named[r["d"]][r["kind"]].append(r["e"])
        findings = []
        for d, (level, detail, totals) in sorted(verdicts.items()):
            kinds = named.get(d, {})
            # name the entities that explain the verdict: unaccounted ones first, then bugs
            ids = kinds.get("UNACCOUNTED", []) + [e for k, v in sorted(kinds.items()) if k != "UNACCOUNTED"
                                                  for e in v]
            shown, _ = capped(dict.fromkeys(ids))
            parts = []
            for kind, names in sorted(kinds.items()):
                listed, more = capped(names, max(totals.get(kind, 0), len(names)))
                parts.append(f"{'unaccounted' if kind == 'UNACCOUNTED' else kind}: {', '.join(listed)}{more}")
            text = f"{proc.name} {d.isoformat()} {detail}" + (f"; {'; '.join(parts)}" if parts else "")
            findings.append(Finding(text, level, proc.name, proc.table, d, shown))
        return findings


def _date_status(expected: int, actual: int, skipped: int, date_level: bool, bad: bool) -> str:
    """The seed's per-date status."""
    if not expected:
        return "NO_EXPECTED"
    if not actual:
        if date_level:
            return "DEPS_MISSING"
        return "SKIPPED" if skipped == expected else "UNTRACKED"
    return "INVESTIGATE" if bad else "OK"
