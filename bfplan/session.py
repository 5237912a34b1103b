"""Open a plan for a command: plugins, registry, validated plan, and its warehouse.

This is what every CLI command does first; tests and other programs call it directly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from bfplan.errors import BfplanError, PluginError, UsageError, WarehouseError, WarehouseUnavailable
from bfplan.plan.build import read_plugin_paths
from bfplan.plan.model import Plan
from bfplan.plan.validate import validate_plan
from bfplan.plugins import Registry, load_registry
from bfplan.warehouse.base import Warehouse


@dataclass
class Session:
    """A loaded plan with the registry it was checked against, and its warehouse config.

    ``read_only`` sessions (validate, status, gaps, report, ``run --dry-run``) open the warehouse
    read-only: they never create a database file, a table or a ledger row.
    """

    plan: Plan
    registry: Registry
    warehouse_config: dict[str, Any]
    read_only: bool = False
    _warehouse: Warehouse | None = None

    @property
    def warehouse(self) -> Warehouse:
        """The warehouse, opened on first use (``validate`` of a plan never needs to)."""
        if self._warehouse is None:
            self._warehouse = open_warehouse(self.registry, self.warehouse_config, self.plan.base_dir,
                                             read_only=self.read_only)
        return self._warehouse

    def require_existing(self) -> None:
        """Fail (exit 3) unless the warehouse already exists: commands that read a plan's results
        (check) must not create an empty database on a mistyped path."""
        if self._warehouse is None:
            probe = open_warehouse(self.registry, self.warehouse_config, self.plan.base_dir, read_only=True)
            try:
                if not probe.exists:
                    raise WarehouseUnavailable(f"no warehouse yet: {probe.description}; nothing has run "
                                               "(`bfplan run` first)")
            finally:
                probe.close()

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None


#: what a bigquery:// URL may set, and how its text becomes the option's value
_BIGQUERY_OPTIONS = {"location": str, "dataset_prefix": str, "query_timeout_s": int, "price_per_tib": float}


def parse_warehouse_url(url: str) -> dict[str, Any]:
    """``duckdb:///rel.duckdb``, ``duckdb:////abs.duckdb``, ``bigquery://PROJECT?location=US``.

    Strict: a URL either means exactly one warehouse or is refused. A DuckDB URL is a file path
    (percent-escapes decoded; ``?`` and ``#`` are refused rather than cut off, since a path that
    silently changes is worse than an error); a BigQuery URL takes only the adapter's options.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise UsageError(f"--warehouse {url}: expected duckdb:///PATH or bigquery://PROJECT")
    if scheme == "duckdb":
        if not rest.startswith("/"):
            raise UsageError(f"--warehouse {url}: use duckdb:///relative/path or duckdb:////absolute/path")
        for char, name in (("?", "'?'"), ("#", "'#'")):
            if char in rest:
                raise UsageError(f"--warehouse {url}: {name} has no meaning in a duckdb URL "
                                 f"(a file name containing it is written %{ord(char):02X})")
        path = unquote(rest[1:])
        if not path:
            raise UsageError(f"--warehouse {url}: no file path")
        if "\0" in path:
            raise UsageError(f"--warehouse {url}: the path contains a NUL character")
        # Relative to where the command runs, like any path typed on a command line.
        if path == ":memory:":
            return {"type": "duckdb", "path": path}
        resolved = Path(path).resolve()
        if resolved.is_dir():
            raise UsageError(f"--warehouse {url}: {resolved} is a folder, not a DuckDB file")
        return {"type": "duckdb", "path": str(resolved)}
    if scheme == "bigquery":
        parts = urlsplit(url)
        if not parts.netloc or parts.path not in ("", "/") or parts.fragment:
            raise UsageError(f"--warehouse {url}: expected bigquery://PROJECT[?location=US]")
        if not _PROJECT.fullmatch(parts.netloc):
            raise UsageError(f"--warehouse {url}: invalid project id {parts.netloc!r}")
        config: dict[str, Any] = {"type": "bigquery", "project": parts.netloc}
        try:
            options = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        except ValueError:
            raise UsageError(f"--warehouse {url}: expected options as ?key=value&key=value") from None
        for key, value in options:
            kind = _BIGQUERY_OPTIONS.get(key)
            if kind is None:
                raise UsageError(f"--warehouse {url}: unknown option {key!r} "
                                 f"(expected {', '.join(_BIGQUERY_OPTIONS)})")
            try:
                config[key] = kind(value)
            except ValueError:
                raise UsageError(f"--warehouse {url}: {key}={value!r} is not a {kind.__name__}") from None
        return config
    raise UsageError(f"--warehouse {url}: unknown scheme {scheme!r} (expected duckdb:// or bigquery://)")


_PROJECT = re.compile(r"([a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{0,62}")


def open_warehouse(registry: Registry, config: Mapping[str, Any], base_dir: Path, *,
                   read_only: bool = False) -> Warehouse:
    """Call the warehouse factory registered for ``config['type']``."""
    config = dict(config)
    kind = config.pop("type", "duckdb")
    factory = registry.warehouses.get(kind)
    if factory is None:
        raise UsageError(f"unknown warehouse type {kind!r} (known: {', '.join(sorted(registry.warehouses))})")
    try:
        return factory(base_dir=base_dir, read_only=read_only, **config)
    except BfplanError:
        raise
    except ImportError as exc:
        raise WarehouseUnavailable(f"warehouse {kind!r} needs an optional dependency: {exc} "
                                   f"(pip install 'bfplan[{kind}]')") from exc
    except Exception as exc:
        raise WarehouseError(f"cannot open warehouse {kind!r}: {type(exc).__name__}: {exc}") from exc


def plugins_in(directories: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The plugins in ``--plugins-dir`` folders: each ``*.py`` file and package directory that
    defines a ``bfplan_*`` function, sorted. Other files (a script beside the plugins) are not
    imported: importing runs them."""
    from bfplan.plugin_loading import defines_hooks

    found: list[Path] = []
    for d in directories:
        folder = Path(d)
        if not folder.is_dir():
            raise UsageError(f"--plugins-dir {d}: not a directory")
        found += sorted(p for p in folder.iterdir() if (p.suffix == ".py" and not p.name.startswith("_"))
                        or (p.is_dir() and (p / "__init__.py").is_file()))
    return [p for p in found if defines_hooks(p)]


def open_session(plan_path: str | os.PathLike[str], *, warehouse_url: str | None = None,
                 overrides: Mapping[str, str] | None = None, autoload: bool | None = None,
                 plugin_dirs: Sequence[str | os.PathLike[str]] = (), read_only: bool = False,
                 disabled_plugins: Sequence[str] = ()) -> Session:
    """Load plugins (entry points, the plan's paths, ``--plugins-dir``), then the plan checked
    against them. A plugin path of the plan that fails to load is a plan error at its line,
    reported with every other problem of the plan."""
    path = Path(plan_path)
    if not path.is_file():
        raise UsageError(f"plan file not found: {plan_path}")
    config = parse_warehouse_url(warehouse_url) if warehouse_url else None
    own = [p for _, p in read_plugin_paths(path, overrides=overrides)]
    failed: dict[Path, str] = {}
    registry = load_registry([*own, *plugins_in(plugin_dirs)], autoload=autoload, failed=failed,
                             disabled=disabled_plugins)
    for where, message in failed.items():
        if where not in own:  # a --plugins-dir entry: not the plan's to locate
            raise PluginError(message)
    plan = validate_plan(path, registry=registry, overrides=overrides, plugin_errors=failed)
    return Session(plan, registry, config or dict(plan.warehouse), read_only)
