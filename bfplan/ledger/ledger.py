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
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from bfplan.ledger.clock import monotonic_ns, utcnow
from bfplan.ledger.tables import (
    GATE_COLUMNS,
    GATE_COLUMNS_ADDED,
    GATES,
    LINEAGE,
    LINEAGE_COLUMNS,
    LINEAGE_COLUMNS_ADDED,
    PARTITION_COLUMNS,
    PARTITION_COLUMNS_ADDED,
    PARTITIONS,
    QUARANTINE,
    QUARANTINE_COLUMNS,
    RUN_COLUMNS,
    RUNS,
)
from bfplan.status import GateStatus, PartitionStatus, RunStatus
from bfplan.warehouse.base import Transaction, Warehouse

#: partition statuses; only ``done`` means "the data is there and was committed"
DONE, FAILED, BLOCKED, CIRCUIT_BROKEN = (PartitionStatus.DONE, PartitionStatus.FAILED, PartitionStatus.BLOCKED,
                                         PartitionStatus.CIRCUIT_BROKEN)


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
    content_hash: int | None = None
    source_state: str | None = None
    traceback: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"processor": self.processor, "date": self.date.isoformat(), "status": self.status,
                "run_id": self.run_id, "rows": self.rows, "duration_s": self.duration_s,
                "attempt": self.attempt, "error": self.error}


@dataclass(frozen=True)
class GateState:
    """The latest verdict of one gate of the plan (any run or check)."""

    key: str
    status: str
    severity: str
    fingerprint: str | None
    run_id: str


class Ledger:
    """Reads and writes the ledger tables of one warehouse for one plan.

    Reading creates nothing (a warehouse without a ledger reads as empty); :meth:`ensure_tables`
    creates the tables, and is called by the commands that write (run, check).
    """

    def __init__(self, warehouse: Warehouse, plan_name: str, *, flush_every: int = 2000) -> None:
        self.wh = warehouse
        self.plan_name = plan_name
        self._columns = {PARTITIONS: PARTITION_COLUMNS, GATES: GATE_COLUMNS, LINEAGE: LINEAGE_COLUMNS,
                         QUARANTINE: QUARANTINE_COLUMNS}
        self._buffer: dict[str, list[tuple]] = {t: [] for t in self._columns}
        self._lock = threading.Lock()
        self._flush_every = flush_every

    def ensure_tables(self) -> None:
        """Create the ledger tables that do not exist yet (and add columns older ledgers lack)."""
        for table, cols in ((RUNS, RUN_COLUMNS), *self._columns.items()):
            self.wh.ensure_table(table, cols, partition_column=None)
        self.wh.ensure_columns(GATES, GATE_COLUMNS_ADDED)
        self.wh.ensure_columns(PARTITIONS, PARTITION_COLUMNS_ADDED)
        self.wh.ensure_columns(LINEAGE, LINEAGE_COLUMNS_ADDED)

    def has(self, table: str) -> bool:
        """Whether this ledger table exists (a warehouse nothing has run on has none)."""
        return self.wh.table_exists(table)

    # -- runs --------------------------------------------------------------------------------
    def start_run(self, plan_path: str, mode: str, command: str, *, run_id: str | None = None) -> str:
        """Record a new run as ``running`` and return its id."""
        run_id = run_id or new_run_id()
        self._run_record(run_id, plan_path, mode, RunStatus.RUNNING, command, {})
        return run_id

    def finish_run(self, run_id: str, plan_path: str, mode: str, status: str, summary: Mapping[str, Any]) -> None:
        """Flush buffered records and record the run's final status and summary."""
        self.flush()
        self._run_record(run_id, plan_path, mode, status, "", summary)

    def _run_record(self, run_id: str, plan_path: str, mode: str, status: str, command: str,
                    summary: Mapping[str, Any]) -> None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = ""
        row = (run_id, plan_path, self.plan_name, mode, status, utcnow(), socket.gethostname(), os.getpid(),
               user, command, json.dumps(summary, default=str), monotonic_ns())
        self.wh.append_rows(RUNS, RUN_COLUMNS, [row])

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The plan's latest runs, newest first, with their latest status."""
        if not self.has(RUNS):
            return []
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
        hashes: Mapping[date, int] | None = None, sources: Mapping[date, str] | None = None,
        traceback: str | None = None,
    ) -> list[tuple]:
        """Build ledger rows for a batch of partitions (one per date); ``hashes``: the content
        hash of each done partition (``Transaction.fingerprints``); ``sources``: the state of a
        file source's files for each date (:mod:`bfplan.sources`); ``traceback``: of a failure."""
        finished = utcnow()
        duration = (finished - started_at).total_seconds()
        err = error[:4000] if error else None
        return [
            (run_id, self.plan_name, processor, table, d, status, attempt,
             (rows or {}).get(d) if rows is not None else None, started_at, finished, duration, err,
             monotonic_ns(), (hashes or {}).get(d), (sources or {}).get(d), traceback)
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

    def ever_done(self, processors: Iterable[str]) -> set[tuple[str, date]]:
        """The (processor, date) partitions that committed at least once (whatever their latest
        state: a partition blocked now may still hold the rows of an earlier run)."""
        if not self.has(PARTITIONS):
            return set()
        rows = self.wh.query(f"SELECT DISTINCT processor, partition_date FROM {PARTITIONS} WHERE plan_name = @plan "
                             "AND status = 'done' AND processor IN UNNEST(@processors)",
                             {"plan": self.plan_name, "processors": sorted(processors)})
        return {(r["processor"], r["partition_date"]) for r in rows}

    def current(
        self, processors: Iterable[str] | None = None, start: date | None = None, end: date | None = None
    ) -> dict[tuple[str, date], PartitionState]:
        """The latest state of every (processor, date) this plan's ledger knows."""
        if not self.has(PARTITIONS):
            return {}
        have = self.wh.table_columns(PARTITIONS)
        added = ", ".join(f"{c if c in have else 'NULL'} AS {c}" for c in PARTITION_COLUMNS_ADDED)
        sql = (
            f"SELECT processor, partition_date, status, run_id, attempt, row_count, duration_s, error, "
            f"recorded_ns, {added} FROM {PARTITIONS} WHERE plan_name = @plan"
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
                r["row_count"], r["duration_s"], r["error"], r["recorded_ns"], r["content_hash"],
                r["source_state"], r["traceback"],
            )
        return out

    # -- gates -------------------------------------------------------------------------------
    def gate_record(self, run_id: str, gate: str, stage: str, status: str, severity: str, summary: str,
                    findings: list[dict[str, Any]], started_at: datetime, *, key: str = "",
                    fingerprint: str | None = None, traceback: str | None = None) -> tuple:
        """One gate result row (history: never overwritten)."""
        duration = (utcnow() - started_at).total_seconds()
        return (run_id, self.plan_name, gate, stage, status, severity, summary,
                json.dumps(findings, default=str), started_at, duration, monotonic_ns(), key or None, fingerprint,
                traceback)

    def record_gate(self, record: tuple) -> None:
        """Append a gate result now (gate verdicts are rare and worth keeping at once)."""
        self.wh.append_rows(GATES, GATE_COLUMNS, [record])

    def gate_results(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """Gate results of one run (or all runs of the plan), oldest first."""
        if not self.has(GATES):
            return []
        sql = f"SELECT * FROM {GATES} WHERE plan_name = @plan"
        params: dict[str, Any] = {"plan": self.plan_name}
        if run_id:
            sql += " AND run_id = @run_id"
            params["run_id"] = run_id
        # a gate's "running" record is superseded by its verdict; alone, it says the gate never finished
        sql += (" QUALIFY status != @running OR ROW_NUMBER() OVER (PARTITION BY run_id, "
                "IFNULL(gate_key, CAST(recorded_ns AS STRING)) ORDER BY recorded_ns DESC) = 1")
        params["running"] = GateStatus.RUNNING
        return self.wh.query(sql + " ORDER BY recorded_ns", params)

    def gate_states(self) -> dict[str, GateState]:
        """The latest verdict of every gate of the plan, by gate key."""
        if not self.has(GATES) or "gate_key" not in self.wh.table_columns(GATES):
            return {}
        rows = self.wh.query(
            f"SELECT gate_key, status, severity, fingerprint, run_id FROM {GATES} "
            "WHERE plan_name = @plan AND gate_key IS NOT NULL "
            "QUALIFY ROW_NUMBER() OVER (PARTITION BY gate_key ORDER BY recorded_ns DESC) = 1",
            {"plan": self.plan_name})
        return {r["gate_key"]: GateState(r["gate_key"], r["status"], r["severity"], r["fingerprint"], r["run_id"])
                for r in rows}

    def close_abandoned_runs(self, run_id: str, plan_path: str, mode: str) -> list[str]:
        """Record as ``interrupted`` every earlier run still marked ``running``: the caller holds
        the run lock, so none of them is alive (killed, or its machine died). Returns their ids."""
        if not self.has(RUNS):
            return []
        rows = self.wh.query(
            f"SELECT run_id, status FROM {RUNS} WHERE plan_name = @plan "
            "QUALIFY ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY recorded_ns DESC) = 1",
            {"plan": self.plan_name})
        dead = sorted(r["run_id"] for r in rows if r["status"] == RunStatus.RUNNING and r["run_id"] != run_id)
        for other in dead:
            self._run_record(other, plan_path, mode, RunStatus.INTERRUPTED, "",
                             {"reason": f"the process ended before the run finished; found by run {run_id}"})
        return dead


def record_version(record: tuple) -> tuple[date, int]:
    """(date, version) of a partition record: its version is when it was recorded."""
    return record[4], record[12]


def new_run_id(prefix: str = "") -> str:
    """``20261205T030254-c2ea11`` (``check-`` first for a check): sortable by time, unique."""
    return prefix + datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
