"""What a BigQuery job carries besides its SQL: typed query parameters, rows as one parameter,
and labels."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from google.cloud import bigquery

from bfplan.errors import WarehouseError

#: logical column types → BigQuery column types (JSON is stored as STRING holding JSON text, as
#: the DuckDB adapter's VARCHAR: both engines hand readers the same ``str``)
BQ_TYPES = {"STRING": "STRING", "INT64": "INT64", "FLOAT64": "FLOAT64", "BOOL": "BOOL", "DATE": "DATE",
            "TIMESTAMP": "TIMESTAMP", "JSON": "STRING"}
#: rows per INSERT job are capped by size: a request carries at most 10 MB of SQL + parameters
MAX_ROWS_PARAM_BYTES = 4_000_000


def scalar_type(value: Any) -> str:
    """The BigQuery type of one Python value (bool before int: ``True`` is an ``int`` too)."""
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, Decimal):
        return "NUMERIC"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, datetime):  # before date: a datetime is a date too
        return "TIMESTAMP"
    if isinstance(value, date):
        return "DATE"
    if isinstance(value, time):
        return "TIME"
    if isinstance(value, bytes):
        return "BYTES"
    raise WarehouseError(f"cannot bind a {type(value).__name__} as a BigQuery query parameter")


def query_parameter(name: str, value: Any) -> bigquery.ScalarQueryParameter | bigquery.ArrayQueryParameter:
    """One named parameter. None → STRING NULL; a list/tuple → ARRAY of its elements' type.

    An empty list has no element to type it: it is ARRAY<DATE> when the name says dates
    (``dates``, ``game_dates``, ``start_date``...), else ARRAY<STRING>. BigQuery arrays cannot
    hold NULL, so a None element is an error here rather than a failed job.
    """
    if value is None:
        return bigquery.ScalarQueryParameter(name, "STRING", None)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else list(value)
        if any(v is None for v in items):
            raise WarehouseError(f"query parameter @{name}: BigQuery arrays cannot contain NULL")
        types = {scalar_type(v) for v in items}
        if types == {"INT64", "FLOAT64"}:
            types = {"FLOAT64"}
        if len(types) > 1:
            raise WarehouseError(f"query parameter @{name}: mixed element types {sorted(types)}")
        element = types.pop() if types else ("DATE" if "date" in name.lower() else "STRING")
        if element == "FLOAT64":
            items = [float(v) for v in items]
        return bigquery.ArrayQueryParameter(name, element, items)
    return bigquery.ScalarQueryParameter(name, scalar_type(value), value)


def query_parameters(params: Mapping[str, Any], rename: str = "") -> list[Any]:
    """Parameters for a job; ``rename`` prefixes every name (statements merged into one script)."""
    return [query_parameter(rename + name, value) for name, value in params.items()]


def json_text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else json.dumps(value, default=str)


def rows_parameter(name: str, columns: Mapping[str, str],
                   rows: Sequence[Sequence[Any]]) -> bigquery.ArrayQueryParameter:
    """Rows as one ARRAY<STRUCT<columns>> parameter: NULLs allowed, every value typed by its column."""
    types = [(n, BQ_TYPES[t], t == "JSON") for n, t in columns.items()]
    structs = []
    for row in rows:
        if len(row) != len(types):
            raise WarehouseError(f"row has {len(row)} values for {len(types)} columns")
        fields = [bigquery.ScalarQueryParameter(n, t, json_text(v) if is_json else v)
                  for (n, t, is_json), v in zip(types, row, strict=True)]
        structs.append(bigquery.StructQueryParameter(None, *fields))
    return bigquery.ArrayQueryParameter(name, "STRUCT", structs)


def row_chunks(columns: Mapping[str, str], rows: Sequence[Sequence[Any]]) -> Iterator[Sequence[Sequence[Any]]]:
    """Split rows into chunks whose encoded parameter stays under :data:`MAX_ROWS_PARAM_BYTES`."""
    overhead = sum(len(n) + 24 for n in columns)
    start, size = 0, 0
    for i, row in enumerate(rows):
        row_size = overhead + sum(len(str(v)) for v in row)
        if size and size + row_size > MAX_ROWS_PARAM_BYTES:
            yield rows[start:i]
            start, size = i, 0
        size += row_size
    if start < len(rows):
        yield rows[start:]


def sanitize_label(text: Any, *, key: bool = False) -> str:
    """BigQuery label rules: lowercase letters, digits, ``_`` and ``-``, at most 63 characters;
    keys start with a letter."""
    out = re.sub(r"[^a-z0-9_-]", "_", str(text).lower())[:63]
    if key and not out[:1].isalpha():
        out = ("k_" + out)[:63]
    return out


def sanitize_labels(labels: Mapping[str, Any]) -> dict[str, str]:
    """Labels made valid (None values are dropped)."""
    return {sanitize_label(k, key=True): sanitize_label(v) for k, v in labels.items() if v is not None}
