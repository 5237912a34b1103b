"""``bfplan baseline``: learn the failure_rate gates' per-processor bands from a clean history.

The bands, their file and how the gate reads them: :mod:`bfplan.gates.baseline`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import yaml

from bfplan.failures import PROCESSING_ERROR
from bfplan.gates.baseline import MERGE_POINTS, BaselineError, learn_bands
from bfplan.gates.common import season_start, stage_processors
from bfplan.gates.failure_rate import measure

if TYPE_CHECKING:
    from bfplan.gates.base import GateContext


def learn(contexts: Sequence[GateContext]) -> dict[str, Any]:
    """The baseline document of the failure_rate gates in ``contexts`` (one per gate of the
    plan): each processor with a failures table, its learned bands. Raises
    :class:`BaselineError` on a standing PROCESSING_ERROR, or when no gate has a date in the
    window (a gate context without dates is left out)."""
    contexts = [ctx for ctx in contexts if ctx.dates]
    if not contexts:
        raise BaselineError("the window holds no dates of the plan's failure_rate gates: nothing to learn from")
    learned: dict[str, list[dict[str, Any]]] = {}
    bugs: list[str] = []
    dates: list[date] = []
    start = None
    seen: set[str] = set()
    for ctx in contexts:
        procs, _ = stage_processors(ctx)
        start = season_start(ctx)
        dates += list(ctx.dates)
        for proc in procs:
            if not proc.failures_table or proc.name in learned or proc.name in seen:
                continue
            seen.add(proc.name)
            rates: dict[date, tuple[int, int]] = {}
            for r in measure(ctx, proc):
                expected = r["expected"] or 0
                if any(c["category"] == PROCESSING_ERROR for c in r["categories"] or []):
                    bugs.append(f"{proc.name} {r['d'].isoformat()}")
                if expected:
                    rates[r["d"]] = (expected if r["date_level"] else min(r["failed"] or 0, expected), expected)
            bands = learn_bands(rates, season_start(ctx))
            if bands:  # nothing measured (no expected entity in the window): no baseline for it
                learned[proc.name] = bands
    if bugs:
        raise BaselineError(f"not a clean history: PROCESSING_ERROR (a bug) on {len(bugs)} processor-date(s): "
                            f"{', '.join(bugs[:10])}{' ...' if len(bugs) > 10 else ''}; fix and rerun first")
    plan = contexts[0].plan
    return {
        "learned_from": {"plan": getattr(plan, "name", None),
                         "start": min(dates).isoformat(),
                         "end": max(dates).isoformat(),
                         "season_start": start.isoformat() if start else None,
                         "learned_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "merge_points": MERGE_POINTS},
        "processors": learned,
    }


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
