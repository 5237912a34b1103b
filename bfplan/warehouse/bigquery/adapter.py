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

Why one module of a little over 400 lines: every method here shares the warehouse's clients,
labels and scratch dataset; what stands on its own (the SQL rewrite, parameters, errors, the
transaction) has its own module beside this one.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import GoogleAuthError
from google.cloud import bigquery

from bfplan.errors import WarehouseError, WarehouseUnavailable
from bfplan.warehouse.base import Warehouse, check_identifier, split_table
from bfplan.warehouse.bigquery.errors import excerpt, is_transient_error, wrap
from bfplan.warehouse.bigquery.params import (
    BQ_TYPES,
    json_text,
    query_parameters,
    row_chunks,
    rows_parameter,
    sanitize_labels,
)
from bfplan.warehouse.bigquery.rewrite import Rewritten, quote, rewrite_sql
from bfplan.warehouse.bigquery.transaction import BigQueryTransaction
from bfplan.warehouse.dialect import compile_sql, read_only_problem

EMULATOR_ENV = "BIGQUERY_EMULATOR_HOST"
SCRATCH_DATASET = "bfplan_scratch"
SCRATCH_EXPIRATION_MS = 24 * 3600 * 1000
#: bfplan's retries are the only retries of a job: the client never re-runs one (``job_retry``),
#: and its retries of single API calls (a dropped connection, a 5xx) give up after 30 s, where
#: the client's defaults would keep trying for 10 minutes under every bfplan attempt
API_RETRY = bigquery.DEFAULT_RETRY.with_deadline(30.0)

_job_labels: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("bfplan_bigquery_labels",
                                                                                     default=None)


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
            job = client.query(sql, job_config=self.job_config(params), location=self.location, retry=API_RETRY,
                               job_retry=None)
            return job.result(timeout=self.query_timeout_s, retry=API_RETRY, job_retry=None)
        except concurrent.futures.TimeoutError as exc:
            if job is not None:
                with suppress(Exception):
                    client.cancel_job(job.job_id, location=self.location)
            raise WarehouseError(f"{what}: no result after query_timeout_s={self.query_timeout_s:g}s "
                                 "(job cancelled)") from exc
        except Exception as exc:
            raise wrap(exc, what) from exc

    def _run_rows(self, sql: str, params: Sequence[Any], what: str) -> list[dict[str, Any]]:
        result = self._run(sql, params, what)
        try:
            return _rows(result)
        except Exception as exc:
            raise wrap(exc, what) from exc

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

    def _dry_run(self, sql: str, params: Mapping[str, Any] | None, what: str) -> tuple[Rewritten, Any]:
        """A free dry run of ``sql``: the rewritten statement and the job BigQuery describes."""
        rw = self.rewrite(sql)
        bound = compile_sql(sql, "bigquery").bind(dict(params or {}))
        config = self.job_config(query_parameters(bound), dry_run=True, use_query_cache=False)
        try:
            return rw, self._client().query(rw.sql, job_config=config, location=self.location, retry=API_RETRY)
        except Exception as exc:
            raise wrap(exc, what) from exc

    def estimate_bytes(self, sql: str, params: Mapping[str, Any] | None = None) -> int | None:
        """Bytes the query would scan, from a dry run (free). The emulator answers 0 whatever the
        query: that is "cannot tell" (None), not "free"."""
        _, job = self._dry_run(sql, params, "dry run failed")
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
        rw, job = self._dry_run(sql, params, f"query failed [{excerpt(sql)}]")
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
                client.get_dataset(dataset_id, retry=API_RETRY)
            except gexc.NotFound:
                # get first: creating needs a permission that using an existing dataset does not
                ds = bigquery.Dataset(dataset_id)
                ds.location = self.location
                if expiration_ms:
                    ds.default_table_expiration_ms = expiration_ms
                client.create_dataset(ds, exists_ok=True, retry=API_RETRY)
        except Exception as exc:
            raise wrap(exc, f"creating dataset {dataset_id}") from exc
        with self._lock:
            self._known_datasets.add(dataset_id)

    def get_schema(self, table_id: str) -> list[bigquery.SchemaField]:
        """The schema of a table by its full id."""
        try:
            return list(self._client().get_table(table_id, retry=API_RETRY).schema)
        except Exception as exc:
            raise wrap(exc, f"reading the schema of {table_id}") from exc

    def _lookup_table(self, table: str) -> bool:
        try:
            self._client().get_table(self.table_id(table), retry=API_RETRY)
        except gexc.NotFound:
            return False
        except Exception as exc:
            raise wrap(exc, f"looking up {table}") from exc
        return True

    def table_columns(self, table: str) -> list[str]:
        """Column names of ``table`` in order ([] if it does not exist)."""
        try:
            return [f.name for f in self._client().get_table(self.table_id(table), retry=API_RETRY).schema]
        except gexc.NotFound:
            return []
        except Exception as exc:
            raise wrap(exc, f"looking up {table}") from exc

    def load_rows(self, table_id: str, columns: Mapping[str, str], rows: Sequence[Sequence[Any]]) -> None:
        """Load rows into ``table_id`` (created or truncated) with one load job."""
        schema = [bigquery.SchemaField(check_identifier(n, "column name"), BQ_TYPES[t]) for n, t in columns.items()]
        names = list(columns)
        json_cols = {n for n, t in columns.items() if t == "JSON"}

        def cell(name: str, value: Any) -> Any:
            if name in json_cols:
                return json_text(value)  # JSON is stored as STRING text, as the DuckDB adapter does
            return value.isoformat() if isinstance(value, date | datetime) else value

        payload = [{n: cell(n, v) for n, v in zip(names, r, strict=True)} for r in rows]
        config = bigquery.LoadJobConfig(schema=schema, write_disposition="WRITE_TRUNCATE",
                                        source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON)
        try:
            job = self._client().load_table_from_json(payload, table_id, job_config=config, location=self.location)
            job.result(timeout=self.query_timeout_s, retry=API_RETRY)
        except Exception as exc:
            raise wrap(exc, f"loading {len(rows)} rows into {table_id}") from exc

    def _create_table(self, table: str, columns: Mapping[str, str], *, partition_column: str | None,
                      clustering: Sequence[str]) -> None:
        schema = [bigquery.SchemaField(n, BQ_TYPES[t]) for n, t in columns.items()]
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
            self._client().create_table(spec, exists_ok=True, retry=API_RETRY)
        except Exception as exc:
            raise wrap(exc, f"creating {table}") from exc
        self.remember_table(table)

    def insert_rows_sql(self, table: str, columns: Mapping[str, str], param: str) -> str:
        """``INSERT ... SELECT r.col, ... FROM UNNEST(@param) AS r`` for a :func:`rows_parameter`."""
        cols = ", ".join(quote(n) for n in columns)
        values = ", ".join(f"__bfplan_r.{quote(n)}" for n in columns)
        return f"INSERT INTO `{self.table_id(table)}` ({cols}) SELECT {values} FROM UNNEST(@{param}) AS __bfplan_r"

    def _append_rows(self, table: str, columns: Mapping[str, str], rows: Sequence[Sequence[Any]]) -> None:
        # One INSERT job per ~4 MB of rows, never one per row: the ledger appends thousands of
        # records at once, and per-row DML would queue behind BigQuery's per-table DML limits
        # (and cost a job each). Not the streaming API either: rows in its buffer cannot be
        # deleted or updated by DML for up to 90 minutes.
        for chunk in row_chunks(columns, rows):
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
