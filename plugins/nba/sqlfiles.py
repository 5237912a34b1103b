"""Reading the pipeline's SQL files, with one shared-fragment directive.

A line ``-- @include NAME key=value ...`` is replaced by the file ``NAME`` (next to the
including file), its ``{key}`` placeholders filled in. It keeps fragments several queries
share (the batch's season days) in one place; the result is still one plain BigQuery query,
and the values are identifiers written in this plugin, never plan input.
"""

from __future__ import annotations

import re
from pathlib import Path

from bfplan.warehouse.base import check_identifier

_INCLUDE = re.compile(r"^[ \t]*-- @include (?P<name>[\w.]+)(?P<args>(?: \w+=\w+)*)[ \t]*$", re.MULTILINE)


def load_sql(path: Path) -> str:
    """The query text of ``path`` with its includes expanded."""
    text = path.read_text(encoding="utf-8")

    def expand(m: re.Match[str]) -> str:
        fragment = (path.parent / m.group("name")).read_text(encoding="utf-8")
        for arg in m.group("args").split():
            key, value = arg.split("=", 1)
            fragment = fragment.replace("{" + key + "}", check_identifier(value, "include argument"))
        if re.search(r"\{\w+\}", fragment):
            raise ValueError(f"{path.name}: {m.group('name')} has unfilled placeholders")
        return fragment.rstrip("\n")

    return _INCLUDE.sub(expand, text).strip().rstrip(";")
