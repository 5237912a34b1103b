"""sql: a plan-defined check; every row its query returns is a violation.

``query`` is BigQuery Standard SQL with ``@dates``, ``@start_date``, ``@end_date``,
``@backfill_mode`` and the plan's vars and params bound (values are parameters, never pasted
in). Each returned row becomes one failing finding: its ``date``, ``processor``, ``table`` and
``entity`` (or ``entity_id``) columns fill the finding's fields when present, and the whole
row is shown in the detail after ``message``. At most ``max_findings`` rows are reported.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from bfplan.errors import BfplanError
from bfplan.gates.base import Finding, Gate, GateContext, GateResult
from bfplan.gates.common import as_date, options_schema, query_params
from bfplan.status import GateStatus

DEFAULT_MAX_FINDINGS = 100


class SqlGate(Gate):
    """Rows returned by a plan's query are violations."""

    name = "sql"
    description = "a plan-defined SQL check: each returned row is a failing finding"
    options_schema = {
        **options_schema(
            "Options of the sql gate.",
            query={"description": "One read-only BigQuery SQL query (SELECT or WITH ... SELECT) returning the "
                   "violating rows; @dates, @start_date, @end_date and the plan's vars and params are bound "
                   "(write @name, never ${name}).", "type": "string", "minLength": 1,
                   "contentMediaType": "application/sql"},
            message={"description": "What a returned row means (starts each finding's detail).",
                     "type": "string"},
            max_findings={"description": "Rows reported at most (default 100).", "type": "integer", "minimum": 1,
                          "maximum": 100_000},
        ),
        "required": ["query"],
    }

    def check(self, ctx: GateContext) -> GateResult:
        """Run the query once over the stage's dates."""
        if not ctx.dates:
            return GateResult(GateStatus.PASS, [], "no dates to check")
        message = str(ctx.options.get("message") or "violation")
        limit = int(ctx.options.get("max_findings", DEFAULT_MAX_FINDINGS))
        try:
            rows = ctx.warehouse.query(str(ctx.options["query"]), query_params(ctx))
        except BfplanError as exc:
            return GateResult(GateStatus.FAIL, [Finding(f"query failed: {exc}")], "query failed")
        findings = [_finding(row, message) for row in rows[:limit]]
        more = f" (first {limit} reported)" if len(rows) > limit else ""
        summary = f"{len(rows)} violation(s){more}: {message}" if rows else f"no violations: {message}"
        return GateResult.from_findings(findings, summary)


def _finding(row: dict[str, Any], message: str) -> Finding:
    day = row.get("date")
    if day is not None and not isinstance(day, date):
        try:
            day = as_date(day)
        except ValueError:
            day = None
    if isinstance(day, datetime):
        day = day.date()
    entity = row.get("entity", row.get("entity_id"))
    text = json.dumps(row, default=str, sort_keys=True)
    return Finding(f"{message}: {text}", GateStatus.FAIL, _text(row.get("processor")), _text(row.get("table")), day,
                   (str(entity),) if entity is not None else ())


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
