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
from contextlib import contextmanager
from datetime import date
from typing import Any

from bfplan.errors import WarehouseError

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: Column types of row-based writes, in BigQuery's names; adapters map them.
COLUMN_TYPES = frozenset({"STRING", "INT64", "FLOAT64", "BOOL", "DATE", "TIMESTAMP", "JSON"})


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


class Warehouse(ABC):
    """Where tables and the ledger live. Thread-safe: the runner calls it from many threads."""

    #: engine name, e.g. ``duckdb`` or ``bigquery``
    kind: str = ""
    #: a short human description for logs ("duckdb .bfplan/nba.duckdb")
    description: str = ""

    @abstractmethod
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a read query (BigQuery Standard SQL) and return its rows as dicts."""

    @abstractmethod
    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run one statement outside any transaction (DDL, ledger bookkeeping)."""

    @abstractmethod
    def transaction(self) -> Any:
        """Return a context manager yielding a :class:`Transaction` that commits on exit."""

    @abstractmethod
    def append_rows(
        self, table: str, columns: Mapping[str, str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Append rows outside any transaction, creating the table if needed."""

    @abstractmethod
    def table_exists(self, table: str) -> bool:
        """Whether the logical ``dataset.table`` exists."""

    @abstractmethod
    def ensure_table(
        self,
        table: str,
        columns: Mapping[str, str],
        *,
        partition_column: str | None = None,
        clustering: Sequence[str] = (),
    ) -> None:
        """Create ``table`` with these columns if it does not exist yet."""

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

    def close(self) -> None:  # noqa: B027 - optional for adapters that hold nothing
        """Release connections."""

