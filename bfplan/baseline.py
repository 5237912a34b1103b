"""``bfplan baseline``: learn the failure_rate gates' per-processor bands from a clean history.

Only built dates teach: a processor's date counts when the ledger says its partition is
``done`` and every entity expected of it that day has a row or a failure record. A date that
was blocked, failed or never run would read as "nothing failed" (0%), and so would a date
whose entities are simply missing; both are skipped, and the command says how many and why.

The bands, their file and how the gate reads them: :mod:`bfplan.gates.baseline`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import yaml

from bfplan.failures import PROCESSING_ERROR
from bfplan.gates.baseline import MERGE_POINTS, BaselineError, learn_bands
from bfplan.gates.common import entity_ctes, query_params, season_start, stage_processors
from bfplan.gates.failure_rate import measure
from bfplan.ledger.ledger import DONE, Ledger, PartitionState

if TYPE_CHECKING:
    from bfplan.gates.base import GateContext
    from bfplan.processors import Processor

#: expected entities with neither a row nor a failure record, per date
_UNACCOUNTED = """
WITH {ctes}
SELECT x.d, COUNT(*) AS unaccounted FROM expected AS x
LEFT JOIN actual AS a ON a.d = x.d AND a.e = x.e
LEFT JOIN (SELECT DISTINCT d, e FROM fails) AS f ON f.d = x.d AND f.e = x.e
WHERE a.e IS NULL AND f.e IS NULL
GROUP BY x.d
"""

#: how many skipped processor-dates a message names
NAMED = 10


def learn(contexts: Sequence[GateContext]) -> dict[str, Any]:
    """The baseline document of the failure_rate gates in ``contexts`` (one per gate of the
    plan): each processor with a failures table and a measured date, its learned bands, and
    (``skipped``, not written to the file) the processor-dates left out, see the module doc.
    Raises :class:`BaselineError` on a standing PROCESSING_ERROR, when no gate has a date in
    the window (a gate context without dates is left out), or when nothing was learned."""
    contexts = [ctx for ctx in contexts if ctx.dates]
    if not contexts:
        raise BaselineError("the window holds no dates of the plan's failure_rate gates: nothing to learn from")
    plan = contexts[0].plan
    dates = sorted({d for ctx in contexts for d in ctx.dates})
    names = {p.name for ctx in contexts for p in stage_processors(ctx)[0] if p.failures_table}
    ledger = Ledger(contexts[0].warehouse, getattr(plan, "name", ""))
    states = ledger.current(names, dates[0], dates[-1])
    learned: dict[str, list[dict[str, Any]]] = {}
    bugs: list[str] = []
    not_done: list[tuple[str, date, str]] = []
    unaccounted: list[tuple[str, date]] = []
    start = None
    seen: set[str] = set()
    for ctx in contexts:
        procs, _ = stage_processors(ctx)
        start = season_start(ctx)
        for proc in procs:
            if not proc.failures_table or proc.name in seen:
                continue
            seen.add(proc.name)
            rates: dict[date, tuple[int, int]] = {}
            missing = _unaccounted(ctx, proc)
            for r in measure(ctx, proc):
                d, expected = r["d"], r["expected"] or 0
                if any(c["category"] == PROCESSING_ERROR for c in r["categories"] or []):
                    bugs.append(f"{proc.name} {d.isoformat()}")
                if not expected:
                    continue
                state: PartitionState | None = states.get((proc.name, d))
                if state is None or state.status != DONE:
                    not_done.append((proc.name, d, state.status if state else "never run"))
                elif missing.get(d) and not r["date_level"]:
                    unaccounted.append((proc.name, d))
                else:
                    rates[d] = (expected if r["date_level"] else min(r["failed"] or 0, expected), expected)
            bands = learn_bands(rates, season_start(ctx))
            if bands:  # nothing measured (no built date expecting an entity): no baseline for it
                learned[proc.name] = bands
    if bugs:
        raise BaselineError(f"not a clean history: PROCESSING_ERROR (a bug) on {len(bugs)} processor-date(s): "
                            f"{', '.join(bugs[:NAMED])}{' ...' if len(bugs) > NAMED else ''}; fix and rerun first")
    skipped = {"not_done": not_done, "unaccounted": unaccounted}
    if not learned:
        why = skipped_note(skipped)
        raise BaselineError("nothing to learn from: " + (why or "no failure_rate processor expected an entity "
                                                                "in the window"))
    return {
        "learned_from": {"plan": getattr(plan, "name", None),
                         "start": dates[0].isoformat(),
                         "end": dates[-1].isoformat(),
                         "season_start": start.isoformat() if start else None,
                         "learned_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "merge_points": MERGE_POINTS,
                         "skipped": {"not_done": len(not_done), "unaccounted": len(unaccounted)}},
        "processors": learned,
        "skipped": skipped,
    }


def _unaccounted(ctx: GateContext, proc: Processor) -> dict[date, int]:
    """Per planned date, the expected entities of ``proc`` with neither a row nor a failure."""
    sql = _UNACCOUNTED.format(ctes=entity_ctes(ctx, proc))
    planned = set(ctx.dates)
    rows = ctx.warehouse.query(sql, query_params(ctx, proc, gate_processor=proc.name))
    return {r["d"]: r["unaccounted"] for r in rows if r["d"] in planned}


def skipped_note(skipped: Mapping[str, Sequence[tuple[Any, ...]]]) -> str:
    """One line on the processor-dates learning left out and why ('' when none was)."""
    not_done, unaccounted = skipped.get("not_done") or [], skipped.get("unaccounted") or []
    if not not_done and not unaccounted:
        return ""
    parts = []
    if not_done:
        kinds = Counter(status for _, _, status in not_done)
        parts.append(f"{len(not_done)} not done in the ledger ({', '.join(f'{k} {n}' for k, n in kinds.items())}: "
                     f"{_named(not_done)})")
    if unaccounted:
        parts.append(f"{len(unaccounted)} with expected entities neither written nor failed ({_named(unaccounted)})")
    return f"skipped {len(not_done) + len(unaccounted)} processor-date(s): {'; '.join(parts)}"


def _named(items: Sequence[tuple[Any, ...]]) -> str:
    shown = ", ".join(f"{name} {d.isoformat()}" for name, d, *_ in items[:NAMED])
    return shown + (" ..." if len(items) > NAMED else "")


def dump(doc: Mapping[str, Any]) -> str:
    """The baseline as YAML, one band a line."""
    lines = ["# Failure-rate baseline learned by `bfplan baseline` (see bfplan/gates/baseline.py):",
             "# per processor, expected failure % by season day. Point a failure_rate gate at it:",
             "# failure_rate: {baseline: <this file>}",
             "learned_from: " + yaml.safe_dump(dict(doc["learned_from"]), default_flow_style=True,
                                               sort_keys=False).strip(),
             "processors:" + ("" if doc["processors"] else " {}")]
    for name, bands in doc["processors"].items():
        lines.append(f"  {_key(str(name))}:")
        lines += [f"    - {yaml.safe_dump(b, default_flow_style=True, sort_keys=False).strip()}" for b in bands]
    return "\n".join(lines) + "\n"


def _key(name: str) -> str:
    """``name`` as a YAML key that loads back as this string: quoted when plain YAML would read
    it as something else (``on``, ``yes``, ``null``, ``1.5``, a leading ``#``...)."""
    return yaml.safe_dump([name], default_flow_style=True, width=1 << 30).strip()[1:-1]
