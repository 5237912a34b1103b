"""Fault injection for tests and benchmarks: a DuckDB warehouse that fails transiently.

``warehouse: {type: flaky_duckdb, path: w.duckdb, rate: 0.2, seed: 7}`` makes a share ``rate``
of write transactions fail with a transient WarehouseError at a random point — before one of
their first writes or at commit — exactly what a rate limit or a dropped connection looks like
to the runner, which must retry and end with identical tables.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bfplan import hookimpl
from bfplan.errors import WarehouseError
from bfplan.warehouse.duckdb import DuckDBWarehouse

INJECTED = {"count": 0}


class FlakyDuckDB(DuckDBWarehouse):
    """DuckDB whose transactional writes fail transiently at a given rate."""

    def __init__(self, path: str | Path, *, rate: float, seed: int) -> None:
        super().__init__(path, threads=1)  # as the duckdb type's default: repeatable float sums
        self.rate = rate
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()

    @classmethod
    def from_config(cls, *, path: str, base_dir: Path | None = None, rate: float = 0.2, seed: int = 0,
                    **_: Any) -> FlakyDuckDB:
        if base_dir is not None and not Path(path).is_absolute():
            path = str(base_dir / path)
        return cls(path, rate=float(rate), seed=int(seed))

    def doom(self) -> int:
        """0 for a transaction that will succeed, else the write (1-6, or the commit) it fails at."""
        with self._rng_lock:
            return self._rng.randint(1, 7) if self._rng.random() < self.rate else 0

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with super().transaction() as tx:
            flaky = _FlakyTx(tx, self.doom())
            yield flaky
            flaky.step("commit", final=True)  # raising here rolls the whole transaction back


class _FlakyTx:
    def __init__(self, tx: Any, doomed_at: int) -> None:
        self._tx = tx
        self._doomed_at = doomed_at
        self._steps = 0

    def step(self, what: str, *, final: bool = False) -> None:
        self._steps += 1
        if self._doomed_at and (self._steps == self._doomed_at or final):
            self._doomed_at = 0
            INJECTED["count"] += 1
            raise WarehouseError(f"injected transient failure before {what}", transient=True)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._tx, name)
        if name in ("replace_partitions", "replace_partitions_rows", "append_rows", "execute"):
            def flaky(*args: Any, **kwargs: Any) -> Any:
                self.step(name)
                return target(*args, **kwargs)
            return flaky
        return target


@hookimpl
def bfplan_warehouses() -> dict[str, Any]:
    return {"flaky_duckdb": FlakyDuckDB.from_config}
