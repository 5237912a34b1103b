"""The league: teams, players (invented names), depth charts, moves, who is available."""

from __future__ import annotations

import random
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta

from .schedule import TEAMS, SeasonCalendar

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


def player_lookup(name: str) -> str:
    """Lowercase ASCII name with non-letters removed: "De'Andre Vukčević Jr." -> "deandrevukcevicjr"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in ascii_name.lower() if "a" <= c <= "z")


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


def apply_move(rng: random.Random, teams: dict[str, Team], move: Move) -> None:
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



