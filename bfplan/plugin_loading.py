"""Loading plugins safely: installed entry points one by one, each failure naming its
distribution and how to skip it; a plan path that is the same module as an installed plugin;
``--plugins-dir`` files that define hooks; unknown hooks with a did-you-mean; and ``bfplan_*``
functions left without ``@hookimpl`` (a warning: bfplan never calls them).
"""

from __future__ import annotations

import difflib
import importlib.metadata
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
import structlog

from bfplan import hookspecs
from bfplan.errors import PluginError

log = structlog.get_logger("bfplan.plugins")

#: a module-level ``def bfplan_...(``: what makes a file in a --plugins-dir folder a plugin
_HOOK_DEF = re.compile(r"^(?:async\s+)?def\s+bfplan_\w+\s*\(", re.MULTILINE)


def hook_names() -> list[str]:
    """The hooks bfplan calls (its hook specs)."""
    return sorted(n for n in vars(hookspecs) if n.startswith("bfplan_") and callable(getattr(hookspecs, n)))


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def load_entry_points(pm: pluggy.PluginManager, group: str, disabled: Iterable[str],
                      sources: dict[str, str]) -> None:
    """Register every installed ``group`` entry point, except those ``disabled`` names (an entry
    point's or a distribution's name). One that fails to load is an error naming its
    distribution and the ways to skip it."""
    skip = {_normal(n) for n in disabled}
    for dist in list(importlib.metadata.distributions()):
        dist_name = dist.metadata["name"] or "?"
        for ep in dist.entry_points:
            if ep.group != group or pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
                continue
            if _normal(ep.name) in skip or _normal(dist_name) in skip:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"installed plugin {ep.name!r} (distribution {dist_name} {dist.version}) failed to load: "
                    f"{type(exc).__name__}: {exc}; skip it with --disable-plugin {dist_name}, or set "
                    "BFPLAN_DISABLE_PLUGIN_AUTOLOAD=1 to load no installed plugin") from exc
            pm.register(plugin, name=ep.name)
            sources[ep.name] = f"{dist_name} {dist.version}"


def _files(module: object) -> set[Path]:
    file = getattr(module, "__file__", None)
    return {Path(file).resolve()} if isinstance(file, str) else set()


def _target(path: Path) -> Path:
    return path / "__init__.py" if path.is_dir() else path


def same_as_installed(pm: pluggy.PluginManager, path: Path) -> str | None:
    """The name of an already registered plugin that is the module at ``path`` (the same file,
    or a file with the same bytes: a copy installed from the plan's own folder)."""
    try:  # a path that cannot be a file (too long, unreadable) is no installed plugin's either
        target = _target(path.resolve())
        content = target.read_bytes()
    except OSError:
        return None
    for name, plugin in pm.list_name_plugin():
        for file in _files(plugin):
            if file == target:
                return name
            try:
                if file.stat().st_size == len(content) and file.read_bytes() == content:
                    return name
            except OSError:
                continue
    return None


def defines_hooks(path: Path) -> bool:
    """Whether a ``--plugins-dir`` entry defines a ``bfplan_*`` function, read without importing
    it (a script that is no plugin must not run)."""
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    for file in files:
        try:
            if _HOOK_DEF.search(file.read_text(encoding="utf-8", errors="replace")):
                return True
        except OSError:
            continue
    return False


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else f" (bfplan's hooks: {', '.join(known)})"


def check_hooks(pm: pluggy.PluginManager, sources: Mapping[str, str]) -> None:
    """Reject a ``@hookimpl`` function that matches no hook, suggesting the closest hook name."""
    known = hook_names()
    for name, caller in sorted(vars(pm.hook).items()):
        if not isinstance(caller, pluggy.HookCaller) or caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            if not impl.optionalhook:
                src = sources.get(impl.plugin_name, impl.plugin_name)
                raise PluginError(f"invalid plugin {src}: unknown hook {name}(){_suggest(name, known)}")


def unmarked(plugin: Any, source: str) -> list[str]:
    """Warnings for ``bfplan_*`` functions of a plugin module that lack ``@hookimpl``."""
    if not isinstance(plugin, ModuleType):
        return []
    known = hook_names()
    out = []
    for name, obj in sorted(vars(plugin).items()):
        if (name.startswith("bfplan_") and callable(obj) and not hasattr(obj, "bfplan_impl")
                and getattr(obj, "__module__", None) == plugin.__name__):
            hint = "" if name in known else _suggest(name, known)
            out.append(f"plugin {source}: {name}() has no @hookimpl, so bfplan never calls it{hint}")
    return out


def warn_unmarked(pm: pluggy.PluginManager, sources: Mapping[str, str]) -> list[str]:
    """Log (and return) a warning per unmarked ``bfplan_*`` function of each registered plugin."""
    found = []
    for name, plugin in pm.list_name_plugin():
        for message in unmarked(plugin, sources.get(name, name)):
            log.warning(message)
            found.append(message)
    return found
