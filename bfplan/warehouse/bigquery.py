"""The production warehouse: BigQuery. Logical ``dataset.table`` → ``project.<prefix>dataset.table``.

**Atomic partition rewrites: one script per transaction.** A transaction collects its writes
(partition DELETE + INSERT, ledger marks, the processor's own DML) and runs them at commit as
ONE multi-statement job: ``BEGIN TRANSACTION; ...; COMMIT TRANSACTION;``. One job is atomic
(a failing statement rolls the whole script back, so the data and its "done" marks commit
together or not at all), costs one job's overhead instead of one per statement, and keeps
the DML job count per node constant, whatever the batch size. (MERGE would also be atomic,
but needs a key and cannot carry the ledger rows in the same statement.)

Work that must happen before commit runs at once, on private **scratch tables** in the
dataset ``<prefix>bfplan_scratch`` (24 h default expiration, dropped when the transaction
ends): a ``replace_partitions`` query is materialized there once (``CREATE OR REPLACE TABLE
scratch AS SELECT ... WHERE partition IN UNNEST(@dates)``, then ``SELECT date, COUNT(*)`` in
the same job: the per-date row counts the runner records); the commit script then copies
it with a plain ``INSERT ... SELECT``. ``CREATE TEMP TABLE name`` inside a transaction
becomes a scratch table too, and later statements of the transaction that name it are
pointed at it, so SqlProcessor's staging (temp table, then reads and writes from it) works.

Why not a BigQuery session (``create_session=True``, one open transaction across jobs)?
It would let reads see uncommitted writes, but the emulator the tests run against only mints
session ids: its transactions and temp tables are global to the process, so the tests
would pass on behaviour that production does not have. The scratch design behaves the same
on both. Its one limit: :meth:`BigQueryTransaction.query` cannot read a table that the same
transaction rewrites (the rewrite happens at commit); it raises instead of reading stale rows.

Other choices: JSON columns are stored as STRING holding JSON text (as the DuckDB adapter's
VARCHAR, so both engines hand readers the same ``str``); TIMESTAMP values are returned as
naive UTC datetimes (as DuckDB does); every job carries the labels of :meth:`job_labels`,
the configured location and ``query_timeout_s``. ``BIGQUERY_EMULATOR_HOST`` (with scheme)
points the client at an emulator with anonymous credentials.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import json
import os
import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
import sqlglot
from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import GoogleAuthError
from google.cloud import bigquery
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from bfplan.errors import WarehouseError, WarehouseUnavailable
from bfplan.warehouse.base import COLUMN_TYPES, Transaction, Warehouse, check_identifier, split_table
from bfplan.warehouse.dialect import compile_sql, read_only_problem

EMULATOR_ENV = "BIGQUERY_EMULATOR_HOST"
#: logical column types → BigQuery column types (JSON: see the module docstring)
BQ_TYPES = {"STRING": "STRING", "INT64": "INT64", "FLOAT64": "FLOAT64", "BOOL": "BOOL", "DATE": "DATE",
            "TIMESTAMP": "TIMESTAMP", "JSON": "STRING"}
SCRATCH_DATASET = "bfplan_scratch"
SCRATCH_EXPIRATION_MS = 24 * 3600 * 1000
#: rows per INSERT job are capped by size: a request carries at most 10 MB of SQL + parameters
MAX_ROWS_PARAM_BYTES = 4_000_000
TRANSIENT_REASONS = frozenset({"rateLimitExceeded", "backendError", "internalError", "jobRateLimitExceeded",
                               "jobBackendError", "jobInternalError"})
TRANSIENT_TYPES = (gexc.TooManyRequests, gexc.InternalServerError, gexc.BadGateway, gexc.ServiceUnavailable,
                   gexc.GatewayTimeout, gexc.RetryError, ConnectionError, requests.ConnectionError,
                   requests.Timeout)
#: transaction conflicts: the loser of two concurrent writers to one table simply runs again
TRANSIENT_MESSAGES = ("concurrent update", "could not serialize access")

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

_job_labels: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("bfplan_bigquery_labels",
                                                                                     default=None)


# -- parameters ---------------------------------------------------------------------------------
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


def _json_text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else json.dumps(value, default=str)


def rows_parameter(name: str, columns: Mapping[str, str],
                   rows: Sequence[Sequence[Any]]) -> bigquery.ArrayQueryParameter:
    """Rows as one ARRAY<STRUCT<columns>> parameter: NULLs allowed, every value typed by its column."""
    types = [(n, BQ_TYPES[t], t == "JSON") for n, t in columns.items()]
    structs = []
    for row in rows:
        if len(row) != len(types):
            raise WarehouseError(f"row has {len(row)} values for {len(types)} columns")
        fields = [bigquery.ScalarQueryParameter(n, t, _json_text(v) if is_json else v)
                  for (n, t, is_json), v in zip(types, row, strict=True)]
        structs.append(bigquery.StructQueryParameter(None, *fields))
    return bigquery.ArrayQueryParameter(name, "STRUCT", structs)


def _row_chunks(columns: Mapping[str, str], rows: Sequence[Sequence[Any]]) -> Iterator[Sequence[Sequence[Any]]]:
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


# -- labels -------------------------------------------------------------------------------------
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


# -- errors -------------------------------------------------------------------------------------
def is_transient_error(exc: BaseException) -> bool:
    """Rate limits, 5xx, backend errors and transaction conflicts are transient; the rest is not."""
    if isinstance(exc, WarehouseError):
        return exc.transient
    if isinstance(exc, TRANSIENT_TYPES):
        return True
    if isinstance(exc, gexc.GoogleAPICallError):
        reasons = {e.get("reason") for e in (exc.errors or ()) if isinstance(e, dict)}
        if reasons & TRANSIENT_REASONS:
            return True
    text = str(exc).lower()
    return any(m in text for m in TRANSIENT_MESSAGES)


def one_line(exc: BaseException) -> str:
    """A short message for an API error: no request URL, no job id footer, no JSON."""
    if isinstance(exc, gexc.GoogleAPICallError):
        first = next((e for e in (exc.errors or ()) if isinstance(e, dict) and e.get("message")), None)
        message = first["message"] if first else exc.message
        message = re.sub(r"^(GET|POST|PUT|PATCH|DELETE) \S+: ", "", str(message).strip())
        reason = first.get("reason") if first else None
        text = f"{exc.code} {reason}: {message}" if reason else f"{exc.code} {message}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return text if len(text) <= 400 else text[:397] + "..."


def excerpt(sql: str, width: int = 60) -> str:
    """The start of a statement on one line, to say which one failed."""
    text = " ".join(sql.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _wrap(exc: BaseException, what: str) -> WarehouseError:
    if isinstance(exc, WarehouseError):
        return exc
    return WarehouseError(f"{what}: {one_line(exc)}", transient=is_transient_error(exc))


# -- SQL: logical names → BigQuery names ----------------------------------------------------------
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


def _quote(name: str) -> str:
    return f"`{check_identifier(name)}`"


# -- the transaction ------------------------------------------------------------------------------
class BigQueryTransaction(Transaction):
    """Writes collected for one commit script; scratch tables for what must run before it."""

    def __init__(self, warehouse: BigQueryWarehouse) -> None:
        self._wh = warehouse
        self._id = uuid.uuid4().hex[:12]
        self._temps: dict[str, str] = {}
        self._scratch: list[str] = []
        self._statements: list[str] = []
        self._params: list[Any] = []
        self._pending: set[str] = set()
        self._n = 0

    @property
    def wrote(self) -> bool:
        return bool(self._statements)

    def _prefix(self) -> str:
        self._n += 1
        return f"s{self._n}_"

    def _new_scratch(self, name: str) -> str:
        self._n += 1
        table = self._wh.scratch_table(f"t{self._id}_{self._n}_{name}")
        self._scratch.append(table)
        return table

    def _defer(self, sql: str, params: list[Any], writes: str | None) -> None:
        self._statements.append(sql)
        self._params.extend(params)
        if writes:
            self._pending.add(writes)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        rw = self._wh.rewrite(sql, self._temps)
        if rw.creates_temp:
            # runs now: later statements (and reads) of this transaction use its rows
            self._temps[rw.creates_temp] = self._new_scratch(rw.creates_temp)
            rw = self._wh.rewrite(sql, self._temps)
            self._wh._run(rw.sql, query_parameters(compile_sql(sql, "bigquery").bind(dict(params or {}))),
                          f"creating temp table {rw.creates_temp}")
            return
        if rw.drops_temp and rw.drops_temp in self._temps:
            del self._temps[rw.drops_temp]  # the scratch table is dropped when the transaction ends
            return
        if rw.writes_temp:
            # private to this transaction: changed now, so that later statements see the change
            self._wh._run(rw.sql, query_parameters(compile_sql(sql, "bigquery").bind(dict(params or {}))),
                          f"writing temp table {rw.writes_temp}")
            return
        prefix = self._prefix()
        rw = self._wh.rewrite(sql, self._temps, prefix)
        bound = compile_sql(sql, "bigquery").bind(dict(params or {}))
        self._defer(rw.sql, query_parameters(bound, prefix), rw.target)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        rw = self._wh.rewrite(sql, self._temps)
        unseen = sorted(rw.tables & self._pending)
        if unseen:
            raise WarehouseError(
                f"cannot read {', '.join(unseen)} inside the transaction that rewrites it: on BigQuery the "
                "rewrite runs at commit; read its source (or a temp table) instead")
        return self._wh._query_rewritten(rw, params)

    @staticmethod
    def _condition(partition_column: str, dates: Sequence[date], scope: Mapping[str, Any] | None,
                   prefix: str) -> tuple[str, list[Any]]:
        """``partition IN UNNEST(@dates) AND scope_col = @scope0 ...`` and its parameters."""
        where = [f"{_quote(partition_column)} IN UNNEST(@{prefix}dates)"]
        values: dict[str, Any] = {"dates": list(dates)}
        for i, (key, value) in enumerate(sorted((scope or {}).items())):
            where.append(f"{_quote(key)} = @{prefix}scope{i}")
            values[f"scope{i}"] = value
        return " AND ".join(where), query_parameters(values, prefix)

    def replace_partitions(self, table, partition_column, dates, select_sql, params=None, *, scope=None,
                           clustering=()) -> dict[date, int]:
        target = self._wh.table_id(table)
        dates = sorted(set(dates))
        rw = self._wh.rewrite(select_sql, self._temps)
        if rw.tables & self._pending:
            raise WarehouseError(f"{table}: the query reads {', '.join(sorted(rw.tables & self._pending))}, "
                                 "which this transaction rewrites at commit")
        bound = compile_sql(select_sql, "bigquery").bind(dict(params or {}))
        # materialize the batch once: the counts come back now, the commit script copies it
        scratch = self._new_scratch(split_table(table)[1])
        condition, cparams = self._condition(partition_column, dates, scope, "bfplan_")
        script = (f"CREATE OR REPLACE TABLE `{scratch}` AS SELECT * FROM (\n{rw.sql}\n) AS __bfplan_q "
                  f"WHERE {condition};\n"
                  f"SELECT {_quote(partition_column)} AS d, COUNT(*) AS n FROM `{scratch}` GROUP BY 1")
        counts = {r["d"]: r["n"] for r in self._wh._run_rows(script, query_parameters(bound) + cparams,
                                                              f"computing {table}")}
        schema = self._wh.get_schema(scratch)
        names = [f.name for f in schema]
        if partition_column not in names:
            raise WarehouseError(f"{table}: the query returns no column {partition_column!r}")
        self._wh.ensure_table_schema(table, schema, partition_column=partition_column, clustering=clustering)
        condition, cparams = self._condition(partition_column, dates, scope, self._prefix())
        cols = ", ".join(f"`{n}`" for n in names)
        self._defer(f"DELETE FROM `{target}` WHERE {condition}", cparams, table)
        self._defer(f"INSERT INTO `{target}` ({cols}) SELECT {cols} FROM `{scratch}`", [], table)
        return {d: n for d, n in counts.items() if n}

    def replace_partitions_rows(self, table, partition_column, dates, columns, rows, *, scope=None,
                                clustering=()) -> dict[date, int]:
        names = list(columns)
        missing = [c for c in [partition_column, *(scope or {})] if c not in names]
        if missing:
            raise WarehouseError(f"{table}: no column(s) {', '.join(missing)} among the rows' columns")
        self._wh.ensure_table(table, columns, partition_column=partition_column, clustering=clustering)
        wanted = set(dates)
        at = names.index(partition_column)
        checks = [(names.index(key), value) for key, value in (scope or {}).items()]
        # the rows the DuckDB adapter's INSERT ... WHERE keeps, filtered here: no SQL needed
        kept = [r for r in rows if r[at] in wanted and all(r[i] == v for i, v in checks)]
        condition, cparams = self._condition(partition_column, sorted(wanted), scope, self._prefix())
        self._defer(f"DELETE FROM `{self._wh.table_id(table)}` WHERE {condition}", cparams, table)
        if kept:
            # A load job into a scratch table, then one INSERT ... SELECT in the commit script:
            # load jobs are free, have no request-size limit and use no DML quota, where rows sent
            # as query parameters are capped at 10 MB a job (and crawl through the emulator).
            scratch = self._new_scratch(split_table(table)[1])
            self._wh.load_rows(scratch, columns, kept)
            cols = ", ".join(f"`{n}`" for n in names)
            self._defer(f"INSERT INTO `{self._wh.table_id(table)}` ({cols}) SELECT {cols} FROM `{scratch}`",
                        [], table)
        return dict(Counter(r[at] for r in kept))

    def append_rows(self, table, columns, rows) -> None:
        if not rows:
            return
        self._wh.ensure_table(table, columns)
        for chunk in _row_chunks(columns, rows):
            prefix = self._prefix()
            self._defer(self._wh.insert_rows_sql(table, columns, f"{prefix}rows"),
                        [rows_parameter(f"{prefix}rows", columns, chunk)], table)

    def commit(self) -> None:
        """Run the collected writes as one atomic script (nothing to do if there are none)."""
        if not self._statements:
            return
        # each statement ends on its own line: a trailing "-- comment" must not swallow the ";"
        script = "BEGIN TRANSACTION;\n" + "".join(f"{s}\n;\n" for s in self._statements) + "COMMIT TRANSACTION;"
        self._wh._run(script, self._params, f"committing a transaction of {len(self._statements)} statements")

    def discard(self) -> None:
        """Drop this transaction's scratch tables (best effort: they also expire in 24 h)."""
        for table in self._scratch:
            with suppress(Exception):
                self._wh._client().delete_table(table, not_found_ok=True)
        self._scratch.clear()


# -- the warehouse --------------------------------------------------------------------------------
class BigQueryWarehouse(Warehouse):
    """BigQuery (or an emulator at ``BIGQUERY_EMULATOR_HOST``) through google-cloud-bigquery."""

    kind = "bigquery"
    one_writer_per_table = True

    def __init__(self, project: str, *, location: str = "US", dataset_prefix: str = "",
                 query_timeout_s: float = 300, price_per_tib: float = 6.25, read_only: bool = False) -> None:
        self.read_only = read_only
        if not isinstance(project, str) or not re.fullmatch(r"[a-z0-9.:-]{1,100}", project or ""):
            raise WarehouseError(f"invalid BigQuery project {project!r}")
        if not re.fullmatch(r"[A-Za-z0-9_]*", dataset_prefix or ""):
            raise WarehouseError(f"invalid dataset_prefix {dataset_prefix!r}: letters, digits and _ only")
        try:  # numbers may come as text from a --warehouse URL
            query_timeout_s, price_per_tib = float(query_timeout_s), float(price_per_tib)
        except (TypeError, ValueError) as exc:
            raise WarehouseError(f"invalid query_timeout_s {query_timeout_s!r} or price_per_tib {price_per_tib!r}: "
                                 "numbers expected") from exc
        if not query_timeout_s > 0:
            raise WarehouseError(f"invalid query_timeout_s {query_timeout_s!r}: a positive number of seconds")
        self.project = project
        self.location = location
        self.dataset_prefix = dataset_prefix or ""
        self.query_timeout_s = float(query_timeout_s)
        #: on-demand price, for cost estimates from :meth:`estimate_bytes`
        self.price_per_tib = float(price_per_tib)
        host = os.environ.get(EMULATOR_ENV, "").strip()
        if host and "://" not in host:
            host = "http://" + host
        self.emulator_host = host or None
        self.description = f"bigquery {project} ({location}{', prefix ' + dataset_prefix if dataset_prefix else ''})"
        if self.emulator_host:
            self.description += f" via emulator {self.emulator_host}"
        self._local = threading.local()
        self._clients: list[bigquery.Client] = []
        self._lock = threading.Lock()
        self._known_tables: set[str] = set()
        self._known_datasets: set[str] = set()
        self._credentials = self._make_credentials()

    @classmethod
    def from_config(cls, *, project: str | None = None, location: str = "US", dataset_prefix: str = "",
                    query_timeout_s: float = 300, price_per_tib: float = 6.25, base_dir: Path | None = None,
                    read_only: bool = False, **unknown: Any) -> BigQueryWarehouse:
        """Factory used by the ``bigquery`` warehouse type (``base_dir`` is unused: nothing is local)."""
        if unknown:
            raise WarehouseError(f"unknown bigquery warehouse option(s): {', '.join(sorted(unknown))}")
        if not project:
            raise WarehouseError("the bigquery warehouse needs a project")
        return cls(project, location=location, dataset_prefix=dataset_prefix, query_timeout_s=query_timeout_s,
                   price_per_tib=price_per_tib, read_only=read_only)

    # -- clients, names, labels -------------------------------------------------------------------
    def _make_credentials(self) -> Any:
        if self.emulator_host:
            return AnonymousCredentials()
        try:
            import google.auth

            credentials, _ = google.auth.default(scopes=list(bigquery.Client.SCOPE))
        except GoogleAuthError as exc:
            raise WarehouseUnavailable(f"cannot open BigQuery warehouse: no Google credentials ({exc})") from exc
        return credentials

    def _client(self) -> bigquery.Client:
        # one client per thread: the runner calls from many threads, and a client's HTTP
        # connection pool is sized for one
        client = getattr(self._local, "client", None)
        if client is None:
            options = ClientOptions(api_endpoint=self.emulator_host) if self.emulator_host else None
            client = bigquery.Client(project=self.project, location=self.location, credentials=self._credentials,
                                     client_options=options)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def dataset_id(self, dataset: str) -> str:
        """``project.<prefix>dataset`` of a logical dataset."""
        return f"{self.project}.{self.dataset_prefix}{check_identifier(dataset, 'dataset name')}"

    def table_id(self, table: str) -> str:
        """``project.<prefix>dataset.table`` of a logical ``dataset.table``."""
        dataset, name = split_table(table)
        return f"{self.dataset_id(dataset)}.{name}"

    def scratch_table(self, name: str) -> str:
        """A table id in the scratch dataset (created on first use, 24 h default expiration)."""
        dataset = self.dataset_id(SCRATCH_DATASET)
        self._ensure_dataset(dataset, expiration_ms=SCRATCH_EXPIRATION_MS)
        return f"{dataset}.{re.sub(r'[^A-Za-z0-9_]', '_', name)[:1000]}"

    def rewrite(self, sql: str, temps: Mapping[str, str] | None = None, param_prefix: str = "") -> Rewritten:
        """Map a statement's logical names (see :func:`rewrite_sql`)."""
        return rewrite_sql(sql, self.dataset_prefix, self.project, tuple(sorted((temps or {}).items())),
                           param_prefix)

    @contextmanager
    def job_labels(self, **labels: Any) -> Iterator[None]:
        """Label every job started in this context (and thread), e.g. ``run_id=..., processor=...``.

        Labels are made valid (lowercase, ``[a-z0-9_-]``, 63 characters); nested calls add up.
        The runner wraps each node in ``with wh.job_labels(run_id=run_id, processor=name):``
        so that BigQuery's job history and billing export can be split by run and processor.
        """
        token = _job_labels.set({**(_job_labels.get() or {}), **sanitize_labels(labels)})
        try:
            yield
        finally:
            _job_labels.reset(token)

    def job_config(self, params: Sequence[Any] = (), **extra: Any) -> bigquery.QueryJobConfig:
        """The configuration of every query job: parameters, labels, server-side timeout."""
        return bigquery.QueryJobConfig(
            query_parameters=list(params), use_legacy_sql=False, labels={"tool": "bfplan", **(_job_labels.get() or {})},
            job_timeout_ms=int(self.query_timeout_s * 1000), **extra)

    # -- jobs ---------------------------------------------------------------------------------------
    def _run(self, sql: str, params: Sequence[Any], what: str) -> Any:
        client = self._client()
        job = None
        try:
            job = client.query(sql, job_config=self.job_config(params), location=self.location)
            return job.result(timeout=self.query_timeout_s)
        except concurrent.futures.TimeoutError as exc:
            if job is not None:
                with suppress(Exception):
                    client.cancel_job(job.job_id, location=self.location)
            raise WarehouseError(f"{what}: no result after query_timeout_s={self.query_timeout_s:g}s "
                                 "(job cancelled)") from exc
        except Exception as exc:
            raise _wrap(exc, what) from exc

    def _run_rows(self, sql: str, params: Sequence[Any], what: str) -> list[dict[str, Any]]:
        result = self._run(sql, params, what)
        try:
            return _rows(result)
        except Exception as exc:
            raise _wrap(exc, what) from exc

    def _query_rewritten(self, rw: Rewritten, params: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        bound = {p: (params or {})[p] for p in rw.params if p in (params or {})}
        missing = [p for p in rw.params if p not in bound]
        if missing:
            raise WarehouseError(f"query parameter {', '.join('@' + m for m in missing)} has no value")
        return self._run_rows(rw.sql, query_parameters(bound), f"query failed [{excerpt(rw.sql)}]")

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._query_rewritten(self.rewrite(sql), params)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self.writable("run statements")
        rw = self.rewrite(sql)
        if rw.creates_temp:
            # BigQuery keeps temp tables only within a script or session; the emulator would not complain
            raise WarehouseError("CREATE TEMP TABLE needs a transaction on BigQuery (warehouse.transaction())")
        bound = compile_sql(sql, "bigquery").bind(dict(params or {}))
        self._run(rw.sql, query_parameters(bound), f"statement failed [{excerpt(rw.sql)}]")

    @contextmanager
    def transaction(self) -> Iterator[BigQueryTransaction]:
        self.writable("write")
        tx = BigQueryTransaction(self)
        try:
            yield tx
            tx.commit()
        finally:
            tx.discard()

    def estimate_bytes(self, sql: str, params: Mapping[str, Any] | None = None) -> int | None:
        """Bytes the query would scan, from a dry run (free). The emulator answers 0 whatever the
        query: that is "cannot tell" (None), not "free"."""
        rw = self.rewrite(sql)
        bound = compile_sql(sql, "bigquery").bind(dict(params or {}))
        config = self.job_config(query_parameters(bound), dry_run=True, use_query_cache=False)
        try:
            job = self._client().query(rw.sql, job_config=config, location=self.location)
        except Exception as exc:
            raise _wrap(exc, "dry run failed") from exc
        scanned = job.total_bytes_processed
        if scanned is None or (self.emulator_host and not scanned):
            return None
        return int(scanned)

    def query_read_only(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """A checked read-only query: parsed as one SELECT, then dry-run, and run only if BigQuery
        itself calls it a SELECT (a dry run is free and executes nothing)."""
        problem = read_only_problem(sql)
        if problem:
            raise WarehouseError(f"refused: {problem}")
        rw = self.rewrite(sql)
        bound = compile_sql(sql, "bigquery").bind(dict(params or {}))
        config = self.job_config(query_parameters(bound), dry_run=True, use_query_cache=False)
        try:
            job = self._client().query(rw.sql, job_config=config, location=self.location)
        except Exception as exc:
            raise _wrap(exc, f"query failed [{excerpt(rw.sql)}]") from exc
        kind = getattr(job, "statement_type", None)
        if kind not in (None, "SELECT"):  # the emulator leaves it unset; the parse above stands
            raise WarehouseError(f"refused: BigQuery says this is a {kind} statement, not a SELECT")
        return self._query_rewritten(rw, params)

    def cost_usd(self, scanned_bytes: int) -> float:
        """On-demand price of scanning ``scanned_bytes`` at ``price_per_tib``."""
        return scanned_bytes / 2**40 * self.price_per_tib

    def is_transient(self, exc: BaseException) -> bool:
        return is_transient_error(exc)

    # -- tables -------------------------------------------------------------------------------------
    def _ensure_dataset(self, dataset_id: str, *, expiration_ms: int | None = None) -> None:
        if dataset_id in self._known_datasets:
            return
        client = self._client()
        try:
            try:
                client.get_dataset(dataset_id)
            except gexc.NotFound:
                # get first: creating needs a permission that using an existing dataset does not
                ds = bigquery.Dataset(dataset_id)
                ds.location = self.location
                if expiration_ms:
                    ds.default_table_expiration_ms = expiration_ms
                client.create_dataset(ds, exists_ok=True)
        except Exception as exc:
            raise _wrap(exc, f"creating dataset {dataset_id}") from exc
        with self._lock:
            self._known_datasets.add(dataset_id)

    def get_schema(self, table_id: str) -> list[bigquery.SchemaField]:
        """The schema of a table by its full id."""
        try:
            return list(self._client().get_table(table_id).schema)
        except Exception as exc:
            raise _wrap(exc, f"reading the schema of {table_id}") from exc

    def table_exists(self, table: str) -> bool:
        if table in self._known_tables:
            return True
        try:
            self._client().get_table(self.table_id(table))
        except gexc.NotFound:
            return False
        except Exception as exc:
            raise _wrap(exc, f"looking up {table}") from exc
        with self._lock:
            self._known_tables.add(table)
        return True

    def table_columns(self, table: str) -> list[str]:
        """Column names of ``table`` in order ([] if it does not exist)."""
        try:
            return [f.name for f in self._client().get_table(self.table_id(table)).schema]
        except gexc.NotFound:
            return []
        except Exception as exc:
            raise _wrap(exc, f"looking up {table}") from exc

    def load_rows(self, table_id: str, columns: Mapping[str, str], rows: Sequence[Sequence[Any]]) -> None:
        """Load rows into ``table_id`` (created or truncated) with one load job."""
        schema = [bigquery.SchemaField(check_identifier(n, "column name"), BQ_TYPES[t]) for n, t in columns.items()]
        names = list(columns)
        json_cols = {n for n, t in columns.items() if t == "JSON"}

        def cell(name: str, value: Any) -> Any:
            if name in json_cols:
                return _json_text(value)  # JSON is stored as STRING text, as the DuckDB adapter does
            return value.isoformat() if isinstance(value, date | datetime) else value

        payload = [{n: cell(n, v) for n, v in zip(names, r, strict=True)} for r in rows]
        config = bigquery.LoadJobConfig(schema=schema, write_disposition="WRITE_TRUNCATE",
                                        source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON)
        try:
            job = self._client().load_table_from_json(payload, table_id, job_config=config, location=self.location)
            job.result(timeout=self.query_timeout_s)
        except Exception as exc:
            raise _wrap(exc, f"loading {len(rows)} rows into {table_id}") from exc

    def ensure_table(self, table, columns, *, partition_column=None, clustering=()) -> None:
        if self.table_exists(table):
            return
        bad = sorted(set(columns.values()) - COLUMN_TYPES)
        if bad:
            raise WarehouseError(f"unknown column type(s) {bad} for {table}")
        schema = [bigquery.SchemaField(check_identifier(n, "column name"), BQ_TYPES[t]) for n, t in columns.items()]
        self.ensure_table_schema(table, schema, partition_column=partition_column, clustering=clustering)

    def ensure_table_schema(self, table: str, schema: Sequence[bigquery.SchemaField], *,
                            partition_column: str | None = None, clustering: Sequence[str] = ()) -> None:
        """Create ``table`` with this schema, DAY-partitioned on ``partition_column`` and clustered."""
        if self.table_exists(table):
            return
        self.writable(f"create {table}")
        names = {f.name for f in schema}
        for col in [partition_column, *clustering]:
            if col is not None and check_identifier(col, "column name") not in names:
                raise WarehouseError(f"{table}: no column {col!r} to partition or cluster by")
        self._ensure_dataset(self.dataset_id(split_table(table)[0]))
        spec = bigquery.Table(self.table_id(table), schema=list(schema))
        if partition_column:
            spec.time_partitioning = bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY,
                                                               field=partition_column)
        if clustering:
            spec.clustering_fields = list(clustering)[:4]  # BigQuery's limit
        try:
            self._client().create_table(spec, exists_ok=True)
        except Exception as exc:
            raise _wrap(exc, f"creating {table}") from exc
        with self._lock:
            self._known_tables.add(table)

    def insert_rows_sql(self, table: str, columns: Mapping[str, str], param: str) -> str:
        """``INSERT ... SELECT r.col, ... FROM UNNEST(@param) AS r`` for a :func:`rows_parameter`."""
        cols = ", ".join(_quote(n) for n in columns)
        values = ", ".join(f"__bfplan_r.{_quote(n)}" for n in columns)
        return f"INSERT INTO `{self.table_id(table)}` ({cols}) SELECT {values} FROM UNNEST(@{param}) AS __bfplan_r"

    def append_rows(self, table, columns, rows) -> None:
        # One INSERT job per ~4 MB of rows, never one per row: the ledger appends thousands of
        # records at once, and per-row DML would queue behind BigQuery's per-table DML limits
        # (and cost a job each). Not the streaming API either: rows in its buffer cannot be
        # deleted or updated by DML for up to 90 minutes.
        if not rows:
            return
        self.writable(f"append to {table}")
        self.ensure_table(table, columns)
        for chunk in _row_chunks(columns, rows):
            self._run(self.insert_rows_sql(table, columns, "rows"), [rows_parameter("rows", columns, chunk)],
                      f"appending to {table}")

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            with suppress(Exception):
                client.close()


def _naive_utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _rows(result: Any) -> list[dict[str, Any]]:
    rows = []
    for row in result:
        rows.append({k: _naive_utc(v) for k, v in row.items()})
    return rows
