"""What the DuckDB adapter and its transaction share: column types, quoting, and DuckDB's
errors in bfplan's terms (transient, the machine's refusal, or an interrupt)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath

import duckdb

from bfplan.errors import WarehouseError
from bfplan.ledger.tables import SCHEMA
from bfplan.warehouse.base import check_identifier, split_table

DUCKDB_TYPES = {
    "STRING": "VARCHAR",
    "INT64": "BIGINT",
    "FLOAT64": "DOUBLE",
    "BOOL": "BOOLEAN",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "JSON": "VARCHAR",
}


def catalog_clash(path: str, datasets: Iterable[str]) -> str | None:
    """Why a DuckDB file at ``path`` cannot hold these datasets, or None.

    DuckDB names a database after its file (``shop.duckdb`` is catalog ``shop``): a dataset of
    the same name makes every ``shop.orders`` ambiguous ("use a fully qualified path"), and so
    does a file named after the ledger's own schema, ``bfplan``.
    """
    if path == ":memory:":
        return None
    stem = PurePath(path).name.split(".")[0]
    if stem in {*datasets, SCHEMA}:
        return (f"DuckDB names the database after its file ({stem!r}), which is also the name of a dataset "
                f"({stem}.*): every {stem}.<table> would be ambiguous; name the file otherwise "
                f"(e.g. {stem}_warehouse.duckdb)")
    return None


def quote(name: str) -> str:
    """Quote one validated identifier for DuckDB."""
    return '"' + check_identifier(name) + '"'


def qualified(table: str) -> str:
    """``dataset.table`` → ``"dataset"."table"``."""
    dataset, name = split_table(table)
    return f"{quote(dataset)}.{quote(name)}"


#: what the operating system says when the machine, not the data, refuses a write
ENVIRONMENT_ERRORS = ("no space left on device", "file too large", "disk quota exceeded", "read-only file system",
                      "permission denied")


def failed(exc: BaseException, what: str) -> BaseException:
    """What to raise for a DuckDB failure. Ctrl-C during a query reaches DuckDB first, which
    reports it as an error ("Query interrupted"): it stays an interrupt, never a failed node."""
    interrupted = isinstance(exc, duckdb.InterruptException) or (
        isinstance(exc, RuntimeError) and "interrupted" in str(exc).lower())
    return KeyboardInterrupt() if interrupted else wrap(exc, what)


def wrap(exc: BaseException, what: str) -> WarehouseError:
    # DuckDB raises TransactionException on write-write conflicts between concurrent
    # transactions: the loser can simply try again. But a COMMIT that cannot write its file
    # is a TransactionException too ("Failed to commit: Could not write file ...: No space left
    # on device"): the machine's refusals are checked first, and are never transient.
    text = " ".join(str(exc).split())
    if any(marker in text.lower() for marker in ENVIRONMENT_ERRORS):
        return WarehouseError(f"{what}: {text}", environment=True)
    transient = isinstance(exc, duckdb.TransactionException) or "Conflict" in text
    return WarehouseError(f"{what}: {text}", transient=transient)
