"""The plugin's SQL include directive."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from bfplan.plugins import import_path

ROOT = Path(__file__).resolve().parents[2]
sqlfiles = importlib.import_module(import_path(ROOT / "plugins/nba").__name__ + ".sqlfiles")


def test_include_expands_fragments_with_arguments_at_any_indent(tmp_path):
    (tmp_path / "_frag.sql").write_text("-- a fragment\nx AS (SELECT 1 AS {col}),\n")
    (tmp_path / "q.sql").write_text("WITH\n  -- @include _frag.sql col=n\ny AS (SELECT 2)\nSELECT * FROM x;\n")
    assert sqlfiles.load_sql(tmp_path / "q.sql") == (
        "WITH\n-- a fragment\nx AS (SELECT 1 AS n),\ny AS (SELECT 2)\nSELECT * FROM x")


def test_an_unfilled_placeholder_is_an_error(tmp_path):
    (tmp_path / "_frag.sql").write_text("x AS (SELECT 1 AS {col}),\n")
    (tmp_path / "q.sql").write_text("WITH\n-- @include _frag.sql\nSELECT 1\n")
    with pytest.raises(ValueError, match="unfilled placeholders"):
        sqlfiles.load_sql(tmp_path / "q.sql")


def test_the_shipped_queries_have_no_directive_left():
    for path in sorted((ROOT / "plugins/nba/sql").rglob("[!_]*.sql")):
        assert not sqlfiles._INCLUDE.search(sqlfiles.load_sql(path)), path.name
