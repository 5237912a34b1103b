"""The production warehouse, BigQuery: ``adapter`` (the warehouse), ``transaction`` (one atomic
commit script), ``rewrite`` (logical names to project datasets), ``params`` (typed parameters,
rows, labels) and ``errors`` (what is transient). ``google.cloud.bigquery`` is imported only
here, and only when a plan asks for BigQuery."""

from __future__ import annotations

from bfplan.warehouse.bigquery.adapter import EMULATOR_ENV, SCRATCH_DATASET, BigQueryWarehouse

__all__ = ["EMULATOR_ENV", "SCRATCH_DATASET", "BigQueryWarehouse"]
