"""Expected absences: dates a processor wrote nothing because an upstream was legitimately short.

A processor's *upstreams* are the processors of its stage or of the stages before it whose
table it reads (``inputs``) and that track their entities (``expected_entities_sql``). On a
date an upstream is *accounted* when every expected entity has a row or a failure, and every
failure it recorded that date has an expected-skip category (the gate's ``expected_skips``
option when it has one, else the upstream's own); it is *short* when at least
:data:`SHORT_SHARE` of its expected entities have no row, only an expected-skip failure (too
little history yet, say): a dependency threshold that fails while most of an input is there is
not explained by it. A date is
**explained** when every upstream is accounted and at least one is short: the processor's
missing output (a ``DATE_LEVEL`` failure, no rows) follows from its inputs' expected skips,
e.g. in an early-season warm-up. Anything else is not explained and stays a finding: an
upstream with an unaccounted entity or a bug category, or no short upstream at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bfplan.failures import DATE_LEVEL
from bfplan.gates.base import GateContext
from bfplan.gates.common import entity_ctes, query_params
from bfplan.processors import Processor

#: the share of an upstream's expected entities that must be skipped for it to explain an absence
SHORT_SHARE = 0.5

_UPSTREAM = """
WITH {ctes},
entity_fails AS (
  SELECT d, e, LOGICAL_AND(c IN UNNEST(@expected_skips)) AS skip_only
  FROM fails WHERE e <> '{date_level}' GROUP BY d, e
),
bad AS (SELECT DISTINCT d FROM fails WHERE c NOT IN UNNEST(@expected_skips)),
per_date AS (
  SELECT x.d, COUNT(*) AS expected, COUNTIF(a.e IS NULL AND f.e IS NULL) AS unaccounted,
         COUNTIF(a.e IS NULL AND COALESCE(f.skip_only, FALSE)) AS short
  FROM expected AS x
  LEFT JOIN actual AS a ON a.d = x.d AND a.e = x.e
  LEFT JOIN entity_fails AS f ON f.d = x.d AND f.e = x.e
  GROUP BY x.d
)
SELECT p.d, p.expected, p.unaccounted, p.short, b.d IS NOT NULL AS bad
FROM per_date AS p LEFT JOIN bad AS b ON b.d = p.d
"""


def upstreams(ctx: GateContext, proc: Processor) -> list[Processor]:
    """The processors ``proc`` reads from that track their entities (see the module doc)."""
    seen: dict[str, Processor] = {}
    for p in (*ctx.processors, *ctx.upstream):
        if p.name != proc.name and p.table in proc.inputs and p.expected_entities_sql:
            seen.setdefault(p.name, p)
    return list(seen.values())


def explained_dates(ctx: GateContext, proc: Processor, dates: Sequence[date]) -> dict[date, list[str]]:
    """Of ``dates``, those on which ``proc``'s absence is explained, with the short upstreams'
    names. One query per upstream over the dates' range; none when ``dates`` is empty."""
    days = sorted(set(dates))
    ups = upstreams(ctx, proc) if days else []
    if not ups:
        return {}
    short: dict[date, list[str]] = {d: [] for d in days}
    ok = set(days)
    for up in ups:
        skips = list(ctx.options.get("expected_skips") or up.expected_skips)
        params = query_params(ctx, up, gate_processor=up.name, expected_skips=skips,
                              dates=days, start_date=days[0], end_date=days[-1])
        sql = _UPSTREAM.format(ctes=entity_ctes(ctx, up), date_level=DATE_LEVEL)
        rows = {r["d"]: r for r in ctx.warehouse.query(sql, params)}
        for d in days:
            r = rows.get(d)
            if r is None:
                continue  # nothing expected of it that day: it neither explains nor blames
            if r["unaccounted"] or r["bad"]:
                ok.discard(d)
            elif r["short"] and r["short"] >= SHORT_SHARE * r["expected"]:
                short[d].append(up.name)
    return {d: short[d] for d in days if d in ok and short[d]}
