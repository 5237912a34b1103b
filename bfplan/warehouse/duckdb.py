"""The embedded default warehouse: DuckDB, one file, logical ``dataset.table`` → schema.table.

One DuckDB database object is shared; each thread gets its own cursor (DuckDB connections are
not thread-safe, cursors on one database are). Partition rewrites run as ``BEGIN; DELETE;
INSERT; <ledger marks>; COMMIT`` on one cursor, so a partition and its "done" mark commit
together and a crash at any point leaves the previous contents and ledger intact.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from bfplan.errors import LockError, WarehouseError, WarehouseUnavailable
from bfplan.warehouse.base import COLUMN_TYPES, Transaction, Warehouse, check_identifier, split_table
from bfplan.warehouse.dialect import compile_sql

DUCKDB_TYPES = {
    "STRING": "VARCHAR",
    "INT64": "BIGINT",
    "FLOAT64": "DOUBLE",
    "BOOL": "BOOLEAN",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "JSON": "VARCHAR",
}


def quote(name: str) -> str:
    """Quote one validated identifier for DuckDB."""
    return '"' + check_identifier(name) + '"'


def qualified(table: str) -> str:
    """``dataset.table`` → ``"dataset"."table"``."""
    dataset, name = split_table(table)
    return f"{quote(dataset)}.{quote(name)}"


def _wrap(exc: Exception, what: str) -> WarehouseError:
    # DuckDB raises TransactionException on write-write conflicts between concurrent
    # transactions: the loser can simply try again. IO errors are usually a full disk or a
    # lock held by another process; neither fixes itself within a retry, so they are permanent.
    transient = isinstance(exc, duckdb.TransactionException) or "Conflict" in str(exc)
    return WarehouseError(f"{what}: {exc}", transient=transient)


class DuckDBTransaction(Transaction):
    """A transaction on one cursor; BEGIN is sent lazily, at the first write."""

    def __init__(self, warehouse: DuckDBWarehouse, cursor: duckdb.DuckDBPyConnection) -> None:
        self._wh = warehouse
        self._cur = cursor
        self._open = False

    @property
    def wrote(self) -> bool:
        return self._open

    def _begin(self) -> None:
        if not self._open:
            self._cur.execute("BEGIN TRANSACTION")
            self._open = True

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._begin()
        self._wh._run(self._cur, sql, params)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        self._begin()
        cur = self._wh._run(self._cur, sql, params)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def _replace(
        self, table: str, partition_column: str, dates: Sequence[date], scope: Mapping[str, Any] | None,
        insert: str, params: dict[str, Any],
    ) -> dict[date, int]:
        target = qualified(table)
        col = quote(partition_column)
        where = [f"{col} = ANY($__dates)"]
        bound: dict[str, Any] = {"__dates": list(dates)}
        for i, (key, value) in enumerate(sorted((scope or {}).items())):
            where.append(f"{quote(key)} = $__scope{i}")
            bound[f"__scope{i}"] = value
        condition = " AND ".join(where)
        self._begin()
        try:
            self._cur.execute(f"DELETE FROM {target} WHERE {condition}", bound)
            # replace(), not format(): processor SQL may contain braces (struct literals)
            sql = insert.replace("{target}", target).replace("{condition}", condition)
            self._cur.execute(sql, {**params, **bound})
            counts = self._cur.execute(
                f"SELECT {col}, count(*) FROM {target} WHERE {condition} GROUP BY 1", bound
            ).fetchall()
        except duckdb.Error as exc:
            raise _wrap(exc, f"writing {table}") from exc
        return {d: n for d, n in counts}

    def replace_partitions(
        self, table, partition_column, dates, select_sql, params=None, *, scope=None, clustering=()
    ) -> dict[date, int]:
        compiled = compile_sql(select_sql, "duckdb")
        bound = compiled.bind(dict(params or {}))
        self._ensure(table, f"CREATE TABLE IF NOT EXISTS {qualified(table)} AS "
                            f"SELECT * FROM ({compiled.sql}) AS __q LIMIT 0", bound)
        # BY NAME: the query's column order need not match the table's; a column the table
        # lacks is a clear binder error instead of silently shifted data. Rows outside the
        # batch's dates are dropped, so a processor can never overwrite another partition.
        insert = "INSERT INTO {target} BY NAME SELECT * FROM (" + compiled.sql + ") AS __q WHERE {condition}"
        return self._replace(table, partition_column, dates, scope, insert, bound)

    def _ensure(self, table: str, ddl: str, params: dict[str, Any] | None = None) -> None:
        """Create ``table`` if missing, visibly to this transaction.

        DuckDB transactions see the catalog as of their BEGIN. Before BEGIN, the table is
        created in autocommit (serialized); once the transaction is open (its query may read
        its own temp tables) it is created inside it: two first writers then conflict at
        COMMIT, which is a transient error and the retry finds the table.
        """
        if self._wh.table_exists(table):
            return
        if not self._open:
            self._wh._create(table, ddl, params)
            return
        dataset, _ = split_table(table)
        try:
            self._cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(dataset)}")
            self._cur.execute(ddl, params or {})
        except duckdb.Error as exc:
            raise _wrap(exc, f"creating {table}") from exc

    def replace_partitions_rows(
        self, table, partition_column, dates, columns, rows, *, scope=None, clustering=()
    ) -> dict[date, int]:
        self._ensure(table, self._wh.create_ddl(table, columns))
        names = list(columns)
        values = {f"__c{i}": [r[i] for r in rows] for i in range(len(names))}
        select = ", ".join(
            f"unnest($__c{i}::{DUCKDB_TYPES[columns[n]]}[]) AS {quote(n)}" for i, n in enumerate(names)
        )
        cols = ", ".join(quote(n) for n in names)
        insert = f"INSERT INTO {{target}} ({cols}) SELECT * FROM (SELECT {select}) AS __q WHERE {{condition}}"
        return self._replace(table, partition_column, dates, scope, insert, values)

    def append_rows(self, table, columns, rows) -> None:
        if not rows:
            return
        self._ensure(table, self._wh.create_ddl(table, columns))
        self._begin()
        self._wh._append(self._cur, table, columns, rows)


class DuckDBWarehouse(Warehouse):
    """DuckDB in one file (or ``:memory:``)."""

    kind = "duckdb"

    def __init__(self, path: str | Path = ":memory:", *, threads: int | None = None) -> None:
        self.path = str(path)
        self.description = f"duckdb {self.path}"
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        config = {"threads": threads} if threads else {}
        try:
            self._db = duckdb.connect(self.path, config=config)
        except duckdb.Error as exc:
            msg = str(exc).splitlines()[0]
            if "lock" in msg.lower():
                from bfplan.lock import describe_holder

                holder = describe_holder(self.path)
                if holder:
                    raise LockError(f"{self.path} is {holder}") from exc
                msg = f"{self.path} is in use by another process ({msg})"
            raise WarehouseUnavailable(f"cannot open DuckDB warehouse: {msg}") from exc
        self._local = threading.local()
        self._ddl_lock = threading.Lock()
        self._known_tables: set[str] = set()

    @classmethod
    def from_config(cls, *, path: str = ".bfplan/warehouse.duckdb", base_dir: Path | None = None,
                    threads: int | None = 1, **unknown: Any) -> DuckDBWarehouse:
        """Factory used by the ``duckdb`` warehouse type: ``path`` is relative to the plan.

        ``threads`` defaults to 1 per query: DuckDB's parallel aggregation adds floats in an
        order that varies between runs (last-bit differences), and a backfill must give the
        same table, hash for hash, however often it is killed and resumed. The runner's
        ``jobs`` still run nodes side by side; raise ``threads`` when speed beats repeatability.
        """
        if unknown:
            raise WarehouseError(f"unknown duckdb warehouse option(s): {', '.join(sorted(unknown))}")
        if path != ":memory:" and base_dir is not None and not Path(path).is_absolute():
            path = os.path.normpath(base_dir / path)  # plans/../.bfplan/x.duckdb -> .bfplan/x.duckdb
        return cls(path, threads=threads)

    # -- connections -------------------------------------------------------------------------
    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._db.cursor()
            self._local.cursor = cur
        return cur

    def _run(self, cur: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any] | None):
        compiled = compile_sql(sql, "duckdb")
        try:
            return cur.execute(compiled.sql, compiled.bind(dict(params or {})))
        except duckdb.Error as exc:
            raise _wrap(exc, "query failed") from exc

    # -- reads and simple statements --------------------------------------------------------
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        cur = self._run(self._cursor(), sql, params)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(self._cursor(), sql, params)

    def native(self, sql: str, params: Mapping[str, Any] | list[Any] | None = None) -> list[tuple]:
        """Run DuckDB SQL as is (tests and benchmarks; engine code uses :meth:`query`)."""
        return self._cursor().execute(sql, params).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[DuckDBTransaction]:
        cur = self._cursor()
        tx = DuckDBTransaction(self, cur)
        try:
            yield tx
        except BaseException:
            if tx.wrote:
                cur.execute("ROLLBACK")
            raise
        if tx.wrote:
            try:
                cur.execute("COMMIT")
            except duckdb.Error as exc:
                # A failed COMMIT has already rolled back; say so and let the caller retry.
                raise _wrap(exc, "commit failed") from exc

    # -- tables ------------------------------------------------------------------------------
    def _meta(self) -> duckdb.DuckDBPyConnection:
        # Catalog look-ups on a cursor that is never inside a write transaction, so they see
        # committed tables only (a table created by a transaction that later rolls back must
        # not be remembered as existing).
        cur = getattr(self._local, "meta", None)
        if cur is None:
            cur = self._db.cursor()
            self._local.meta = cur
        return cur

    def table_exists(self, table: str) -> bool:
        dataset, name = split_table(table)
        if table in self._known_tables:
            return True
        rows = self._meta().execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [dataset, name],
        ).fetchall()
        if rows:
            self._known_tables.add(table)
        return bool(rows)

    def table_columns(self, table: str) -> list[str]:
        """Column names of ``table`` in order ([] if it does not exist)."""
        dataset, name = split_table(table)
        rows = self._meta().execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
            "AND table_name = ? ORDER BY ordinal_position",
            [dataset, name],
        ).fetchall()
        return [r[0] for r in rows]

    def _create(self, table: str, ddl: str, params: dict[str, Any] | None = None) -> None:
        # DDL runs on its own cursor in autocommit, serialized: two threads creating the same
        # table inside their write transactions would conflict in DuckDB's catalog.
        with self._ddl_lock:
            if self.table_exists(table):
                return
            dataset, _ = split_table(table)
            cur = self._db.cursor()
            try:
                cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(dataset)}")
                cur.execute(ddl, params or {})
            except duckdb.Error as exc:
                raise _wrap(exc, f"creating {table}") from exc
            finally:
                cur.close()
            self._known_tables.add(table)

    def create_ddl(self, table: str, columns: Mapping[str, str]) -> str:
        """CREATE TABLE IF NOT EXISTS for BigQuery-typed ``columns``."""
        bad = sorted(set(columns.values()) - COLUMN_TYPES)
        if bad:
            raise WarehouseError(f"unknown column type(s) {bad} for {table}")
        cols = ", ".join(f"{quote(n)} {DUCKDB_TYPES[t]}" for n, t in columns.items())
        return f"CREATE TABLE IF NOT EXISTS {qualified(table)} ({cols})"

    def ensure_table_as(self, table, select_sql, params=None, *, partition_column=None, clustering=()) -> None:
        if self.table_exists(table):
            return
        compiled = compile_sql(select_sql, "duckdb")
        self._create(table, f"CREATE TABLE IF NOT EXISTS {qualified(table)} AS "
                            f"SELECT * FROM ({compiled.sql}) AS __q LIMIT 0", compiled.bind(dict(params or {})))

    def ensure_table(self, table, columns, *, partition_column=None, clustering=()) -> None:
        if not self.table_exists(table):
            self._create(table, self.create_ddl(table, columns))



    def _append(self, cur, table, columns, rows) -> None:
        names = list(columns)
        values = {f"__c{i}": [r[i] for r in rows] for i in range(len(names))}
        select = ", ".join(
            f"unnest($__c{i}::{DUCKDB_TYPES[columns[n]]}[])" for i, n in enumerate(names)
        )
        cols = ", ".join(quote(n) for n in names)
        try:
            cur.execute(f"INSERT INTO {qualified(table)} ({cols}) SELECT {select}", values)
        except duckdb.Error as exc:
            raise _wrap(exc, f"appending to {table}") from exc

    def append_rows(self, table, columns, rows) -> None:
        if not rows:
            return
        self.ensure_table(table, columns)
        self._append(self._cursor(), table, columns, rows)

    def close(self) -> None:
        self._db.close()
