"""The schedule is the truth the box scores are checked against: a game (or one team of it)
missing from a source is found on its date, named, whether or not it has play-by-play."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.conftest import as_json
from tests.nba.simload import load_simulator

ROOT = Path(__file__).resolve().parents[2]
DAY = "2021-10-21"


@pytest.fixture(scope="module")
def bucket(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("season") / "bucket"
    load_simulator().simulate_season(out, end=date(2021, 10, 22))
    return out


def _plan(tmp_path: Path, bucket: Path) -> Path:
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"""
name: expect
dates: {{start: 2021-10-19, end: 2021-10-22, calendar: nba_game_days}}
warehouse: {{type: duckdb, path: w.duckdb}}
plugins: [{ROOT / 'plugins' / 'nba'}]
vars: {{bucket: {bucket}, season_start: 2021-10-19}}
defaults: {{retries: 0}}
phases:
  - name: raw
    processors: [raw_schedule, raw_gamebook, raw_team_boxscore, raw_shot_events]
    gates:
      after: [{{coverage: {{processors: [raw_gamebook, raw_team_boxscore], reconcile: true}}}}]
""")
    return plan


def _coverage(bfplan, plan: Path) -> dict:
    (gate,) = [g for g in as_json(bfplan("check", plan, "--json"))["gates"] if g["gate"] == "coverage"]
    return gate


def _copy(bucket: Path, dest: Path) -> Path:
    import shutil

    shutil.copytree(bucket, dest)
    return dest


@pytest.mark.parametrize("with_pbp", [True, False])
def test_a_game_missing_from_the_gamebook_is_found_on_its_date(bfplan, tmp_path, bucket, with_pbp):
    mine = _copy(bucket, tmp_path / "bucket")
    game_file = sorted((mine / "raw" / "nbac_gamebook" / DAY).glob("*.json"))[1]
    game = game_file.stem
    game_file.unlink()
    if not with_pbp:
        (mine / "raw" / "bigdataball_pbp" / DAY / game_file.name).unlink(missing_ok=True)
    plan = _plan(tmp_path, mine)
    result = bfplan("run", plan, "--json")
    assert result.exit_code == 1
    home, away = game.split("_")[2], game.split("_")[1]
    gate = _coverage(bfplan, plan)
    assert gate["status"] == "fail"
    text = " ".join(f["detail"] for f in gate["findings"])
    assert f"raw_gamebook {DAY}" in text and f"{game}|{home}" in text and f"{game}|{away}" in text
    assert "raw_team_boxscore" not in text  # the team box scores are whole
    gaps = [g for g in as_json(bfplan("gaps", plan, "--json"))["gaps"] if g["processor"] == "raw_gamebook"]
    assert [(g["date"], g["type"]) for g in gaps] == [(DAY, "partial")] and game in gaps[0]["detail"]


def test_one_teams_rows_missing_from_the_team_box_score_is_named(bfplan, tmp_path, bucket):
    import json

    mine = _copy(bucket, tmp_path / "bucket")
    path = sorted((mine / "raw" / "nbac_team_boxscore" / DAY).glob("*.json"))[0]
    doc = json.loads(path.read_text())
    team = doc["rows"][0]["team_abbr"]
    doc["rows"] = [r for r in doc["rows"] if r["team_abbr"] != team]
    path.write_text(json.dumps(doc))
    plan = _plan(tmp_path, mine)
    assert bfplan("run", plan).exit_code == 1
    gate = _coverage(bfplan, plan)
    text = " ".join(f["detail"] for f in gate["findings"])
    assert f"raw_team_boxscore {DAY}" in text and f"unaccounted: {path.stem}|{team}" in text
    assert "raw_gamebook" not in text


def test_a_clean_range_is_quiet(bfplan, tmp_path, bucket):
    plan = _plan(tmp_path, bucket)
    assert bfplan("run", plan).exit_code == 0
    gate = _coverage(bfplan, plan)
    assert gate["status"] == "pass" and gate["findings"] == []
    assert as_json(bfplan("gaps", plan, "--json"))["gaps"] == []
