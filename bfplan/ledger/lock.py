"""The run lock: one run per plan and warehouse at a time, kept in the ledger.

The lock lives in the warehouse (``bfplan.run_locks``, append-only: acquire, heartbeat,
release, steal), so it works wherever the ledger does — BigQuery included. A running holder
heartbeats. A holder on this host whose process is gone (killed) is taken over at once; one
on another host whose heartbeat stopped expires after ``ttl_s`` and may then be taken with
``--steal-lock``. Two runs that acquire at the same moment both see both
records; the earlier record wins and the other backs off.

DuckDB adds its own file lock: a second process cannot even open the database. The holder
therefore announces itself through the warehouse (:meth:`Warehouse.announce_holder`; DuckDB
writes a small file next to the database), so that second process can still say who holds it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from datetime import datetime, timedelta
from typing import Any

from bfplan.errors import LockError
from bfplan.hostinfo import pid_alive
from bfplan.ledger.clock import monotonic_ns, utcnow
from bfplan.ledger.tables import LOCK_COLUMNS, LOCKS
from bfplan.warehouse.base import Warehouse


class RunLock:
    """Acquire with :meth:`acquire`, release with :meth:`release`; heartbeats in between."""

    def __init__(self, warehouse: Warehouse, plan_name: str, run_id: str, *, ttl_s: float = 300.0) -> None:
        self.wh = warehouse
        self.plan_name = plan_name
        self.run_id = run_id
        self.ttl = timedelta(seconds=ttl_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._since: datetime | None = None
        warehouse.ensure_table(LOCKS, LOCK_COLUMNS)

    def _record(self, event: str, run_id: str | None = None) -> None:
        now = utcnow()
        row = (self.plan_name, run_id or self.run_id, socket.gethostname(), os.getpid(), event, now,
               now + self.ttl, monotonic_ns())
        self.wh.append_rows(LOCKS, LOCK_COLUMNS, [row])

    def holders(self) -> list[dict[str, Any]]:
        """Runs whose latest lock record is acquire/heartbeat, oldest acquisition first."""
        rows = self.wh.query(
            f"SELECT run_id, host, pid, event, event_at AS at, expires_at, recorded_ns, "
            f"MIN(IF(event = 'acquire', recorded_ns, NULL)) OVER (PARTITION BY run_id) AS acquired_ns, "
            f"MIN(IF(event = 'acquire', event_at, NULL)) OVER (PARTITION BY run_id) AS since "
            f"FROM {LOCKS} WHERE plan_name = @plan "
            "QUALIFY ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY recorded_ns DESC) = 1",
            {"plan": self.plan_name},
        )
        live = [r for r in rows if r["event"] in ("acquire", "heartbeat") and r["acquired_ns"] is not None]
        return sorted(live, key=lambda r: r["acquired_ns"])

    def acquire(self, *, steal: bool = False) -> None:
        """Take the lock or raise LockError naming the holder."""
        now = utcnow()
        for other in self.holders():
            if other["run_id"] == self.run_id:
                continue
            if other["host"] == socket.gethostname() and not pid_alive(other["pid"]):
                # killed (SIGKILL, OOM, power): its process is gone, so nothing can still be
                # writing; the next run takes over at once rather than waiting for expiry
                self._record("steal", other["run_id"])
                continue
            expired = other["expires_at"] < now
            who = (f"plan {self.plan_name!r} is locked by run {other['run_id']} since "
                   f"{other['since']:%Y-%m-%d %H:%M:%S} UTC on host {other['host']} (pid {other['pid']})")
            if not expired:
                raise LockError(f"{who}; wait for it to finish (its lock expires {other['expires_at']:%H:%M:%S} "
                                "UTC if it stops heartbeating)")
            if not steal:
                raise LockError(f"{who}, which stopped heartbeating at {other['at']:%Y-%m-%d %H:%M:%S} UTC; "
                                "if that run is dead, re-run with --steal-lock")
            self._record("steal", other["run_id"])
        self._record("acquire")
        first = next(iter(self.holders()), None)
        if first is not None and first["run_id"] != self.run_id:  # lost a race by nanoseconds
            self._record("release")
            raise LockError(f"plan {self.plan_name!r} was locked by run {first['run_id']} at the same moment; "
                            "try again")
        self._since = now
        self._write_sidecar()
        self._thread = threading.Thread(target=self._heartbeat, name="bfplan-lock", daemon=True)
        self._thread.start()

    def _heartbeat(self) -> None:
        interval = max(self.ttl.total_seconds() / 3, 0.05)
        while not self._stop.wait(interval):
            # a missed heartbeat only shortens the lock's life; never kill the run for it
            with contextlib.suppress(Exception):
                self._record("heartbeat")

    def _write_sidecar(self) -> None:
        self.wh.announce_holder({"run_id": self.run_id, "since": f"{self._since:%Y-%m-%d %H:%M:%S} UTC",
                                 "host": socket.gethostname(), "pid": os.getpid()})

    def release(self) -> None:
        """Stop heartbeating and record the release."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.wh.announce_holder(None)
        self._record("release")
