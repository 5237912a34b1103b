#!/usr/bin/env python3
"""Deterministic **synthetic** NBA regular-season simulator.

Writes a fake "scraped" raw bucket whose layout and columns are fixed by
``plugins/nba/RAW_FORMAT.md``, so the pipeline can run end to end without real data. Nothing
here is a real NBA result: the 30 team abbreviations are real, every player, schedule and box
score is invented.

    python plugins/nba/simulate.py --out /tmp/bucket [--seed 2021] [--start 2021-10-19]
                                   [--end 2022-04-10] [--force] [--quiet]

Determinism: every draw comes from a ``random.Random`` seeded with the seed plus a fixed stream
name, and we only iterate over lists or sorted keys, so the same arguments give byte-identical
files. The schedule and the league are always built for the whole season and days are simulated
in order, so a run with an earlier ``--end`` is an exact prefix of the full-season run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import time
import unicodedata
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from functools import cached_property
from itertools import accumulate, combinations
from pathlib import Path

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

FIRST_NAMES = (  # noqa: SIM905 - a word list reads better than 90 quoted names
    "Aaron Adrian Alec Andre Anthony Austin Bennett Brandon Brice Caleb Cam Carter Cedric Chris Cole "
    "Collin Corey Damon Dante Darius Davion Dejon De'Andre Derrick Desmond Devin Dorian Drew Dwayne "
    "Elijah Emeka Evan Garrett Isaiah Jalen Jamal Jaylen Jerome Jordan Josh Julian Justin Kai Keegan "
    "Kendrick Keon Kevin Khalil Lamar Landry Malik Marcus Mason Miles Moses Nate Nikola Omari Quentin "
    "Reggie Rashad Ricky Terrence Tre Tyrese Victor Xavier Ja'Vonte Luis Mateo Andrés Tomáš Jonas "
    "Killian Sekou Oumar Precious Ty Wendell Isaac Bryce Donovan Hakeem Marquis Rodney Shamar Trey"
).split()
LAST_NAMES = (
    "Allen Anderson Bailey Banks Barnes Bell Bishop Boone Bradley Brooks Caldwell Carr Chambers "
    "Coleman Cooper Crawford Dawson Dixon Douglas Ellis Fields Fletcher Ford Franklin Gibson Graham "
    "Grant Greene Hale Hampton Harper Hayes Henderson Hill Holloway Hopkins Howell Hudson Ingram "
    "Jennings Kendall Knight Lawson Lyons Mack Manning Marsh Maxwell McAllister McCray Mercer Mills "
    "Monroe Moss Nash Nelson Norris Okafor Osei Owens Palmer Parks Patton Payne Pierce Porter Powell "
    "Quinn Ramsey Reed Rhodes Riggs Rivers Robinson Rowe Sampson Shaw Simmons Sims Singleton Stokes "
    "Sutton Tate Terry Thornton Tillman Townsend Tucker Vance Wade Walton Ware Watts Webb Whitfield "
    "Wiggins Wilkins Woodard Yates Young Marković Vukčević Hernández Jović Diallo Traoré O'Bryant "
    "N'Diaye Smith-Rowe Dos_Santos Van_Dyke St._Clair"
).replace("_", " ").split()
SUFFIXES = ("Jr.", "II", "III")

# tier -> (healthy minutes range, usage weight range, make-probability bonus)
TIER_SPEC = {
    "star": ((34.0, 37.0), (1.65, 2.0), 0.025),
    "starter": ((27.0, 32.0), (0.9, 1.4), 0.01),
    "rotation": ((17.0, 24.0), (0.95, 1.15), 0.0),
    "bench": ((9.0, 15.0), (0.8, 1.0), -0.01),
    "deep": ((3.0, 8.0), (0.75, 0.95), -0.025),
}
# Depth chart of a 15-man roster: the first five start; the last slot is the two-way contract.
DEPTH_TEMPLATE = (("G", "starter"), ("G", "starter"), ("F", "starter"), ("F", "starter"),
                  ("C", "starter"), ("G-F", "rotation"), ("G", "rotation"), ("F-C", "rotation"),
                  ("G", "bench"), ("F", "bench"), ("C", "bench"), ("G", "deep"), ("F-C", "deep"),
                  ("G-F", "deep"), ("F", "deep"))
# FGA share by zone (paint, mid-range, three), make probability by zone, FT rate (FTA/FGA),
# FT%, then relative weights for who gets rebounds, assists, blocks, steals, turnovers, fouls.
POSITIONS = {
    "G": ((0.27, 0.21, 0.52), (0.56, 0.41, 0.350), 0.19, 0.82, (0.8, 0.35, 2.2, 0.3, 1.4, 1.3, 0.8)),
    "G-F": ((0.31, 0.21, 0.48), (0.58, 0.41, 0.345), 0.19, 0.79, (1.1, 0.6, 1.3, 0.5, 1.2, 1.0, 0.9)),
    "F": ((0.38, 0.22, 0.40), (0.60, 0.41, 0.340), 0.21, 0.76, (1.4, 1.0, 1.0, 0.8, 1.0, 0.9, 1.0)),
    "F-C": ((0.52, 0.15, 0.33), (0.62, 0.40, 0.330), 0.25, 0.72, (2.0, 1.8, 0.8, 1.6, 0.8, 0.9, 1.2)),
    "C": ((0.68, 0.12, 0.20), (0.64, 0.40, 0.320), 0.28, 0.69, (2.6, 2.6, 0.8, 2.6, 0.7, 1.0, 1.4)),
}
ZONE_ASSISTED = (0.62, 0.5, 0.88)  # share of makes that were assisted
ZONE_BLOCKED = (0.22, 0.07, 0.02)  # share of misses that were blocked
OT_CLOSE_GAME_P = 0.25  # close games that the trailing team ties late: ~6% of games reach OT
INJURIES = ("Left Ankle; Sprain", "Right Ankle; Sprain", "Left Knee; Soreness", "Right Hamstring; Strain",
            "Low Back; Soreness", "Left Foot; Plantar Fasciitis", "Right Wrist; Sprain", "Concussion Protocol",
            "Right Calf; Strain", "Left Groin; Strain", "Right Shoulder; Sprain", "Illness")
MINOR = ("Illness", "Rest", "Left Knee; Soreness", "Right Ankle; Soreness", "Low Back; Tightness",
         "Personal Reasons")
PROTOCOLS = "Health and Safety Protocols"
TWO_WAY = "G League - Two-Way"


def stream_rng(seed: int, stream: str) -> random.Random:
    """Independent deterministic stream, so changing one part of the model leaves the others alone.

    str seeds are hashed with SHA-512 by ``random`` (not the salted ``hash()``), so this is stable.
    """
    return random.Random(f"nba-sim/{seed}/{stream}")


def player_lookup(name: str) -> str:
    """Lowercase ASCII name with non-letters removed: "De'Andre Vukčević Jr." -> "deandrevukcevicjr"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in ascii_name.lower() if "a" <= c <= "z")


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


# --------------------------------------------------------------------------- players & teams

@dataclass(eq=False)
class Player:
    """A synthetic player: fixed talent profile plus in-season availability state."""

    lookup: str
    name: str
    position: str
    birth_date: date
    jersey: int
    tier: str
    minutes_base: float
    usage: float
    zone_cum: tuple[float, float]  # cumulative FGA share: paint, paint + mid
    zone_pct: tuple[float, float, float]
    ft_rate: float
    ft_pct: float
    assisted_factor: float  # stars and guards create more of their own shots
    # relative weights for who gets rebounds, offensive rebounds, assists, blocks, steals, TOs, fouls
    reb: float
    oreb: float
    ast: float
    blk: float
    stl: float
    tov: float
    pf: float
    two_way: bool = False
    injured_games: int = 0
    injury_reason: str = ""
    returning: bool = False
    recent_points: deque[int] = field(default_factory=lambda: deque(maxlen=10))

    def projected_points(self) -> float:
        """Preseason points guess (used for prop lines until a player has 3 games)."""
        paint, mid = self.zone_cum[0], self.zone_cum[1] - self.zone_cum[0]
        per_shot = 2 * paint * self.zone_pct[0] + 2 * mid * self.zone_pct[1] \
            + 3 * (1 - self.zone_cum[1]) * self.zone_pct[2] + self.ft_rate * self.ft_pct
        return self.minutes_base * self.usage * 0.33 * per_shot


@dataclass(eq=False)
class Team:
    """A team: depth-ordered roster plus style (pace, zone defence)."""

    abbr: str
    roster: list[Player]
    pace: float
    defense: tuple[float, float, float]  # make-probability offset allowed per zone


@dataclass(frozen=True)
class Move:
    """A roster change effective on ``day``: a 1-for-1 trade or a signing (``other`` is None)."""

    day: date
    team: str
    player: Player
    other_team: str | None = None
    other: Player | None = None


class _PlayerFactory:
    """Draws unique names and talent profiles."""

    def __init__(self, rng: random.Random, season_start: date) -> None:
        self.rng, self.start, self.used = rng, season_start, set()

    def name(self) -> tuple[str, str]:
        while True:
            name = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"
            if self.rng.random() < 0.04:
                name += " " + self.rng.choice(SUFFIXES)
            if (lookup := player_lookup(name)) not in self.used:
                self.used.add(lookup)
                return name, lookup

    def player(self, position: str, tier: str, jersey: int, two_way: bool = False) -> Player:
        rng = self.rng
        zones, pct, ft_rate, ft_pct, weights = POSITIONS[position]
        if position != "C" and rng.random() < 0.08:
            zones = (0.30, 0.42, 0.28)  # mid-range specialist
        elif position == "C" and rng.random() < 0.35:
            zones = (0.80, 0.15, 0.05)  # non-shooting big
        mix = [max(0.02, z + rng.gauss(0, 0.05)) for z in zones]
        mix = [z / sum(mix) for z in mix]
        (lo, hi), (ulo, uhi), bonus = TIER_SPEC[tier]
        skill = bonus + rng.gauss(0, 0.025)
        # Young two-way guys, a handful of 35+ veterans (they trip the age fatigue rule downstream).
        age = rng.randint(19, 23) if two_way else rng.choices(
            range(19, 41), weights=(2, 4, 7, 9, 10, 10, 9, 8, 7, 6, 6, 5, 4, 4, 3, 2, 2, 1, 1, .5, .3, .3))[0]
        birth = date(self.start.year - age, self.start.month, self.start.day) \
            - timedelta(days=rng.randrange(365))
        name, lookup = self.name()
        creator = tier == "star" or position == "G"
        return Player(
            lookup=lookup, name=name, position=position, birth_date=birth, jersey=jersey, tier=tier,
            minutes_base=rng.uniform(lo, hi), usage=rng.uniform(ulo, uhi),
            zone_cum=(mix[0], mix[0] + mix[1]),
            zone_pct=tuple(min(0.75, max(0.2, p + skill)) for p in pct),
            ft_rate=max(0.05, ft_rate * rng.uniform(0.6, 1.5) * (1.3 if tier == "star" else 1.0)),
            ft_pct=min(0.95, max(0.45, ft_pct + rng.gauss(0, 0.06))),
            assisted_factor=0.7 if creator else 1.0,
            **{k: w * rng.uniform(0.7, 1.3) * (1.5 if k == "ast" and creator else 1.0)
               for k, w in zip(("reb", "oreb", "ast", "blk", "stl", "tov", "pf"), weights, strict=True)},
            two_way=two_way)


def build_league(rng: random.Random, cal: SeasonCalendar) -> tuple[dict[str, Team], list[Move]]:
    """30 teams of 15 players, plus mid-season trades and late signings (sorted by day)."""
    factory = _PlayerFactory(rng, cal.start)
    teams: dict[str, Team] = {}
    for abbr in TEAMS:
        stars = {rng.randrange(5)} if rng.random() < 0.7 else set()
        if rng.random() < 0.15:
            stars.add(rng.randrange(5))
        jerseys = rng.sample(range(56), len(DEPTH_TEMPLATE))
        roster = []
        for slot, (position, tier) in enumerate(DEPTH_TEMPLATE):
            if position == "F" and rng.random() < 0.5:
                position = rng.choice(("G-F", "F-C"))
            roster.append(factory.player(position, "star" if slot in stars else tier, jerseys[slot],
                                         two_way=slot == len(DEPTH_TEMPLATE) - 1))
        defense = tuple(rng.gauss(0, 0.02) for _ in range(3))
        teams[abbr] = Team(abbr, roster, rng.uniform(0.96, 1.04), defense)
    # A few players open the season on a long injury, so they return with little history.
    for abbr in rng.sample(TEAMS, 8):
        player = rng.choice(teams[abbr].roster[:8])
        player.injured_games, player.injury_reason = rng.randint(15, 45), rng.choice(INJURIES[:-1])
    moves: list[Move] = []
    traded: set[str] = set()
    for _ in range(rng.randint(4, 5)):  # 1-for-1 trades before the deadline
        day = date(cal.season_year, 12, 15) + timedelta(days=rng.randrange(58))
        a, b = rng.sample(TEAMS, 2)
        pa, pb = (rng.choice([p for p in teams[t].roster[1:11]
                              if p.tier != "star" and p.lookup not in traded]) for t in (a, b))
        traded.update((pa.lookup, pb.lookup))
        moves.append(Move(day, a, pa, b, pb))
    for _ in range(rng.randint(8, 12)):  # hardship / 10-day / late signings
        day = date(cal.season_year, 12, 20) + timedelta(days=rng.randrange(95))
        signing = factory.player(rng.choice(("G", "F", "C")), rng.choice(("bench", "deep", "deep")),
                                 jersey=rng.randrange(56))
        moves.append(Move(day, rng.choice(TEAMS), signing))
    moves.sort(key=lambda m: (m.day, m.player.lookup))
    return teams, moves


def _apply_move(rng: random.Random, teams: dict[str, Team], move: Move) -> None:
    """Sign a player (end of the bench) or swap two traded players' depth slots (roles)."""
    ra = teams[move.team].roster
    if move.other is None:
        ra.append(move.player)
        arrivals = [(ra, move.player)]
    else:
        rb = teams[move.other_team].roster
        ia, ib = ra.index(move.player), rb.index(move.other)
        ra[ia], rb[ib] = move.other, move.player
        arrivals = [(ra, move.other), (rb, move.player)]
    for roster, newcomer in arrivals:  # keep jersey numbers unique within a team
        taken = {p.jersey for p in roster if p is not newcomer}
        if newcomer.jersey in taken:
            newcomer.jersey = rng.choice([j for j in range(56) if j not in taken])


# --------------------------------------------------------------------------- availability

@dataclass
class Availability:
    """Pregame decision for one rostered player: dressed or not, and the injury-report listing."""

    player: Player
    active: bool
    report: str | None = None  # injury_status when listed on the report
    reason: str | None = None  # injury-report reason

    def gamebook_reason(self) -> str | None:
        """dnp_reason for an inactive player, in NBA gamebook style."""
        if self.active:
            return None
        if self.reason in (TWO_WAY, PROTOCOLS, "Rest", "Personal Reasons"):
            return self.reason
        return f"Injury/Illness - {self.reason}"


def pregame_availability(rng: random.Random, team: Team, day: date, cal: SeasonCalendar) -> list[Availability]:
    """Decide who is out, questionable or fine; advances multi-game injuries by one game."""
    protocols = date(cal.season_year, 12, 15) <= day <= date(cal.season_year + 1, 1, 10)
    out = sum(p.injured_games > 0 for p in team.roster)
    result = []
    for p in team.roster:
        if p.two_way and rng.random() < 0.7:
            result.append(Availability(p, False, "out", TWO_WAY))
            continue
        if p.injured_games == 0 and out < 4 and rng.random() < (0.035 if protocols else 0.009):
            covid = protocols and rng.random() < 0.7
            p.injured_games = rng.randint(3, 6) if covid else rng.choice(
                (1, 1, 1, 2, 2, 3, 4, 5, 7, 9, 12, rng.randint(13, 30)))
            p.injury_reason = PROTOCOLS if covid else rng.choice(INJURIES)
            out += 1
        if p.injured_games > 0:
            p.injured_games -= 1
            p.returning = p.injured_games == 0
            status = "doubtful" if p.injured_games == 0 and rng.random() < 0.2 else "out"
            result.append(Availability(p, False, status, p.injury_reason))
        elif p.returning:  # listed on the day he comes back, then plays
            p.returning = False
            status = rng.choice(("probable", "questionable", "available"))
            result.append(Availability(p, True, status, p.injury_reason))
        elif (r := rng.random()) < 0.025:  # a game-time decision; one in four sits
            result.append(Availability(p, rng.random() >= 0.25, "questionable", rng.choice(MINOR)))
        elif r < 0.045:
            result.append(Availability(p, True, "probable", rng.choice(MINOR)))
        else:
            result.append(Availability(p, True))
    return result


# --------------------------------------------------------------------------- game simulation

STATS = ("points", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "reb", "ast", "stl", "blk",
         "tov", "pf", "plus_minus")


def _apportion(total: int, weights: list[float], cap: int) -> list[int]:
    """Split ``total`` integer units proportionally to ``weights`` with a per-player cap."""
    shares = [0.0] * len(weights)
    free = [i for i, w in enumerate(weights) if w > 0]
    left = float(total)
    while free:
        norm = sum(weights[i] for i in free)
        over = [i for i in free if left * weights[i] / norm > cap]
        if not over:
            for i in free:
                shares[i] = left * weights[i] / norm
            break
        for i in over:
            shares[i] = cap
            left -= cap
            free.remove(i)
    units = [math.floor(s) for s in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: (units[i] - shares[i], i))
    for i in by_remainder[: total - sum(units)]:
        units[i] += 1
    return units


def _rotation_minutes(rng: random.Random, active: list[Player]) -> list[int]:
    """Regulation minutes in quarter-minute units (exact float sums), 960 units = 240 minutes."""
    weights = []
    for p in active:
        if p.tier in ("star", "starter", "rotation"):
            weights.append(p.minutes_base * max(0.5, rng.gauss(1.0, 0.1)))
        elif p.tier == "bench" and rng.random() < 0.85:
            weights.append(p.minutes_base * max(0.3, rng.gauss(1.0, 0.2)))
        else:  # garbage time or a coach's-decision DNP
            weights.append(rng.uniform(2.0, 8.0) if rng.random() < 0.25 else 0.0)
    for i in range(len(active)):  # coaches dress at least eight; backfill depleted rotations
        if sum(w > 0 for w in weights) >= 8 and sum(weights) >= 200:
            break
        weights[i] = weights[i] or 14.0
    return _apportion(960, weights, cap=176)


def _cum(values: list[float]) -> list[float]:
    return list(accumulate(values))


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, prod = math.exp(-lam), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


class _Side:
    """One team's players and running box score within a game."""

    def __init__(self, team: Team, active: list[Player], units: list[int]) -> None:
        self.team = team
        self.active = active
        self.units = {p.lookup: u for p, u in zip(active, units, strict=True)}
        self.box = {p.lookup: dict.fromkeys(STATS, 0) for p in active}

    def played(self) -> list[Player]:
        return [p for p in self.active if self.units[p.lookup] > 0]

    def points(self) -> int:
        return sum(b["points"] for b in self.box.values())


def _shoot(rng: random.Random, off: _Side, dfn: _Side, n_fga: int, periods: tuple[int, ...],
           minutes: dict[str, int], events: list[tuple]) -> int:
    """Field goals one by one, then free throws; returns rebound chances (misses) created."""
    shooters = [p for p in off.active if minutes.get(p.lookup, 0) > 0]
    defenders = [p for p in dfn.active if dfn.units[p.lookup] > 0]
    shot_cum = _cum([p.usage * minutes[p.lookup] for p in shooters])
    ast_cum = _cum([p.ast * minutes[p.lookup] for p in shooters])
    blk_cum = _cum([p.blk * dfn.units[p.lookup] for p in defenders])
    misses = 0
    for p in rng.choices(shooters, cum_weights=shot_cum, k=n_fga):
        box, r = off.box[p.lookup], rng.random()
        zone = 0 if r < p.zone_cum[0] else 1 if r < p.zone_cum[1] else 2
        made = rng.random() < p.zone_pct[zone] + dfn.team.defense[zone]
        assisted, blocker = False, None
        box["fga"] += 1
        box["fg3a"] += zone == 2
        if made:
            box["fgm"] += 1
            box["fg3m"] += zone == 2
            box["points"] += 3 if zone == 2 else 2
            if rng.random() < ZONE_ASSISTED[zone] * p.assisted_factor:
                assisted = True
                passer = p
                while passer is p:  # rejection sampling: nobody assists himself
                    passer = rng.choices(shooters, cum_weights=ast_cum)[0]
                off.box[passer.lookup]["ast"] += 1
        else:
            misses += 1
            if rng.random() < ZONE_BLOCKED[zone]:
                blocker = rng.choices(defenders, cum_weights=blk_cum)[0].lookup
                dfn.box[blocker]["blk"] += 1
        events.append((rng.choice(periods), rng.random(), p.lookup, off.team.abbr, _distance(rng, zone),
                       3 if zone == 2 else 2, made, assisted, blocker))
    for p, weight in zip(shooters, [p.usage * minutes[p.lookup] for p in shooters], strict=True):
        fta = _poisson(rng, p.ft_rate * n_fga * weight / shot_cum[-1])  # FTA ~ FT rate x expected FGA
        ftm = sum(rng.random() < p.ft_pct for _ in range(fta))
        box = off.box[p.lookup]
        box["fta"] += fta
        box["ftm"] += ftm
        box["points"] += ftm
        misses += sum(rng.random() < 0.45 for _ in range(fta - ftm))  # only a trip's last FT is live
    return misses


def _distance(rng: random.Random, zone: int) -> float:
    """Shot distance in feet consistent with the zone rules (paint <= 8 ft, threes >= 22 ft)."""
    if zone == 0:
        return round(min(8.0, rng.expovariate(1 / 2.6)), 1)
    if zone == 1:
        return round(rng.triangular(8.1, 22.0, 16.0), 1)
    if rng.random() < 0.24:
        return round(rng.uniform(22.0, 23.5), 1)  # corner three
    return round(min(35.0, 23.8 + rng.expovariate(1 / 1.5)), 1)


def _overtime_minutes(rng: random.Random, side: _Side) -> dict[str, int]:
    """25 player-minutes (100 units) for one overtime, mostly to the heaviest-minute players."""
    closers = sorted(side.played(), key=lambda p: (-side.units[p.lookup], p.lookup))[:7]
    units = _apportion(100, [side.units[p.lookup] ** 2 * rng.uniform(0.7, 1.3) for p in closers], cap=20)
    for p, u in zip(closers, units, strict=True):
        side.units[p.lookup] += u
    return {p.lookup: u for p, u in zip(closers, units, strict=True) if u}


def _credit(rng: random.Random, side: _Side, stat: str, weight: str, n: int, cap: int = 99) -> None:
    """Give ``n`` counting-stat events to players who played, weighted by skill x minutes."""
    players = side.played()
    cum = _cum([getattr(p, weight) * side.units[p.lookup] for p in players])
    for p in rng.choices(players, cum_weights=cum, k=n) if n > 0 else ():
        if side.box[p.lookup][stat] < cap:
            side.box[p.lookup][stat] += 1


def simulate_game(rng: random.Random, away: _Side, home: _Side) -> tuple[int, list[tuple]]:
    """Play one game into the two sides' box scores; returns (overtimes, shot events)."""
    events: list[tuple] = []
    tempo = (away.team.pace + home.team.pace) / 2 * rng.gauss(1.0, 0.03)
    misses: dict[_Side, int] = {}
    for off, dfn in ((away, home), (home, away)):
        misses[off] = _shoot(rng, off, dfn, round(rng.gauss(88 * tempo, 4)), (1, 2, 3, 4), off.units, events)
    overtimes = 0
    margin = away.points() - home.points()
    if margin == 0 or (abs(margin) <= 3 and rng.random() < OT_CLOSE_GAME_P):
        while True:
            overtimes += 1
            for off, dfn in ((away, home), (home, away)):
                ot_minutes = _overtime_minutes(rng, off)
                misses[off] += _shoot(rng, off, dfn, max(5, round(rng.gauss(10, 2))), (4 + overtimes,),
                                      ot_minutes, events)
            if away.points() != home.points():
                break
    for off, dfn in ((away, home), (home, away)):
        # ~10% of misses end in team rebounds / out of bounds, which no player is credited with.
        boards = sum(rng.random() < 0.9 for _ in range(misses[off]))
        oreb = sum(rng.random() < 0.23 for _ in range(boards))
        _credit(rng, off, "oreb", "oreb", oreb)
        _credit(rng, dfn, "dreb", "reb", boards - oreb)
        tov = max(4, round(rng.gauss(13.5, 3.2)))
        _credit(rng, off, "tov", "tov", tov)
        _credit(rng, dfn, "stl", "stl", sum(rng.random() < 0.55 for _ in range(tov)))
        _credit(rng, off, "pf", "pf", max(8, round(rng.gauss(19.5, 3.5))), cap=6)  # six fouls: out
    game_minutes = 48 + 5 * overtimes
    for side, other in ((away, home), (home, away)):
        _plus_minus(rng, side, side.points() - other.points(), game_minutes)
        for box in side.box.values():
            box["reb"] = box["oreb"] + box["dreb"]
    events.sort(key=lambda e: (e[0], e[1]))
    return overtimes, events


def _plus_minus(rng: random.Random, side: _Side, margin: int, game_minutes: int) -> None:
    """Noisy plus-minus proportional to minutes, summing exactly to 5 x margin."""
    players = sorted(side.played(), key=lambda p: (-side.units[p.lookup], p.lookup))
    for p in players:
        share = side.units[p.lookup] / 4 / game_minutes
        side.box[p.lookup]["plus_minus"] = round(margin * share + rng.gauss(0, 6 * math.sqrt(share)))
    gap = 5 * margin - sum(side.box[p.lookup]["plus_minus"] for p in players)
    for i in range(abs(gap)):
        side.box[players[i % len(players)].lookup]["plus_minus"] += 1 if gap > 0 else -1


# --------------------------------------------------------------------------- output

@dataclass
class SeasonSummary:
    """Counts describing one simulated (synthetic) season; also stored in the manifest."""

    seed: int
    season_year: int
    start: str
    end: str
    games: int = 0
    game_days: int = 0
    players: int = 0
    files: int = 0  # data files, not counting the manifest
    bytes: int = 0
    shot_events: int = 0  # rows written to bigdataball_pbp
    missing_pbp_games: int = 0
    overtime_games: int = 0
    trades: int = 0
    signings: int = 0
    back_to_backs_per_team: float = 0.0
    avg_team_points: float = 0.0
    reused: bool = False  # an existing complete manifest was returned without simulating


class _Writer:
    """Atomic JSON writer in the RAW_FORMAT.md envelope; counts files and bytes."""

    def __init__(self, raw: Path) -> None:
        self.raw, self.files, self.bytes = raw, 0, 0

    def write(self, source: str, day: date, name: str, rows: list[dict]) -> None:
        envelope = {"source": source, "game_date": day.isoformat(), "synthetic": True, "rows": rows}
        self.bytes += write_json_atomic(self.raw / source / day.isoformat() / name, envelope)
        self.files += 1


def write_json_atomic(path: Path, obj: dict) -> int:
    """Write canonical JSON via temp file + rename, so readers never see half a file."""
    data = (json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return len(data)


def _games_without_pbp(rng: random.Random, schedule: list[Game]) -> set[str]:
    """One game in every block of 33 (~3%) has no play-by-play file, spread evenly over the season."""
    block = 33
    return {rng.choice(schedule[i:i + block]).game_id for i in range(0, len(schedule), block)
            if rng.random() < len(schedule[i:i + block]) / block}


def _back_to_backs(games: list[Game]) -> float:
    dates: dict[str, set[date]] = {t: set() for t in TEAMS}
    for g in games:
        dates[g.away].add(g.game_date)
        dates[g.home].add(g.game_date)
    return sum(d + timedelta(days=1) in ds for ds in dates.values() for d in ds) / len(TEAMS)


def _gamebook_rows(game: Game, season_year: int, side: _Side, avail: list[Availability],
                   is_home: bool) -> list[dict]:
    opponent = game.away if is_home else game.home
    starters = {p.lookup for p in side.played()[:5]}
    rows = []
    for a in avail:
        p = a.player
        units = side.units.get(p.lookup, 0)
        status = "active" if units else "dnp" if a.active else "inactive"
        box = side.box[p.lookup] if units else dict.fromkeys(STATS, 0)
        rows.append({"game_id": game.game_id, "season_year": season_year, "player_lookup": p.lookup,
                     "player_name": p.name, "universal_player_id": f"{p.lookup}_001",
                     "team_abbr": side.team.abbr, "opponent_team_abbr": opponent, "is_home": is_home,
                     "player_status": status,
                     "dnp_reason": "Coach's Decision" if status == "dnp" else a.gamebook_reason(),
                     "starter": p.lookup in starters, "minutes": units / 4, **box})
    return rows


def _team_row(game: Game, season_year: int, side: _Side, is_home: bool, overtimes: int) -> dict:
    totals = {k: sum(b[k] for b in side.box.values()) for k in STATS if k != "plus_minus"}
    return {"game_id": game.game_id, "season_year": season_year, "team_abbr": side.team.abbr,
            "opponent_team_abbr": game.away if is_home else game.home, "is_home": is_home,
            **totals, "minutes": 240 + 25 * overtimes}


def _prop_rows(rng: random.Random, game: Game, team: Team, active: list[Player]) -> list[dict]:
    """Points lines for the rotation, near each player's recent average (books shade a little)."""
    rows = []
    for p in [p for p in active if p.tier != "deep"][:rng.randint(8, 10)]:
        recent = p.recent_points
        average = sum(recent) / len(recent) if len(recent) >= 3 else p.projected_points()
        rows.append({"game_id": game.game_id, "player_lookup": p.lookup, "team_abbr": team.abbr,
                     "points_line": max(0.5, math.floor(average + rng.gauss(0, 0.8)) + 0.5),
                     "bookmaker": "synthetic_book"})
    return rows


def _roster_rows(team: Team) -> list[dict]:
    return [{"team_abbr": team.abbr, "player_lookup": p.lookup, "player_name": p.name,
             "universal_player_id": f"{p.lookup}_001", "position": p.position,
             "birth_date": p.birth_date.isoformat(), "jersey_number": p.jersey} for p in team.roster]


def _event_rows(game_id: str, events: list[tuple]) -> list[dict]:
    return [{"game_id": game_id, "event_id": i, "period": period, "player_lookup": lookup, "team_abbr": team,
             "shot_distance_ft": distance, "shot_value": value, "made": made, "assisted": assisted,
             "blocked_by_lookup": blocker}
            for i, (period, _, lookup, team, distance, value, made, assisted, blocker) in enumerate(events, 1)]


def _read_manifest(path: Path, key: dict) -> SeasonSummary | None:
    try:
        manifest = json.loads(path.read_text())
        if all(manifest.get(k) == v for k, v in key.items()):
            return SeasonSummary(**{**manifest["summary"], "reused": True})
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing, half-written by hand or from another version: simulate again
    return None


@dataclass
class GameFiles:
    """Everything one game contributes to the bucket."""

    gamebook: list[dict]
    team_box: list[dict]
    props: list[dict]
    shots: list[dict]
    injuries: list[dict]
    rosters: list[dict]
    overtimes: int


def play_game(rng: random.Random, game: Game, teams: dict[str, Team], cal: SeasonCalendar) -> GameFiles:
    """Pregame (availability, minutes, prop lines), the game itself, then all of its rows."""
    sides, avails, props, injuries, rosters = [], [], [], [], []
    for abbr in (game.away, game.home):
        team = teams[abbr]
        avail = pregame_availability(rng, team, game.game_date, cal)
        active = [a.player for a in avail if a.active]
        sides.append(_Side(team, active, _rotation_minutes(rng, active)))
        avails.append(avail)
        props += _prop_rows(rng, game, team, active)
        rosters += _roster_rows(team)
        injuries += [{"team_abbr": abbr, "player_lookup": a.player.lookup, "injury_status": a.report,
                      "reason": a.reason} for a in avail if a.report]
    overtimes, events = simulate_game(rng, sides[0], sides[1])
    gamebook, team_box = [], []
    for side, avail, is_home in ((sides[0], avails[0], False), (sides[1], avails[1], True)):
        gamebook += _gamebook_rows(game, cal.season_year, side, avail, is_home)
        team_box.append(_team_row(game, cal.season_year, side, is_home, overtimes))
        for p in side.played():
            p.recent_points.append(side.box[p.lookup]["points"])
    return GameFiles(gamebook, team_box, props, _event_rows(game.game_id, events), injuries, rosters, overtimes)


def simulate_season(out_dir: Path, *, seed: int = 2021, start: date = DEFAULT_START, end: date | None = None,
                    force: bool = False) -> SeasonSummary:
    """Simulate the regular season into ``out_dir/raw`` and return its summary.

    ``end`` (default: the season's last day, April 10) is the last date written; the schedule is
    always the full season, so shorter runs are prefixes of the full run. If ``out_dir`` already
    holds a finished run (manifest) with the same seed, start, end and format version, nothing is
    rewritten and the stored summary comes back with ``reused=True``; ``force=True`` rewrites.
    Rewriting first deletes the manifest and this simulator's source directories under ``raw/``
    (nothing else), so no file of an older run survives.
    """
    cal = season_calendar(start)
    end = end or cal.end
    if not start <= end <= cal.end:
        raise ValueError(f"end must be between {start} and {cal.end}, got {end}")
    if len(cal.game_days) < MIN_GAME_DAYS:  # 82 games without three-in-a-rows need room
        raise ValueError(f"start {start} leaves fewer than {MIN_GAME_DAYS} game days before {cal.end}")
    raw = Path(out_dir) / "raw"
    manifest_path = raw / "_manifest.json"
    key = {"format_version": FORMAT_VERSION, "seed": seed, "start": start.isoformat(), "end": end.isoformat()}
    if not force and (previous := _read_manifest(manifest_path, key)):
        return previous
    manifest_path.unlink(missing_ok=True)  # from here on the bucket reads as unfinished
    for source in SOURCES:
        shutil.rmtree(raw / source, ignore_errors=True)

    schedule = build_schedule(stream_rng(seed, "schedule"), cal)
    teams, moves = build_league(stream_rng(seed, "league"), cal)
    no_pbp = _games_without_pbp(stream_rng(seed, "pbp-gaps"), schedule)
    rng = stream_rng(seed, "games")
    played = [g for g in schedule if g.game_date <= end]
    summary = SeasonSummary(seed, cal.season_year, start.isoformat(), end.isoformat(), games=len(played),
                            back_to_backs_per_team=round(_back_to_backs(played), 2))
    games_by_day: dict[date, list[Game]] = {}
    for game in played:
        games_by_day.setdefault(game.game_date, []).append(game)
    writer, players, points = _Writer(raw), set(), 0
    for day, games in games_by_day.items():  # date order: the schedule is sorted
        while moves and moves[0].day <= day:
            _apply_move(rng, teams, move := moves.pop(0))
            summary.trades += move.other is not None
            summary.signings += move.other is None
        schedule_rows, injuries, rosters = [], [], []
        for game in games:
            files = play_game(rng, game, teams, cal)
            writer.write("nbac_gamebook", day, f"{game.game_id}.json", files.gamebook)
            writer.write("nbac_team_boxscore", day, f"{game.game_id}.json", files.team_box)
            writer.write("odds_api_props", day, f"{game.game_id}.json", files.props)
            if game.game_id in no_pbp:
                summary.missing_pbp_games += 1
            else:
                writer.write("bigdataball_pbp", day, f"{game.game_id}.json", files.shots)
                summary.shot_events += len(files.shots)
            schedule_rows.append({"game_id": game.game_id, "season_year": cal.season_year,
                                  "home_team_abbr": game.home, "away_team_abbr": game.away, "game_status": 3,
                                  "is_playoffs": False, "arena": f"{CITIES[game.home]} Arena"})
            injuries += files.injuries
            rosters += files.rosters
            summary.overtime_games += files.overtimes > 0
            points += sum(row["points"] for row in files.team_box)
        writer.write("nbac_schedule", day, "schedule.json", schedule_rows)
        writer.write("nbac_injury_report", day, "injuries.json", injuries)
        writer.write("nbac_rosters", day, "rosters.json", rosters)
        players.update(row["player_lookup"] for row in rosters)
        summary.game_days += 1

    summary.players, summary.files, summary.bytes = len(players), writer.files, writer.bytes
    summary.avg_team_points = round(points / max(1, 2 * summary.games), 2)
    write_json_atomic(manifest_path, {
        **key, "synthetic": True, "generator": "plugins/nba/simulate.py", "season_year": cal.season_year,
        "season_end": cal.end.isoformat(), "off_days": [d.isoformat() for d in cal.off_days],
        "sources": list(SOURCES), "summary": asdict(summary)})
    return summary


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description="Write a deterministic SYNTHETIC NBA season as a raw bucket.")
    parser.add_argument("--out", type=Path, required=True, help="bucket root; files go to OUT/raw/...")
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START, help="first day (YYYY-MM-DD)")
    parser.add_argument("--end", type=date.fromisoformat, default=None,
                        help="last day written (default: end of the regular season)")
    parser.add_argument("--force", action="store_true", help="rewrite even if a matching manifest exists")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    try:
        s = simulate_season(args.out, seed=args.seed, start=args.start, end=args.end, force=args.force)
    except ValueError as exc:
        parser.error(str(exc))
    if not args.quiet:
        verb = "reused existing" if s.reused else f"simulated in {time.perf_counter() - began:.1f}s:"
        print(f"SYNTHETIC data (not real NBA results) {verb} season {s.season_year}-{(s.season_year + 1) % 100:02d} "
              f"seed {s.seed}, {s.start}..{s.end}: {s.games} games on {s.game_days} days, {s.players} players, "
              f"{s.files} files ({s.bytes / 1e6:.1f} MB), {s.missing_pbp_games} games without pbp, "
              f"avg team points {s.avg_team_points} -> {args.out / 'raw'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
