"""The shipped plans end to end on DuckDB, on a simulated season (issue 3, 4 and 7 "done when")."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import as_json
from tests.nba.simload import load_simulator
from tests.test_crash import fingerprint

ROOT = Path(__file__).resolve().parents[2]
PHASE_3_TO_5 = ("pgs", "tdgs", "togs", "upgc", "utgc", "tdza", "psza", "pcf", "pdc", "mlfs", "predictions")


def _copy(plan: str, tmp: Path, bucket: Path, db: str) -> Path:
    text = (ROOT / "plans" / plan).read_text()
    text = text.replace("path: ../.bfplan/nba.duckdb", f"path: {tmp / db}")
    text = text.replace("plugins: [../plugins/nba]", f"plugins: [{ROOT / 'plugins/nba'}]")
    text = text.replace("bucket: ../data/bucket", f"bucket: {bucket}")
    text = text.replace("baseline: baselines/", f"baseline: {ROOT / 'plans/baselines'}/")
    out = tmp / f"{db}.{plan}"
    out.write_text(text)
    return out


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("season")
    sim = load_simulator()
    sim.simulate_season(tmp / "bucket", end=date(2021, 12, 5))
    return tmp


@pytest.fixture(scope="module")
def november(season: Path) -> dict[str, Any]:
    from click.testing import CliRunner

    from bfplan.cli import cli

    runner = CliRunner()
    plan = _copy("2021-nov.yaml", season, season / "bucket", "a.duckdb")
    first = runner.invoke(cli, ["run", str(plan), "--json"], catch_exceptions=False)
    return {"plan": plan, "first": first, "db": season / "a.duckdb", "runner": runner}


def test_november_runs_clean_and_a_second_run_recomputes_nothing(november: dict[str, Any], bfplan: Any) -> None:
    first = november["first"]
    assert first.exit_code == 0, first.output
    doc = as_json(first)
    assert doc["status"] == "succeeded" and doc["gates"]["failed"] == 0
    assert doc["gates"]["warned"] == 0  # a clean month: no gate has anything to say
    assert "PROCESSING_ERROR" not in doc["entity_failures"]
    # the simulated season spells every name like the rosters: the registry resolves them all
    assert "REGISTRY_LOOKUP_FAILED" not in doc["entity_failures"]
    again = bfplan("run", november["plan"])
    assert again.exit_code == 0
    assert again.stdout.startswith("nothing to do: all 720 partition(s) are already done")


def test_every_november_game_date_has_rows_or_categorized_failures(november: dict[str, Any]) -> None:
    from bfplan.plugins import load_registry

    registry = load_registry([ROOT / "plugins/nba"])
    con = duckdb.connect(str(november["db"]), read_only=True)
    try:
        game_days = {r[0] for r in con.execute(
            "SELECT DISTINCT game_date FROM nba_raw.nbac_schedule WHERE game_date >= DATE '2021-11-01'").fetchall()}
        assert len(game_days) == 29
        for name in PHASE_3_TO_5:
            p = registry.processors[name]
            with_rows = {r[0] for r in con.execute(f"SELECT DISTINCT {p.partition_column} FROM {p.table}").fetchall()}
            explained = set()
            if p.failures_table:
                explained = {r[0] for r in con.execute(
                    f"SELECT DISTINCT analysis_date FROM {p.failures_table} WHERE processor_name = ?",
                    [name]).fetchall()}
            if p.failures_table:  # predictions has none: it predicts for whoever has features
                assert game_days <= with_rows | explained, (name, sorted(game_days - with_rows - explained))
            # past the early season (15 games a team for TDZA, then MLFS's 20 TDZA teams) every day has rows
            assert {d for d in game_days if d >= date(2021, 11, 19)} <= with_rows, name
        bugs = con.execute("SELECT count(*) FROM nba_processing.precompute_failures "
                           "WHERE failure_category = 'PROCESSING_ERROR'").fetchone()[0]
        assert bugs == 0
    finally:
        con.close()


def test_two_runs_from_scratch_give_identical_tables(november: dict[str, Any], season: Path) -> None:
    from bfplan.plugins import load_registry

    plan = _copy("2021-nov.yaml", season, season / "bucket", "b.duckdb")
    result = november["runner"].invoke(__import__("bfplan.cli", fromlist=["cli"]).cli, ["run", str(plan)])
    assert result.exit_code == 0, result.output
    registry = load_registry([ROOT / "plugins/nba"])
    tables = tuple(sorted({registry.processors[n].table for n in PHASE_3_TO_5}
                          | {"nba_processing.precompute_failures", "nba_processing.analytics_failures"}))
    assert fingerprint(season / "b.duckdb", tables) == fingerprint(november["db"], tables)


def test_post_run_check_passes_every_gate_without_a_failing_finding(november: dict[str, Any], bfplan: Any) -> None:
    result = bfplan("check", november["plan"], "--json")
    assert result.exit_code == 0, result.output
    doc = as_json(result)
    assert doc["status"] in ("pass", "warn")
    failing = [(g["gate"], g["stage"], f["detail"]) for g in doc["gates"] for f in g["findings"]
               if f.get("status") == "fail"]
    assert failing == []


def test_gaps_on_the_clean_november_plan_finds_none(november: dict[str, Any], bfplan: Any) -> None:
    result = bfplan("gaps", november["plan"], "--json")
    assert as_json(result) == {"gaps": []}, result.output[:2000]
    assert result.exit_code == 0


def test_the_daily_plan_runs_yesterday_with_the_daily_policy(november: dict[str, Any], season: Path,
                                                            bfplan: Any) -> None:
    daily = _copy("daily.yaml", season, season / "bucket", "a.duckdb")
    result = bfplan("run", daily, "--json")
    assert result.exit_code == 0, result.output
    doc = as_json(result)
    assert doc["partitions"]["done"] == 19 and doc["gates"]["failed"] == 0
    refused = bfplan("run", daily, "--var", "day=2021-12-03", "--var", "today=2022-06-01")
    assert refused.exit_code == 2 and "daily mode refuses dates older than 90 days" in refused.stderr


def test_rewriting_tdza_for_a_date_makes_exactly_its_readers_stale(november: dict[str, Any], season: Path,
                                                                  bfplan: Any) -> None:
    from bfplan.plugins import load_registry

    plan = _copy("2021-nov.yaml", season, season / "bucket", "c.duckdb")
    assert bfplan("run", plan).exit_code == 0
    registry = load_registry([ROOT / "plugins/nba"])
    tables = tuple(sorted({registry.processors[n].table for n in PHASE_3_TO_5}))
    before = fingerprint(season / "c.duckdb", tables)
    assert bfplan("run", plan, "--only", "tdza", "--dates", "2021-11-24", "--force").exit_code == 0
    stale = [(g["processor"], g["date"]) for g in as_json(bfplan("gaps", plan, "--json"))["gaps"]
             if g["type"] == "cascade"]
    # PCF and MLFS read the opponent's TDZA row of their own date only (lookback 0 for that input)
    assert stale == [("pcf", "2021-11-24"), ("mlfs", "2021-11-24")]
    repaired = as_json(bfplan("run", plan, "--stale", "--json"))
    # pcf and mlfs on 11-24, then what reads them: predictions, on the same day only
    assert repaired["partitions"]["done"] == 3
    assert as_json(bfplan("gaps", plan, "--json")) == {"gaps": []}
    assert fingerprint(season / "c.duckdb", tables) == before
