"""Shared fixtures: plans written into tmp_path, the CLI through click's CliRunner, and the
BigQuery emulator — set up and started once per session, by the same mechanism as
``make bq-emulator`` (tools/bq_emulator.py). If .venv-bq cannot be created (no package
registry) the session FAILS: CI must never skip the emulator's tests silently.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bfplan.cli import cli
from bfplan.warehouse.base import Warehouse

TOY_PLUGIN = Path(__file__).parent / "toy_plugin"


@pytest.fixture(autouse=True)
def _no_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    # Installed plugins must not leak into tests; tests that want entry points opt in.
    monkeypatch.setenv("BFPLAN_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture
def write_plan(tmp_path: Path) -> Callable[..., Path]:
    """Write a plan (dedented YAML) into tmp_path; ``{toy}`` expands to the toy plugin path."""

    def write(text: str, name: str = "plan.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip().replace("{toy}", str(TOY_PLUGIN)), encoding="utf-8")
        return path

    return write


@pytest.fixture
def bfplan() -> Callable[..., Result]:
    """Invoke the CLI in-process; returns click's Result (exit_code, stdout, stderr)."""
    runner = CliRunner()

    def invoke(*args: Any) -> Result:
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


def db_rows(path: Path, sql: str) -> list[tuple]:
    """Rows of ``sql`` on the DuckDB file at ``path``, opened read-only and closed again."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def sensors_copy(tmp_path: Path) -> Path:
    """A copy of ``examples/sensors`` (a non-NBA pipeline) writing to its own DuckDB file; its plan."""
    import shutil

    folder = tmp_path / "sensors"
    example = Path(__file__).resolve().parents[1] / "examples" / "sensors"
    shutil.copytree(example, folder, ignore=shutil.ignore_patterns("__pycache__"))
    plan = folder / "plan.yaml"
    plan.write_text(plan.read_text().replace("../../.bfplan/sensors.duckdb", "w.duckdb"))
    return plan


def as_json(result: Result) -> dict[str, Any]:
    """The JSON document a ``--json`` command printed on stdout."""
    return json.loads(result.stdout)


TOOL = Path(__file__).resolve().parents[1] / "tools" / "bq_emulator.py"
PROJECT = "bfplan-test"


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bq_emulator", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bq_emulator", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bq_emulator() -> Iterator[str]:
    """The emulator's host URL (started once; stopped at the end if this session started it)."""
    tool = _load_tool()
    try:
        tool.setup()
        already = tool.running()
        host = tool.start()
    except tool.EmulatorError as exc:
        pytest.fail(f"BigQuery emulator unavailable: {exc}", pytrace=False)
    yield host
    if not already:
        tool.stop()


@pytest.fixture
def emulator_env(bq_emulator: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """BIGQUERY_EMULATOR_HOST set for one test (not the session: other tests must not see it)."""
    from bfplan.warehouse.bigquery import EMULATOR_ENV

    monkeypatch.setenv(EMULATOR_ENV, bq_emulator)
    return bq_emulator


class Target:
    """A warehouse tests write to through plans (its ``config``), and a way to read it back."""

    def __init__(self, name: str, config: dict[str, Any], opener: Callable[..., Warehouse]) -> None:
        self.name = name
        self.config = config
        self._open = opener

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        wh = self._open()
        try:
            return wh.query(sql, params or {})
        finally:
            wh.close()

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        """Change the warehouse behind bfplan's back (a hand edit, a fault)."""
        wh = self._open(writable=True)
        try:
            wh.execute(sql, params or {})
        finally:
            wh.close()


@pytest.fixture(params=["duckdb", "bigquery"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """Each warehouse in turn: a DuckDB file in tmp_path, then the emulator under a dataset
    prefix of the test's own."""
    if request.param == "duckdb":
        from bfplan.warehouse.duckdb import DuckDBWarehouse

        path = tmp_path / "w.duckdb"
        yield Target("duckdb", {"type": "duckdb", "path": str(path)},
                     lambda writable=False: DuckDBWarehouse(path, read_only=not writable))
        return
    from bfplan.warehouse.bigquery import BigQueryWarehouse

    request.getfixturevalue("emulator_env")
    prefix = f"c{uuid.uuid4().hex[:8]}_"
    yield Target("bigquery", {"type": "bigquery", "project": PROJECT, "dataset_prefix": prefix},
                 lambda writable=False: BigQueryWarehouse.from_config(project=PROJECT, dataset_prefix=prefix))
