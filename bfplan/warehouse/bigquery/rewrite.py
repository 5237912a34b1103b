"""BigQuery SQL with logical names (``dataset.table``) pointed at a project's datasets.

Text edits only: everything but the table references (and reserved words used as names) is
kept byte for byte, since a round trip through a SQL generator could change it (sqlglot writes
``INTERVAL 1 DAY`` as ``INTERVAL '1' DAY``, for one).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from bfplan.errors import WarehouseError
from bfplan.warehouse.base import check_identifier
from bfplan.warehouse.dialect import compile_sql

#: GoogleSQL's reserved keywords: as a bare identifier (a ledger column named ``at``) they are a
#: syntax error, so the rewrite quotes them; quoting cannot change what valid SQL means
_RESERVED_WORDS = """
ALL AND ANY ARRAY AS ASC ASSERT_ROWS_MODIFIED AT BETWEEN BY CASE CAST COLLATE CONTAINS CREATE CROSS CUBE
CURRENT DEFAULT DEFINE DESC DISTINCT ELSE END ENUM ESCAPE EXCEPT EXCLUDE EXISTS EXTRACT FALSE FETCH
FOLLOWING FOR FROM FULL GROUP GROUPING GROUPS HASH HAVING IF IGNORE IN INNER INTERSECT INTERVAL INTO IS
JOIN LATERAL LEFT LIKE LIMIT LOOKUP MERGE NATURAL NEW NO NOT NULL NULLS OF ON OR ORDER OUTER OVER
PARTITION PRECEDING PROTO QUALIFY RANGE RECURSIVE RESPECT RIGHT ROLLUP ROWS SELECT SET SOME STRUCT
TABLESAMPLE THEN TO TREAT TRUE UNBOUNDED UNION UNNEST USING WHEN WHERE WINDOW WITH WITHIN"""
RESERVED = frozenset(_RESERVED_WORDS.split())


@dataclass(frozen=True)
class Rewritten:
    """A statement with its table references mapped (text edits only: the rest is verbatim)."""

    sql: str
    params: tuple[str, ...]
    #: logical ``dataset.table`` names it references
    tables: frozenset[str]
    #: the logical table a DML statement writes, if any
    target: str | None
    #: ``CREATE TEMP TABLE name`` / ``DROP TABLE name``: the unqualified name
    creates_temp: str | None = None
    drops_temp: str | None = None
    #: the temp table a DML statement writes, if any
    writes_temp: str | None = None


def _span(table: exp.Table) -> tuple[int, int]:
    metas = [p.meta for p in table.parts if isinstance(p, exp.Identifier)]
    if not metas or any("start" not in m for m in metas):
        raise WarehouseError(f"cannot locate table reference {table.sql('bigquery')!r} in the SQL text")
    return min(m["start"] for m in metas), max(m["end"] for m in metas)


@functools.lru_cache(maxsize=4096)
def rewrite_sql(sql: str, dataset_prefix: str, project: str, temps: tuple[tuple[str, str], ...] = (),
                param_prefix: str = "") -> Rewritten:
    """Point ``dataset.table`` at ``project.<prefix>dataset.table`` and temp names at their scratch
    tables (backtick-quoted), quote reserved words used as names, and optionally prefix every
    ``@param``. Everything else is kept byte for byte: a round trip through a SQL generator
    could change it (sqlglot writes ``INTERVAL 1 DAY`` as ``INTERVAL '1' DAY``, for one)."""
    params = compile_sql(sql, "bigquery").params  # validates: one BigQuery statement
    try:
        tree = sqlglot.parse_one(sql, read="bigquery")
        tokens = sqlglot.tokenize(sql, read="bigquery")
    except (ParseError, TokenError) as exc:  # compile_sql parsed it: should not happen
        raise WarehouseError(f"SQL does not parse as BigQuery SQL: {exc}") from exc
    temp_map = dict(temps)
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    edits: list[tuple[int, int, str]] = []
    tables: set[str] = set()
    creates = drops = target = writes_temp = None
    if isinstance(tree, exp.Create) and (tree.kind or "").upper() == "TABLE":
        props = tree.args.get("properties")
        if props and any(isinstance(p, exp.TemporaryProperty) for p in props.expressions):
            created = tree.find(exp.Table)
            creates = created.name if created is not None else None
            temp = next((t for t in tokens if t.token_type == sqlglot.TokenType.TEMPORARY), None)
            if temp is not None:
                edits.append((temp.start, temp.end + 1, ""))  # a scratch table is an ordinary table
    if isinstance(tree, exp.Drop) and (tree.kind or "").upper() == "TABLE":
        dropped = tree.find(exp.Table)
        if dropped is not None and not dropped.db:
            drops = dropped.name
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier) or table.catalog:
            continue
        if table.db:
            logical = f"{table.db}.{table.name}"
            if "`" in logical:
                raise WarehouseError(f"invalid table name {logical!r}")
            tables.add(logical)
            replacement = f"`{project}.{dataset_prefix}{logical}`"
        elif table.name in temp_map and table.name not in ctes:
            replacement = f"`{temp_map[table.name]}`"
        else:
            continue
        start, end = _span(table)
        edits.append((start, end + 1, replacement))
    for ident in tree.find_all(exp.Identifier):
        if not ident.quoted and ident.name.upper() in RESERVED and not isinstance(ident.parent, exp.Table) \
                and "start" in ident.meta:
            edits.append((ident.meta["start"], ident.meta["end"] + 1, f"`{ident.name}`"))
    if isinstance(tree, exp.Insert | exp.Update | exp.Delete | exp.Merge):
        written = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        if isinstance(written, exp.Table) and written.db and not written.catalog:
            target = f"{written.db}.{written.name}"
        elif isinstance(written, exp.Table) and written.name in temp_map:
            writes_temp = written.name
    if param_prefix:
        for prev, at, name in zip([None, *tokens], tokens, [*tokens[1:], None], strict=False):
            adjacent = name is not None and name.start == at.end + 1 and re.fullmatch(r"\w+", name.text)
            system_var = prev is not None and prev.token_type == at.token_type and prev.end + 1 == at.start
            if at.token_type == sqlglot.TokenType.PARAMETER and adjacent and not system_var:
                edits.append((name.start, name.end + 1, param_prefix + name.text))
    out = sql
    last = len(sql) + 1
    for start, end, text in sorted(edits, reverse=True):
        if end > last:
            raise WarehouseError("overlapping table references in SQL")  # pragma: no cover
        out = out[:start] + text + out[end:]
        last = start
    return Rewritten(out.strip().rstrip(";").rstrip(), params, frozenset(tables), target, creates, drops,
                     writes_temp)


def quote(name: str) -> str:
    return f"`{check_identifier(name)}`"
