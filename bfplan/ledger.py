"""The ledger: runs, partition outcomes and gate results, kept in the warehouse (``bfplan``).

Every table is append-only. A partition's current state is its latest record; history is
never overwritten, and concurrent writers never contend for one row (which DuckDB would
report as a conflict and BigQuery would serialize). A partition is recorded ``done`` inside
the transaction that wrote it, so it is done exactly when its data committed. Records that
describe no write (failures, blocked nodes, no-op processors) are buffered and appended in
batches: losing them in a crash only means that work is redone.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from bfplan.warehouse.base import Transaction, Warehouse

SCHEMA = "bfplan"
RUNS = f"{SCHEMA}.runs"
PARTITIONS = f"{SCHEMA}.partition_log"
GATES = f"{SCHEMA}.gate_results"

RUN_COLUMNS = {
    "run_id": "STRING", "plan": "STRING", "plan_name": "STRING", "mode": "STRING",
    "status": "STRING", "event_at": "TIMESTAMP", "host": "STRING", "pid": "INT64", "user_name": "STRING",
    "command": "STRING", "summary": "JSON", "recorded_ns": "INT64",
}
PARTITION_COLUMNS = {
    "run_id": "STRING", "plan_name": "STRING", "processor": "STRING", "table_name": "STRING",
    "partition_date": "DATE", "status": "STRING", "attempt": "INT64", "row_count": "INT64",
    "started_at": "TIMESTAMP", "finished_at": "TIMESTAMP", "duration_s": "FLOAT64",
    "error": "STRING", "recorded_ns": "INT64",
}
GATE_COLUMNS = {
    "run_id": "STRING", "plan_name": "STRING", "gate": "STRING", "stage": "STRING",
    "status": "STRING", "severity": "STRING", "summary": "STRING", "findings": "JSON",
    "started_at": "TIMESTAMP", "duration_s": "FLOAT64", "recorded_ns": "INT64",
}

#: partition statuses; only ``done`` means "the data is there and was committed"
DONE, FAILED, BLOCKED, CIRCUIT_BROKEN = "done", "failed", "blocked", "circuit_broken"


def utcnow() -> datetime:
    """Naive UTC now (warehouse TIMESTAMP columns are UTC without zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


_last_ns = 0
_ns_lock = threading.Lock()


def monotonic_ns() -> int:
    """A strictly increasing wall-clock nanosecond stamp: orders records within a process."""
    global _last_ns
    with _ns_lock:
        _last_ns = max(_last_ns + 1, time.time_ns())
        return _last_ns


@dataclass(frozen=True)
class PartitionState:
    """The latest ledger record of one (processor, date)."""

    processor: str
    date: date
    status: str
    run_id: str
    attempt: int
    rows: int | None
    duration_s: float | None
    error: str | None
    recorded_ns: int

    def as_dict(self) -> dict[str, Any]:
        return {"processor": self.processor, "date": self.date.isoformat(), "status": self.status,
                "run_id": self.run_id, "rows": self.rows, "duration_s": self.duration_s,
                "attempt": self.attempt, "error": self.error}


class Ledger:
    """Reads and writes the ledger tables of one warehouse for one plan."""

    def __init__(self, warehouse: Warehouse, plan_name: str, *, flush_every: int = 2000) -> None:
        self.wh = warehouse
        self.plan_name = plan_name
        from bfplan.lineage import LINEAGE, LINEAGE_COLUMNS

        self._columns = {PARTITIONS: PARTITION_COLUMNS, GATES: GATE_COLUMNS, LINEAGE: LINEAGE_COLUMNS}
        self._buffer: dict[str, list[tuple]] = {t: [] for t in self._columns}
        self._lock = threading.Lock()
        self._flush_every = flush_every
        for table, cols in ((RUNS, RUN_COLUMNS), *self._columns.items()):
            warehouse.ensure_table(table, cols, partition_column=None)

    # -- runs --------------------------------------------------------------------------------
    def start_run(self, plan_path: str, mode: str, command: str, *, run_id: str | None = None) -> str:
        """Record a new run as ``running`` and return its id."""
        run_id = run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self._run_record(run_id, plan_path, mode, "running", command, {})
        return run_id

    def finish_run(self, run_id: str, plan_path: str, mode: str, status: str, summary: Mapping[str, Any]) -> None:
        """Flush buffered records and record the run's final status and summary."""
        self.flush()
        self._run_record(run_id, plan_path, mode, status, "", summary)

    def _run_record(self, run_id, plan_path, mode, status, command, summary) -> None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = ""
        row = (run_id, plan_path, self.plan_name, mode, status, utcnow(), socket.gethostname(), os.getpid(),
               user, command, json.dumps(summary, default=str), monotonic_ns())
        self.wh.append_rows(RUNS, RUN_COLUMNS, [row])

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The plan's latest runs, newest first, with their latest status."""
        return self.wh.query(
            f"SELECT run_id, status, event_at AS at, host, summary FROM {RUNS} WHERE plan_name = @plan "
            "QUALIFY ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY recorded_ns DESC) = 1 "
            "ORDER BY event_at DESC LIMIT @limit",
            {"plan": self.plan_name, "limit": limit},
        )

    # -- partitions --------------------------------------------------------------------------
    def partition_records(
        self, run_id: str, processor: str, table: str, dates: Sequence[date], status: str, *,
        attempt: int, rows: Mapping[date, int] | None = None, started_at: datetime, error: str | None = None,
    ) -> list[tuple]:
        """Build ledger rows for a batch of partitions (one per date)."""
        finished = utcnow()
        duration = (finished - started_at).total_seconds()
        err = error[:4000] if error else None
        return [
            (run_id, self.plan_name, processor, table, d, status, attempt,
             (rows or {}).get(d) if rows is not None else None, started_at, finished, duration, err,
             monotonic_ns())
            for d in dates
        ]

    def mark_in(self, tx: Transaction, records: list[tuple]) -> None:
        """Append partition records inside a write transaction (they commit with the data)."""
        tx.append_rows(PARTITIONS, PARTITION_COLUMNS, records)

    def append_in(self, tx: Transaction, table: str, records: list[tuple]) -> None:
        """Append records of a ledger table inside a write transaction."""
        if records:
            tx.append_rows(table, self._columns[table], records)

    def buffer(self, records: list[tuple], table: str = PARTITIONS) -> None:
        """Queue records that describe no write; flushed in batches and at the end of a run."""
        with self._lock:
            self._buffer[table].extend(records)
            full = len(self._buffer[table]) >= self._flush_every
        if full:
            self.flush()

    def flush(self) -> None:
        """Append every buffered record."""
        with self._lock:
            pending = {t: rows for t, rows in self._buffer.items() if rows}
            self._buffer = {t: [] for t in self._columns}
        for table, rows in pending.items():
            self.wh.append_rows(table, self._columns[table], rows)

    def current(
        self, processors: Iterable[str] | None = None, start: date | None = None, end: date | None = None
    ) -> dict[tuple[str, date], PartitionState]:
        """The latest state of every (processor, date) this plan's ledger knows."""
        sql = (
            f"SELECT processor, partition_date, status, run_id, attempt, row_count, duration_s, error, "
            f"recorded_ns FROM {PARTITIONS} WHERE plan_name = @plan"
        )
        params: dict[str, Any] = {"plan": self.plan_name}
        if processors is not None:
            sql += " AND processor IN UNNEST(@processors)"
            params["processors"] = sorted(processors)
        if start is not None:
            sql += " AND partition_date >= @start"
            params["start"] = start
        if end is not None:
            sql += " AND partition_date <= @end"
            params["end"] = end
        sql += " QUALIFY ROW_NUMBER() OVER (PARTITION BY processor, partition_date ORDER BY recorded_ns DESC) = 1"
        out = {}
        for r in self.wh.query(sql, params):
            out[(r["processor"], r["partition_date"])] = PartitionState(
                r["processor"], r["partition_date"], r["status"], r["run_id"], r["attempt"],
                r["row_count"], r["duration_s"], r["error"], r["recorded_ns"],
            )
        return out

    # -- gates -------------------------------------------------------------------------------
    def gate_record(self, run_id: str, gate: str, stage: str, status: str, severity: str, summary: str,
                    findings: list[dict[str, Any]], started_at: datetime) -> tuple:
        """One gate result row (history: never overwritten)."""
        duration = (utcnow() - started_at).total_seconds()
        return (run_id, self.plan_name, gate, stage, status, severity, summary,
                json.dumps(findings, default=str), started_at, duration, monotonic_ns())

    def record_gate(self, record: tuple) -> None:
        """Append a gate result now (gate verdicts are rare and worth keeping at once)."""
        self.wh.append_rows(GATES, GATE_COLUMNS, [record])

    def gate_results(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """Gate results of one run (or all runs of the plan), oldest first."""
        sql = f"SELECT * FROM {GATES} WHERE plan_name = @plan"
        params: dict[str, Any] = {"plan": self.plan_name}
        if run_id:
            sql += " AND run_id = @run_id"
            params["run_id"] = run_id
        return self.wh.query(sql + " ORDER BY recorded_ns", params)
