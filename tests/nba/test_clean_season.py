"""A clean simulated season through the season plan: every gate passes with nothing to say, and
``gaps`` finds nothing — a check that warns on clean data teaches people to ignore it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import as_json
from tests.nba.simload import load_simulator
from tests.nba.test_plans import _copy


def test_a_clean_season_gives_no_failing_finding_and_no_warning(tmp_path: Path, bfplan) -> None:
    load_simulator().simulate_season(tmp_path / "bucket")
    plan = _copy("2021-22-season.yaml", tmp_path, tmp_path / "bucket", "season.duckdb")
    run = bfplan("run", plan, "--json")
    assert run.exit_code == 0, run.output
    doc = as_json(run)
    assert doc["gates"]["failed"] == 0 and doc["gates"]["warned"] == 0
    assert "PROCESSING_ERROR" not in doc["entity_failures"]
    checked = as_json(bfplan("check", plan, "--json"))
    findings = [(g["gate"], f["status"], f["detail"][:120]) for g in checked["gates"] for f in g["findings"]
                if f["status"] in ("warn", "fail")]
    assert findings == []
    assert as_json(bfplan("gaps", plan, "--json"))["gaps"] == []
