"""``bfplan new plugin``: the package it writes installs, passes its own tests and runs its plan;
and ``bfplan.testing``'s fixtures, on the example pipeline."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    # as a user's shell has it: plugins found through entry points, bfplan from the venv
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BFPLAN_DISABLE_PLUGIN_AUTOLOAD")}


def _venv(where: Path) -> Path:
    """A throwaway venv that sees this checkout's bfplan and the test environment's packages
    (no copy of them), so that the new package installs into it and nowhere else."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "_bfplan_parent.pth").write_text(f"{ROOT}\n{sysconfig.get_paths()['purelib']}\n")
    return python


def _ok(args: list[str], cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def test_a_new_plugin_installs_passes_its_tests_and_runs_its_plan(bfplan, tmp_path):
    started = time.monotonic()
    result = bfplan("new", "plugin", "shoplog", "--dir", tmp_path)
    assert result.exit_code == 0, result.output
    pkg = tmp_path / "shoplog"
    assert (pkg / "data" / "visits" / "2024-01-01.csv").is_file()
    python = _venv(tmp_path / "venv")
    _ok([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-build-isolation", "-e",
         str(pkg)], tmp_path)
    assert "4 passed" in _ok([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], pkg)
    for command in ("validate", "run", "check"):
        _ok([str(python), "-m", "bfplan", command, "plan.yaml"], pkg)
    run = _ok([str(python), "-m", "bfplan", "status", "plan.yaml"], pkg)
    assert "shoplog_daily" in run
    print(f"bfplan new -> green run: {time.monotonic() - started:.1f}s")


def test_a_name_that_is_no_identifier_is_refused(bfplan, tmp_path):
    result = bfplan("new", "plugin", "my-plugin", "--dir", tmp_path)
    assert result.exit_code == 2
    assert result.output == ("error: plugin name 'my-plugin': must be a Python identifier "
                             "(letters, digits, _; not a keyword)\n")
    assert bfplan("new", "plugin", "class", "--dir", tmp_path).exit_code == 2
    assert bfplan("new", "plugin", "Shop", "--dir", tmp_path).output == (
        "error: plugin name 'Shop': must be lowercase (it names a package and a dataset)\n")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_refused_unless_forced(bfplan, tmp_path):
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "mine.txt").write_text("keep")
    result = bfplan("new", "plugin", "shop", "--dir", tmp_path)
    assert result.exit_code == 2
    assert result.output == f"error: {tmp_path / 'shop'} already exists (--force writes over it)\n"
    assert sorted(p.name for p in (tmp_path / "shop").iterdir()) == ["mine.txt"]
    forced = bfplan("new", "plugin", "shop", "--dir", tmp_path, "--force")
    assert forced.exit_code == 0
    assert (tmp_path / "shop" / "shop" / "plugin.py").is_file() and (tmp_path / "shop" / "mine.txt").is_file()


def test_the_new_plugins_plan_validates_with_its_package_as_a_plugin_path(bfplan, tmp_path):
    # without installing it: the same package, loaded from the plan's plugins: paths
    assert bfplan("new", "plugin", "shop", "--dir", tmp_path).exit_code == 0
    plan = tmp_path / "shop" / "plan.yaml"
    plan.write_text(plan.read_text() + "plugins: [shop/plugin.py]\n")
    result = bfplan("run", plan)
    assert result.exit_code == 0, result.output


# -- bfplan.testing's fixtures, on the example pipeline ------------------------------------------


@pytest.fixture
def sensors():
    """The example pipeline's processors, by name (its plugin loaded from its path)."""
    from bfplan.plugins import import_path

    module = import_path(ROOT / "examples" / "sensors" / "plugin")
    return {p.name: p for p in module.bfplan_processors()}


def test_run_processor_computes_the_examples_daily_summary(run_processor, sensors):
    day = date(2024, 3, 1)
    readings = [{"day": day, "station": "s1", "hour": h, "temp_c": float(h), "rain_mm": 0.5} for h in (0, 3, 6)]
    out = run_processor(sensors["daily"], [day], tables={"weather.readings": readings})
    assert [(r["station"], r["temp_min"], r["temp_max"], r["readings"]) for r in out.rows] == [("s1", 0.0, 6.0, 3)]
    assert out.failures == {} and out.quarantined == []


def test_check_gate_and_bfplan_warehouse(check_gate, bfplan_warehouse, sensors):
    day = date(2024, 3, 1)
    bfplan_warehouse.execute("CREATE SCHEMA IF NOT EXISTS weather")
    bfplan_warehouse.execute("CREATE TABLE weather.daily (day DATE, station VARCHAR, temp_avg DOUBLE, readings BIGINT)")
    bfplan_warehouse.execute("INSERT INTO weather.daily VALUES ('2024-03-01', 's1', NULL, 8)")
    result = check_gate("contamination", [day], options={"strict": True}, processors=[sensors["daily"]], warehouse=bfplan_warehouse)
    assert result.status == "fail"


def test_run_plan_runs_the_example(run_plan, tmp_path):
    from tests.conftest import sensors_copy

    run = run_plan(sensors_copy(tmp_path), dates="2024-03-01,2024-03-02")
    assert run.ok, run.output
    assert run.doc["status"] == "succeeded"
    assert run_plan(sensors_copy(tmp_path / "again"), command="validate").ok
