"""bfplan: declarative, resumable backfill plans for multi-phase, date-partitioned pipelines.

Importing bfplan loads no plugins and no warehouse client; ``bfplan.plugins`` does that on demand.
Even pluggy is imported only when ``bfplan.hookimpl`` is first used, so that the command line's
first instructions (a Ctrl-C handler among them) run as early as possible.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bfplan.errors import BfplanError, PlanError, WarehouseError

if TYPE_CHECKING:
    import pluggy

    #: Marker for plugin hook implementations: ``@bfplan.hookimpl def bfplan_processors(): ...``
    hookimpl: pluggy.HookimplMarker

__version__ = "0.1.0"

__all__ = ["BfplanError", "PlanError", "WarehouseError", "__version__", "hookimpl"]


def __getattr__(name: str) -> Any:
    if name == "hookimpl":
        import pluggy

        marker = pluggy.HookimplMarker("bfplan")
        globals()["hookimpl"] = marker
        return marker
    raise AttributeError(f"module 'bfplan' has no attribute {name!r}")
