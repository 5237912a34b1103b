"""A BigQuery warehouse on the emulator (started by the root conftest) for this package's tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from bfplan.warehouse.bigquery import BigQueryWarehouse
from tests.conftest import PROJECT


@pytest.fixture
def wh(emulator_env: str) -> Iterator[BigQueryWarehouse]:
    """A warehouse on the emulator with a dataset prefix of its own: tests never share tables."""
    warehouse = BigQueryWarehouse.from_config(project=PROJECT, dataset_prefix=f"t{uuid.uuid4().hex[:8]}_")
    assert warehouse.emulator_host == emulator_env
    yield warehouse
    warehouse.close()
