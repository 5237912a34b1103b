"""bfplan's own features as an ordinary plugin: warehouses, gates and calendars."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from typing import Any

from bfplan import hookimpl
from bfplan.warehouse.base import Warehouse


def _duckdb(**config: Any) -> Warehouse:
    from bfplan.warehouse.duckdb import DuckDBWarehouse

    return DuckDBWarehouse.from_config(**config)


def _bigquery(**config: Any) -> Warehouse:
    # Imported only when a plan asks for BigQuery: the client library is heavy and optional.
    from bfplan.warehouse.bigquery import BigQueryWarehouse

    return BigQueryWarehouse.from_config(**config)


def every_day(start: date, end: date, **_: Any) -> Iterator[date]:
    """The trivial calendar: every date from start to end."""
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


@hookimpl
def bfplan_warehouses() -> dict[str, Callable[..., Any]]:
    return {"duckdb": _duckdb, "bigquery": _bigquery}


@hookimpl
def bfplan_calendars() -> dict[str, Callable[..., Iterable[date]]]:
    return {"every_day": every_day}


@hookimpl
def bfplan_gates() -> list[Any]:
    from bfplan.gates import builtin_gates

    return builtin_gates()
