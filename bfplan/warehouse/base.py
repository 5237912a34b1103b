"""The warehouse protocol every engine adapter implements.

SQL handed to a warehouse is **BigQuery Standard SQL** with named parameters (``@start_date``);
adapters for other engines transpile it (see :mod:`bfplan.warehouse.dialect`). Values are
always bound parameters. Table names are logical ``dataset.table`` identifiers, validated
with :func:`split_table`; adapters map them to their own namespaces and quote them.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import date
from typing import Any

from bfplan.errors import WarehouseError
from bfplan.warehouse.dialect import read_only_problem

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: Column types of row-based writes, in BigQuery's names; adapters map them.
COLUMN_TYPES = frozenset({"STRING", "INT64", "FLOAT64", "BOOL", "DATE", "TIMESTAMP", "JSON"})


def signed64(value: int) -> int:
    """An unsigned 64-bit hash as the signed integer an INT64 column holds."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def check_identifier(name: str, what: str = "identifier") -> str:
    """Return ``name`` if it is a plain ``[A-Za-z_][A-Za-z0-9_]*`` identifier, else raise."""
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise WarehouseError(f"invalid {what} {name!r}: expected [A-Za-z_][A-Za-z0-9_]*")
    return name


def split_table(table: str) -> tuple[str, str]:
    """Split and validate a logical ``dataset.table`` name."""
    parts = table.split(".") if isinstance(table, str) else []
    if len(parts) != 2:
        raise WarehouseError(f"invalid table name {table!r}: expected 'dataset.table'")
    return check_identifier(parts[0], "dataset name"), check_identifier(parts[1], "table name")


class Transaction(ABC):
    """Writes that commit together or not at all (see :meth:`Warehouse.transaction`)."""

    @abstractmethod
    def replace_partitions(
        self,
        table: str,
        partition_column: str,
        dates: Sequence[date],
        select_sql: str,
        params: Mapping[str, Any] | None = None,
        *,
        scope: Mapping[str, Any] | None = None,
        clustering: Sequence[str] = (),
    ) -> dict[date, int]:
        """Delete exactly the rows of ``dates`` (and ``scope``, e.g. one processor's rows of a
        shared failures table) and insert the rows of ``select_sql`` that fall in ``dates``.

        Creates the table from the query's shape on first use. Returns rows per date written.
        """

    @abstractmethod
    def replace_partitions_rows(
        self,
        table: str,
        partition_column: str,
        dates: Sequence[date],
        columns: Mapping[str, str],
        rows: Sequence[Sequence[Any]],
        *,
        scope: Mapping[str, Any] | None = None,
        clustering: Sequence[str] = (),
    ) -> dict[date, int]:
        """Like :meth:`replace_partitions`, from Python rows with ``columns`` name → type."""

    @abstractmethod
    def append_rows(
        self, table: str, columns: Mapping[str, str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Append rows (used by the ledger so its marks commit with the data they describe)."""

    @abstractmethod
    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run one statement inside the transaction."""

    @abstractmethod
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Read inside the transaction (sees its own uncommitted writes and temp tables)."""

    @property
    @abstractmethod
    def wrote(self) -> bool:
        """True once anything was written, i.e. there is something to commit."""

    @abstractmethod
    def fingerprints(self, table: str, partition_column: str,
                     dates: Sequence[date]) -> dict[date, tuple[int, int | None]]:
        """Per date of ``dates``, (rows, content hash) of what this transaction writes to ``table``:
        the hash is an order-independent XOR of row hashes, as a signed 64-bit integer (equal
        contents, equal hashes, within one warehouse), or None where the write path has none."""

    @abstractmethod
    def staged(self, table: str) -> str | None:
        """A name this transaction's :meth:`query` and :meth:`execute` read (and change) as the
        rows it is writing to ``table`` — before commit, so checks can judge them and set some
        aside. Callers filter it by the batch's dates (it may hold other partitions too).
        None when this transaction has not rewritten partitions of ``table``."""


class Warehouse(ABC):
    """Where tables and the ledger live. Thread-safe: the runner calls it from many threads.

    What every engine shares lives here: which tables are known to exist (looked up once,
    then remembered), creating a table from typed columns, appending rows, the read-only
    guard and read-only queries. An adapter implements how its engine looks a table up,
    creates one, appends rows, queries and writes in a transaction.
    """

    #: engine name, e.g. ``duckdb`` or ``bigquery``
    kind: str = ""
    #: a short human description for logs ("duckdb .bfplan/sales.duckdb")
    description: str = ""
    #: opened for reading only: every write raises (validate, status, gaps, report)
    read_only: bool = False
    #: False when a read-only open found no warehouse at all (nothing has run yet): it reads as empty
    exists: bool = True
    #: on-demand price per TiB scanned, where the engine charges by bytes and can estimate them
    #: (:meth:`estimate_bytes`); None where it cannot
    price_per_tib: float | None = None

    def writable(self, what: str) -> None:
        """Raise unless this warehouse may be written (adapters call it before every write)."""
        if self.read_only:
            raise WarehouseError(f"{self.description} is open read-only: cannot {what}")

    # -- tables: what every engine shares --------------------------------------------------------
    def _known(self) -> set[str]:
        known: set[str] | None = self.__dict__.get("_known_tables")
        if known is None:
            known = self.__dict__.setdefault("_known_tables", set())
        return known

    def remember_table(self, table: str) -> None:
        """Note that ``table`` exists (an adapter that just created it says so)."""
        self._known().add(table)

    def table_exists(self, table: str) -> bool:
        """Whether the logical ``dataset.table`` exists (a table once seen is remembered: bfplan
        never drops one)."""
        split_table(table)
        if table in self._known():
            return True
        if self._lookup_table(table):
            self.remember_table(table)
            return True
        return False

    def ensure_table(self, table: str, columns: Mapping[str, str], *, partition_column: str | None = None,
                     clustering: Sequence[str] = ()) -> None:
        """Create ``table`` with these columns (name → BigQuery type) if it does not exist yet."""
        if self.table_exists(table):
            return
        self.writable(f"create {table}")
        bad = sorted(set(columns.values()) - COLUMN_TYPES)
        if bad:
            raise WarehouseError(f"unknown column type(s) {bad} for {table}")
        for name in [*columns, *clustering, *([partition_column] if partition_column else [])]:
            check_identifier(name, "column name")
        self._create_table(table, columns, partition_column=partition_column, clustering=clustering)
        self.remember_table(table)

    def append_rows(self, table: str, columns: Mapping[str, str], rows: Sequence[Sequence[Any]]) -> None:
        """Append rows outside any transaction, creating the table if needed."""
        if not rows:
            return
        self.writable(f"append to {table}")
        self.ensure_table(table, columns)
        self._append_rows(table, columns, rows)

    @abstractmethod
    def _lookup_table(self, table: str) -> bool:
        """Ask the engine whether ``table`` exists."""

    @abstractmethod
    def _create_table(self, table: str, columns: Mapping[str, str], *, partition_column: str | None,
                      clustering: Sequence[str]) -> None:
        """Create ``table`` (validated names and types); another creator winning the race is fine."""

    @abstractmethod
    def _append_rows(self, table: str, columns: Mapping[str, str], rows: Sequence[Sequence[Any]]) -> None:
        """Append ``rows`` (non-empty) to the existing ``table``."""

    @abstractmethod
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a read query (BigQuery Standard SQL) and return its rows as dicts."""

    @abstractmethod
    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run one statement outside any transaction (DDL, ledger bookkeeping)."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Transaction]:
        """Return a context manager yielding a :class:`Transaction` that commits on exit."""

    @abstractmethod
    def table_columns(self, table: str) -> list[str]:
        """Column names of ``table`` in order ([] if it does not exist)."""

    def ensure_columns(self, table: str, columns: Mapping[str, str]) -> None:
        """Add the ``columns`` (name → STRING/INT64/...) that an existing ``table`` lacks: how a
        ledger written by an older bfplan gains the columns of a newer one."""
        present = set(self.table_columns(table))
        if not present:
            return
        for name, typ in columns.items():
            if name not in present:
                self.writable(f"add column {name} to {table}")
                self.execute(f"ALTER TABLE {table} ADD COLUMN {check_identifier(name)} {typ}")

    def ensure_table_as(self, table: str, select_sql: str, params: Mapping[str, Any] | None = None, *,  # noqa: B027
                        partition_column: str | None = None, clustering: Sequence[str] = ()) -> None:
        """Create ``table`` with the shape of ``select_sql``'s result if it does not exist yet.

        Called before a write transaction opens, so the new table is visible to it. The default
        does nothing: adapters whose ``replace_partitions`` creates tables themselves may rely on it.
        """

    #: engines where two transactions rewriting partitions of one table abort each other
    #: (BigQuery: "concurrent update"); the runner then runs one writer per table at a time
    one_writer_per_table: bool = False

    @contextmanager
    def job_labels(self, **labels: str) -> Iterator[None]:
        """Tag the warehouse work done inside (run id, processor) where the engine supports it."""
        yield

    def is_transient(self, exc: BaseException) -> bool:
        """Whether ``exc`` is worth retrying (rate limit, 5xx, conflict); the rest is permanent."""
        return isinstance(exc, WarehouseError) and exc.transient

    def estimate_bytes(self, sql: str, params: Mapping[str, Any] | None = None) -> int | None:
        """Bytes a query would scan (a dry run), or None where the engine cannot tell."""
        return None

    def query_read_only(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run ``sql`` only if it is one read-only query (SELECT / WITH ... SELECT): what gates
        run. Adapters add the engine's own guarantee on top (DuckDB: a transaction that is
        always rolled back; BigQuery: a dry run that must say SELECT)."""
        problem = read_only_problem(sql)
        if problem:
            raise WarehouseError(f"refused: {problem}")
        return self.query(sql, params)

    def verify_readable(self, tables: Sequence[str]) -> None:  # noqa: B027 - managed storage needs no check
        """Read every stored byte of ``tables`` (those that exist); raise WarehouseUnavailable
        when the storage is damaged. Managed engines (BigQuery) have nothing to check."""

    def announce_holder(self, info: Mapping[str, Any] | None) -> None:  # noqa: B027 - optional
        """Say which run holds the warehouse (None: released), where the engine's own lock would
        otherwise leave other processes guessing (DuckDB). The ledger's run lock is the truth."""

    def publish_progress(self, doc: Mapping[str, Any]) -> None:  # noqa: B027 - optional
        """Keep a running plan's progress where other processes can read it although the run holds
        the warehouse (DuckDB: one writing process, no readers). Engines that let others read the
        ledger while a run writes (BigQuery) need nothing."""

    def close(self) -> None:  # noqa: B027 - optional for adapters that hold nothing
        """Release connections."""



class ReadOnlyWarehouse(Warehouse):
    """What gates see of a warehouse: reads only. Every query must be one read-only statement
    (see :meth:`Warehouse.query_read_only`); writes raise, naming the gate's limits."""

    def __init__(self, inner: Warehouse) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.description = inner.description
        self.read_only = True
        self.exists = inner.exists

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.inner.query_read_only(sql, params)

    def query_read_only(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.inner.query_read_only(sql, params)

    def table_exists(self, table: str) -> bool:
        return self.inner.table_exists(table)

    def table_columns(self, table: str) -> list[str]:
        return self.inner.table_columns(table)

    def estimate_bytes(self, sql: str, params: Mapping[str, Any] | None = None) -> int | None:
        return self.inner.estimate_bytes(sql, params)

    def is_transient(self, exc: BaseException) -> bool:
        return self.inner.is_transient(exc)

    def _lookup_table(self, table: str) -> bool:
        return self.inner.table_exists(table)

    def _refuse(self, *_: Any, **__: Any) -> Any:
        raise WarehouseError("gates read the warehouse; they cannot write to it")

    execute = _refuse
    transaction = _refuse
    append_rows = _refuse
    ensure_table = _refuse
    ensure_table_as = _refuse
    _create_table = _refuse
    _append_rows = _refuse


class EmptyWarehouse(Warehouse):
    """A warehouse with nothing in it, read-only: what a plan is checked against when its real
    warehouse cannot be read right now (a run holds it), so counts read as "nothing done"."""

    kind = "empty"
    read_only = True
    exists = False

    def __init__(self, description: str = "no warehouse") -> None:
        self.description = description

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return []

    def table_exists(self, table: str) -> bool:
        return False

    def table_columns(self, table: str) -> list[str]:
        return []

    def _lookup_table(self, table: str) -> bool:
        return False

    def _refuse(self, *_: Any, **__: Any) -> Any:
        raise WarehouseError(f"{self.description}: nothing can be written")

    execute = _refuse
    transaction = _refuse
    append_rows = _refuse
    ensure_table = _refuse
    _create_table = _refuse
    _append_rows = _refuse
