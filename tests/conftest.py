"""Shared fixtures: plans written into tmp_path, the CLI through click's CliRunner."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bfplan.cli import cli

TOY_PLUGIN = Path(__file__).parent / "toy_plugin"


@pytest.fixture(autouse=True)
def _no_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    # Installed plugins must not leak into tests; tests that want entry points opt in.
    monkeypatch.setenv("BFPLAN_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture
def write_plan(tmp_path: Path) -> Callable[..., Path]:
    """Write a plan (dedented YAML) into tmp_path; ``{toy}`` expands to the toy plugin path."""

    def write(text: str, name: str = "plan.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip().replace("{toy}", str(TOY_PLUGIN)), encoding="utf-8")
        return path

    return write


@pytest.fixture
def bfplan() -> Callable[..., Result]:
    """Invoke the CLI in-process; returns click's Result (exit_code, stdout, stderr)."""
    runner = CliRunner()

    def invoke(*args: Any) -> Result:
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


def db_rows(path: Path, sql: str) -> list[tuple]:
    """Rows of ``sql`` on the DuckDB file at ``path``, opened read-only and closed again."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def as_json(result: Result) -> dict[str, Any]:
    """The JSON document a ``--json`` command printed on stdout."""
    return json.loads(result.stdout)
