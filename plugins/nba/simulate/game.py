"""One game, simulated: minutes, shots by zone, the box score."""

from __future__ import annotations

import math
import random
from itertools import accumulate

from .league import OT_CLOSE_GAME_P, ZONE_ASSISTED, ZONE_BLOCKED, Player, Team

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


def rotation_minutes(rng: random.Random, active: list[Player]) -> list[int]:
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


class Side:
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


def _shoot(rng: random.Random, off: Side, dfn: Side, n_fga: int, periods: tuple[int, ...],
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


def _overtime_minutes(rng: random.Random, side: Side) -> dict[str, int]:
    """25 player-minutes (100 units) for one overtime, mostly to the heaviest-minute players."""
    closers = sorted(side.played(), key=lambda p: (-side.units[p.lookup], p.lookup))[:7]
    units = _apportion(100, [side.units[p.lookup] ** 2 * rng.uniform(0.7, 1.3) for p in closers], cap=20)
    for p, u in zip(closers, units, strict=True):
        side.units[p.lookup] += u
    return {p.lookup: u for p, u in zip(closers, units, strict=True) if u}


def _credit(rng: random.Random, side: Side, stat: str, weight: str, n: int, cap: int = 99) -> None:
    """Give ``n`` counting-stat events to players who played, weighted by skill x minutes."""
    players = side.played()
    cum = _cum([getattr(p, weight) * side.units[p.lookup] for p in players])
    for p in rng.choices(players, cum_weights=cum, k=n) if n > 0 else ():
        if side.box[p.lookup][stat] < cap:
            side.box[p.lookup][stat] += 1


def simulate_game(rng: random.Random, away: Side, home: Side) -> tuple[int, list[tuple]]:
    """Play one game into the two sides' box scores; returns (overtimes, shot events)."""
    events: list[tuple] = []
    tempo = (away.team.pace + home.team.pace) / 2 * rng.gauss(1.0, 0.03)
    misses: dict[Side, int] = {}
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


def _plus_minus(rng: random.Random, side: Side, margin: int, game_minutes: int) -> None:
    """Noisy plus-minus proportional to minutes, summing exactly to 5 x margin."""
    players = sorted(side.played(), key=lambda p: (-side.units[p.lookup], p.lookup))
    for p in players:
        share = side.units[p.lookup] / 4 / game_minutes
        side.box[p.lookup]["plus_minus"] = round(margin * share + rng.gauss(0, 6 * math.sqrt(share)))
    gap = 5 * margin - sum(side.box[p.lookup]["plus_minus"] for p in players)
    for i in range(abs(gap)):
        side.box[players[i % len(players)].lookup]["plus_minus"] += 1 if gap > 0 else -1



