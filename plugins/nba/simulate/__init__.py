"""Deterministic **synthetic** NBA regular-season simulator.

Writes a fake "scraped" raw bucket whose layout and columns are fixed by
``plugins/nba/RAW_FORMAT.md``, so the pipeline can run end to end without real data. Nothing
here is a real NBA result: the 30 team abbreviations are real, every player, schedule and box
score is invented.

    python plugins/nba/simulate --out /tmp/bucket [--seed 2021] [--start 2021-10-19]
                                   [--end 2022-04-10] [--force] [--quiet] [--faults FILE]
    python plugins/nba/simulate --out /tmp/bucket --deliver late|corrections

Determinism: every draw comes from a ``random.Random`` seeded with the seed plus a fixed stream
name, and we only iterate over lists or sorted keys, so the same arguments give byte-identical
files. The schedule and the league are always built for the whole season and days are simulated
in order, so a run with an earlier ``--end`` is an exact prefix of the full-season run.
"""

from __future__ import annotations

from .deliver import deliver
from .faults import KINDS, FaultError, apply_faults, check_faults, load_faults
from .league import player_lookup
from .random_faults import random_faults
from .schedule import DEFAULT_START, SOURCES, TEAMS, build_schedule, season_calendar, stream_rng
from .writer import SeasonSummary, simulate_season

__all__ = ["DEFAULT_START", "KINDS", "SOURCES", "TEAMS", "FaultError", "SeasonSummary", "apply_faults",
           "build_schedule", "check_faults", "deliver", "load_faults", "player_lookup", "random_faults",
           "season_calendar", "simulate_season", "stream_rng"]
