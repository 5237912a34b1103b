"""failure_rate: per-entity failure rates against the season-week bands the seed expects.

For each of the stage's processors with a ``failures_table``, one query gives per date the
expected entities, the distinct failed entities and the failure categories. A date with a
``DATE_LEVEL`` failure counts as entirely failed. Rates are pooled per season week (day 1 =
``season_start``) and compared with the band of those days (``bands``; default the seed's:
days 1-14 90-100%, 15-21 60-75%, 22-28 40-50%, 29-59 25-30%, 60+ 15-20%), widened by
``tolerance`` percentage points: a week outside its band warns (fails with ``strict: true``).
High early-season rates are expected; only PROCESSING_ERROR is a bug, so any PROCESSING_ERROR
fails the gate whatever the rates, naming the entities and dates. Categories that are neither
expected skips nor PROCESSING_ERROR (e.g. the singular MISSING_DEPENDENCY) warn, unless they
are ``DATE_LEVEL`` failures on dates an upstream was legitimately short (an early-season
warm-up, see :mod:`bfplan.gates.upstream`): those are expected, and the summary says so.

Bands per processor, first found: the ``bands`` option (a list for every processor, or a
mapping ``{processor: [band, ...]}``; days it does not cover are not checked), the
``baseline`` file (bands learned from a clean history by ``bfplan baseline``, see
:mod:`bfplan.gates.baseline`; days its bands do not cover use the runbook's table), else the
runbook's table.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from bfplan.failures import DATE_LEVEL, PROCESSING_ERROR
from bfplan.gates.base import FILE_OPTION, Finding, Gate, GateContext, GateResult
from bfplan.gates.baseline import BaselineError, load_baseline
from bfplan.gates.common import (
    DATE_SCHEMA,
    ENTITY_CAP,
    PERCENT_SCHEMA,
    PROCESSORS_SCHEMA,
    capped,
    date_list,
    entity_ctes,
    fmt_pct,
    options_schema,
    pct,
    query_params,
    season_start,
    stage_processors,
)
from bfplan.gates.upstream import explained_dates
from bfplan.processors import Processor
from bfplan.status import GateStatus

#: the seed's "Expected Failure Rates by Season Week"
DEFAULT_BANDS = (
    {"from_day": 1, "to_day": 14, "min_pct": 90, "max_pct": 100},
    {"from_day": 15, "to_day": 21, "min_pct": 60, "max_pct": 75},
    {"from_day": 22, "to_day": 28, "min_pct": 40, "max_pct": 50},
    {"from_day": 29, "to_day": 59, "min_pct": 25, "max_pct": 30},
    {"from_day": 60, "min_pct": 15, "max_pct": 20},
)
DEFAULT_TOLERANCE = 5.0

_RATES = """
WITH {ctes},
failed AS (
  -- the share of EXPECTED entities that failed: a processor may also fail entities nobody
  -- expected that day (a processor may cover every entity seen so far), which must not inflate it
  SELECT f.d, COUNT(DISTINCT f.e) AS failed FROM fails AS f
  JOIN expected AS x ON x.d = f.d AND x.e = f.e
  WHERE f.e <> '{date_level}' GROUP BY f.d
),
date_level AS (SELECT DISTINCT d FROM fails WHERE e = '{date_level}'),
expected_by_date AS (SELECT d, COUNT(*) AS expected FROM expected GROUP BY d),
categories AS (
  SELECT d, c, COUNT(DISTINCT e) AS n, LOGICAL_AND(e = '{date_level}') AS date_level_only FROM fails GROUP BY d, c
),
categories_by_date AS (
  SELECT d, ARRAY_AGG(STRUCT(c AS category, n AS n, date_level_only AS date_level_only)) AS categories
  FROM categories GROUP BY d
),
dates AS (SELECT d FROM expected_by_date UNION DISTINCT SELECT d FROM categories_by_date)
SELECT dates.d, x.expected, f.failed, k.categories, l.d IS NOT NULL AS date_level
FROM dates
LEFT JOIN expected_by_date AS x ON x.d = dates.d
LEFT JOIN failed AS f ON f.d = dates.d
LEFT JOIN categories_by_date AS k ON k.d = dates.d
LEFT JOIN date_level AS l ON l.d = dates.d
"""

_ERRORS = """
WITH {ctes}
SELECT d, e FROM (
  SELECT d, e, ROW_NUMBER() OVER (PARTITION BY d ORDER BY e) AS rn
  FROM (SELECT DISTINCT d, e FROM fails WHERE c = '{category}') AS __e
) AS __ranked WHERE rn <= @cap ORDER BY d, e
"""

_BAND_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["from_day", "min_pct", "max_pct"],
    "properties": {"from_day": {"type": "integer", "minimum": 1},
                   "to_day": {"type": "integer", "minimum": 1},
                   "min_pct": PERCENT_SCHEMA, "max_pct": PERCENT_SCHEMA},
}


class FailureRateGate(Gate):
    """Failure share per season week within the expected bands; no PROCESSING_ERROR."""

    name = "failure_rate"
    description = "failure rates within the expected season-week bands; PROCESSING_ERROR fails"
    options_schema = options_schema(
        "Options of the failure_rate gate.",
        processors=PROCESSORS_SCHEMA,
        season_start={**DATE_SCHEMA, "description": "Day 1 of the season (default: the plan's season_start "
                      "var/param, else the stage's first date)."},
        bands={"description": "Expected failure % by season day ([] disables the band check; days no band "
               "covers are not checked): a list for every processor, or {processor: [band, ...]} (processors "
               "not named: the baseline, else the runbook's table).",
               "oneOf": [{"type": "array", "items": _BAND_SCHEMA},
                         {"type": "object", "additionalProperties": {"type": "array", "items": _BAND_SCHEMA}}]},
        baseline={"description": "A file of per-processor bands learned from a clean history by `bfplan "
                  "baseline` (path relative to the plan); used for the processors it names that `bands` does not.",
                  "type": "string", "minLength": 1, FILE_OPTION: True},
        tolerance={**PERCENT_SCHEMA, "description": "Percentage points a week may stray outside its band "
                   "(default 5)."},
        strict={"description": "A week outside its band fails (default: it warns).", "type": "boolean"},
        expected_skips={"description": "Failure categories that are expected (default: the seed's list).",
                        "type": "array", "items": {"type": "string"}},
    )

    def check(self, ctx: GateContext) -> GateResult:
        """One rate query per processor with failures, one more naming PROCESSING_ERROR entities."""
        if not ctx.dates:
            return GateResult(GateStatus.PASS, [], "no dates to check")
        procs, findings = stage_processors(ctx)
        try:
            learned = load_baseline(ctx)
        except BaselineError as exc:
            return GateResult.from_findings([*findings, Finding(str(exc), GateStatus.FAIL)], "no baseline")
        lines = []
        for proc in procs:
            if not proc.failures_table:
                continue
            line, found = self._check_processor(ctx, proc, bands_for(ctx.options, learned, proc.name))
            lines.append(line)
            findings.extend(found)
        if not lines:
            return GateResult.from_findings(findings, "no failures tables in the stage")
        return GateResult.from_findings(findings, "; ".join(lines))

    def _check_processor(self, ctx: GateContext, proc: Processor,
                         bands: Sequence[Mapping[str, Any]]) -> tuple[str, list[Finding]]:
        skips = set(ctx.options.get("expected_skips") or proc.expected_skips)
        params = query_params(ctx, proc, gate_processor=proc.name)
        rows = measure(ctx, proc)
        findings: list[Finding] = []
        per_category: Counter[str] = Counter()
        category_dates: dict[str, list[date]] = defaultdict(list)
        date_level_dates: dict[str, set[date]] = defaultdict(set)
        rates: dict[date, tuple[int, int]] = {}
        for r in rows:
            expected = r["expected"] or 0
            failed = expected if r["date_level"] else min(r["failed"] or 0, expected)
            if expected:
                rates[r["d"]] = (failed, expected)
            for c in r["categories"] or []:
                per_category[c["category"]] += c["n"]
                category_dates[c["category"]].append(r["d"])
                if c["date_level_only"]:
                    date_level_dates[c["category"]].add(r["d"])

        if per_category.get(PROCESSING_ERROR):
            findings.extend(self._processing_errors(ctx, proc, params))
        odd = sorted(c for c in per_category if c not in skips and c != PROCESSING_ERROR)
        # date-level failures where the processor's inputs were legitimately short: expected
        warm_up = explained_dates(ctx, proc, sorted({d for c in odd for d in date_level_dates[c]}))
        explained = {c for c in odd if set(category_dates[c]) <= (date_level_dates[c] & set(warm_up))}
        for c in odd:
            if c in explained:
                continue
            days = category_dates[c]
            findings.append(Finding(
                f"{proc.name}: unexpected failure category {c}: {per_category[c]} entity-dates on "
                f"{len(days)} date(s): {date_list(days)}", GateStatus.WARN, proc.name, proc.failures_table, days[0]))
        findings.extend(self._bands(ctx, proc, rates, bands))

        failed_total = sum(f for f, _ in rates.values())
        expected_total = sum(x for _, x in rates.values())
        cats = ", ".join(
            f"{c} {n} ({_kind(c, skips, explained)})"
            for c, n in sorted(per_category.items()))
        line = (f"{proc.name}: failure rate {fmt_pct(pct(failed_total, expected_total) if expected_total else 0)} "
                f"({failed_total} of {expected_total} entity-dates)" + (f"; {cats}" if cats else ""))
        return line, findings

    @staticmethod
    def _processing_errors(ctx: GateContext, proc: Processor, params: dict[str, Any]) -> list[Finding]:
        sql = _ERRORS.format(ctes=entity_ctes(ctx, proc), category=PROCESSING_ERROR)
        by_date: dict[date, list[str]] = defaultdict(list)
        planned = set(ctx.dates)
        for r in ctx.warehouse.query(sql, {**params, "cap": ENTITY_CAP}):
            if r["d"] in planned:
                by_date[r["d"]].append(r["e"])
        findings = []
        for d, ids in sorted(by_date.items()):
            shown, more = capped(ids)
            findings.append(Finding(
                f"{proc.name} {d.isoformat()}: PROCESSING_ERROR (a bug, whatever the rates) for "
                f"{', '.join(shown)}{more} in {proc.failures_table}", GateStatus.FAIL, proc.name, proc.failures_table,
                d, shown))
        return findings

    @staticmethod
    def _bands(ctx: GateContext, proc: Processor, rates: dict[date, tuple[int, int]],
               bands: Sequence[Mapping[str, Any]]) -> list[Finding]:
        if not bands or not rates:
            return []
        tolerance = float(ctx.options.get("tolerance", DEFAULT_TOLERANCE))
        start = season_start(ctx)
        level = GateStatus.FAIL if ctx.options.get("strict") else GateStatus.WARN
        groups: dict[tuple[int, int], list[date]] = defaultdict(list)
        for d in sorted(rates):
            day = (d - start).days + 1
            band = band_of(bands, day)
            if day >= 1 and band is not None:
                groups[((day - 1) // 7 + 1, band)].append(d)
        findings = []
        for (week, band), days in sorted(groups.items()):
            b = bands[band]
            failed = sum(rates[d][0] for d in days)
            expected = sum(rates[d][1] for d in days)
            rate = pct(failed, expected)
            if b["min_pct"] - tolerance <= rate <= b["max_pct"] + tolerance:
                continue
            to_day = b.get("to_day")
            findings.append(Finding(
                f"{proc.name} season week {week} ({days[0].isoformat()}..{days[-1].isoformat()}): failure rate "
                f"{fmt_pct(rate)} ({failed} of {expected} entity-dates), expected "
                f"{b['min_pct']}-{b['max_pct']}% ±{tolerance:g} for days {b['from_day']}"
                f"{f'-{to_day}' if to_day else '+'}",
                level, proc.name, proc.failures_table, days[0]))
        return findings


def measure(ctx: GateContext, proc: Processor) -> list[dict[str, Any]]:
    """Per planned date of ``proc``, sorted: expected and failed entities, whether a
    ``DATE_LEVEL`` failure took the whole date, and the failure categories (one query)."""
    sql = _RATES.format(ctes=entity_ctes(ctx, proc), date_level=DATE_LEVEL)
    planned = set(ctx.dates)
    rows = ctx.warehouse.query(sql, query_params(ctx, proc, gate_processor=proc.name))
    return sorted((r for r in rows if r["d"] in planned), key=lambda r: r["d"])


def band_of(bands: Sequence[Mapping[str, Any]], day: int) -> int | None:
    """The index of the band covering season ``day`` (the first that does), if any."""
    return next((i for i, b in enumerate(bands) if b["from_day"] <= day
                 and (b.get("to_day") is None or day <= b["to_day"])), None)


def bands_for(options: Mapping[str, Any], learned: Mapping[str, Any], processor: str) -> Sequence[Mapping[str, Any]]:
    """A processor's bands: the ``bands`` option (a list, or its entry in a mapping; days it
    does not cover are not checked), else its learned baseline, followed by the runbook's table
    (:data:`DEFAULT_BANDS`) for the days no learned band covers (:func:`band_of` takes the
    first that does), else the runbook's table."""
    bands = options.get("bands")
    if isinstance(bands, list):
        return bands
    if isinstance(bands, Mapping) and processor in bands:
        return bands[processor]
    return [*learned[processor], *DEFAULT_BANDS] if learned.get(processor) else DEFAULT_BANDS


def _kind(category: str, skips: set[str], explained: set[str]) -> str:
    if category in skips:
        return "expected"
    if category == PROCESSING_ERROR:
        return "bug"
    return "expected: upstream short" if category in explained else "unexpected"
