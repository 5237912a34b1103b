"""The plugin guide's example (docs/plugins.md) runs as written, and says what the guide says."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from tests.conftest import as_json

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
DAYS = ("2024-05-01", "2024-05-02", "2024-05-03")


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", GUIDE.read_text(), re.DOTALL)


def _orders(day: str, n: int, extra: str = "") -> str:
    lines = ["order_id,store,amount"] + [f"{day}-{i},{'north' if i % 2 else 'south'},{10 + i}.5" for i in range(n)]
    return "\n".join(lines) + "\n" + extra


def _project(tmp_path: Path) -> Path:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text(_blocks("python")[0])
    plan = tmp_path / "plan.yaml"
    plan.write_text(_blocks("yaml")[0])
    data = tmp_path / "data" / "orders"
    data.mkdir(parents=True)
    for day in DAYS:
        (data / f"{day}.csv").write_text(_orders(day, 9))
    return plan


def test_the_guides_plugin_runs_and_sets_bad_records_aside(bfplan, tmp_path):
    plan = _project(tmp_path)
    day = tmp_path / "data" / "orders" / f"{DAYS[1]}.csv"
    day.write_text(_orders(DAYS[1], 9, "x-1,north,abc\nx-2,south,-5\n"))
    result = bfplan("run", plan, "--json")
    assert result.exit_code == 0, result.output
    doc = as_json(result)
    assert doc["quarantined"] == {"orders": 2}
    assert doc["gates"] == {"passed": 1, "warned": 0, "failed": 0}
    text = bfplan("explain", plan, "orders", DAYS[1]).output
    assert "quarantined: 2 row(s)" in text and f"{day}:11" in text and "range(amount)" in text


def test_the_guides_loss_is_named_down_to_its_root_cause(bfplan, tmp_path):
    plan = _project(tmp_path)
    assert bfplan("run", plan).exit_code == 0
    (tmp_path / "data" / "orders" / f"{DAYS[1]}.csv").write_text(_orders(DAYS[1], 7))  # re-delivered short
    assert bfplan("run", plan, "--force", "--only", "orders", "--dates", DAYS[1]).exit_code == 0
    assert bfplan("run", plan, "--stale").exit_code == 0
    text = bfplan("explain", plan, "revenue", DAYS[1]).output
    lines = text.splitlines()
    chain = lines[lines.index("gaps, and what they were built on:") + 1:]
    assert chain[0].startswith(f"  revenue {DAYS[1]} degraded: built from orders {DAYS[1]} (lost 2 of 9 rows)")
    assert chain[1].startswith(f"    <- orders {DAYS[1]} partial: lost 2 of 9 rows when run ")
    assert chain[2] == f"root cause: orders {DAYS[1]} (partial)"
    # the guide shows the same three lines (the run id elided)
    shown = GUIDE.read_text()
    assert f"revenue {DAYS[1]} degraded: built from orders {DAYS[1]} (lost 2 of 9 rows)" in shown
    assert f"root cause: orders {DAYS[1]} (partial)" in shown


def _clean(bfplan, plan: Path, *options: str) -> None:
    """validate, run, check, gaps and status all succeed, and the run wrote every partition."""
    for command in ("validate", "run", "check", "gaps", "status"):
        result = bfplan(*options, command, plan)
        assert result.exit_code == 0, (command, result.output)
    partitions = as_json(bfplan(*options, "status", plan, "--json"))["partitions"]
    assert len(partitions) == 2 * len(DAYS) and {p["status"] for p in partitions} == {"done"}, partitions


@pytest.mark.parametrize("name", ["shop.duckdb", "bfplan.duckdb"])
def test_a_duckdb_file_may_be_named_like_a_dataset_or_the_ledger(bfplan, tmp_path, name):
    # DuckDB names a database after its file: in shop.duckdb, shop.orders could be catalog shop
    # or schema shop; bfplan names every table with its catalog, so any file name works
    plan = _project(tmp_path)
    plan.write_text(plan.read_text().replace("path: warehouse.duckdb", f"path: {name}"))
    _clean(bfplan, plan)
    db = duckdb.connect(str(tmp_path / name), read_only=True)
    catalog = name.split(".")[0]
    rows = db.execute(f'SELECT count(*) FROM "{catalog}".shop.revenue').fetchall()
    db.close()
    assert rows[0][0] > 0
    assert not (tmp_path / f"{name}.run.json").exists()  # the holder's sidecar is next to the file, and gone


def test_a_warehouse_override_may_name_the_ledgers_schema(bfplan, tmp_path):
    plan = _project(tmp_path)
    _clean(bfplan, plan, "--warehouse", f"duckdb:///{tmp_path / 'bfplan.duckdb'}")
    assert (tmp_path / "bfplan.duckdb").exists() and not (tmp_path / "warehouse.duckdb").exists()


def test_an_existing_warehouse_file_resumes_under_another_name(bfplan, tmp_path):
    # the layout is unchanged (a schema per dataset in the file's database): a file written
    # under one name resumes under any other, shop.duckdb included, nothing moved nor rerun
    plan = _project(tmp_path)
    assert bfplan("run", plan, "--dates", DAYS[0]).exit_code == 0
    (tmp_path / "warehouse.duckdb").rename(tmp_path / "shop.duckdb")
    plan.write_text(plan.read_text().replace("path: warehouse.duckdb", "path: shop.duckdb"))
    doc = as_json(bfplan("run", plan, "--json"))
    assert doc["partitions"] == {"done": 4, "skipped": 2, "failed": 0, "blocked": 0, "circuit_broken": 0}
    _clean(bfplan, plan)

def test_duckdb_sql_names_every_dataset_table_with_the_files_database():
    from bfplan.warehouse.dialect import compile_sql

    sql = ("WITH c AS (SELECT 1 AS k) SELECT * FROM shop.orders JOIN c USING (k) "
           "WHERE k IN (SELECT k FROM bfplan.runs) AND k IN (SELECT 1 FROM information_schema.tables)")
    out = compile_sql(sql, "duckdb", "shop").sql
    assert '"shop".shop.orders' in out and "bfplan.runs" in out
    assert '"bfplan".bfplan.runs' in compile_sql(sql, "duckdb", "bfplan").sql
    assert " c USING" in out and '"shop".information_schema' not in out  # CTEs and system views as written
    assert compile_sql(sql, "duckdb", "warehouse").sql == compile_sql(sql, "duckdb").sql  # nothing ambiguous
    assert compile_sql(sql, "duckdb").sql.count('"shop"') == 0  # the parsed statement is not changed


def test_the_guides_tests_pass_with_bfplan_testing(tmp_path):
    import os
    import subprocess
    import sys

    _project(tmp_path)
    (tmp_path / "test_shop.py").write_text(_blocks("python")[1])
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(tmp_path)])}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "bfplan.testing", "-p", "no:cacheprovider",
                           "test_shop.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_the_guide_names_every_hook_and_every_field_a_plugin_meets():
    """Like datasette's hook docs: a field or hook the guide does not name is a gap in the guide."""
    import dataclasses

    from bfplan import hookspecs
    from bfplan.gates.base import Finding, Gate, GateContext, GateResult
    from bfplan.processors import Processor, ProcessorContext, SqlProcessor

    text = GUIDE.read_text()
    names = [n for n in dir(hookspecs) if n.startswith("bfplan_")]
    for cls in (Processor, SqlProcessor, GateContext, GateResult, Finding):
        names += [f.name for f in dataclasses.fields(cls)]
    names += ["run", "source_files", "bound_params", "options_schema", "description", "check", "from_findings"]
    names += [n for n in vars(ProcessorContext) if not n.startswith("_")]
    names += [n for n in ("processor", "dates", "params", "run_id", "mode", "warehouse", "transaction", "result")]
    assert Gate.name == "" and [n for n in dict.fromkeys(names) if f"`{n}" not in text and f".{n}" not in text] == []
