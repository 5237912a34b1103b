"""The plugin guide's example (docs/plugins.md) runs as written, and says what the guide says."""

from __future__ import annotations

import re
from pathlib import Path

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


def test_a_duckdb_file_named_like_a_dataset_is_a_plan_error(bfplan, tmp_path):
    # DuckDB names the database after its file: shop.duckdb would make every shop.<table> ambiguous
    plan = _project(tmp_path)
    bad = plan.with_name("bad.yaml")
    bad.write_text(plan.read_text().replace("path: warehouse.duckdb", "path: shop.duckdb"))
    result = bfplan("validate", bad)
    assert result.exit_code == 2
    assert f"{bad}:3:" in result.output and "name the file otherwise" in result.output
    override = bfplan("run", plan, "--warehouse", "duckdb:///bfplan.duckdb")
    assert override.exit_code == 2 and "'bfplan'" in override.output


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
