"""The reference pipeline's own additions to bfplan's failures contract (``bfplan.failures``).

- its failures tables keep the game counts as columns of their own (``expected_game_count``,
  ``actual_game_count``; the shared ``expected_count``/``actual_count`` hold the same numbers);
- NO_SHOT_ZONE (no game in the window has shot-zone data) is normal operation;
- PLAYER_DNP (the player did not play those games) is permanent: nothing will bring the games.
"""

from __future__ import annotations

from typing import Any

#: the keyword arguments every NBA processor with a failures table adds
FAILURE_CONTRACT: dict[str, Any] = {
    "failure_columns": {"expected_game_count": "INT64", "actual_game_count": "INT64"},
    "expected_failure_categories": ("NO_SHOT_ZONE",),
    "permanent_failure_types": ("PLAYER_DNP",),
}
