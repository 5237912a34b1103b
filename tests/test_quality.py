"""Quality columns: a date well above its recent past is DEGRADED (gate and gaps), named with
its upstream cause; rows not ready by design raise the baseline, not an alarm."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from bfplan.quality import DateQuality, judge
from bfplan.status import GateStatus
from tests.conftest import Target, as_json

PLUGIN = Path(__file__).parent / "quality_plugin"
START = date(2021, 11, 1)
DAYS = [START + timedelta(days=n) for n in range(10)]
HOLE = DAYS[7]
# five keys a day; "e" is late every day: not ready by design (a 20% baseline)
ROWS = [[d.isoformat(), k, 1.0, "late" if k == "e" else "x"] for d in DAYS for k in "abcde"]


def _plan(path: Path, target: Target, gate: dict[str, Any] | None = None) -> Path:
    path.write_text(json.dumps({
        "name": "q", "dates": {"start": DAYS[0].isoformat(), "end": DAYS[-1].isoformat()},
        "warehouse": target.config, "plugins": [str(PLUGIN)], "params": {"rows": ROWS, "drop": []},
        "defaults": {"batch_days": 5, "jobs": 1, "retries": 0},
        "phases": [{"name": "load", "processors": ["feed", "mirror"]},
                   {"name": "grade", "processors": ["graded"], "gates": {"after": [{"quality": gate or {}}]}}],
    }))
    return path


def test_a_date_built_on_a_missing_partition_is_degraded_and_named_with_its_cause(bfplan, tmp_path, target):
    plan = _plan(tmp_path / "plan.yaml", target)
    first = bfplan("run", plan, "--json")
    assert first.exit_code == 0, first.output
    assert as_json(first)["gates"] == {"passed": 1, "warned": 0, "failed": 0}  # 20% by design: quiet
    assert as_json(bfplan("gaps", plan, "--json"))["gaps"] == []

    target.execute("DELETE FROM q.mirror WHERE day = @d", {"d": HOLE})  # one upstream partition lost
    rerun = bfplan("run", plan, "--force", "--only", "graded", "--dates", HOLE.isoformat(), "--json")
    assert rerun.exit_code == 1  # the quality gate blocks: 100% not ready against a 20% baseline
    check = as_json(bfplan("check", plan, "--gate", "quality", "--json"))
    (finding,) = [f for g in check["gates"] for f in g["findings"]]
    assert finding["status"] == "fail" and finding["date"] == HOLE.isoformat()
    assert "5 of 5 rows not ready (100.0%, baseline 20.0%): DEGRADED, 80.0 points above" in finding["detail"]
    assert finding["entities"] == ["a", "b", "c", "d", "e"]

    gaps = as_json(bfplan("gaps", plan, "--json"))["gaps"]
    by_key = {(g["processor"], g["date"], g["type"]): g for g in gaps}
    assert ("mirror", HOLE.isoformat(), "missing_date") in by_key
    degraded = by_key[("graded", HOLE.isoformat(), "degraded")]
    assert f"built from mirror {HOLE.isoformat()} (missing_date)" in degraded["detail"]


@pytest.mark.parametrize("target", ["duckdb"], indirect=True)
def test_the_gates_options_change_its_verdicts_and_gaps_use_them_too(bfplan, tmp_path, target):
    plan = _plan(tmp_path / "plan.yaml", target, {"max_not_ready_pct": 10})
    result = bfplan("run", plan, "--json")
    assert result.exit_code == 1  # 20% everywhere is above the 10% this plan allows
    gaps = as_json(bfplan("gaps", plan, "--json"))["gaps"]
    assert {g["type"] for g in gaps} == {"degraded"} and len(gaps) == len(DAYS)
    assert "above the 10% allowed" in gaps[0]["detail"] and "no upstream gap in what it read" in gaps[0]["detail"]


def _q(shares: list[float]) -> dict[date, DateQuality]:
    return {START + timedelta(days=i): DateQuality(START + timedelta(days=i), 100, int(s), None)
            for i, s in enumerate(shares)}


def test_judge_compares_a_date_with_the_median_of_its_recent_past():
    measured = _q([50, 45, 40, 42, 41, 65, 90, 40])
    verdicts = {v.date: v for v in judge(measured, sorted(measured), {})}
    assert [verdicts[d].status for d in sorted(verdicts)] == [
        GateStatus.PASS] * 5 + [GateStatus.WARN, GateStatus.FAIL, GateStatus.PASS]
    assert verdicts[START].baseline is None  # no past: no baseline, no alarm
    assert verdicts[START + timedelta(days=6)].baseline == 43.5
    loose = judge(measured, sorted(measured), {"warn_points": 30, "fail_points": 60})
    assert [v.status for v in loose].count(GateStatus.PASS) == 7
    short = judge(measured, sorted(measured), {"baseline_days": 1})
    assert all(v.baseline is None for v in short)  # one day back is too little history
