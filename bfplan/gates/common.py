"""What the built-in gates share: option schemas, query parameters, entity capping, dates.

Every gate query is set-based: one statement per processor (or per input table) covering all
of the stage's dates, grouped by date. The date filter pairs a range (which engines use to
prune partitions) with the exact list (which the plan's calendar decided).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from bfplan.failures import DATE_LEVEL, STANDS
from bfplan.gates.base import Finding
from bfplan.modes import policy_for
from bfplan.run.params import batch_params, processor_params
from bfplan.status import GateStatus
from bfplan.warehouse.base import check_identifier

if TYPE_CHECKING:
    from bfplan.gates.base import GateContext
    from bfplan.processors import Processor

#: entity ids named in one finding; the detail says how many there were in all
ENTITY_CAP = 20
#: dates listed in one finding's detail
DATE_CAP = 20

SEVERITY_SCHEMA = {"description": "block (default): a failure blocks downstream; warn: it only warns.",
                   "enum": ["block", "warn"]}
PROCESSORS_SCHEMA = {"description": "Only these processors of the stage (default: all).",
                     "type": "array", "items": {"type": "string"}, "uniqueItems": True}
PERCENT_SCHEMA = {"type": "number", "minimum": 0, "maximum": 100}
DATE_SCHEMA = {"description": "A date, YYYY-MM-DD.", "type": "string",
               "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}


def options_schema(description: str, **properties: Any) -> dict[str, Any]:
    """A gate's options schema: closed (unknown keys are plan errors), ``severity`` allowed."""
    return {"type": "object", "description": description, "additionalProperties": False,
            "properties": {"severity": SEVERITY_SCHEMA, **properties}}


def as_date(value: Any) -> date:
    """A date from a plan value (YAML gives ISO strings; Python callers may pass dates)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def pct(part: float, whole: float) -> float:
    """``part`` as a percentage of ``whole`` (100 when nothing was expected)."""
    return 100.0 * part / whole if whole else 100.0


def capped(ids: Iterable[Any], total: int | None = None, cap: int | None = None) -> tuple[tuple[str, ...], str]:
    """The first ``cap`` (default :data:`ENTITY_CAP`) ids and a detail suffix saying how many
    there were in all."""
    cap = ENTITY_CAP if cap is None else cap
    items = [str(i) for i in ids]
    total = len(items) if total is None else total
    shown = tuple(items[:cap])
    more = f" (+{total - len(shown)} more)" if total > len(shown) else ""
    return shown, more


def date_list(dates: Sequence[date], cap: int = DATE_CAP) -> str:
    """``2021-11-03, 2021-11-05 (+3 more)``."""
    shown, more = capped((d.isoformat() for d in dates), len(dates), cap)
    return ", ".join(shown) + more


def date_filter(column: str) -> str:
    """SQL restricting ``column`` to the stage's range, ``@start_date``..``@end_date``.

    Only the range: engines prune partitions on it, while an ``IN UNNEST(@dates)`` test costs
    a list lookup per row (DuckDB). Gate queries group by date, and the gates read only the
    planned dates' groups, so the dates in between that the plan skips cost next to nothing
    (a calendar's off days hold no rows anyway).
    """
    col = check_identifier(column, "partition column")
    return f"{col} BETWEEN @start_date AND @end_date"


def query_params(ctx: GateContext, processor: Processor | None = None, **extra: Any) -> dict[str, Any]:
    """Bound parameters of a gate query: what a processor's own SQL may use (its
    ``expected_entities_sql`` runs inside gate queries) over the stage's dates, plus ``extra``."""
    name = processor.name if processor else None
    params = processor_params(ctx.plan, name, policy_for(ctx.mode)) if ctx.plan is not None else {}
    params = batch_params(params, ctx.dates, run_id=ctx.run_id, processor=name or "", mode=ctx.mode)
    if processor is None:
        params.pop("processor_name")
    params.update(extra)
    return params


def stage_processors(ctx: GateContext) -> tuple[list[Processor], list[Finding]]:
    """The stage's processors, narrowed by the ``processors`` option, and a failing finding for
    each name it lists that is not in the stage (a typo would otherwise check nothing)."""
    wanted = ctx.options.get("processors")
    if not wanted:
        return list(ctx.processors), []
    names = [p.name for p in ctx.processors]
    unknown = [Finding(f"processors option names {w!r}, which is not a processor of this stage ({', '.join(names)})",
                       GateStatus.FAIL, w) for w in wanted if w not in names]
    return [p for p in ctx.processors if p.name in wanted], unknown


def season_start(ctx: GateContext) -> date:
    """Day 1 of the season: the ``season_start`` option, else the plan's ``season_start``
    var or param, else the stage's first date."""
    for source in (ctx.options, ctx.plan.vars if ctx.plan else {}, ctx.plan.params if ctx.plan else {}):
        if source.get("season_start"):
            return as_date(source["season_start"])
    return min(ctx.dates)


BOOTSTRAP_SCHEMA = {"description": "Skip the season's first N days (the pipeline's bootstrap, 14 in the seed), "
                    "counted from season_start.", "type": "integer", "minimum": 0}


def checked_dates(ctx: GateContext) -> list[date]:
    """The stage's dates, sorted, without the season's first ``ignore_bootstrap_days`` days."""
    dates = sorted(ctx.dates)
    skip = int(ctx.options.get("ignore_bootstrap_days", 0))
    if skip and dates:
        start = season_start(ctx)
        dates = [d for d in dates if (d - start).days >= skip]
    return dates


def fmt_pct(value: float) -> str:
    """A percentage as findings print it: ``99.2%``, ``100%``."""
    return f"{value:.1f}%".replace(".0%", "%")


def empty_relation(columns: Mapping[str, str]) -> str:
    """A SELECT of no rows with these columns (name → BigQuery type): stands in for a table
    that does not exist yet, so one query shape serves both cases."""
    cols = ", ".join(f"CAST(NULL AS {typ}) AS {check_identifier(name)}" for name, typ in columns.items())
    return f"SELECT {cols} FROM UNNEST([1]) AS __none WHERE FALSE"


def entity_ctes(ctx: GateContext, processor: Processor, *, expected_from_sql: bool = True) -> str:
    """``expected``, ``actual`` and ``fails`` CTEs (without ``WITH``) over the stage's date range
    (callers keep the planned dates' groups, see :func:`date_filter`):

    - expected (d, e): the processor's ``expected_entities_sql``; with ``expected_from_sql``
      false or no such SQL, the entities that have a row or an entity-level failure;
    - actual (d, e): distinct entity ids in the processor's table;
    - fails (d, e, c): its rows of its failures table (entity ``DATE_LEVEL`` for whole dates).

    Parameters: the processor's own (see :func:`query_params`) and ``@gate_processor``.
    """
    wh = ctx.warehouse
    p = processor
    if wh.table_exists(p.table):
        col = p.partition_column
        actual = (f"SELECT DISTINCT CAST({col} AS DATE) AS d, {p.entity_id_sql} AS e "
                  f"FROM {p.table} WHERE {date_filter(col)}")
    else:
        actual = empty_relation({"d": "DATE", "e": "STRING"})
    if p.failures_table and wh.table_exists(p.failures_table):
        fails = ("SELECT CAST(analysis_date AS DATE) AS d, CAST(entity_id AS STRING) AS e, "
                 f"CAST(failure_category AS STRING) AS c FROM {p.failures_table} "
                 f"WHERE processor_name = @gate_processor AND {date_filter('analysis_date')} "
                 # a RESOLVED row records a failure a later run fixed: it accounts for nothing now
                 f"AND {STANDS}")
    else:
        fails = empty_relation({"d": "DATE", "e": "STRING", "c": "STRING"})
    if expected_from_sql and p.expected_entities_sql:
        source = p.expected_entities_sql.strip().rstrip(";")
        expected = ("SELECT DISTINCT CAST(partition_date AS DATE) AS d, CAST(entity_id AS STRING) AS e "
                    f"FROM ({source}) AS __expected "
                    "WHERE CAST(partition_date AS DATE) BETWEEN @start_date AND @end_date")
    else:
        expected = f"SELECT d, e FROM actual UNION DISTINCT SELECT d, e FROM fails WHERE e <> '{DATE_LEVEL}'"
    return f"actual AS ({actual}),\nfails AS ({fails}),\nexpected AS ({expected})"
