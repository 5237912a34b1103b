"""The reference NBA pipeline (phases 2-5) as an ordinary bfplan plugin.

Phase 2 loads the synthetic raw bucket (``simulate/`` writes it), Phase 3 builds the
analytics tables, Phase 4 the precompute tables and the ML feature store, Phase 5 the
baseline predictions. Every processor is set-based BigQuery SQL over a batch of dates.
Load it from a plan with ``plugins: [plugins/nba]``.
"""

from __future__ import annotations

from typing import Any

from bfplan import hookimpl

from .calendar import game_days
from .pipeline import all_processors


@hookimpl
def bfplan_processors() -> list[Any]:
    return all_processors()


@hookimpl
def bfplan_calendars() -> dict[str, Any]:
    return {"nba_game_days": game_days}
