"""Failure-rate baselines learned from a clean history: per-processor bands by season day.

The runbook's season-week table (:data:`bfplan.gates.failure_rate.DEFAULT_BANDS`) is one
pooled curve; each processor has its own (one warms up for four weeks, another never fails).
``bfplan baseline PLAN -o FILE`` (:mod:`bfplan.baseline`) measures, over the plan's built dates
(the ledger calls the partition done, every expected entity is accounted for; the others are
skipped and counted), each failure_rate gate's processors' failure rate per season week, exactly as the gate
does, and merges consecutive weeks whose rates lie within :data:`MERGE_POINTS` of each other
into one band (``min_pct``..``max_pct`` the lowest and highest weekly rate; the first band
starts at the first measured week; the last band is open-ended, so a longer season keeps its
last level). Days no learned band covers (before the first measured week, say, when learning
started mid-season) fall back to the runbook's table. The plan points its gate at the file
(``failure_rate: {baseline: FILE}``); the gate then compares each week with the processor's
learned band widened by ``tolerance`` points, so a real rise (a week 5+ points above anything
the clean history had) still warns, or fails with ``strict``.

Learning refuses a history that is not clean: a standing PROCESSING_ERROR is a bug, not a
baseline. The file is YAML: ``learned_from`` (plan, dates, season start, when) and
``processors: {name: [band, ...]}``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bfplan.gates.base import option_path

if TYPE_CHECKING:
    from bfplan.gates.base import GateContext

#: consecutive weeks whose failure rates differ by at most this many points share a band
MERGE_POINTS = 5.0


class BaselineError(Exception):
    """A baseline file that cannot be used (missing, malformed), or a history not clean to learn from."""


def baseline_path(ctx: GateContext) -> Path | None:
    """The gate's ``baseline`` file, relative to the plan's folder; None without the option."""
    value = ctx.options.get("baseline")
    return option_path(ctx.plan, value) if value else None


def load_baseline(ctx: GateContext) -> dict[str, list[dict[str, Any]]]:
    """The learned bands per processor of the gate's ``baseline`` file ({} without one). A
    processor listed with no band (``name: []``) has no baseline: the gate uses the defaults."""
    path = baseline_path(ctx)
    if path is None:
        return {}
    if not path.is_file():
        raise BaselineError(f"baseline file {path} not found: learn it with `bfplan baseline PLAN -o {path}`")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        procs = doc["processors"]
        return {str(name): [_band(b) for b in bands] for name, bands in procs.items() if bands}
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BaselineError(f"baseline file {path}: not a bfplan baseline ({exc.__class__.__name__}: {exc})") from exc


def _band(b: Mapping[str, Any]) -> dict[str, Any]:
    band = {"from_day": int(b["from_day"]), "min_pct": float(b["min_pct"]), "max_pct": float(b["max_pct"])}
    if b.get("to_day") is not None:
        band["to_day"] = int(b["to_day"])
    return band


def learn_bands(rates: Mapping[date, tuple[int, int]], start: date) -> list[dict[str, Any]]:
    """Bands from one processor's per-date (failed, expected): weekly pooled rates, merged. The
    first band starts at the first measured week, not at day 1: days before it (learned from
    a later start) and weeks with nothing measured keep the runbook's table."""
    weeks: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for d, (failed, expected) in rates.items():
        day = (d - start).days + 1
        if day >= 1 and expected:
            w = weeks[(day - 1) // 7 + 1]
            w[0] += failed
            w[1] += expected
    bands: list[dict[str, Any]] = []
    lo = hi = 0.0
    for week in sorted(weeks):
        rate = 100.0 * weeks[week][0] / weeks[week][1]
        if bands and max(hi, rate) - min(lo, rate) <= MERGE_POINTS:
            lo, hi = min(lo, rate), max(hi, rate)
            bands[-1].update(to_day=week * 7, min_pct=math.floor(lo * 10) / 10, max_pct=math.ceil(hi * 10) / 10)
            continue
        lo = hi = rate
        bands.append({"from_day": (week - 1) * 7 + 1, "to_day": week * 7,
                      "min_pct": math.floor(rate * 10) / 10, "max_pct": math.ceil(rate * 10) / 10})
    if bands:
        bands[-1].pop("to_day")
    return bands
