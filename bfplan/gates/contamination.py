"""contamination: the critical fields of the stage's tables hold real values on every date.

The seed's ``validate_cascade_contamination.py`` as a gate. Each processor declares its
critical fields with a rule (``not_null``: IS NOT NULL; ``positive``: > 0, so NULL and 0 both
fail it). One query per processor counts, per date, the rows and each field's valid rows
(``ignore_bootstrap_days`` skips the season's first days, where placeholders are expected).
A (field, date) is CLEAN at ``clean_pct`` (99) % valid or more, PARTIAL at ``contaminated_pct``
(50) % or more (warn), CONTAMINATED below (fail with ``strict: true``, else warn), and a
planned date with no rows at all is NO_DATA.

NO_DATA is ``warn`` by default, also under ``strict``: as in the seed, ``--strict`` fails on
contaminated values, while a missing date is the coverage and preflight gates' finding.
``no_data: fail`` (or ``pass``) changes that. A date with nothing to check for a known reason
is not NO_DATA but *expected* (it passes, and the summary counts it):

- NOT_APPLICABLE: the date has rows, but none that the ``critical_filter`` applies to
  (placeholders, say);
- NO_EXPECTED: the processor's ``expected_entities_sql`` expects no entity that day;
- EXPLAINED: the processor recorded failures for that date (a ``DATE_LEVEL`` failure, or one for
  every expected entity), none of them PROCESSING_ERROR: the absence is accounted for, and whether the
  failures themselves are acceptable is the coverage and failure_rate gates' verdict.

A date with no rows, entities expected and no failure record stays NO_DATA.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any

from bfplan.failures import DATE_LEVEL, PROCESSING_ERROR
from bfplan.gates.base import Finding, Gate, GateContext, GateResult
from bfplan.gates.common import (
    BOOTSTRAP_SCHEMA,
    DATE_SCHEMA,
    ENTITY_CAP,
    PERCENT_SCHEMA,
    PROCESSORS_SCHEMA,
    capped,
    checked_dates,
    date_filter,
    entity_ctes,
    fmt_pct,
    options_schema,
    pct,
    query_params,
    stage_processors,
)
from bfplan.processors import Processor
from bfplan.status import GateStatus
from bfplan.warehouse.base import check_identifier

#: SQL condition of a valid value, per rule (NULL compares as not valid under both)
RULES = {"not_null": "{f} IS NOT NULL", "positive": "{f} > 0"}
RULE_WORDS = {"not_null": "not NULL", "positive": "> 0"}


class ContaminationGate(Gate):
    """Share of valid values of each critical field, per processor and date."""

    name = "contamination"
    description = "critical fields are not NULL / not zero (CLEAN, PARTIAL, CONTAMINATED, NO_DATA)"
    options_schema = options_schema(
        "Options of the contamination gate.",
        processors=PROCESSORS_SCHEMA,
        strict={"description": "CONTAMINATED fails the gate (default: it warns).", "type": "boolean"},
        clean_pct={**PERCENT_SCHEMA, "description": "Valid % at which a field is CLEAN (default 99)."},
        contaminated_pct={**PERCENT_SCHEMA, "description": "Valid % under which a field is CONTAMINATED "
                          "(default 50)."},
        no_data={"description": "What a planned date with no rows is (default warn).",
                 "enum": ["pass", "warn", "fail"]},
        ignore_bootstrap_days=BOOTSTRAP_SCHEMA,
        season_start={**DATE_SCHEMA, "description": "Day 1 of the season (default: the plan's season_start "
                      "var/param, else the stage's first date)."},
    )

    def check(self, ctx: GateContext) -> GateResult:
        """One counting query per processor, one more naming the bad rows where there are some."""
        dates = checked_dates(ctx)
        if not dates:
            return GateResult(GateStatus.PASS, [], "no dates to check")
        procs, findings = stage_processors(ctx)
        lines = []
        for proc in procs:
            if not proc.critical_fields:
                continue
            line, found = self._check_processor(ctx, proc, dates)
            lines.append(line)
            findings.extend(found)
        if not lines:
            return GateResult.from_findings(findings, "no critical fields declared by the stage's processors")
        return GateResult.from_findings(findings, "; ".join(lines))

    def _check_processor(self, ctx: GateContext, proc: Processor, dates: list[date]) -> tuple[str, list[Finding]]:
        opts = ctx.options
        clean, dirty = float(opts.get("clean_pct", 99.0)), float(opts.get("contaminated_pct", 50.0))
        fields = list(proc.critical_fields.items())
        col = proc.partition_column
        counts: dict[date, dict[str, Any]] = {}
        params = query_params(ctx, proc, start_date=dates[0], end_date=dates[-1])
        if ctx.warehouse.table_exists(proc.table):
            valid = ", ".join(f"COUNTIF({_filter_sql(proc)} AND {_valid(f, rule)}) AS v{i}"
                              for i, (f, rule) in enumerate(fields))
            sql = (f"SELECT CAST({col} AS DATE) AS d, COUNTIF({_filter_sql(proc)}) AS n, COUNT(*) AS all_rows, "
                   f"{valid} FROM {proc.table} WHERE {date_filter(col)} GROUP BY 1")
            counts = {r["d"]: r for r in ctx.warehouse.query(sql, params)}
        empty = [d for d in dates if not (counts.get(d) or {}).get("n")]
        reasons = _absence_reasons(ctx, proc, empty, counts, params)

        findings: list[Finding] = []
        bad: dict[int, dict[date, tuple[str, str]]] = defaultdict(dict)  # field -> date -> (level, detail)
        tally: Counter[str] = Counter()
        for d in dates:
            r = counts.get(d)
            if d in reasons:
                tally[reasons[d]] += 1
                continue
            if not r or not r["n"]:
                tally["NO_DATA"] += 1
                level = opts.get("no_data", GateStatus.WARN)
                if level != GateStatus.PASS:
                    findings.append(Finding(f"{proc.table} {d.isoformat()}: NO_DATA, no rows to check "
                                            f"({', '.join(f for f, _ in fields)})", level, proc.name,
                                            proc.table, d))
                continue
            for i, (field, rule) in enumerate(fields):
                share = pct(r[f"v{i}"], r["n"])
                if share >= clean:
                    tally["CLEAN"] += 1
                    continue
                status = "PARTIAL" if share >= dirty else "CONTAMINATED"
                tally[status] += 1
                level = GateStatus.FAIL if status == "CONTAMINATED" and opts.get("strict") else GateStatus.WARN
                bad[i][d] = (level, f"{proc.table}.{field} {d.isoformat()}: {status}, {fmt_pct(share)} valid "
                             f"({r[f'v{i}']} of {r['n']} rows {RULE_WORDS[rule]}); "
                             f"{r['n'] - r[f'v{i}']} bad rows")
        findings.extend(self._bad_row_findings(ctx, proc, fields, bad, params))
        absent = ("NOT_APPLICABLE", "NO_EXPECTED", "EXPLAINED")
        line = f"{proc.name}: " + ", ".join(f"{n} {s}" for s, n in sorted(tally.items()) if s not in absent)
        line += " (field-dates)"
        if any(tally[s] for s in absent):
            line += "; nothing to check, expected: " + ", ".join(f"{tally[s]} {s}" for s in absent if tally[s])
            line += " (dates)"
        return line, findings

    @staticmethod
    def _bad_row_findings(ctx: GateContext, proc: Processor, fields: list[tuple[str, str]],
                          bad: dict[int, dict[date, tuple[str, str]]], params: dict[str, Any]) -> list[Finding]:
        if not bad:
            return []
        if not proc.entity_key:  # nothing to name the bad rows by
            return [Finding(detail, level, proc.name, proc.table, d)
                    for i in sorted(bad) for d, (level, detail) in sorted(bad[i].items())]
        col = proc.partition_column
        branches, extra = [], {}
        for i in sorted(bad):
            field, rule = fields[i]
            extra[f"bad_dates_{i}"] = sorted(bad[i])
            branches.append(
                f"SELECT {i} AS field, CAST({col} AS DATE) AS d, {proc.entity_id_sql} AS e FROM {proc.table} "
                f"WHERE {date_filter(col)}{_rows_filter(proc)} AND {col} IN UNNEST(@bad_dates_{i}) "
                f"AND NOT COALESCE({_valid(field, rule)}, FALSE)")
        sql = ("SELECT field, d, e FROM (SELECT field, d, e, ROW_NUMBER() OVER (PARTITION BY field, d ORDER BY e) "
               f"AS rn FROM ({' UNION ALL '.join(branches)}) AS __bad) AS __ranked WHERE rn <= @cap "
               "ORDER BY field, d, e")
        entities: dict[tuple[int, date], list[str]] = defaultdict(list)
        for r in ctx.warehouse.query(sql, {**params, **extra, "cap": ENTITY_CAP}):
            entities[(r["field"], r["d"])].append(r["e"])
        findings = []
        for i in sorted(bad):
            for d, (level, detail) in sorted(bad[i].items()):
                shown, _ = capped(entities.get((i, d), []))
                names = f"; e.g. {', '.join(shown)}" if shown else ""
                findings.append(Finding(detail + names, level, proc.name, proc.table, d, shown))
        return findings


_ABSENCE = """
WITH {ctes},
exp AS (SELECT DISTINCT d FROM expected),
-- every expected entity has a failure record (or the whole date has one), none a bug
unexplained AS (
  SELECT DISTINCT x.d FROM expected AS x LEFT JOIN fails AS f ON f.d = x.d AND f.e = x.e WHERE f.e IS NULL
),
explained AS (
  SELECT d FROM fails GROUP BY d
  HAVING COUNTIF(c = '{bug}') = 0
     AND (COUNTIF(e = '{date_level}') > 0 OR d NOT IN (SELECT d FROM unexplained))
)
SELECT d, d IN (SELECT d FROM exp) AS has_expected, d IN (SELECT d FROM explained) AS explained
FROM (SELECT d FROM exp UNION DISTINCT SELECT d FROM explained) AS __d
"""


def _absence_reasons(ctx: GateContext, proc: Processor, empty: list[date], counts: dict[date, Any],
                     params: dict[str, Any]) -> dict[date, str]:
    """Why each date of ``empty`` (nothing to check) is expected: NOT_APPLICABLE, NO_EXPECTED or
    EXPLAINED (see the module doc); dates with no such reason are left out (NO_DATA)."""
    if not empty:
        return {}
    reasons = {d: "NOT_APPLICABLE" for d in empty if (counts.get(d) or {}).get("all_rows")}
    rest = [d for d in empty if d not in reasons]
    if not rest or not (proc.expected_entities_sql or proc.failures_table):
        return reasons
    sql = _ABSENCE.format(ctes=entity_ctes(ctx, proc), bug=PROCESSING_ERROR, date_level=DATE_LEVEL)
    rows = {r["d"]: r for r in ctx.warehouse.query(sql, {**params, "gate_processor": proc.name,
                                                           "dates": rest, "start_date": rest[0],
                                                           "end_date": rest[-1]})}
    for d in rest:
        r = rows.get(d)
        if r and r["explained"]:
            reasons[d] = "EXPLAINED"
        elif proc.expected_entities_sql and not (r and r["has_expected"]):
            reasons[d] = "NO_EXPECTED"
    return reasons


def _filter_sql(proc: Processor) -> str:
    predicate = getattr(proc, "critical_filter", None)
    return f"COALESCE(({predicate}), FALSE)" if predicate else "TRUE"


def _valid(field: str, rule: str) -> str:
    return RULES[rule].format(f=check_identifier(field, "critical field"))


def _rows_filter(proc: Processor) -> str:
    """The processor's ``critical_filter``: rows its critical fields apply to (e.g. those whose source data existed)."""
    predicate = getattr(proc, "critical_filter", None)
    return f" AND ({predicate})" if predicate else ""
