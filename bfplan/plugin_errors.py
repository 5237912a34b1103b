"""Errors raised in plugin code, said in one line that points into the plugin.

``processor 'ratio' (plugin my_plugin, /path/my_plugin.py:42) raised ZeroDivisionError: division
by zero``: what raised (a processor, gate, calendar or event hook, by name), the plugin that
provided it, the innermost frame of the plugin's own code, and the exception. The full
traceback is kept apart (:func:`full_traceback`) for the ledger and ``--traceback``.
"""

from __future__ import annotations

import sys
import sysconfig
import traceback
from pathlib import Path

#: the engine's own files: a frame in them is never "where the plugin raised"
_ENGINE = Path(__file__).resolve().parent
#: the standard library's files (a plugin calling ``int("x")`` raised at its own line)
_STDLIB = tuple(Path(p).resolve() for p in {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]})
#: the most of a traceback kept in the ledger
MAX_TRACEBACK = 20000


def plugin_name(source: str) -> str:
    """A plugin's short name from its source: ``/x/my_plugin.py`` and ``/x/my_plugin`` →
    ``my_plugin``; an installed distribution ``name 1.0`` → ``name``."""
    if source in ("", "?"):
        return "?"
    if "/" in source or source.endswith(".py") or "\\" in source:
        path = Path(source)
        if path.suffix == ".py" and (path.stem == "__init__" or (path.parent / "__init__.py").is_file()):
            return path.parent.name  # a module of a package (my_plugin/plugin.py): the package
        return path.stem if path.suffix == ".py" else path.name
    return source.split(" ")[0]


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _module_root(obj: object) -> Path | None:
    """The file or package folder the object's code comes from (None: the engine's own)."""
    module_name = getattr(obj, "__module__", None) or type(obj).__module__
    module = sys.modules.get(module_name or "")
    file = getattr(module, "__file__", None)
    if not file:
        return None
    path = Path(file).resolve()
    root = path.parent if path.name == "__init__.py" else path
    return None if _under(root, _ENGINE) else root


def plugin_frame(exc: BaseException, obj: object = None) -> traceback.FrameSummary | None:
    """The innermost frame of plugin code in ``exc``'s traceback: within the module that
    defines ``obj`` when it has frames there, else the innermost outside the engine and the
    standard library; None when every frame is the engine's."""
    frames = traceback.extract_tb(exc.__traceback__)
    root = _module_root(obj) if obj is not None else None
    outside = []
    for f in frames:
        path = Path(f.filename).resolve()
        if _under(path, _ENGINE) or any(_under(path, s) for s in _STDLIB):
            continue
        outside.append((f, path))
    if root is not None:
        mine = [f for f, path in outside if _under(path, root)]
        if mine:
            return mine[-1]
    return outside[-1][0] if outside else None


def location(exc: BaseException, obj: object = None) -> str | None:
    """``FILE:LINE`` of the plugin frame (a SyntaxError: of the bad line), or None."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}:{exc.lineno}"
    f = plugin_frame(exc, obj)
    return f"{f.filename}:{f.lineno}" if f is not None else None


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def raised(what: str, name: str, source: str, exc: BaseException, obj: object = None) -> str:
    """``processor 'ratio' (plugin my_plugin, /p/my_plugin.py:42) raised ZeroDivisionError: ...``."""
    where = location(exc, obj)
    at = f"plugin {plugin_name(source)}" + (f", {where}" if where else "")
    return f"{what} {name!r} ({at}) raised {one_line(exc)}"


def full_traceback(exc: BaseException) -> str:
    """The whole traceback (chained causes included), as Python prints it; at most
    :data:`MAX_TRACEBACK` characters, the end kept (where it raised)."""
    text = "".join(traceback.format_exception(exc)).rstrip("\n")
    return text if len(text) <= MAX_TRACEBACK else "...\n" + text[-MAX_TRACEBACK:]
