"""A loss that is re-ingested and propagated with ``run --stale`` is still named: the partition
that lost rows (``partial``), and everything built on it (``degraded``) with its cause."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Target, as_json

PLUGIN = Path(__file__).parent / "quality_plugin"
D1, D2, D3 = "2021-11-01", "2021-11-02", "2021-11-03"
FULL = [[d, k, 1.0, "x"] for d in (D1, D2, D3) for k in ("a", "b", "c")]


def _plan(path: Path, target: Target, rows: list[list[Any]]) -> Path:
    path.write_text(json.dumps({
        "name": "q", "dates": {"start": D1, "end": D3}, "warehouse": target.config, "plugins": [str(PLUGIN)],
        "params": {"rows": rows, "drop": []}, "defaults": {"batch_days": 1, "jobs": 1, "retries": 0},
        "phases": [{"name": "load", "processors": ["feed"]}, {"name": "build", "processors": ["mirror", "tally"]}],
    }))
    return path


def _gaps(bfplan: Any, plan: Path) -> list[dict[str, Any]]:
    return as_json(bfplan("gaps", plan, "--json"))["gaps"]


def test_a_loss_propagated_with_stale_is_named_with_its_cause(bfplan, tmp_path, target):
    plan = _plan(tmp_path / "plan.yaml", target, FULL)
    assert bfplan("run", plan).exit_code == 0
    assert _gaps(bfplan, plan) == []

    # the source of 11-02 is re-delivered without one row, and re-ingested
    _plan(plan, target, [r for r in FULL if r[:2] != [D2, "b"]])
    assert bfplan("run", plan, "--force", "--only", "feed", "--dates", D2).exit_code == 0
    stale = {(g["processor"], g["date"], g["type"]) for g in _gaps(bfplan, plan)}
    assert ("feed", D2, "partial") in stale and ("mirror", D2, "cascade") in stale
    cascade = next(g for g in _gaps(bfplan, plan) if g["processor"] == "mirror")
    assert "3 then, 2 now: 1 lost" in cascade["detail"]

    # propagated: every table is fresh again, and the hole is still named, with its cause
    assert bfplan("run", plan, "--stale").exit_code == 0
    gaps = {(g["processor"], g["date"]): g for g in _gaps(bfplan, plan)}
    assert {(k, g["type"]) for k, g in gaps.items()} == {
        (("feed", D2), "partial"), (("mirror", D2), "degraded"), (("tally", D2), "degraded"),
        (("tally", D3), "degraded")}
    assert "lost 1 of 3 rows" in gaps[("feed", D2)]["detail"]
    assert gaps[("mirror", D2)]["detail"].startswith("lost 1 of 3 rows")
    assert "built from feed 2021-11-02 (lost 1 of 3 rows)" in gaps[("mirror", D2)]["detail"]
    assert "built from mirror 2021-11-02 (lost 1 of 3 rows)" in gaps[("tally", D3)]["detail"]
    assert bfplan("gaps", plan).exit_code == 1

    # explain follows tally's partition back to the rewrite that lost the row
    text = bfplan("explain", plan, "tally", D3)
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    chain = lines[lines.index("gaps, and what they were built on:") + 1:]
    assert chain[0].startswith(f"  tally {D3} degraded: built from mirror {D2}")
    assert chain[1].startswith(f"    <- mirror {D2} degraded: lost 1 of 3 rows")
    assert chain[2].startswith(f"      <- feed {D2} partial: lost 1 of 3 rows")
    assert chain[3] == f"root cause: feed {D2} (partial)"
    doc = as_json(bfplan("explain", plan, "mirror", D2, "--json"))
    assert [(c["depth"], c["processor"], c["type"]) for c in doc["chain"]] == [
        (0, "mirror", "degraded"), (1, "feed", "partial")]
    assert [h["rows"] for h in doc["history"]] == [2, 3]  # rewritten with a row fewer
    read = doc["reads"][0]
    assert (read["input"], read["rows_then"], read["rows_now"], read["rewritten_since"]) == ("feed", 2, 2, False)
    assert bfplan("explain", plan, "mirorr", D2).exit_code == 2

    # the source is whole again: re-ingested, then propagated, nothing is left to report
    _plan(plan, target, FULL)
    assert bfplan("run", plan, "--force", "--only", "feed", "--dates", D2).exit_code == 0
    gaps = _gaps(bfplan, plan)
    assert "feed" not in {g["processor"] for g in gaps}  # whole again
    assert ("mirror", D2, "cascade") in {(g["processor"], g["date"], g["type"]) for g in gaps}  # still lossy: stale
    assert bfplan("run", plan, "--stale").exit_code == 0
    assert _gaps(bfplan, plan) == []
