"""One DuckDB write transaction: ``BEGIN; DELETE; INSERT; <ledger marks>; COMMIT`` on one cursor.

A partition and its "done" mark commit together, and a crash at any point leaves the previous
contents and ledger intact. BEGIN is sent lazily, at the first write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Protocol

import duckdb

from bfplan.warehouse.base import Transaction, signed64, split_table
from bfplan.warehouse.dialect import compile_sql
from bfplan.warehouse.duckdb_common import DUCKDB_TYPES, failed, qualified, quote, quote_catalog


class DuckDBEngine(Protocol):
    """What a transaction needs of the DuckDB warehouse it belongs to."""

    catalog: str

    def _run(self, cur: duckdb.DuckDBPyConnection, sql: str,
             params: Mapping[str, Any] | None) -> duckdb.DuckDBPyConnection: ...

    def table_exists(self, table: str) -> bool: ...

    def _create(self, table: str, ddl: str, params: dict[str, Any] | None = None) -> None: ...

    def create_ddl(self, table: str, columns: Mapping[str, str]) -> str: ...

    def _append(self, cur: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, str],
                rows: Sequence[Sequence[Any]]) -> None: ...


class DuckDBTransaction(Transaction):
    """A transaction on one cursor; BEGIN is sent lazily, at the first write."""

    def __init__(self, warehouse: DuckDBEngine, cursor: duckdb.DuckDBPyConnection) -> None:
        self._wh = warehouse
        self._cur = cursor
        self._open = False
        self._written: set[str] = set()
        #: table -> date -> (rows, content hash) of what this transaction wrote, while it holds
        self._content: dict[str, dict[date, tuple[int, int | None]]] = {}

    @property
    def wrote(self) -> bool:
        return self._open

    def staged(self, table: str) -> str | None:
        # the table itself: inside the transaction it already holds the new rows
        return table if table in self._written else None

    def fingerprints(self, table: str, partition_column: str,
                     dates: Sequence[date]) -> dict[date, tuple[int, int | None]]:
        if table not in self._written:
            return {}
        known = self._content.get(table)
        if known is not None:  # counted and hashed by the write itself
            return {d: known[d] for d in dates if d in known}
        col = quote(partition_column)
        try:
            rows = self._cur.execute(
                f"SELECT CAST({col} AS DATE), count(*), bit_xor(hash(t)) "
                f"FROM {qualified(table, self._wh.catalog)} AS t "
                f"WHERE {col} = ANY($dates) GROUP BY 1", {"dates": list(dates)}).fetchall()
        except (duckdb.Error, RuntimeError) as exc:
            raise failed(exc, f"fingerprinting {table}") from exc
        return {d: (n, signed64(int(h))) for d, n, h in rows}

    def _begin(self) -> None:
        if not self._open:
            self._cur.execute("BEGIN TRANSACTION")
            self._open = True

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        for table in [t for t in self._content if t in sql]:  # it may change what was written there
            del self._content[table]
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
        target = qualified(table, self._wh.catalog)
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
            # the rows and content hash of each partition written: the counts the caller gets,
            # and the fingerprints the ledger records, in one pass
            content = "NULL" if scope else "bit_xor(hash(__t))"
            counts = self._cur.execute(
                f"SELECT {col}, count(*), {content} FROM {target} AS __t WHERE {condition} GROUP BY 1",
                bound).fetchall()
        except (duckdb.Error, RuntimeError) as exc:
            raise failed(exc, f"writing {table}") from exc
        self._written.add(table)
        if scope:  # a part of each partition: its hash is not the partition's
            self._content.pop(table, None)
        else:
            self._content[table] = {d: (n, signed64(int(h))) for d, n, h in counts}
        return {d: n for d, n, _ in counts}

    def replace_partitions(
        self, table, partition_column, dates, select_sql, params=None, *, scope=None, clustering=()
    ) -> dict[date, int]:
        compiled = compile_sql(select_sql, "duckdb", self._wh.catalog)
        bound = compiled.bind(dict(params or {}))
        self._ensure(table, f"CREATE TABLE IF NOT EXISTS {qualified(table, self._wh.catalog)} AS "
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
            self._cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_catalog(self._wh.catalog)}.{quote(dataset)}")
            self._cur.execute(ddl, params or {})
        except (duckdb.Error, RuntimeError) as exc:
            raise failed(exc, f"creating {table}") from exc

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
