"""Fault injection for tests and benchmarks: a DuckDB warehouse that fails transiently.

``warehouse: {type: flaky_duckdb, path: w.duckdb, rate: 0.2, seed: 7}`` makes every write
operation inside a transaction (and every commit) raise a transient WarehouseError with
probability ``rate``, before touching anything — exactly what a rate limit or a dropped
connection looks like to the runner, which must retry and end with identical tables.
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
        super().__init__(path)
        self.rate = rate
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()

    @classmethod
    def from_config(cls, *, path: str, base_dir: Path | None = None, rate: float = 0.2, seed: int = 0,
                    **_: Any) -> FlakyDuckDB:
        if base_dir is not None and not Path(path).is_absolute():
            path = str(base_dir / path)
        return cls(path, rate=float(rate), seed=int(seed))

    def maybe_fail(self, what: str) -> None:
        with self._rng_lock:
            hit = self._rng.random() < self.rate
        if hit:
            INJECTED["count"] += 1
            raise WarehouseError(f"injected transient failure before {what}", transient=True)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with super().transaction() as tx:
            yield _FlakyTx(tx, self)
            self.maybe_fail("commit")  # raising here rolls the whole transaction back


class _FlakyTx:
    def __init__(self, tx: Any, wh: FlakyDuckDB) -> None:
        self._tx = tx
        self._wh = wh

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._tx, name)
        if name in ("replace_partitions", "replace_partitions_rows", "append_rows", "execute"):
            def flaky(*args: Any, **kwargs: Any) -> Any:
                self._wh.maybe_fail(name)
                return target(*args, **kwargs)
            return flaky
        return target


@hookimpl
def bfplan_warehouses() -> dict[str, Any]:
    return {"flaky_duckdb": FlakyDuckDB.from_config}
