"""The headline November plan on the BigQuery emulator: same tables as DuckDB, resumes, gates pass."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bfplan.plugins import load_registry
from bfplan.warehouse.bigquery import BigQueryWarehouse
from bfplan.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import as_json
from tests.nba.simload import load_simulator

ROOT = Path(__file__).resolve().parents[2]
VOLATILE = {"run_id", "created_at", "resolved_at", "processed_at", "updated_at"}
PHASES_3_TO_5 = ("registry", "pgs", "tdgs", "togs", "upgc", "utgc", "tdza", "psza", "pcf", "pdc", "mlfs", "predictions")
PREFIX = "nov_"


@pytest.fixture(scope="module")
def november(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """plans/2021-nov.yaml pointed at a fresh simulated bucket and a DuckDB file in tmp."""
    tmp = tmp_path_factory.mktemp("nov")
    sim = load_simulator()
    sim.simulate_season(tmp / "bucket", end=date(2021, 11, 30))
    text = (ROOT / "plans/2021-nov.yaml").read_text()
    text = text.replace("path: ../.bfplan/nba.duckdb", f"path: {tmp / 'nov.duckdb'}")
    text = text.replace("plugins: [../plugins/nba]", f"plugins: [{ROOT / 'plugins/nba'}]")
    text = text.replace("bucket: ../data/bucket", f"bucket: {tmp / 'bucket'}")
    text = text.replace("baseline: baselines/", f"baseline: {ROOT / 'plans/baselines'}/")
    # the emulator costs ~0.7 s per node whatever its size: one batch per processor keeps this
    # test to a minute; batching changes no table (batches are set-based over the same windows)
    text = text.replace("batch_days: 7,", "batch_days: 60,")
    plan = tmp / "2021-nov.yaml"
    plan.write_text(text)
    return plan


def _canonical(row: dict[str, Any]) -> tuple:
    out = []
    for k in sorted(row):
        v = row[k]
        if isinstance(v, float):
            v = round(v, 4)
        elif isinstance(v, list):
            v = tuple(round(x, 4) if isinstance(x, float) else x for x in v)
        out.append((k, v))
    return tuple(out)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _rows(wh: Any, table: str) -> list[dict[str, Any]]:
    rows = [{k: v for k, v in r.items() if k not in VOLATILE} for r in wh.query(f"SELECT * FROM {table}")]
    return sorted(rows, key=lambda r: repr(_canonical(r)))


def test_november_on_the_emulator_equals_duckdb_resumes_and_passes_its_gates(
        november: Path, bfplan: Any, emulator_env: str) -> None:
    duck = bfplan("run", november, "--json")
    assert duck.exit_code == 0, duck.output
    assert as_json(duck)["gates"]["failed"] == 0

    url = f"bigquery://bfplan-test?dataset_prefix={PREFIX}"
    bucket = november.parent / "bucket"
    victim = sorted((bucket / "raw/nbac_gamebook/2021-11-10").glob("*.json"))[0]
    good = victim.read_bytes()
    # a file the loader cannot read at all (a corrupt one would be quarantined, and the rest load)
    victim.unlink()
    victim.mkdir()
    try:
        broken = bfplan("run", november, "--warehouse", url, "--json")
    finally:
        victim.rmdir()
        victim.write_bytes(good)
    assert broken.exit_code == 1
    first = as_json(broken)
    assert first["partitions"]["failed"] > 0 and first["partitions"]["done"] > 0, first

    resumed = bfplan("run", november, "--warehouse", url, "--json")
    assert resumed.exit_code == 0, resumed.output
    doc = as_json(resumed)
    assert doc["partitions"]["skipped"] == first["partitions"]["done"]
    assert doc["gates"]["failed"] == 0 and doc["gates"]["passed"] > 0

    registry = load_registry([ROOT / "plugins/nba"])
    dk = DuckDBWarehouse(november.parent / "nov.duckdb")
    bq = BigQueryWarehouse.from_config(project="bfplan-test", dataset_prefix=PREFIX)
    try:
        tables = [registry.processors[p].table for p in PHASES_3_TO_5]
        tables += ["nba_processing.precompute_failures", "nba_processing.analytics_failures"]
        for table in tables:
            left, right = _rows(dk, table), _rows(bq, table)
            assert len(left) == len(right), table
            assert left or table.startswith("nba_processing."), table  # clean data: no analytics failures
            for a, b in zip(left, right, strict=True):
                bad = [k for k in a if not _same(a[k], b.get(k))]
                assert not bad, f"{table}: {bad} differ: {[(a[k], b.get(k)) for k in bad][:3]}"
    finally:
        dk.close()
        bq.close()


def test_validate_on_bigquery_prints_the_dry_run_estimate(november: Path, bfplan: Any, emulator_env: str) -> None:
    url = f"bigquery://bfplan-test?dataset_prefix={PREFIX}est_&price_per_tib=5"
    result = bfplan("validate", november, "--warehouse", url)
    assert result.exit_code == 0, result.output
    assert "estimated bytes scanned (BigQuery dry runs):" in result.stdout
    # a first run: loaders read files, later phases' inputs do not exist yet — said, not guessed
    assert "raw_gamebook             n/a: not SQL (loads files)" in result.stdout
    assert "pgs                      n/a: inputs do not exist yet (nba_raw.nbac_gamebook_player_stats" in result.stdout
    assert "on demand at $5.0/TiB" in result.stdout


def test_estimate_totals_and_prices(november: Path) -> None:
    from bfplan.estimate import estimate_plan, human_bytes
    from bfplan.session import open_session

    class DryRun(DuckDBWarehouse):
        """DuckDB standing in for BigQuery's dry run, which nothing here can answer with real bytes."""

        def estimate_bytes(self, sql: str, params: Any = None) -> int:
            from bfplan.warehouse.dialect import compile_sql

            compile_sql(sql, "duckdb").bind(params)  # as a dry run: every parameter needs a value
            return 3 * 2**30 if "player_game_summary" in sql else 2**20

    session = open_session(november)
    wh = DryRun(november.parent / "nov.duckdb")
    try:
        from bfplan.run.runner import Runner

        todo = Runner(session.plan, session.registry, wh).prepare()[0].todo
        estimates = {e.processor: e for e in estimate_plan(session.plan, session.registry, wh,
                                                           {k: v or [date(2021, 11, 1)] for k, v in todo.items()})}
    finally:
        wh.close()
    assert estimates["tdza"].bytes == 2**20 and estimates["raw_schedule"].bytes is None
    assert estimates["registry"].bytes == 2**20, estimates["registry"]  # its alias list is bound too
    assert human_bytes(3 * 2**30) == "3.0 GiB" and human_bytes(512) == "512 B"
