"""The reference pipeline's own additions to bfplan's failures contract (``bfplan.failures``).

- its failures tables keep the game counts as columns of their own (``expected_game_count``,
  ``actual_game_count``; the shared ``expected_count``/``actual_count`` hold the same numbers);
- NO_SHOT_ZONE (no game in the window has shot-zone data) is normal operation;
- PLAYER_DNP (the player did not play those games) is permanent: nothing will bring the games;
- INVALID_UPSTREAM (its own category): source values that cannot be (box-score counts that
  contradict each other, an impossible average) — bad data, correctable by fixing the source,
  never PROCESSING_ERROR, which only a bug in code raises. Missing source rows are
  INCOMPLETE_UPSTREAM (failure_type DATA_GAP).

Engine categories it uses with a meaning of its own: REGISTRY_LOOKUP_FAILED (failure_type NAME_MISMATCH,
correctable: a source spells a player the rosters do not know; ``registry.py``) and, for PSZA under 10
games, EXPECTED_INCOMPLETE (the team has also played under 10: an expected skip of the engine's list) vs
INCOMPLETE_UPSTREAM (games the raw gamebook has and PGS lacks: backfill PGS).
"""

from __future__ import annotations

from typing import Any

#: the keyword arguments every NBA processor with a failures table adds
FAILURE_CONTRACT: dict[str, Any] = {
    "failure_columns": {"expected_game_count": "INT64", "actual_game_count": "INT64"},
    "expected_failure_categories": ("NO_SHOT_ZONE",),
    "permanent_failure_types": ("PLAYER_DNP",),
}
