"""The season's calendar and schedule: 30 teams, 82 games each, on game days."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from itertools import accumulate, combinations

FORMAT_VERSION = 1
DEFAULT_START = date(2021, 10, 19)
GAMES_PER_TEAM = 82
MIN_GAME_DAYS = 150
SOURCES = ("nbac_schedule", "nbac_gamebook", "nbac_team_boxscore", "bigdataball_pbp",
           "odds_api_props", "nbac_injury_report", "nbac_rosters")

EAST = ("ATL", "BKN", "BOS", "CHA", "CHI", "CLE", "DET", "IND", "MIA", "MIL", "NYK", "ORL", "PHI",
        "TOR", "WAS")
WEST = ("DAL", "DEN", "GSW", "HOU", "LAC", "LAL", "MEM", "MIN", "NOP", "OKC", "PHX", "POR", "SAC",
        "SAS", "UTA")
TEAMS = tuple(sorted(EAST + WEST))
CITIES = dict(zip(TEAMS, (
    "Atlanta", "Brooklyn", "Boston", "Charlotte", "Chicago", "Cleveland", "Dallas", "Denver", "Detroit",
    "San Francisco", "Houston", "Indianapolis", "Los Angeles", "Los Angeles", "Memphis", "Miami",
    "Milwaukee", "Minneapolis", "New Orleans", "New York", "Oklahoma City", "Orlando", "Philadelphia",
    "Phoenix", "Portland", "Sacramento", "San Antonio", "Toronto", "Salt Lake City", "Washington"),
    strict=True))


def stream_rng(seed: int, stream: str) -> random.Random:
    """Independent deterministic stream, so changing one part of the model leaves the others alone.

    str seeds are hashed with SHA-512 by ``random`` (not the salted ``hash()``), so this is stable.
    """
    return random.Random(f"nba-sim/{seed}/{stream}")




# --------------------------------------------------------------------------- calendar & schedule

@dataclass(frozen=True)
class SeasonCalendar:
    """Regular-season window and the league-wide days without games."""

    season_year: int
    start: date
    end: date
    off_days: tuple[date, ...]

    @property
    def game_days(self) -> list[date]:
        """Every date between start and end that is not an off day."""
        days = (self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1))
        return [d for d in days if d not in self.off_days]


def season_calendar(start: date = DEFAULT_START) -> SeasonCalendar:
    """Calendar of the season that starts on ``start`` (ends April 10; 2021-22 real dates)."""
    year = start.year if start.month >= 7 else start.year - 1
    nov1, feb1 = date(year, 11, 1), date(year + 1, 2, 1)
    thanksgiving = nov1 + timedelta(days=(3 - nov1.weekday()) % 7 + 21)  # 4th Thursday
    presidents_day = feb1 + timedelta(days=(0 - feb1.weekday()) % 7 + 14)  # 3rd Monday
    all_star_break = [presidents_day + timedelta(days=k) for k in range(-3, 3)]  # Fri..Wed
    off = sorted({thanksgiving, date(year, 12, 24), *all_star_break})
    return SeasonCalendar(year, start, date(year + 1, 4, 10), tuple(off))


@dataclass(frozen=True)
class Game:
    """One scheduled game."""

    game_date: date
    away: str
    home: str

    @cached_property
    def game_id(self) -> str:
        """``YYYYMMDD_AWAY_HOME``."""
        return f"{self.game_date:%Y%m%d}_{self.away}_{self.home}"


def season_matchups(rng: random.Random) -> list[tuple[str, str]]:
    """The 1,230 (away, home) pairs of the NBA formula: 82 games and 41 home games per team.

    Each team meets the other conference twice (once at home) and its own conference four
    times (twice at home), except four conference rivals met only three times. Those form a
    circulant graph (i ~ i+k1, i ~ i+k2) where i hosts i+k twice, so every team hosts two of
    its four three-game series: 15 + 20 + 6 = 41 home games.
    """
    games = [(a, h) for a in EAST for h in WEST] + [(a, h) for a in WEST for h in EAST]
    for conference in (EAST, WEST):
        order = list(conference)
        rng.shuffle(order)
        extra_host: dict[tuple[str, str], str] = {}
        for k in rng.sample(range(1, 8), 2):
            for i, host in enumerate(order):
                guest = order[(i + k) % len(order)]
                extra_host[tuple(sorted((host, guest)))] = host
        for a, b in combinations(conference, 2):
            games += [(a, b), (a, b), (b, a), (b, a)]
            if (host := extra_host.get((a, b))) is not None:
                games.remove((host, b if host == a else a))  # host keeps both home games
    return games


# Relative number of games per weekday (Mon..Sun): busy Wednesdays/Fridays, quiet Thursdays.
WEEKDAY_LOAD = (0.9, 1.0, 1.2, 0.75, 1.15, 1.0, 0.95)
B2B_PER_TEAM = 13.5  # pace target; the final count lands ~1 higher (13-16, as in 2021-22)
B2B_PENALTY = 1.0  # once a team is at its back-to-back pace, resting beats being 1 game behind


class _Unschedulable(Exception):
    """The greedy pass left a game that fits on no day."""


def build_schedule(rng: random.Random, cal: SeasonCalendar) -> list[Game]:
    """Valid 82-game schedule for every team, sorted by date then game_id.

    About 1 attempt in 200 paints itself into a corner; retrying with the next draws of the
    same stream keeps the result deterministic for a seed.
    """
    for _ in range(50):
        try:
            return _greedy_schedule(rng, cal)
        except _Unschedulable:
            continue
    raise RuntimeError("could not build a schedule; try another seed")


def _greedy_schedule(rng: random.Random, cal: SeasonCalendar) -> list[Game]:
    """Day by day, take roughly the day's share of the remaining games, preferring teams behind
    pace and resting teams ahead of their back-to-back pace; never a third day in a row. Games
    the last days cannot pair are then placed on the best free day earlier in the season.
    """
    pending = season_matchups(rng)
    rng.shuffle(pending)
    days = cal.game_days
    load = [WEEKDAY_LOAD[d.weekday()] for d in days]
    pace = [c / sum(load) * GAMES_PER_TEAM for c in accumulate(load)]
    played: dict[str, set[date]] = {t: set() for t in TEAMS}
    back_to_backs = dict.fromkeys(TEAMS, 0)
    games: list[Game] = []
    for i, day in enumerate(days):
        yesterday, before = day - timedelta(days=1), day - timedelta(days=2)
        b2b_pace = B2B_PER_TEAM * (i + 1) / len(days)
        score = {t: pace[i] - len(played[t])
                 - B2B_PENALTY * (yesterday in played[t] and back_to_backs[t] >= b2b_pace) for t in TEAMS}
        tired = {t for t in TEAMS if yesterday in played[t] and before in played[t]}
        wanted = len(pending) * load[i] / sum(load[i:])
        n_today = max(1, min(15, round(rng.gauss(wanted, 1.2))))
        ranked = sorted(((score[a] + score[h] + rng.random(), j) for j, (a, h) in enumerate(pending)
                         if a not in tired and h not in tired), reverse=True)
        busy: set[str] = set()
        chosen: list[int] = []
        for _, j in ranked:
            away, home = pending[j]
            if away not in busy and home not in busy:
                busy.update((away, home))
                chosen.append(j)
                if len(chosen) == n_today:
                    break
        for j in sorted(chosen, reverse=True):
            away, home = pending.pop(j)
            for team in (away, home):
                back_to_backs[team] += yesterday in played[team]
                played[team].add(day)
            games.append(Game(day, away, home))
    for away, home in pending:  # leftovers when the last days could not pair everyone
        day = _repair_day(rng, days, played[away], played[home])
        played[away].add(day)
        played[home].add(day)
        games.append(Game(day, away, home))
    return sorted(games, key=lambda g: (g.game_date, g.game_id))


def _repair_day(rng: random.Random, days: list[date], a: set[date], b: set[date]) -> date:
    """Best free day for both teams: no three-in-a-row, fewest new back-to-backs."""
    one = timedelta(days=1)

    def b2b_cost(d: date, team: set[date]) -> int | None:
        if d in team or {d - 2 * one, d - one} <= team or {d - one, d + one} <= team \
                or {d + one, d + 2 * one} <= team:
            return None
        return (d - one in team) + (d + one in team)

    options = []
    for d in days:
        ca, cb = b2b_cost(d, a), b2b_cost(d, b)
        if ca is not None and cb is not None:
            options.append((ca + cb, rng.random(), d))
    if not options:
        raise _Unschedulable
    return min(options)[2]



