"""One BigQuery transaction: writes collected for one atomic commit script.

A transaction collects its writes (partition DELETE + INSERT, ledger marks, the processor's own
DML) and runs them at commit as ONE multi-statement job: ``BEGIN TRANSACTION; ...; COMMIT
TRANSACTION;`` — atomic (a failing statement rolls the whole script back, so the data and its
"done" marks commit together or not at all), one job's overhead, and a constant number of DML
jobs per node whatever the batch size. Work that must happen before commit runs at once on
private scratch tables (see :mod:`bfplan.warehouse.bigquery.adapter`).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import date
from typing import Any, Protocol

from google.cloud import bigquery

from bfplan.errors import WarehouseError
from bfplan.warehouse.base import Transaction, split_table
from bfplan.warehouse.bigquery.params import query_parameters, row_chunks, rows_parameter
from bfplan.warehouse.bigquery.rewrite import Rewritten, quote
from bfplan.warehouse.dialect import compile_sql


class BigQueryEngine(Protocol):
    """What a transaction needs of the BigQuery warehouse it belongs to."""

    def rewrite(self, sql: str, temps: Mapping[str, str] | None = None, param_prefix: str = "") -> Rewritten: ...

    def _run(self, sql: str, params: Sequence[Any], what: str) -> Any: ...

    def _run_rows(self, sql: str, params: Sequence[Any], what: str) -> list[dict[str, Any]]: ...

    def _query_rewritten(self, rw: Rewritten, params: Mapping[str, Any] | None) -> list[dict[str, Any]]: ...

    def _client(self) -> bigquery.Client: ...

    def scratch_table(self, name: str) -> str: ...

    def table_id(self, table: str) -> str: ...

    def get_schema(self, table_id: str) -> list[bigquery.SchemaField]: ...

    def ensure_table(self, table: str, columns: Mapping[str, str], *, partition_column: str | None = None,
                     clustering: Sequence[str] = ()) -> None: ...

    def ensure_table_schema(self, table: str, schema: Sequence[bigquery.SchemaField], *,
                            partition_column: str | None = None, clustering: Sequence[str] = ()) -> None: ...

    def load_rows(self, table_id: str, columns: Mapping[str, str], rows: Sequence[Sequence[Any]]) -> None: ...

    def insert_rows_sql(self, table: str, columns: Mapping[str, str], param: str) -> str: ...


class BigQueryTransaction(Transaction):
    """Writes collected for one commit script; scratch tables for what must run before it."""

    def __init__(self, warehouse: BigQueryEngine) -> None:
        self._wh = warehouse
        self._id = uuid.uuid4().hex[:12]
        self._temps: dict[str, str] = {}
        self._scratch: list[str] = []
        self._statements: list[str] = []
        self._params: list[Any] = []
        self._pending: set[str] = set()
        self._n = 0
        #: table -> the scratch table holding the rows the commit copies into it
        self._staged: dict[str, str] = {}
        #: table -> date -> (rows, content hash) of what the scratch table holds, while it holds
        self._content: dict[str, dict[date, tuple[int, int | None]]] = {}

    @property
    def wrote(self) -> bool:
        return bool(self._statements)

    def staged(self, table: str) -> str | None:
        scratch = self._staged.get(table)
        if scratch is None:
            return None
        # a temp name for the scratch table: statements on it run at once, before the commit
        # script copies it into the table
        name = "__bfplan_staged_" + split_table(table)[1]
        self._temps[name] = scratch
        return name

    def fingerprints(self, table: str, partition_column: str,
                     dates: Sequence[date]) -> dict[date, tuple[int, int | None]]:
        known = self._content.get(table)
        if known is not None:  # counted (and hashed) when the batch was computed
            return {d: known[d] for d in dates if d in known}
        scratch = self._staged.get(table)
        if scratch is None:
            return {}
        col = quote(partition_column)
        rows = self._wh._run_rows(
            f"SELECT CAST({col} AS DATE) AS d, COUNT(*) AS n, BIT_XOR(FARM_FINGERPRINT(TO_JSON_STRING(t))) AS h "
            f"FROM `{scratch}` AS t WHERE {col} IN UNNEST(@dates) GROUP BY 1",
            query_parameters({"dates": sorted(set(dates))}), f"fingerprinting {table}")
        return {r["d"]: (int(r["n"]), int(r["h"])) for r in rows}

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
            for table, scratch in self._staged.items():  # its counts and hash no longer hold
                if self._temps.get(rw.writes_temp) == scratch:
                    self._content.pop(table, None)
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
        where = [f"{quote(partition_column)} IN UNNEST(@{prefix}dates)"]
        values: dict[str, Any] = {"dates": list(dates)}
        for i, (key, value) in enumerate(sorted((scope or {}).items())):
            where.append(f"{quote(key)} = @{prefix}scope{i}")
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
        # the batch's rows and content hash per partition, from the same job that computes it
        content = "NULL" if scope else "BIT_XOR(FARM_FINGERPRINT(TO_JSON_STRING(__t)))"
        script = (f"CREATE OR REPLACE TABLE `{scratch}` AS SELECT * FROM (\n{rw.sql}\n) AS __bfplan_q "
                  f"WHERE {condition};\n"
                  f"SELECT {quote(partition_column)} AS d, COUNT(*) AS n, {content} AS h FROM `{scratch}` AS __t "
                  "GROUP BY 1")
        fingerprints = {r["d"]: (int(r["n"]), None if r["h"] is None else int(r["h"]))
                        for r in self._wh._run_rows(script, query_parameters(bound) + cparams, f"computing {table}")}
        counts = {d: n for d, (n, _) in fingerprints.items()}
        schema = self._wh.get_schema(scratch)
        names = [f.name for f in schema]
        if partition_column not in names:
            raise WarehouseError(f"{table}: the query returns no column {partition_column!r}")
        self._wh.ensure_table_schema(table, schema, partition_column=partition_column, clustering=clustering)
        condition, cparams = self._condition(partition_column, dates, scope, self._prefix())
        cols = ", ".join(f"`{n}`" for n in names)
        self._defer(f"DELETE FROM `{target}` WHERE {condition}", cparams, table)
        self._defer(f"INSERT INTO `{target}` ({cols}) SELECT {cols} FROM `{scratch}`", [], table)
        self._staged[table] = scratch
        if scope:  # a part of each partition: its hash is not the partition's
            self._content.pop(table, None)
        else:
            self._content[table] = fingerprints
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
            self._staged[table] = scratch
        else:
            self._staged.pop(table, None)
        # rows counted here; no content hash without a query job of its own (the ledger then
        # compares the rows alone)
        self._content[table] = {d: (n, None) for d, n in Counter(r[at] for r in kept).items()}
        return dict(Counter(r[at] for r in kept))

    def append_rows(self, table, columns, rows) -> None:
        if not rows:
            return
        self._wh.ensure_table(table, columns)
        for chunk in row_chunks(columns, rows):
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
