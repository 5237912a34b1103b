"""What the DuckDB adapter and its transaction share: column types, quoting, and DuckDB's
errors in bfplan's terms (transient, the machine's refusal, or an interrupt)."""

from __future__ import annotations

import duckdb

from bfplan.errors import WarehouseError
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


def quote(name: str) -> str:
    """Quote one validated identifier for DuckDB."""
    return '"' + check_identifier(name) + '"'


def qualified(table: str, catalog: str) -> str:
    """``dataset.table`` → ``"catalog"."dataset"."table"``: DuckDB names a database after its
    file, so two parts are ambiguous when the file is named like a dataset (``shop.duckdb``
    holding ``shop.orders``) or like the ledger's schema (``bfplan.duckdb``); three never are."""
    dataset, name = split_table(table)
    return f"{quote_catalog(catalog)}.{quote(dataset)}.{quote(name)}"


def quote_catalog(catalog: str) -> str:
    """Quote a DuckDB database name (derived from the file's name: any text)."""
    return '"' + catalog.replace('"', '""') + '"'


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
