"""bfplan: declarative, resumable backfill plans for multi-phase, date-partitioned pipelines.

Importing bfplan loads no plugins and no warehouse client; ``bfplan.plugins`` does that on demand.
"""

from __future__ import annotations

import pluggy

from bfplan.errors import BfplanError, PlanError, WarehouseError

__version__ = "0.1.0"

#: Marker for plugin hook implementations: ``@bfplan.hookimpl def bfplan_processors(): ...``
hookimpl = pluggy.HookimplMarker("bfplan")

__all__ = ["BfplanError", "PlanError", "WarehouseError", "__version__", "hookimpl"]
