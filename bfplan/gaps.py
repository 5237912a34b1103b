"""Gap detection: what is missing or wrong in the data itself, per processor and date.

The seed runbook's gap types, each found with a few set-based queries per processor over the
plan's dates (never a query per date), reading the tables themselves, not just the ledger — a
row deleted by hand is a gap:

* ``missing_date`` — a planned date (the calendar's: days it leaves out never count) with no
  rows and no failure records at all, where the processor expects entities (when it declares
  which);
* ``partial`` — expected entities with neither a row nor a categorized failure;
* ``null_field`` / ``zero_value`` — a critical field NULL, or 0 where it must be positive, in
  more than 1% of a date's rows (under that it is CLEAN, as the contamination gate says);
* ``cascade`` — a partition built from upstream data that has changed since, or was missing
  when it was built (from the ledger's lineage, :mod:`bfplan.ledger.lineage`);
* ``partial`` also when a rewrite *lost* rows (:mod:`bfplan.ledger.losses`), and ``degraded``
  — present, but built on a hole: on an upstream partition that had lost rows, or with too
  many rows that say they are not ready (:mod:`bfplan.degraded`), each with its upstream cause.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from bfplan.degraded import built_on_losses, causes_in
from bfplan.failures import DATE_LEVEL, NOT_DATE_LEVEL, STANDS
from bfplan.ledger.ledger import Ledger, PartitionState
from bfplan.ledger.lineage import Read, current_reads, stale_partitions
from bfplan.ledger.losses import find_losses
from bfplan.modes import policy_for
from bfplan.plan.dates import expand_dates
from bfplan.plan.model import Plan
from bfplan.plugins import Registry
from bfplan.processors import Processor
from bfplan.quality import judge, measure, window_start
from bfplan.run.params import processor_params
from bfplan.sources import changed_sources
from bfplan.status import GateStatus, PartitionStatus
from bfplan.warehouse.base import Warehouse, check_identifier

GAP_TYPES = ("missing_date", "partial", "null_field", "zero_value", "cascade", "degraded")
MAX_NAMED = 10
#: a critical field is a gap on a date when fewer than this share of its rows are valid
CLEAN_SHARE = 0.99


@dataclass(frozen=True)
class Gap:
    """One gap: which processor, table and date, its type and a human detail."""

    processor: str
    table: str
    date: date
    type: str
    detail: str
    entities: tuple[str, ...] = ()
    #: the upstream partitions (processor, date) it was built from that have a gap themselves
    causes: tuple[tuple[str, date], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"processor": self.processor, "table": self.table, "date": self.date.isoformat(),
                "type": self.type, "detail": self.detail, "entities": list(self.entities),
                "causes": [{"processor": p, "date": d.isoformat()} for p, d in self.causes]}


def _names(text: str | None, total: int) -> tuple[tuple[str, ...], str]:
    items = sorted(set(filter(None, (text or "").split("\x1f"))))
    shown = items[:MAX_NAMED]
    more = f" and {total - len(shown)} more" if total > len(shown) else ""
    return tuple(shown), ", ".join(shown) + more


def _failures_by_date(wh: Warehouse, p: Processor, dates: Sequence[date]) -> dict[date, tuple[int, int]]:
    """(date-level failures, entities with a failure) per date, unresolved failures only."""
    if not p.failures_table or not wh.table_exists(p.failures_table):
        return {}
    rows = wh.query(
        f"SELECT analysis_date AS d, COUNTIF(entity_id = '{DATE_LEVEL}') AS date_level, "
        f"COUNT(DISTINCT IF(entity_id = '{DATE_LEVEL}', NULL, entity_id)) AS entities "
        f"FROM {p.failures_table} WHERE processor_name = @p AND analysis_date IN UNNEST(@dates) "
        f"AND {STANDS} GROUP BY analysis_date",
        {"p": p.name, "dates": list(dates)},
    )
    return {r["d"]: (r["date_level"], r["entities"]) for r in rows}


def _expected_by_date(wh: Warehouse, p: Processor, dates: Sequence[date]) -> dict[date, int] | None:
    """Expected entities per date (None when the processor does not say what it expects): a
    date where nothing is expected (no feature rows to predict from, say) has nothing missing."""
    if not p.expected_entities_sql:
        return None
    expected = p.expected_entities_sql.strip().rstrip(";")
    try:
        rows = wh.query(f"SELECT CAST(partition_date AS DATE) AS d, COUNT(*) AS n FROM ({expected}) AS x GROUP BY 1",
                        {"dates": list(dates), "start_date": min(dates), "end_date": max(dates),
                         "processor_name": p.name})
    except Exception:  # its inputs may not exist yet: then every date counts
        return None
    return {r["d"]: r["n"] for r in rows}


def _partial(wh: Warehouse, p: Processor, dates: Sequence[date], with_rows: set[date]) -> list[Gap]:
    if not p.expected_entities_sql or not with_rows:
        return []
    col = check_identifier(p.partition_column)
    fails = ""
    if p.failures_table and wh.table_exists(p.failures_table):
        fails = (f"UNION DISTINCT SELECT analysis_date AS d, entity_id AS e FROM {p.failures_table} "
                 "WHERE processor_name = @processor_name AND analysis_date IN UNNEST(@dates) "
                 f"AND {NOT_DATE_LEVEL} AND {STANDS}")
    expected = p.expected_entities_sql.strip().rstrip(";")
    sql = f"""
        WITH expected AS (
          SELECT DISTINCT CAST(partition_date AS DATE) AS d, CAST(entity_id AS STRING) AS e FROM ({expected}) AS x
        ),
        accounted AS (
          SELECT DISTINCT CAST({col} AS DATE) AS d, {p.entity_id_sql} AS e FROM {p.table}
          WHERE {col} IN UNNEST(@dates) {fails}
        )
        SELECT x.d, COUNT(*) AS n, STRING_AGG(x.e, '\\x1f') AS names
        FROM expected AS x LEFT JOIN accounted AS a ON a.d = x.d AND a.e = x.e
        WHERE a.e IS NULL AND x.d IN UNNEST(@dates)
        GROUP BY x.d
    """
    params = {"dates": sorted(with_rows), "start_date": min(with_rows), "end_date": max(with_rows),
              "processor_name": p.name}
    gaps = []
    for r in wh.query(sql, params):
        names, text = _names(r["names"], r["n"])
        gaps.append(Gap(p.name, p.table, r["d"], "partial",
                        f"{r['n']} expected entities have neither a row nor a failure: {text}", names))
    return gaps


def _critical(wh: Warehouse, p: Processor, dates: Sequence[date]) -> list[Gap]:
    if not p.critical_fields:
        return []
    col = check_identifier(p.partition_column)
    exprs = []
    for i, (field, rule) in enumerate(sorted(p.critical_fields.items())):
        f = check_identifier(field)
        exprs.append(f"COUNTIF({f} IS NULL) AS nulls_{i}, "
                     f"STRING_AGG(IF({f} IS NULL, {p.entity_id_sql}, NULL), '\\x1f') AS null_names_{i}")
        if rule == "positive":
            exprs.append(f"COUNTIF({f} <= 0) AS zeros_{i}, "
                         f"STRING_AGG(IF({f} <= 0, {p.entity_id_sql}, NULL), '\\x1f') AS zero_names_{i}")
    where = f"{col} IN UNNEST(@dates)"
    if getattr(p, "critical_filter", None):
        where += f" AND ({p.critical_filter})"
    sql = f"SELECT CAST({col} AS DATE) AS d, COUNT(*) AS n, {', '.join(exprs)} FROM {p.table} WHERE {where} GROUP BY 1"
    gaps = []
    for r in wh.query(sql, {"dates": list(dates)}):
        for i, field in enumerate(sorted(p.critical_fields)):
            for kind, count_key, names_key, what in (
                ("null_field", f"nulls_{i}", f"null_names_{i}", "NULL"),
                ("zero_value", f"zeros_{i}", f"zero_names_{i}", "0 (must be > 0)"),
            ):
                n = r.get(count_key) or 0
                # the contamination gate's CLEAN bound: under 1% odd rows (a shooter with no paint
                # attempts has no paint FG%) is data, not a gap
                if n and n / r["n"] > 1 - CLEAN_SHARE:
                    names, text = _names(r.get(names_key), n)
                    gaps.append(Gap(p.name, p.table, r["d"], kind,
                                    f"{field} is {what} in {n} of {r['n']} rows: {text}", names))
    return gaps


def processor_gaps(wh: Warehouse, p: Processor, dates: Sequence[date]) -> list[Gap]:
    """Data gaps (everything but cascade) of one processor over ``dates``."""
    if not dates:
        return []
    col = check_identifier(p.partition_column)
    rows: dict[date, int] = {}
    if wh.table_exists(p.table):
        rows = {r["d"]: r["n"] for r in wh.query(
            f"SELECT CAST({col} AS DATE) AS d, COUNT(*) AS n FROM {p.table} WHERE {col} IN UNNEST(@dates) GROUP BY 1",
            {"dates": list(dates)})}
    failures = _failures_by_date(wh, p, dates)
    expected = _expected_by_date(wh, p, dates)
    gaps = []
    for d in dates:
        nothing_expected = expected is not None and not expected.get(d)
        if not rows.get(d) and not any(failures.get(d, (0, 0))) and not nothing_expected:
            gaps.append(Gap(p.name, p.table, d, "missing_date", "no rows and no failure records for this date"))
    if rows and wh.table_exists(p.table):
        gaps += _partial(wh, p, dates, {d for d in dates if rows.get(d)})
        gaps += _critical(wh, p, dates)
    return gaps


def _holes(plan: Plan, registry: Registry, wh: Warehouse, planned: dict[str, set[date]],
           reads: list[Read]) -> list[Gap]:
    """Rewrites that lost rows (``partial``) and what was built on them (``degraded``)."""
    losses = find_losses(wh, plan.name, list(planned))
    if not losses:
        return []
    degraded = built_on_losses(losses, reads)
    gaps = []
    for (name, d), loss in losses.items():
        if d in planned.get(name, ()) and (name, d) not in degraded:
            gaps.append(Gap(name, registry.processors[name].table, d, "partial", loss.describe()))
    for (name, d), hole in degraded.items():
        if d in planned.get(name, ()):
            gaps.append(Gap(name, registry.processors[name].table, d, "degraded", hole.describe(),
                            causes=tuple((c.processor, c.date) for c in hole.causes)))
    return gaps


def quality_options(plan: Plan, processor: str) -> dict[str, Any]:
    """The options of the plan's first ``quality`` gate that checks ``processor`` ({}: defaults)."""
    for phase in plan.phases:
        refs = [*phase.gates_before, *phase.gates_after,
                *(g for r in phase.processors if r.name == processor for g in r.gates_after)]
        names = [r.name for r in phase.processors]
        for gate in refs:
            wanted = gate.options.get("processors") or names
            if gate.name == "quality" and processor in wanted and processor in names:
                return dict(gate.options)
    return {}


def _not_ready(plan: Plan, registry: Registry, wh: Warehouse, planned: dict[str, set[date]], reads: list[Read],
               found: list[Gap]) -> list[Gap]:
    """Dates whose not-ready share fails the quality rule (:func:`bfplan.quality.judge`), each
    with the upstream gaps in the windows it read: its probable cause."""
    bad: dict[str, list[tuple[date, int, str]]] = defaultdict(list)
    for g in found:
        bad[g.processor].append((g.date, 0, g.type))
    for items in bad.values():
        items.sort()
    by_partition: dict[tuple[str, date], list[Read]] = defaultdict(list)
    for r in reads:
        by_partition[(r.processor, r.date)].append(r)
    gaps = []
    for name, dates in planned.items():
        p = registry.processors[name]
        if p.quality is None or not dates:
            continue
        options = quality_options(plan, name)
        measured = measure(wh, p, window_start(sorted(dates), options), max(dates))
        for v in judge(measured, sorted(dates), options):
            if v.status != GateStatus.FAIL or (name, v.date) in {(g.processor, g.date) for g in found}:
                continue
            causes, more = causes_in(by_partition.get((name, v.date), []), bad)
            why = (f"; built from {', '.join(str(c) for c in causes)}" + (f" and {more} more" if more else "")
                   if causes else "; no upstream gap in what it read: the cause is in its own inputs")
            gaps.append(Gap(name, p.table, v.date, "degraded", v.detail + why,
                            causes=tuple((c.processor, c.date) for c in causes)))
    return gaps


def _why_unbuilt(gap: Gap, states: Mapping[tuple[str, date], PartitionState]) -> Gap:
    """A missing or partial partition the ledger says was not built names why (what blocked it)."""
    st = states.get((gap.processor, gap.date))
    if gap.type not in ("missing_date", "partial") or st is None or st.status == PartitionStatus.DONE:
        return gap
    return replace(gap, detail=f"{gap.detail}; not built: {st.status} ({st.error or 'no reason recorded'})")


def find_gaps(plan: Plan, registry: Registry, wh: Warehouse, *, start: date | None = None, end: date | None = None,
              processors: Iterable[str] | None = None) -> list[Gap]:
    """Every gap of the plan's processors over their planned dates, sorted."""

    only = set(processors) if processors is not None else None
    gaps: list[Gap] = []
    planned: dict[str, set[date]] = {}
    for phase in plan.phases:
        dates = [d for d in expand_dates(phase.dates, registry, plan)
                 if (start is None or d >= start) and (end is None or d <= end)]
        for ref in phase.processors:
            if only is not None and ref.name not in only:
                continue
            planned[ref.name] = set(dates)
            gaps += processor_gaps(wh, registry.processors[ref.name], dates)
    for st in stale_partitions(wh, plan.name, list(planned)):
        if st.date in planned.get(st.processor, ()):
            p = registry.processors[st.processor]
            gaps.append(Gap(st.processor, p.table, st.date, "cascade", f"stale: {st.reason}"))
    policy = policy_for(plan.mode)
    states = Ledger(wh, plan.name).current(list(planned))
    gaps = [_why_unbuilt(g, states) for g in gaps]
    for change in changed_sources(registry.processors, states, planned,
                                  lambda name: processor_params(plan, name, policy)):
        p = registry.processors[change.processor]
        gaps.append(Gap(change.processor, p.table, change.date, "cascade", f"stale: {change.detail}"))
    reads = current_reads(wh, plan.name)
    gaps += _holes(plan, registry, wh, planned, reads)
    gaps += _not_ready(plan, registry, wh, planned, reads, gaps)
    order = {t: i for i, t in enumerate(GAP_TYPES)}
    names = [r.name for _, r in plan.processor_refs()]
    return sorted(gaps, key=lambda g: (names.index(g.processor), g.date, order[g.type]))
