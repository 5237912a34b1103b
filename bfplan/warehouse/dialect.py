"""BigQuery Standard SQL → engine SQL, via sqlglot, cached per statement.

Processors keep one SQL source (BigQuery's dialect, since production runs there); engines that
speak another dialect get a transpiled copy. Named parameters (``@name``) stay parameters: we
never paste a value into SQL.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from bfplan.errors import WarehouseError

# sqlglot warns on stderr when it falls back to an opaque Command; its callers here say it better
logging.getLogger("sqlglot").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Compiled:
    """A statement ready for one engine and the parameter names it binds."""

    sql: str
    params: tuple[str, ...]

    def bind(self, values: dict[str, Any] | None) -> dict[str, Any]:
        """Pick the values this statement uses; a missing one is an error, extras are ignored."""
        values = values or {}
        missing = [p for p in self.params if p not in values]
        if missing:
            names = ", ".join(f"@{m}" for m in missing)
            raise WarehouseError(f"query parameter {names} has no value")
        return {p: values[p] for p in self.params}


def _parameter_names(tree: exp.Expression) -> tuple[str, ...]:
    names: list[str] = []
    for node in tree.find_all(exp.Parameter, exp.Placeholder):
        # @@dataset_id (a system variable) parses as a Parameter inside a Parameter
        if isinstance(node.this, exp.Parameter) or isinstance(node.parent, exp.Parameter):
            continue
        name = node.name
        if name and name not in names:
            names.append(name)
    return tuple(names)


@functools.lru_cache(maxsize=4096)
def _parse(sql: str) -> exp.Expression | str:
    """The one statement of ``sql`` (BigQuery SQL), or why it is not one: parsed once per text,
    whether it is compiled, checked for writes, or both."""
    if len(sql) > MAX_SQL:
        return f"SQL of {len(sql):,} characters is longer than {MAX_SQL:,}"
    try:
        trees = [t for t in sqlglot.parse(sql, read="bigquery") if t is not None]
    except RecursionError:
        return "SQL nests too deeply to parse"
    except (ParseError, sqlglot.errors.TokenError) as exc:
        first = exc.errors[0] if isinstance(exc, ParseError) and exc.errors else {}
        where = f" at line {first.get('line')}, col {first.get('col')}" if first else ""
        return f"SQL does not parse as BigQuery SQL{where}: {first.get('description', exc)}"
    if len(trees) != 1:
        return f"expected one SQL statement, got {len(trees)}"
    return trees[0]


#: the databases every DuckDB connection has besides its file's (or ``memory``)
_BUILTIN_CATALOGS = frozenset({"system", "temp"})


def _ambiguous(table: exp.Table, catalogs: frozenset[str]) -> bool:
    return bool(table.args.get("db")) and not table.args.get("catalog") and table.db in catalogs


def with_catalog(tree: exp.Expression, catalog: str) -> exp.Expression:
    """``tree`` with each ``dataset.table`` whose dataset is also the name of a database read
    as ``catalog.dataset.table``: DuckDB names a database after its file, so ``shop.orders`` is
    ambiguous in ``shop.duckdb`` (catalog ``shop`` or schema ``shop``?), three parts are not.
    Other names, one-part names (CTEs, temp tables) and names with a catalog stay as written;
    a statement with nothing ambiguous is returned as is, uncopied."""
    catalogs = _BUILTIN_CATALOGS | {catalog}
    if not any(_ambiguous(t, catalogs) for t in tree.find_all(exp.Table)):
        return tree
    tree = tree.copy()
    for table in tree.find_all(exp.Table):
        if _ambiguous(table, catalogs):
            table.set("catalog", exp.to_identifier(catalog, quoted=True))
    return tree


@functools.lru_cache(maxsize=4096)
def compile_sql(sql: str, target: str, catalog: str | None = None) -> Compiled:
    """Transpile BigQuery SQL for ``target`` ("bigquery" returns it unchanged, parsed once);
    with ``catalog``, two-part names that DuckDB would find ambiguous are qualified with it
    (see :func:`with_catalog`)."""
    tree = _parse(sql)
    if isinstance(tree, str):
        raise WarehouseError(tree)
    names = _parameter_names(tree)
    if target == "bigquery":
        return Compiled(sql, names)
    if catalog is not None:
        qualified = with_catalog(tree, catalog)
        if qualified is tree:  # nothing to qualify: the same text as without a catalog
            return compile_sql(sql, target)
        tree = qualified
    try:
        out = tree.sql(dialect=target, unsupported_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.UnsupportedError as exc:
        raise WarehouseError(f"SQL cannot be transpiled to {target}: {exc}") from exc
    return Compiled(out, names)


#: the longest SQL a plan may hand over (a gate's query): longer text is no query a person wrote
MAX_SQL = 1_000_000
#: statements a read-only query may be: a SELECT, a set operation of SELECTs, a parenthesized one
_READ_ROOTS = (exp.Select, exp.SetOperation, exp.Subquery)
#: what may not appear anywhere inside one (``WITH d AS (DELETE ... RETURNING *) SELECT ...``)
_WRITES = (exp.DML, exp.DDL, exp.Command, exp.Declare, exp.TruncateTable, exp.Set, exp.Use, exp.Transaction)


@functools.lru_cache(maxsize=4096)
def read_only_problem(sql: str) -> str | None:
    """Why ``sql`` (BigQuery SQL) is not one read-only query, or None when it is: exactly one
    statement, a SELECT (``WITH`` included) or a set operation of them, with no write inside."""
    tree = _parse(sql)
    if isinstance(tree, str):
        return tree
    kind = _statement_name(tree)
    if not isinstance(tree, _READ_ROOTS):
        return f"must be one read-only query (SELECT or WITH ... SELECT), got {kind}"
    write = next(tree.find_all(*_WRITES), None)
    if write is not None:
        return f"must be one read-only query (SELECT or WITH ... SELECT); it contains {_statement_name(write)}"
    return None


def _statement_name(tree: exp.Expression) -> str:
    if isinstance(tree, exp.Command):
        return str(tree.this).upper()
    return {"truncatetable": "TRUNCATE"}.get(tree.key, tree.key.upper())
