"""Loading files record by record: a bad record is quarantined and named, never a failed batch.

:class:`RecordLoader` is the generic file loader: a subclass says which files a date has and
how to read them into :class:`Record` s (:func:`json_records` and :func:`csv_records` cover the
usual formats); the loader converts every value to its column's type and writes the batch.
A record that cannot be read or converted — a NaN, text where a number belongs, a missing
required value, a line with too many fields, a file that is not JSON at all — goes to the
quarantine table with its file, line, column and reason, and the rest loads: the node
succeeds and the run reports what was set aside.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bfplan.processors import Processor, ProcessorContext, ProcessorResult
from bfplan.records import Record, csv_records, json_records

__all__ = ["BadValue", "Record", "RecordLoader", "convert", "csv_records", "json_records"]


class BadValue(ValueError):
    """A value that cannot be its column's type."""


def _bad(value: Any, kind: str, column: str, why: str = "") -> BadValue:
    return BadValue(f"{column}: {value!r} is not a valid {kind}" + (f" ({why})" if why else ""))


def _string(value: Any, column: str) -> Any:
    if type(value) is str or value is None:
        return value
    raise _bad(value, "STRING", column)


def _int64(value: Any, column: str) -> Any:
    if type(value) is int or value is None:
        return value
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return int(value.strip())
        except ValueError as exc:
            raise _bad(value, "INT64", column, str(exc)) from exc
    if type(value) is float:
        if not math.isfinite(value):
            raise BadValue(f"{column}: {value} is not a finite number")
        if value.is_integer():
            return int(value)
        raise _bad(value, "INT64", column, "not a whole number")
    raise _bad(value, "INT64", column)


def _float64(value: Any, column: str) -> Any:
    if type(value) is float:
        if math.isfinite(value):
            return value
        raise BadValue(f"{column}: {value} is not a finite number")
    if value is None:
        return None
    if type(value) is int:
        return float(value)
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            number = float(value.strip())
        except ValueError as exc:
            raise _bad(value, "FLOAT64", column, str(exc)) from exc
        return _float64(number, column)
    raise _bad(value, "FLOAT64", column)


def _bool(value: Any, column: str) -> Any:
    if type(value) is bool or value is None:
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        if not text:
            return None
    raise _bad(value, "BOOL", column)


def _date(value: Any, column: str) -> Any:
    if value is None or (type(value) is date):
        return value
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise _bad(value, "DATE", column, str(exc)) from exc
    raise _bad(value, "DATE", column)


def _timestamp(value: Any, column: str) -> Any:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise _bad(value, "TIMESTAMP", column, str(exc)) from exc
    raise _bad(value, "TIMESTAMP", column)


def _json(value: Any, column: str) -> Any:
    return value if value is None or isinstance(value, str) else json.dumps(value)


#: per column type, the function that turns a raw value (JSON's, or a CSV's text) into it
CONVERTERS: dict[str, Callable[[Any, str], Any]] = {
    "STRING": _string, "INT64": _int64, "FLOAT64": _float64, "BOOL": _bool, "DATE": _date,
    "TIMESTAMP": _timestamp, "JSON": _json,
}


def convert(value: Any, kind: str, column: str) -> Any:
    """``value`` as a BigQuery ``kind`` of column ``column`` — text from a CSV is parsed, an
    empty text is NULL but for STRING — or :class:`BadValue` saying why not (a NaN, text where
    a number belongs, a fraction for a whole number...)."""
    return CONVERTERS[kind](value, column)


@dataclass(frozen=True)
class RecordLoader(Processor):
    """Loads files into ``columns`` (name → BigQuery type), quarantining the records it cannot.

    Implement :meth:`files` (the files of one date) and :meth:`read` (their records; default:
    by suffix, ``.json`` or ``.csv``). The partition column is filled with the date; ``required``
    columns must have a value.
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = sorted({kind for kind in self.columns.values() if kind not in CONVERTERS})
        if unknown:
            raise ValueError(f"{self.name}: column type(s) {unknown}: a loader reads {sorted(CONVERTERS)}")
        missing = [c for c in (self.partition_column, *self.required) if c not in self.columns]
        if missing:
            raise ValueError(f"{self.name}: {', '.join(missing)} not among its columns")

    def files(self, params: Mapping[str, Any], day: date) -> Sequence[Path]:
        """The files holding ``day``'s records."""
        raise NotImplementedError

    def source_files(self, params: Mapping[str, Any], day: date) -> Sequence[Path]:
        return self.files(params, day)

    def read(self, path: Path) -> Iterable[Record]:
        """The records of one file."""
        if path.suffix == ".csv":
            return csv_records(path)
        return json_records(path)

    @functools.cached_property
    def _specs(self) -> tuple[tuple[str, type | None, Callable[[Any, str], Any]], ...]:
        """Per column: its name, the Python type a raw value of it already has when it needs no
        conversion (None: the partition column), and the converter for every other value."""
        native = {"STRING": str, "INT64": int, "FLOAT64": float, "BOOL": bool}
        return tuple((name, None if name == self.partition_column else native.get(kind, type(None)),
                      CONVERTERS[kind]) for name, kind in self.columns.items())

    def row(self, record: Record, day: date) -> tuple[Any, ...]:
        """The typed row of a record (:class:`BadValue` if a value cannot be its column's type)."""
        values = record.values
        for name in self.required:
            if values.get(name) in (None, ""):
                raise BadValue(f"{name}: a value is required")
        out = []
        for name, native, convert_value in self._specs:
            if native is None:
                out.append(day)
                continue
            value = values.get(name)
            # the common case inline: already the column's type (a float: and finite, v - v == 0)
            if value is None or (type(value) is native and (native is not float or value - value == 0.0)):
                out.append(value)
            else:
                out.append(convert_value(value, name))
        return tuple(out)

    def run(self, ctx: ProcessorContext) -> ProcessorResult:
        rows = []
        for day in ctx.dates:
            for path in self.files(ctx.params, day):
                for record in self.read(path):
                    try:
                        if record.problem:
                            raise BadValue(record.problem)
                        rows.append(self.row(record, day))
                    except BadValue as exc:
                        ctx.quarantine(day, str(exc), record=dict(record.values), source=record.location,
                                       rule="unreadable" if record.problem else "invalid")
        ctx.replace_rows(self.columns, rows)
        return ctx.result
