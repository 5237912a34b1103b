"""Processors: plugins that (re)compute one output table for a set of partitions, idempotently.

A processor computes; the warehouse writes. ``run(ctx)`` is handed a :class:`ProcessorContext`
holding the batch of dates and a transaction; everything it writes through the context
commits together with the ledger's "done" marks for those partitions, or not at all.

:class:`SqlProcessor` covers the common case: one BigQuery Standard SQL ``SELECT`` over the
batch (``@dates``, ``@start_date``, ``@end_date`` and the plan's params are bound), whose rows
become the partitions. When it declares a ``failures_table``, rows with a non-NULL
``failure_category`` are per-entity failures: they go to that table instead, with the
columns of the failures contract (:mod:`bfplan.failures`) and the processor's own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bfplan import failures
from bfplan.contracts import Contract
from bfplan.quality import Quality
from bfplan.warehouse.base import COLUMN_TYPES, check_identifier, split_table

if TYPE_CHECKING:
    from bfplan.warehouse.base import Transaction, Warehouse

#: What a critical field must be to count as valid (contamination checks, gaps).
CRITICAL_RULES = ("not_null", "positive")


@dataclass(frozen=True)
class SetAside:
    """A record a processor could not use (see :meth:`ProcessorContext.quarantine`)."""

    date: date
    rule: str
    detail: str
    key: str | None
    record: str | None
    source: str | None


@dataclass
class ProcessorResult:
    """What a run of one node produced."""

    rows: dict[date, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    #: records set aside (written to the quarantine table with the batch)
    quarantined: list[SetAside] = field(default_factory=list)


class ProcessorContext:
    """Everything a processor may use while computing one batch of dates."""

    def __init__(
        self,
        *,
        processor: Processor,
        dates: Sequence[date],
        params: Mapping[str, Any],
        run_id: str,
        mode: str,
        warehouse: Warehouse,
        transaction: Transaction,
    ) -> None:
        self.processor = processor
        self.dates = tuple(dates)
        self.params = dict(params)
        self.run_id = run_id
        self.mode = mode
        self.warehouse = warehouse
        self.transaction = transaction
        self.result = ProcessorResult()

    @property
    def standard_params(self) -> dict[str, Any]:
        """The parameters every statement may use: the plan's params plus this batch's dates."""
        return {
            "circuit_broken_entities": [],  # entities whose breaker is open (daily mode fills it)
            **self.params,
            "dates": list(self.dates),
            "start_date": self.dates[0],
            "end_date": self.dates[-1],
            "run_id": self.run_id,
            "processor_name": self.processor.name,
            "backfill_mode": self.mode == "backfill",
        }

    def quarantine(self, day: date, reason: str, *, record: Mapping[str, Any] | None = None,
                   source: str | None = None, rule: str = "invalid", key: str | None = None) -> None:
        """Set a record aside instead of failing the batch: it goes to ``bfplan.quarantine`` with
        the batch (``source``: where it came from, e.g. ``file:line:col``; ``rule``: what kind of
        problem; ``reason``: what exactly), and the run reports it."""
        text = json.dumps(dict(record), default=str, sort_keys=True) if record is not None else None
        self.result.quarantined.append(SetAside(day, rule, reason, key, text, source))

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Read from the warehouse (outside the write transaction)."""
        return self.warehouse.query(sql, {**self.standard_params, **(params or {})})

    def replace_partitions(self, select_sql: str, params: Mapping[str, Any] | None = None) -> dict[date, int]:
        """Rewrite this batch's partitions of the processor's table from a query."""
        p = self.processor
        rows = self.transaction.replace_partitions(
            p.table, p.partition_column, self.dates, select_sql,
            {**self.standard_params, **(params or {})}, clustering=p.clustering,
        )
        self.result.rows = {d: rows.get(d, 0) for d in self.dates}
        return self.result.rows

    def replace_rows(self, columns: Mapping[str, str], rows: Sequence[Sequence[Any]]) -> dict[date, int]:
        """Rewrite this batch's partitions of the processor's table from Python rows."""
        p = self.processor
        written = self.transaction.replace_partitions_rows(
            p.table, p.partition_column, self.dates, columns, rows, clustering=p.clustering
        )
        self.result.rows = {d: written.get(d, 0) for d in self.dates}
        return self.result.rows

    def replace_failures(self, select_sql: str, params: Mapping[str, Any] | None = None) -> dict[date, int]:
        """Rewrite this processor's failure rows for the batch from a query producing the
        failures table's columns (:meth:`Processor.failure_table_columns`)."""
        p = self.processor
        if not p.failures_table:
            raise ValueError(f"processor {p.name!r} declares no failures_table")
        written = self.transaction.replace_partitions(
            p.failures_table, "analysis_date", self.dates, select_sql,
            {**self.standard_params, **(params or {})}, scope={"processor_name": p.name},
        )
        self.result.failures = {}
        return written


@dataclass(frozen=True)
class Processor:
    """A plugin that computes one output table for a batch of partitions.

    Subclass and implement :meth:`run`, or use :class:`SqlProcessor`.
    """

    name: str
    table: str
    partition_column: str
    inputs: tuple[str, ...] = ()
    entity_key: tuple[str, ...] = ()
    critical_fields: Mapping[str, str] = field(default_factory=dict)
    #: BigQuery SQL returning ``(partition_date DATE, entity_id STRING)`` for ``@dates``:
    #: the entities expected in each partition (coverage, partial gaps). None: not tracked.
    expected_entities_sql: str | None = None
    #: where per-entity failures go (None: this processor reports none)
    failures_table: str | None = None
    #: how far back this processor reads its inputs, in days (None: season to date)
    lookback_days: int | None = 0
    #: per-input override of lookback_days: {"dataset.table": days or None}
    input_lookback: Mapping[str, int | None] = field(default_factory=dict)
    #: SQL predicate over the output table limiting which rows critical fields apply to (e.g.
    #: "has_source_data": a row whose source file was absent has nothing to be wrong about)
    critical_filter: str | None = None
    clustering: tuple[str, ...] = ()
    description: str = ""
    #: JSON Schema for the processor's ``params`` in a plan
    params_schema: Mapping[str, Any] | None = None
    #: the processor's own columns of its failures table (name → BigQuery type), besides the
    #: shared ones of :data:`bfplan.failures.COLUMNS` (a pipeline's own counts, say)
    failure_columns: Mapping[str, str] = field(default_factory=dict)
    #: its own failure categories that are normal operation (besides bfplan.failures.EXPECTED_SKIPS)
    expected_failure_categories: tuple[str, ...] = ()
    #: failure types nothing will ever fix: their failures are PERMANENT, never retried
    permanent_failure_types: tuple[str, ...] = ()
    #: what every row it writes must satisfy, checked before commit (:mod:`bfplan.contracts`); a
    #: :class:`~bfplan.contracts.Contract` or its mapping form
    contract: Contract | Mapping[str, Any] | None = None
    #: its quality columns (ready flag, completeness, "had what it needed" flags): the quality
    #: gate and gaps' ``degraded`` read them (:mod:`bfplan.quality`)
    quality: Quality | Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        check_identifier(self.name, "processor name")
        split_table(self.table)
        check_identifier(self.partition_column, "partition column")
        for t in self.inputs:
            split_table(t)
        if self.failures_table:
            split_table(self.failures_table)
        for col, rule in self.critical_fields.items():
            check_identifier(col, "critical field")
            if rule not in CRITICAL_RULES:
                raise ValueError(f"{self.name}: critical field {col}: rule must be one of {CRITICAL_RULES}")
        for col, typ in self.failure_columns.items():
            check_identifier(col, "failure column")
            if col in failures.COLUMNS or typ not in COLUMN_TYPES:
                raise ValueError(f"{self.name}: failure column {col} {typ}: needs a name of its own and a type "
                                 f"of {sorted(COLUMN_TYPES)}")
        for word in (*self.expected_failure_categories, *self.permanent_failure_types):
            check_identifier(word, "failure category or type")
        try:
            object.__setattr__(self, "contract", Contract.of(self.contract))
        except ValueError as exc:
            raise ValueError(f"{self.name}: contract: {exc}") from exc
        try:
            object.__setattr__(self, "quality", Quality.of(self.quality))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{self.name}: {exc}") from exc

    def failure_table_columns(self) -> dict[str, str]:
        """The columns of this processor's failures table: the shared ones, then its own."""
        return failures.columns(dict(self.failure_columns))

    @property
    def expected_skips(self) -> tuple[str, ...]:
        """Failure categories that are normal operation for this processor."""
        return failures.expected_skips(self.expected_failure_categories)

    @property
    def entity_id_sql(self) -> str:
        """SQL expression of the entity id over the output table's columns."""
        if not self.entity_key:
            return "'*'"
        parts = [f"CAST({check_identifier(c)} AS STRING)" for c in self.entity_key]
        return parts[0] if len(parts) == 1 else "CONCAT(" + ", '|', ".join(parts) + ")"

    def run(self, ctx: ProcessorContext) -> ProcessorResult:
        """Compute and write ``ctx.dates``. Must be idempotent: running twice gives the same table."""
        raise NotImplementedError

    def bound_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Parameters of its own the processor's statements bind, computed from its ``params``
        (e.g. a list read from a file it names): added to what it is handed when it runs and
        when ``validate`` estimates its cost. Default: none."""
        return {}

    def source_files(self, params: Mapping[str, Any], day: date) -> Sequence[Path] | None:
        """The files this processor reads for ``day`` (the preflight gate checks they exist).

        ``None`` (the default) means it reads no files; a file source overrides this.
        """
        return None


@dataclass(frozen=True)
class SqlProcessor(Processor):
    """A processor defined by one BigQuery Standard SQL ``SELECT`` (inline or a .sql file).

    With a ``failures_table``, the query must also return the failure-only columns of
    :data:`bfplan.failures.FAILURE_ONLY` and the processor's own ``failure_columns`` (NULL
    where they do not apply): rows with a ``failure_category`` are failures, the others are
    the output (without the failure-only columns).
    """

    sql: str = ""
    sql_path: Path | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.sql and self.sql_path is None:
            raise ValueError(f"SqlProcessor {self.name!r} needs sql or sql_path")

    @property
    def select_sql(self) -> str:
        """The query text (read from ``sql_path`` on first use)."""
        if self.sql:
            return self.sql
        assert self.sql_path is not None
        text = self.sql_path.read_text(encoding="utf-8").strip().rstrip(";")
        object.__setattr__(self, "sql", text)
        return text

    def ensure_tables(self, ctx: ProcessorContext) -> None:
        """Create the output (and failures) table before the write transaction opens, from the
        query's own shape: no schema is written twice, and the transaction sees the tables."""
        params = ctx.standard_params
        if self.failures_table:
            ctx.warehouse.ensure_table(self.failures_table, self.failure_table_columns(),
                                       partition_column="analysis_date")
            shape = f"SELECT * EXCEPT ({', '.join(failures.FAILURE_ONLY)}) FROM ({self.select_sql}) AS __shape"
        else:
            shape = self.select_sql
        ctx.warehouse.ensure_table_as(self.table, shape, params, partition_column=self.partition_column,
                                      clustering=self.clustering)

    def run(self, ctx: ProcessorContext) -> ProcessorResult:
        sql = self.select_sql
        self.ensure_tables(ctx)
        if not self.failures_table:
            ctx.replace_partitions(sql)
            return ctx.result
        # One evaluation of the query feeds both the table and the failures: staged in a
        # temporary table inside the transaction, then split on failure_category.
        stage = f"__stage_{self.name}"
        resolved = f"__resolved_{self.name}"
        ctx.transaction.execute(f"CREATE OR REPLACE TEMP TABLE {stage} AS {sql}", ctx.standard_params)
        # Failures of earlier runs whose entity this run produced are kept, marked RESOLVED
        # (history of what was fixed), before the batch's failure rows are rewritten.
        ctx.transaction.execute(f"CREATE OR REPLACE TEMP TABLE {resolved} AS {self._resolved_select(stage)}",
                                ctx.standard_params)
        ctx.replace_partitions(
            f"SELECT * EXCEPT ({', '.join(failures.FAILURE_ONLY)}) FROM {stage} WHERE failure_category IS NULL"
        )
        ctx.transaction.replace_partitions(
            self.failures_table, "analysis_date", ctx.dates,
            f"{self._failure_select(stage)} UNION ALL SELECT * FROM {resolved}", ctx.standard_params,
            scope={"processor_name": self.name},
        )
        by_category = ctx.transaction.query(
            f"SELECT failure_category, COUNT(*) AS n FROM {stage} "
            "WHERE failure_category IS NOT NULL GROUP BY failure_category"
        )
        ctx.result.failures = {r["failure_category"]: r["n"] for r in by_category}
        ctx.transaction.execute(f"DROP TABLE IF EXISTS {resolved}")
        ctx.transaction.execute(f"DROP TABLE IF EXISTS {stage}")
        return ctx.result

    def _resolved_select(self, stage: str) -> str:
        """Earlier failure rows of the batch whose entity now has an output row, as RESOLVED."""
        cols = []
        for name, typ in self.failure_table_columns().items():
            if name == "resolution_status":
                cols.append(f"CAST('{failures.RESOLVED}' AS STRING) AS resolution_status")
            elif name == "resolved_at":
                cols.append("CAST(IFNULL(f.resolved_at, CURRENT_TIMESTAMP()) AS TIMESTAMP) AS resolved_at")
            else:
                cols.append(f"CAST(f.{name} AS {typ}) AS {name}")
        return (f"SELECT {', '.join(cols)} FROM {self.failures_table} AS f "
                f"WHERE f.processor_name = @processor_name AND f.analysis_date IN UNNEST(@dates) "
                f"AND f.{failures.NOT_DATE_LEVEL} AND f.entity_id IN "
                f"(SELECT {self.entity_id_sql} FROM {stage} WHERE failure_category IS NULL)")

    def _failure_select(self, stage: str) -> str:
        cols = {
            "processor_name": "@processor_name",
            "run_id": "@run_id",
            "analysis_date": f"CAST({self.partition_column} AS DATE)",
            "entity_id": self.entity_id_sql,
            "created_at": "CURRENT_TIMESTAMP()",
            # a failure of a type nothing will fix (the processor says which) is PERMANENT
            "resolution_status": failures.resolution_sql(self.permanent_failure_types),
            "resolved_at": "CAST(NULL AS TIMESTAMP)",
        }
        exprs = []
        for name, typ in self.failure_table_columns().items():
            expr = cols.get(name, name)
            exprs.append(f"CAST({expr} AS {typ}) AS {name}")
        return f"SELECT {', '.join(exprs)} FROM {stage} WHERE failure_category IS NOT NULL"
