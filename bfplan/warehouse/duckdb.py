"""The embedded default warehouse: DuckDB, one file, logical ``dataset.table`` → schema.table.

One DuckDB database object is shared; each thread gets its own cursor (DuckDB connections are
not thread-safe, cursors on one database are). Partition rewrites run as ``BEGIN; DELETE;
INSERT; <ledger marks>; COMMIT`` on one cursor, so a partition and its "done" mark commit
together and a crash at any point leaves the previous contents and ledger intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from bfplan.errors import LockError, WarehouseError, WarehouseUnavailable
from bfplan.hostinfo import host as this_host
from bfplan.hostinfo import pid_alive
from bfplan.warehouse.base import COLUMN_TYPES, Warehouse, split_table
from bfplan.warehouse.dialect import compile_sql, read_only_problem
from bfplan.warehouse.duckdb_common import DUCKDB_TYPES, failed, qualified, quote, quote_catalog
from bfplan.warehouse.duckdb_transaction import DuckDBTransaction


def sidecar_path(db_path: str) -> Path:
    """Where the run holding a DuckDB file describes itself: DuckDB's own file lock keeps every
    other process out, so that process can still say who holds the file."""
    return Path(f"{db_path}.run.json")


def describe_holder(db_path: str) -> str | None:
    """For a DuckDB file another process holds: 'locked by run R since T on host H (pid P)';
    None when no run describes itself, or the run that did is gone (killed: a stale file)."""
    try:
        info = json.loads(sidecar_path(db_path).read_text())
        host, pid = info["host"], int(info["pid"])
        text = f"locked by run {info['run_id']} since {info['since']} on host {host} (pid {pid})"
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if host == this_host() and not pid_alive(pid):
        return None
    return text


class DuckDBWarehouse(Warehouse):
    """DuckDB in one file (or ``:memory:``).

    Read-only (``read_only=True``) opens the file read-only and never creates it: where no file
    exists yet, an empty in-memory database stands in (``exists`` is then False).
    """

    kind = "duckdb"

    def __init__(self, path: str | Path = ":memory:", *, threads: int | None = None, read_only: bool = False) -> None:
        self.path = str(path)
        self.read_only = read_only
        self.description = f"duckdb {self.path}"
        config: dict[str, Any] = {"threads": threads} if threads else {}
        target = self.path
        if self.path != ":memory:":
            file = Path(self.path)
            try:
                usable = "\0" not in self.path and not file.is_dir()
                present = usable and file.exists()
            except OSError:
                usable = present = False
            if not usable:
                raise WarehouseUnavailable(f"cannot open DuckDB warehouse: {self.path[:200]!r} is not a file path")
            if read_only and not present:
                target, self.exists = ":memory:", False
                self.description += " (does not exist yet)"
            elif not read_only:
                try:
                    file.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise WarehouseUnavailable(f"cannot create the folder of {self.path}: {exc.strerror}") from exc
        try:
            self._db = duckdb.connect(target, read_only=read_only and target != ":memory:", config=config)
        except duckdb.Error as exc:
            msg = " ".join(str(exc).split())
            if "lock" in msg.lower():
                holder = describe_holder(self.path)
                if holder:
                    raise LockError(f"{self.path} is {holder}", progress=progress_path(self.path)) from exc
                msg = f"{self.path} is in use by another process ({msg})"
            raise WarehouseUnavailable(f"cannot open DuckDB warehouse: {msg}") from exc
        #: the database's name, which DuckDB takes from the file's: every table is named with it
        self.catalog: str = self._db.execute("SELECT current_database()").fetchall()[0][0]
        self._local = threading.local()
        self._ddl_lock = threading.Lock()

    @classmethod
    def from_config(cls, *, path: str = ".bfplan/warehouse.duckdb", base_dir: Path | None = None,
                    threads: int | None = 1, read_only: bool = False, **unknown: Any) -> DuckDBWarehouse:
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
        return cls(path, threads=threads, read_only=read_only)

    # -- connections -------------------------------------------------------------------------
    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._db.cursor()
            self._local.cursor = cur
        return cur

    def _run(self, cur: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any] | None):
        compiled = compile_sql(sql, "duckdb", self.catalog)
        try:
            return cur.execute(compiled.sql, compiled.bind(dict(params or {})))
        except (duckdb.Error, RuntimeError) as exc:
            raise failed(exc, "query failed") from exc

    # -- reads and simple statements --------------------------------------------------------
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        cur = self._run(self._cursor(), sql, params)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self.writable("run statements")
        self._run(self._cursor(), sql, params)

    def query_read_only(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """A checked read-only query, inside a transaction that is always rolled back: whatever
        the statement could do, nothing of it stays."""
        problem = read_only_problem(sql)
        if problem:
            raise WarehouseError(f"refused: {problem}")
        cur = self._db.cursor()
        try:
            cur.execute("BEGIN TRANSACTION")
            result = self._run(cur, sql, params)
            names = [d[0] for d in result.description or ()]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
        finally:
            with contextlib.suppress(duckdb.Error):
                cur.execute("ROLLBACK")
            cur.close()

    def verify_readable(self, tables: Sequence[str]) -> None:
        """Read every column of every row of ``tables``: DuckDB checks a block's checksum only
        when it reads it, so a damaged file otherwise passes for whole until a query lands on
        the damage. One aggregate query per table (hashes of every column)."""
        for table in tables:
            if not self.table_exists(table):
                continue
            try:
                self._meta().execute("SELECT count(*), bit_xor(hash(COLUMNS(*))) "
                                     f"FROM {qualified(table, self.catalog)}").fetchall()
            except (duckdb.Error, RuntimeError) as exc:
                if isinstance(failed(exc, ""), KeyboardInterrupt):
                    raise KeyboardInterrupt from exc
                first = " ".join(str(exc).split())
                raise WarehouseUnavailable(f"{self.path} cannot be read ({table}: {first}); restore it from a "
                                           "copy, or move it away to rebuild from scratch") from exc

    def native(self, sql: str, params: Mapping[str, Any] | list[Any] | None = None) -> list[tuple]:
        """Run DuckDB SQL as is (tests and benchmarks; engine code uses :meth:`query`)."""
        return self._cursor().execute(sql, params).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[DuckDBTransaction]:
        self.writable("write")
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
            except (duckdb.Error, RuntimeError) as exc:
                # A failed COMMIT has already rolled back; say so and let the caller retry.
                raise failed(exc, "commit failed") from exc

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

    def _lookup_table(self, table: str) -> bool:
        dataset, name = split_table(table)
        try:
            rows = self._meta().execute(
                "SELECT 1 FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ? "
                "AND table_name = ?", [self.catalog, dataset, name],
            ).fetchall()
        except (duckdb.Error, RuntimeError) as exc:
            raise failed(exc, f"looking up {table}") from exc
        return bool(rows)

    def table_columns(self, table: str) -> list[str]:
        """Column names of ``table`` in order ([] if it does not exist)."""
        dataset, name = split_table(table)
        try:
            rows = self._meta().execute(
                "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? "
                "AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [self.catalog, dataset, name],
            ).fetchall()
        except (duckdb.Error, RuntimeError) as exc:
            raise failed(exc, f"looking up {table}") from exc
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
                cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_catalog(self.catalog)}.{quote(dataset)}")
                cur.execute(ddl, params or {})
            except (duckdb.Error, RuntimeError) as exc:
                raise failed(exc, f"creating {table}") from exc
            finally:
                cur.close()
            self.remember_table(table)

    def create_ddl(self, table: str, columns: Mapping[str, str]) -> str:
        """CREATE TABLE IF NOT EXISTS for BigQuery-typed ``columns``."""
        bad = sorted(set(columns.values()) - COLUMN_TYPES)
        if bad:
            raise WarehouseError(f"unknown column type(s) {bad} for {table}")
        cols = ", ".join(f"{quote(n)} {DUCKDB_TYPES[t]}" for n, t in columns.items())
        return f"CREATE TABLE IF NOT EXISTS {qualified(table, self.catalog)} ({cols})"

    def ensure_table_as(self, table, select_sql, params=None, *, partition_column=None, clustering=()) -> None:
        if self.table_exists(table):
            return
        self.writable(f"create {table}")
        compiled = compile_sql(select_sql, "duckdb", self.catalog)
        self._create(table, f"CREATE TABLE IF NOT EXISTS {qualified(table, self.catalog)} AS "
                            f"SELECT * FROM ({compiled.sql}) AS __q LIMIT 0", compiled.bind(dict(params or {})))

    def _create_table(self, table: str, columns: Mapping[str, str], *, partition_column: str | None,
                      clustering: Sequence[str]) -> None:
        self._create(table, self.create_ddl(table, columns))  # DuckDB: no partitions nor clustering

    def _append_rows(self, table: str, columns: Mapping[str, str], rows: Sequence[Sequence[Any]]) -> None:
        self._append(self._cursor(), table, columns, rows)

    def _append(self, cur: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, str],
                rows: Sequence[Sequence[Any]]) -> None:
        names = list(columns)
        values = {f"__c{i}": [r[i] for r in rows] for i in range(len(names))}
        select = ", ".join(
            f"unnest($__c{i}::{DUCKDB_TYPES[columns[n]]}[])" for i, n in enumerate(names)
        )
        cols = ", ".join(quote(n) for n in names)
        try:
            cur.execute(f"INSERT INTO {qualified(table, self.catalog)} ({cols}) SELECT {select}", values)
        except (duckdb.Error, RuntimeError) as exc:
            raise failed(exc, f"appending to {table}") from exc

    # -- who holds the file, and how far its run is ------------------------------------------
    def announce_holder(self, info: Mapping[str, Any] | None) -> None:
        """Write (or, with None, remove) the file naming the run that holds this database."""
        if self.path == ":memory:":
            return
        side = sidecar_path(self.path)
        if info is None:
            side.unlink(missing_ok=True)
            progress_path(self.path).unlink(missing_ok=True)
        else:
            _write_atomic(side, json.dumps(dict(info)))

    def publish_progress(self, doc: Mapping[str, Any]) -> None:
        """Replace the live progress file next to the database (read by ``bfplan status`` while
        the run holds the file); written whole, then renamed, so a reader never sees half."""
        if self.path != ":memory:":
            _write_atomic(progress_path(self.path), json.dumps(doc, default=str, separators=(",", ":")))

    def close(self) -> None:
        self._db.close()


def progress_path(db_path: str) -> Path:
    """The live progress file of the run holding ``db_path``."""
    return Path(f"{db_path}.progress.json")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
