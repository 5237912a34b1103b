"""Open a plan for a command: plugins, registry, validated plan, and its warehouse.

This is what every CLI command does first; tests and other programs call it directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bfplan.errors import BfplanError, UsageError, WarehouseError, WarehouseUnavailable
from bfplan.plan import Plan, load_plan, read_plugin_paths
from bfplan.plugins import Registry, load_registry


@dataclass
class Session:
    """A loaded plan with the registry it was checked against, and its warehouse config."""

    plan: Plan
    registry: Registry
    warehouse_config: dict[str, Any]
    _warehouse: Any = None

    @property
    def warehouse(self) -> Any:
        """The warehouse, opened on first use (``validate`` of a plan never needs to)."""
        if self._warehouse is None:
            self._warehouse = open_warehouse(self.registry, self.warehouse_config, self.plan.path.parent)
        return self._warehouse

    def planning_warehouse(self) -> Any:
        """The warehouse to read done-state from without creating anything: a DuckDB file
        that does not exist yet has no ledger, so an empty in-memory database stands in."""
        config = self.warehouse_config
        if config.get("type", "duckdb") == "duckdb" and config.get("path", "") != ":memory:":
            path = Path(str(config.get("path", ".bfplan/warehouse.duckdb")))
            if not path.is_absolute():
                path = self.plan.path.parent / path
            if not path.exists():
                from bfplan.warehouse.duckdb import DuckDBWarehouse

                self._warehouse = DuckDBWarehouse(":memory:")
        return self.warehouse

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None


def parse_warehouse_url(url: str) -> dict[str, Any]:
    """``duckdb:///rel.duckdb``, ``duckdb:////abs.duckdb``, ``bigquery://PROJECT?location=US``."""
    parts = urlsplit(url)
    if parts.scheme == "duckdb":
        if parts.netloc:
            raise UsageError(f"--warehouse {url}: use duckdb:///relative/path or duckdb:////absolute/path")
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if not path:
            raise UsageError(f"--warehouse {url}: no file path")
        # Relative to where the command runs, like any path typed on a command line.
        return {"type": "duckdb", "path": str(Path(path).resolve()) if path != ":memory:" else path}
    if parts.scheme == "bigquery":
        if not parts.netloc:
            raise UsageError(f"--warehouse {url}: expected bigquery://PROJECT[?location=US]")
        config: dict[str, Any] = {"type": "bigquery", "project": parts.netloc}
        for key, value in parse_qsl(parts.query):
            config[key] = value
        return config
    raise UsageError(f"--warehouse {url}: unknown scheme {parts.scheme!r} (expected duckdb:// or bigquery://)")


def open_warehouse(registry: Registry, config: Mapping[str, Any], base_dir: Path) -> Any:
    """Call the warehouse factory registered for ``config['type']``."""
    config = dict(config)
    kind = config.pop("type", "duckdb")
    factory = registry.warehouses.get(kind)
    if factory is None:
        raise UsageError(f"unknown warehouse type {kind!r} (known: {', '.join(sorted(registry.warehouses))})")
    try:
        return factory(base_dir=base_dir, **config)
    except BfplanError:
        raise
    except ImportError as exc:
        raise WarehouseUnavailable(f"warehouse {kind!r} needs an optional dependency: {exc} "
                                   f"(pip install 'bfplan[{kind}]')") from exc
    except Exception as exc:
        raise WarehouseError(f"cannot open warehouse {kind!r}: {type(exc).__name__}: {exc}") from exc


def plugins_in(directories: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The plugins in ``--plugins-dir`` folders: each ``*.py`` file and package directory, sorted."""
    found: list[Path] = []
    for d in directories:
        folder = Path(d)
        if not folder.is_dir():
            raise UsageError(f"--plugins-dir {d}: not a directory")
        found += sorted(p for p in folder.iterdir() if (p.suffix == ".py" and not p.name.startswith("_"))
                        or (p.is_dir() and (p / "__init__.py").is_file()))
    return found


def open_session(plan_path: str | os.PathLike[str], *, warehouse_url: str | None = None,
                 overrides: Mapping[str, str] | None = None, autoload: bool | None = None,
                 plugin_dirs: Sequence[str | os.PathLike[str]] = ()) -> Session:
    """Load plugins (entry points, the plan's paths, ``--plugins-dir``), then the plan checked
    against them."""
    path = Path(plan_path)
    if not path.is_file():
        raise UsageError(f"plan file not found: {plan_path}")
    registry = load_registry([*read_plugin_paths(path), *plugins_in(plugin_dirs)], autoload=autoload)
    plan = load_plan(path, registry=registry, overrides=overrides)
    config = parse_warehouse_url(warehouse_url) if warehouse_url else dict(plan.warehouse)
    return Session(plan, registry, config)
