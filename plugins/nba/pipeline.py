"""Every processor of the reference pipeline, phase by phase."""

from __future__ import annotations

from typing import Any

from .analytics import analytics_processors
from .loaders import raw_loaders
from .precompute import precompute_processors
from .predictions import prediction_processors


def all_processors() -> list[Any]:
    """Phase 2 loaders, Phase 3 analytics, Phase 4 precompute (+ MLFS), Phase 5 predictions."""
    return [*raw_loaders(), *analytics_processors(), *precompute_processors(), *prediction_processors()]
