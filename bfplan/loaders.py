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

import csv
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bfplan.processors import Processor, ProcessorContext, ProcessorResult


@dataclass(frozen=True)
class Record:
    """One record read from a file: its values (column → raw value) and where it was.

    ``problem`` set means it could not even be read (the values are what could be).
    """

    values: Mapping[str, Any]
    source: str
    line: int | None = None
    col: int | None = None
    problem: str | None = None

    @property
    def location(self) -> str:
        """``file:line:col`` (as much of it as is known)."""
        return ":".join(str(p) for p in (self.source, self.line, self.col) if p is not None)


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


_WS = " \t\r\n"
_DECODER = json.JSONDecoder()


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _array_at(text: str, key: str) -> int:
    """Where the records array starts: the document itself, or its top-level object's ``key``."""
    i = _skip(text, 0)
    if text.startswith("[", i):
        return i
    if not text.startswith("{", i):
        raise ValueError("not JSON: expected an object or an array")
    i = _skip(text, i + 1)
    while i < len(text) and text[i] != "}":
        name, i = _DECODER.raw_decode(text, i)
        i = _skip(text, i)
        if not text.startswith(":", i):
            raise ValueError(f"expected ':' after key {name!r}")
        i = _skip(text, i + 1)
        if name == key and text.startswith("[", i):
            return i
        _, i = _DECODER.raw_decode(text, i)  # another key's value: skipped
        i = _skip(text, i)
        if text.startswith(",", i):
            i = _skip(text, i + 1)
    raise LookupError(f"no {key!r} list of records in this JSON file")


class _Lines:
    """Line and column of increasing offsets, counting newlines once."""

    def __init__(self, text: str) -> None:
        self.text, self.offset, self.line = text, 0, 1

    def at(self, offset: int) -> tuple[int, int]:
        self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line, offset - (self.text.rfind("\n", 0, offset) + 1) + 1


def json_records(path: Path, *, key: str = "rows") -> Iterator[Record]:
    """The records of a JSON file ``{..., key: [record, ...]}`` (or a top-level array), each with
    the line and column where it starts. A record that does not parse is a bad record, and so is
    the rest of the file after it (nothing can say where the next one starts); the records
    before it load. A file that is not such JSON at all is one bad record."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        yield Record({}, source, problem=f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        return
    lines = _Lines(text)
    try:
        i = _array_at(text, key)
    except json.JSONDecodeError as exc:
        yield Record({}, source, exc.lineno, exc.colno, f"not JSON: {exc.msg}")
        return
    except (ValueError, LookupError) as exc:
        yield Record({}, source, 1, 1, str(exc))
        return
    i = _skip(text, i + 1)
    index = 0
    while i < len(text) and text[i] != "]":
        line, col = lines.at(i)
        try:
            item, i = _DECODER.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            yield Record({}, source, exc.lineno, exc.colno, f"record {index} and the rest of the file: not JSON: "
                                                           f"{exc.msg}")
            return
        if isinstance(item, dict):
            yield Record(item, source, line, col)
        else:
            yield Record({}, source, line, col, f"record {index} is not a JSON object")
        index += 1
        i = _skip(text, i)
        if text.startswith(",", i):
            i = _skip(text, i + 1)
        elif not text.startswith("]", i):
            line, col = lines.at(min(i, len(text)))
            yield Record({}, source, line, col, f"after record {index - 1}: expected ',' or ']'; the rest of the "
                                                "file is unreadable")
            return


def csv_records(path: Path) -> Iterator[Record]:
    """The records of a CSV file with a header line, each with its line number; a line with
    more or fewer fields than the header is a bad record."""
    source = str(path)
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Record({}, source, 1, problem=f"unreadable CSV header: {exc}")
            return
        line = reader.line_num
        while True:
            start = line + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Record({}, source, start, problem=f"unreadable CSV: {exc}")
                return
            line = reader.line_num
            if not fields:
                continue
            values = dict(zip(header, fields, strict=False))
            if len(fields) != len(header):
                yield Record(values, source, start, problem=f"{len(fields)} fields where the header has {len(header)}")
            else:
                yield Record(values, source, start)


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

    def row(self, record: Record, day: date) -> tuple[Any, ...]:
        """The typed row of a record (:class:`BadValue` if a value cannot be its column's type)."""
        values = record.values
        for name in self.required:
            if values.get(name) in (None, ""):
                raise BadValue(f"{name}: a value is required")
        pcol = self.partition_column
        return tuple(day if name == pcol else CONVERTERS[kind](values.get(name), name)
                     for name, kind in self.columns.items())

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
