"""Plugin manager and the registry of processors, gates, warehouses and calendars.

Loading order (as tox does it): the hook specs; installed distributions' ``bfplan`` entry
points unless ``BFPLAN_DISABLE_PLUGIN_AUTOLOAD=1`` (or one by one, ``--disable-plugin NAME``);
the plan's ``plugins:`` paths (a package directory or a ``.py`` file; one that is the module an
installed plugin already loaded is skipped); bfplan's built-ins; then a check that rejects a
``@hookimpl`` function that matches no hook, with the closest hook's name (a typo in a plugin),
and warns of a ``bfplan_*`` function without ``@hookimpl``. The registry is built once
from the provider hooks, attributing every name to the plugin that provided it, so two
plugins claiming one name is an error naming both.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from bfplan import hookspecs
from bfplan.errors import PluginError
from bfplan.plugin_loading import check_hooks, load_entry_points, same_as_installed, warn_unmarked

if TYPE_CHECKING:
    from bfplan.gates.base import Gate
    from bfplan.processors import Processor
    from bfplan.warehouse.base import Warehouse

ENTRY_POINT_GROUP = "bfplan"
DISABLE_AUTOLOAD_ENV = "BFPLAN_DISABLE_PLUGIN_AUTOLOAD"
KINDS = ("processors", "gates", "warehouses", "calendars")


@dataclass
class Registry:
    """Everything the plugins provide, by name, with where each came from."""

    pm: pluggy.PluginManager
    processors: dict[str, Processor] = field(default_factory=dict)
    gates: dict[str, Gate] = field(default_factory=dict)
    warehouses: dict[str, Callable[..., Warehouse]] = field(default_factory=dict)
    calendars: dict[str, Callable[..., Iterable[date]]] = field(default_factory=dict)
    sources: dict[tuple[str, str], str] = field(default_factory=dict)

    def source(self, kind: str, name: str) -> str:
        """Where ``name`` of ``kind`` came from (a distribution, a file, or ``builtin``)."""
        return self.sources.get((kind, name), "?")

    def as_dict(self) -> dict[str, list[dict[str, str]]]:
        """``bfplan plugins --json``: every registered name with its source."""
        out: dict[str, list[dict[str, str]]] = {}
        for kind in KINDS:
            items = getattr(self, kind)
            out[kind] = [
                {"name": n, "source": self.source(kind, n), **_describe(kind, items[n])}
                for n in sorted(items)
            ]
        return out


def _describe(kind: str, obj: object) -> dict[str, str]:
    if kind == "processors":
        return {"table": getattr(obj, "table", ""), "description": getattr(obj, "description", "")}
    if kind == "gates":
        return {"description": getattr(obj, "description", "")}
    return {}


def _module_name_for(path: Path, is_file: bool) -> str:
    # A stable, collision-free module name per plugin path, so two plans' "plugins/sales"
    # directories in different repositories never share one sys.modules entry.
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    stem = path.stem if is_file else path.name
    safe = "".join(c if c.isalnum() else "_" for c in stem)
    return f"bfplan_local_{safe}_{digest}"


def import_path(path: Path) -> ModuleType:
    """Import a plugin from a package directory (with ``__init__.py``) or a ``.py`` file."""
    path = path.resolve()
    try:
        is_dir, is_file = path.is_dir(), path.is_file()
        has_init = is_dir and (path / "__init__.py").is_file()
    except OSError as exc:  # a name too long for the file system, say
        shown = str(path) if len(str(path)) <= 80 else f"{str(path)[:80]}..."
        raise PluginError(f"plugin path {shown} cannot be used: {exc.strerror}") from exc
    name = _module_name_for(path, is_file)
    if name in sys.modules:
        return sys.modules[name]
    if is_dir:
        if not has_init:
            raise PluginError(f"plugin path {path} is a directory without __init__.py")
        spec = importlib.util.spec_from_file_location(name, path / "__init__.py",
                                                      submodule_search_locations=[str(path)])
    elif path.suffix == ".py" and is_file:
        spec = importlib.util.spec_from_file_location(name, path)
    else:
        raise PluginError(f"plugin path {path} does not exist (expected a package directory or a .py file)")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise PluginError(f"plugin {path} failed to import: {type(exc).__name__}: {exc}{where(exc)}") from exc
    return module


def where(exc: BaseException) -> str:
    """`` (at FILE:LINE)``: the innermost frame of the traceback, where plugin code raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    if isinstance(exc, SyntaxError) and exc.filename:
        return f" (at {exc.filename}:{exc.lineno})"
    return f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""


def get_plugin_manager(
    plugin_paths: Iterable[Path] = (), *, autoload: bool | None = None, failed: dict[Path, str] | None = None,
    disabled: Iterable[str] = (),
) -> tuple[pluggy.PluginManager, dict[str, str]]:
    """Build the plugin manager in the documented order; return it and plugin name → source.

    With ``failed``, a plugin path that cannot be imported is recorded there (resolved path →
    message) and loading goes on, so the plan check can report it at its line with the rest.
    ``disabled`` names installed plugins (entry point or distribution names) not to load. A plan
    path that is the very module an installed plugin already loaded is not loaded twice."""
    pm = pluggy.PluginManager("bfplan")
    pm.add_hookspecs(hookspecs)
    sources: dict[str, str] = {}
    if autoload is None:
        autoload = os.environ.get(DISABLE_AUTOLOAD_ENV, "") not in ("1", "true", "yes")
    if autoload:
        load_entry_points(pm, ENTRY_POINT_GROUP, disabled, sources)
    for path in plugin_paths:
        if same_as_installed(pm, Path(path)) is not None:
            continue
        try:
            module = import_path(Path(path))
        except PluginError as exc:
            if failed is None:
                raise
            failed[Path(path).resolve()] = str(exc)
            continue
        name = f"path:{Path(path).resolve()}"
        if pm.get_plugin(name) is None:
            pm.register(module, name=name)
        sources[name] = str(path)
    from bfplan import builtin

    pm.register(builtin, name="bfplan.builtin")
    sources["bfplan.builtin"] = "builtin"
    check_hooks(pm, sources)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"invalid plugin: {exc}") from exc
    warn_unmarked(pm, sources)
    return pm, sources


def build_registry(pm: pluggy.PluginManager, sources: Mapping[str, str]) -> Registry:
    """Call each provider hook once per plugin and index the results by name."""
    reg = Registry(pm)
    for kind in KINDS:
        caller = getattr(pm.hook, f"bfplan_{kind}")
        table: dict[str, Any] = getattr(reg, kind)
        # get_hookimpls() lists implementations in registration order, so the error for a
        # duplicate names the earlier-loaded plugin first.
        for impl in caller.get_hookimpls():
            src = sources.get(impl.plugin_name, impl.plugin_name)
            try:
                provided = impl.function()
            except Exception as exc:
                raise PluginError(f"plugin {src}: bfplan_{kind}() raised {type(exc).__name__}: {exc}") from exc
            items = provided.items() if isinstance(provided, Mapping) else ((o.name, o) for o in provided or ())
            for name, obj in items:
                if name in table:
                    first = reg.sources[(kind, name)]
                    raise PluginError(
                        f"{kind[:-1]} {name!r} is provided by two plugins: {first} and {src}"
                    )
                table[name] = obj
                reg.sources[(kind, name)] = src
    return reg


def load_registry(plugin_paths: Iterable[Path] = (), *, autoload: bool | None = None,
                  failed: dict[Path, str] | None = None, disabled: Iterable[str] = ()) -> Registry:
    """The one-call form: plugin manager plus registry (``failed``, ``disabled``: see
    :func:`get_plugin_manager`)."""
    pm, sources = get_plugin_manager(plugin_paths, autoload=autoload, failed=failed, disabled=disabled)
    return build_registry(pm, sources)
