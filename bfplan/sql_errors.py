"""Warehouse errors of a query an author wrote in a ``.sql`` file, pointed back at that file.

The warehouse reports an error against the text it ran: the author's query wrapped by the
engine (and, on DuckDB, transpiled from BigQuery SQL), so its line numbers and quoted excerpt
are not the author's. When the error names an identifier (an unknown column, table or name),
the line of the author's file that holds it is named instead, and quoted; otherwise the file.
"""

from __future__ import annotations

import re
from pathlib import Path

#: how warehouses name the identifier they could not resolve (DuckDB, BigQuery)
_NAMED = (
    re.compile(r'Referenced column "([^"]+)" not found', re.I),
    re.compile(r'Referenced table "([^"]+)" not found', re.I),
    re.compile(r"Table with name ([\w.]+) does not exist", re.I),
    re.compile(r'Table "?([\w.\-]+)"? does not exist', re.I),
    re.compile(r"Unrecognized name: (\w+)", re.I),
    re.compile(r"Name (\w+) not found inside", re.I),
    re.compile(r"Not found: Table [\w\-]+:([\w.]+)", re.I),
    re.compile(r'Scalar Function with name (\w+) does not exist', re.I),
    re.compile(r"Function not found: (\w+)", re.I),
)
#: DuckDB's excerpt of the text it ran (``LINE 1: ... ^^^``): the engine's text, not the author's
_EXCERPT = re.compile(r"\s*LINE \d+:.*$", re.S)
#: BigQuery's position in the text it ran (``at [3:7]``)
_POSITION = re.compile(r"\s*at \[\d+:\d+\]")


def identifier(message: str) -> str | None:
    """The identifier a warehouse error says it could not resolve, if it names one."""
    for pattern in _NAMED:
        m = pattern.search(message)
        if m:
            return m.group(1)
    return None


def line_of(text: str, name: str) -> tuple[int, str] | None:
    """(1-based line, its text) of the first whole-word use of ``name`` (or of its last dotted
    part) in ``text`` outside ``--`` comments, case-insensitively; None when it is not there."""
    for candidate in dict.fromkeys((name, name.split(".")[-1])):
        word = re.compile(rf"(?<![\w.]){re.escape(candidate)}(?!\w)", re.I) if "." in candidate else \
            re.compile(rf"(?<!\w){re.escape(candidate)}(?!\w)", re.I)
        for n, line in enumerate(text.splitlines(), 1):
            if word.search(line.split("--", 1)[0]):
                return n, line.strip()
    return None


def sql_error(proc: object, error: str) -> str:
    """``error`` with the author's file and line when ``proc`` reads its query from a file
    (``sql_path``): ``... (at /p/q.sql:3: nosuchcol AS b)``; for a query given inline, its line
    in the processor's SQL (``... (processor 'daily', SQL line 2: nosuchcol AS b)``); otherwise
    ``error`` unchanged. Either way without the warehouse's excerpt of the engine's own text."""
    path = getattr(proc, "sql_path", None)
    if not isinstance(path, Path):
        inline = getattr(proc, "sql", None)
        found = line_of(inline, name) if isinstance(inline, str) and (name := identifier(error)) else None
        if found is None:
            return error
        plain = _POSITION.sub("", _EXCERPT.sub("", error))
        return f"{plain} (processor {getattr(proc, 'name', '?')!r}, SQL line {found[0]}: {found[1]})"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return error
    name = identifier(error)
    found = line_of(text, name) if name else None
    plain = _POSITION.sub("", _EXCERPT.sub("", error))
    if found is None:
        return f"{plain} (in {path})"
    n, line = found
    return f"{plain} (at {path}:{n}: {line})"
