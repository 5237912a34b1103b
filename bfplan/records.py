"""Reading records out of files, each with where it was: a record that cannot be read is
returned with its problem (and as much of its values and position as could be read), never
raised, so that one bad record does not stop the rest (see :class:`bfplan.loaders.RecordLoader`).
"""

from __future__ import annotations

import csv
import functools
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any


class Record:
    """One record read from a file: its values (column → raw value) and where it was.

    ``problem`` set means it could not even be read (the values are what could be). Where a
    record starts may be found only when asked (``locate``): most records never need it.
    """

    __slots__ = ("_col", "_line", "_locate", "problem", "source", "values")

    def __init__(self, values: Mapping[str, Any], source: str, line: int | None = None, col: int | None = None,
                 problem: str | None = None, locate: Callable[[], tuple[int, int] | None] | None = None) -> None:
        self.values, self.source, self._line, self._col = values, source, line, col
        self.problem, self._locate = problem, locate

    def _position(self) -> None:
        if self._locate is not None:
            found = self._locate()
            self._locate = None
            if found:
                self._line, self._col = found

    @property
    def line(self) -> int | None:
        self._position()
        return self._line

    @property
    def col(self) -> int | None:
        self._position()
        return self._col

    @property
    def location(self) -> str:
        """``file:line:col`` (as much of it as is known)."""
        return ":".join(str(p) for p in (self.source, self.line, self.col) if p is not None)


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


class _Starts:
    """Where each record of a parsed JSON file starts: found by one scan, the first time a
    record's position is asked for (a bad record's)."""

    def __init__(self, text: str, key: str) -> None:
        self.text, self.key = text, key
        self._found: list[tuple[int, int]] | None = None

    def at(self, index: int) -> tuple[int, int] | None:
        if self._found is None:
            self._found = [(r.line or 0, r.col or 0) for r in _scan(self.text, self.key, "")]
        return self._found[index] if index < len(self._found) else None


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
    try:
        doc = json.loads(text)  # the common case, at the parser's full speed
    except json.JSONDecodeError:
        yield from _scan(text, key, source)  # record by record, up to where it breaks
        return
    items = doc if isinstance(doc, list) else doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        yield Record({}, source, 1, 1, f"no {key!r} list of records in this JSON file")
        return
    starts = _Starts(text, key)
    for index, item in enumerate(items):
        locate = functools.partial(starts.at, index)
        if isinstance(item, dict):
            yield Record(item, source, locate=locate)
        else:
            yield Record({}, source, problem=f"record {index} is not a JSON object", locate=locate)


def _scan(text: str, key: str, source: str) -> Iterator[Record]:
    """The records of a JSON text one by one (each with where it starts), up to where it breaks."""
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
