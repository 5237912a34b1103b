"""The BigQuery emulator for this package's tests: set up and started once per session.

The same mechanism as ``make bq-emulator`` (tools/bq_emulator.py). If .venv-bq cannot be
created (no package registry) the session FAILS: CI must never skip these tests silently.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from bfplan.warehouse.bigquery import EMULATOR_ENV, BigQueryWarehouse

TOOL = Path(__file__).resolve().parents[2] / "tools" / "bq_emulator.py"
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
    monkeypatch.setenv(EMULATOR_ENV, bq_emulator)
    return bq_emulator


@pytest.fixture
def wh(emulator_env: str) -> Iterator[BigQueryWarehouse]:
    """A warehouse on the emulator with a dataset prefix of its own: tests never share tables."""
    warehouse = BigQueryWarehouse.from_config(project=PROJECT, dataset_prefix=f"t{uuid.uuid4().hex[:8]}_")
    assert warehouse.emulator_host == emulator_env
    yield warehouse
    warehouse.close()
