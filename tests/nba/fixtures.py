"""Hand-made fixtures for the Phase 4/5 tests: rows written straight into Phase 2/3 tables.

Column contracts are ``plugins/nba/TABLES.md`` (Phase 3) and ``plugins/nba/loaders.py``
(``RAW_TABLES``, Phase 2). Every builder fills sensible defaults so a test states only the
values its assertion depends on. Dates: the fixture season starts on :data:`SEASON_START`
(the schedule's first date), so ``day(n)`` is season day ``n``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from bfplan.modes import policy_for
from bfplan.plugins import import_path
from bfplan.processors import ProcessorContext, ProcessorResult, SqlProcessor
from bfplan.warehouse.duckdb import DuckDBWarehouse

NBA_PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "nba"
SEASON_START = date(2021, 10, 19)
SEASON_YEAR = 2021


def nba_module(name: str) -> ModuleType:
    """A module of the NBA plugin package (``precompute``, ``predictions``, ``loaders``...)."""
    pkg = import_path(NBA_PLUGIN)
    return importlib.import_module(f"{pkg.__name__}.{name}")


def day(n: int) -> date:
    """Season day ``n`` (0 = the season's first scheduled date)."""
    return SEASON_START + timedelta(days=n)


# --- Phase 3 column contracts (TABLES.md), BigQuery types ------------------------------------
_I, _F, _S, _B, _D = "INT64", "FLOAT64", "STRING", "BOOL", "DATE"

PGS_COLUMNS: dict[str, str] = {
    "game_id": _S,
    "game_date": _D,
    "season_year": _I,
    "player_lookup": _S,
    "universal_player_id": _S,
    "player_name": _S,
    "team_abbr": _S,
    "opponent_team_abbr": _S,
    "is_home": _B,
    "starter": _B,
    "minutes_played": _F,
    "points": _I,
    "fg_makes": _I,
    "fg_attempts": _I,
    "three_pt_makes": _I,
    "three_pt_attempts": _I,
    "ft_makes": _I,
    "ft_attempts": _I,
    "offensive_rebounds": _I,
    "defensive_rebounds": _I,
    "rebounds": _I,
    "assists": _I,
    "steals": _I,
    "blocks": _I,
    "turnovers": _I,
    "personal_fouls": _I,
    "plus_minus": _I,
    "paint_attempts": _I,
    "paint_makes": _I,
    "mid_range_attempts": _I,
    "mid_range_makes": _I,
    "assisted_fg_makes": _I,
    "unassisted_fg_makes": _I,
    "has_shot_zone_data": _B,
    "usage_rate": _F,
    "ts_pct": _F,
    "efg_pct": _F,
    "is_active": _B,
    "points_line": _F,
    "data_hash": _S,
}

TDGS_COLUMNS: dict[str, str] = {
    "game_id": _S,
    "game_date": _D,
    "season_year": _I,
    "defending_team_abbr": _S,
    "opponent_team_abbr": _S,
    "is_home": _B,
    "points_allowed": _I,
    "opp_fg_attempts": _I,
    "opp_fg_makes": _I,
    "opp_paint_attempts": _I,
    "opp_paint_makes": _I,
    "opp_mid_range_attempts": _I,
    "opp_mid_range_makes": _I,
    "opp_three_pt_attempts": _I,
    "opp_three_pt_makes": _I,
    "paint_points_allowed": _I,
    "mid_range_points_allowed": _I,
    "three_pt_points_allowed": _I,
    "blocks_paint": _I,
    "blocks_mid_range": _I,
    "blocks_three_pt": _I,
    "steals": _I,
    "defensive_rebounds": _I,
    "defensive_rating": _F,
    "opponent_pace": _F,
    "opponent_possessions": _F,
    "has_shot_zone_data": _B,
    "win_flag": _B,
    "data_hash": _S,
}

TOGS_COLUMNS: dict[str, str] = {
    "game_id": _S,
    "game_date": _D,
    "season_year": _I,
    "team_abbr": _S,
    "opponent_team_abbr": _S,
    "is_home": _B,
    "points": _I,
    "fg_attempts": _I,
    "fg_makes": _I,
    "three_pt_attempts": _I,
    "three_pt_makes": _I,
    "ft_attempts": _I,
    "ft_makes": _I,
    "offensive_rebounds": _I,
    "turnovers": _I,
    "possessions": _F,
    "pace": _F,
    "offensive_rating": _F,
    "win_flag": _B,
    "margin": _I,
    "minutes": _I,
    "data_hash": _S,
}

UPGC_COLUMNS: dict[str, str] = {
    "game_id": _S,
    "game_date": _D,
    "season_year": _I,
    "player_lookup": _S,
    "universal_player_id": _S,
    "team_abbr": _S,
    "opponent_team_abbr": _S,
    "is_home": _B,
    "has_prop_line": _B,
    "points_line": _F,
    "player_status": _S,
    "days_rest": _I,
    "back_to_back": _B,
    "games_in_last_7_days": _I,
    "games_in_last_14_days": _I,
    "minutes_in_last_7_days": _F,
    "minutes_in_last_14_days": _F,
    "back_to_backs_last_14_days": _I,
    "avg_minutes_per_game_last_7": _F,
    "points_avg_last_5": _F,
    "points_avg_last_10": _F,
    "usage_rate_last_7": _F,
    "projected_usage_rate": _F,
    "team_pace_last_10": _F,
    "opponent_pace_last_10": _F,
    "pace_differential": _F,
    "star_teammates_out": _I,
    "team_days_rest": _I,
    "opponent_days_rest": _I,
    "season_phase": _S,
    "player_age": _I,
    "l5_completeness_pct": _F,
    "l10_completeness_pct": _F,
    "l7d_completeness_pct": _F,
    "l14d_completeness_pct": _F,
    "l30d_completeness_pct": _F,
    "data_hash": _S,
}

#: the UTGC columns PCF reads (it only needs the team's row of the date)
UTGC_COLUMNS: dict[str, str] = {"game_id": _S, "game_date": _D, "team_abbr": _S, "opponent_team_abbr": _S}

PGS = "nba_analytics.player_game_summary"
TDGS = "nba_analytics.team_defense_game_summary"
TOGS = "nba_analytics.team_offense_game_summary"
UPGC = "nba_analytics.upcoming_player_game_context"
UTGC = "nba_analytics.upcoming_team_game_context"
SCHEDULE = "nba_raw.nbac_schedule"
GAMEBOOK = "nba_raw.nbac_gamebook_player_stats"


def raw_columns(table: str) -> dict[str, str]:
    loaders = nba_module("loaders")
    for name, columns in loaders.RAW_TABLES.values():
        if name == table:
            return dict(columns)
    raise KeyError(table)


def game_id(d: date, away: str, home: str) -> str:
    return f"{d:%Y%m%d}_{away}_{home}"


@dataclass
class Fixture:
    """Rows to write, table by table; :meth:`write` creates every input table (even empty)."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, **values: Any) -> dict[str, Any]:
        self.rows.setdefault(table, []).append(values)
        return values

    # -- Phase 2 ---------------------------------------------------------------------------
    def game(self, d: date, away: str, home: str, *, status: int = 3) -> str:
        """A scheduled game (final by default)."""
        gid = game_id(d, away, home)
        self.add(
            SCHEDULE,
            game_date=d,
            game_id=gid,
            season_year=SEASON_YEAR,
            home_team_abbr=home,
            away_team_abbr=away,
            game_status=status,
            is_playoffs=False,
            arena="Arena",
        )
        return gid

    def gamebook(self, d: date, player: str, team: str, opponent: str, status: str = "active", **values: Any) -> None:
        row = {
            "game_date": d,
            "game_id": values.pop("game_id", f"{d:%Y%m%d}_{team}_{opponent}"),
            "season_year": SEASON_YEAR,
            "player_lookup": player,
            "player_name": player,
            "universal_player_id": f"{player}_001",
            "team_abbr": team,
            "opponent_team_abbr": opponent,
            "is_home": False,
            "player_status": status,
            "dnp_reason": None if status == "active" else "Coach's Decision",
            "starter": False,
            "minutes": 20.0 if status == "active" else 0.0,
        }
        row.update(values)
        self.add(GAMEBOOK, **row)

    # -- Phase 3 ---------------------------------------------------------------------------
    def tdgs(
        self,
        d: date,
        team: str,
        opponent: str = "OPP",
        *,
        paint: tuple[int, int] | None = (20, 40),
        mid: tuple[int, int] | None = (8, 20),
        three: tuple[int, int] = (12, 35),
        **values: Any,
    ) -> None:
        """One defending team's game; zone tuples are (makes, attempts); ``None`` = no shot events."""
        row: dict[str, Any] = {
            "game_id": game_id(d, opponent, team),
            "game_date": d,
            "season_year": SEASON_YEAR,
            "defending_team_abbr": team,
            "opponent_team_abbr": opponent,
            "is_home": True,
            "points_allowed": 110,
            "opp_fg_attempts": 90,
            "opp_fg_makes": 40,
            "opp_paint_makes": paint[0] if paint else None,
            "opp_paint_attempts": paint[1] if paint else None,
            "opp_mid_range_makes": mid[0] if mid else None,
            "opp_mid_range_attempts": mid[1] if mid else None,
            "opp_three_pt_makes": three[0],
            "opp_three_pt_attempts": three[1],
            "paint_points_allowed": 2 * paint[0] if paint else None,
            "mid_range_points_allowed": 2 * mid[0] if mid else None,
            "three_pt_points_allowed": 3 * three[0],
            "blocks_paint": 4 if paint else None,
            "blocks_mid_range": 1 if paint else None,
            "blocks_three_pt": 0 if paint else None,
            "steals": 7,
            "defensive_rebounds": 33,
            "defensive_rating": 110.0,
            "opponent_pace": 100.0,
            "opponent_possessions": 100.0,
            "has_shot_zone_data": paint is not None,
            "win_flag": True,
            "data_hash": "0" * 16,
        }
        row.update(values)
        self.add(TDGS, **row)

    def pgs(self, d: date, player: str, team: str = "BOS", opponent: str = "OPP", **values: Any) -> None:
        """One active player's game: 20 points on 8/16 FG (paint 4/6, mid 2/5, three 2/5) by default."""
        row: dict[str, Any] = {
            "game_id": game_id(d, opponent, team),
            "game_date": d,
            "season_year": SEASON_YEAR,
            "player_lookup": player,
            "universal_player_id": f"{player}_001",
            "player_name": player,
            "team_abbr": team,
            "opponent_team_abbr": opponent,
            "is_home": True,
            "starter": True,
            "minutes_played": 30.0,
            "points": 20,
            "fg_makes": 8,
            "fg_attempts": 16,
            "three_pt_makes": 2,
            "three_pt_attempts": 5,
            "ft_makes": 2,
            "ft_attempts": 2,
            "offensive_rebounds": 1,
            "defensive_rebounds": 4,
            "rebounds": 5,
            "assists": 3,
            "steals": 1,
            "blocks": 0,
            "turnovers": 2,
            "personal_fouls": 2,
            "plus_minus": 0,
            "paint_attempts": 6,
            "paint_makes": 4,
            "mid_range_attempts": 5,
            "mid_range_makes": 2,
            "assisted_fg_makes": 5,
            "unassisted_fg_makes": 3,
            "has_shot_zone_data": True,
            "usage_rate": 22.0,
            "ts_pct": 0.58,
            "efg_pct": 0.56,
            "is_active": True,
            "points_line": None,
            "data_hash": "0" * 16,
        }
        row.update(values)
        self.add(PGS, **row)

    def togs(self, d: date, team: str, opponent: str = "OPP", **values: Any) -> None:
        row: dict[str, Any] = {
            "game_id": game_id(d, opponent, team),
            "game_date": d,
            "season_year": SEASON_YEAR,
            "team_abbr": team,
            "opponent_team_abbr": opponent,
            "is_home": True,
            "points": 110,
            "fg_attempts": 88,
            "fg_makes": 40,
            "three_pt_attempts": 35,
            "three_pt_makes": 12,
            "ft_attempts": 20,
            "ft_makes": 16,
            "offensive_rebounds": 10,
            "turnovers": 13,
            "possessions": 100.0,
            "pace": 100.0,
            "offensive_rating": 110.0,
            "win_flag": True,
            "margin": 5,
            "minutes": 240,
            "data_hash": "0" * 16,
        }
        row.update(values)
        self.add(TOGS, **row)

    def utgc(self, d: date, team: str = "BOS", opponent: str = "OPP") -> None:
        """A team's context row for a game (PCF only checks that it exists)."""
        self.add(UTGC, game_id=game_id(d, opponent, team), game_date=d, team_abbr=team, opponent_team_abbr=opponent)

    def upgc(self, d: date, player: str, team: str = "BOS", opponent: str = "OPP", **values: Any) -> None:
        """A player's context for a game: 2 days' rest, light load, 25 years old by default."""
        row: dict[str, Any] = {
            "game_id": game_id(d, opponent, team),
            "game_date": d,
            "season_year": SEASON_YEAR,
            "player_lookup": player,
            "universal_player_id": f"{player}_001",
            "team_abbr": team,
            "opponent_team_abbr": opponent,
            "is_home": True,
            "has_prop_line": False,
            "points_line": None,
            "player_status": "available",
            "days_rest": 1,
            "back_to_back": False,
            "games_in_last_7_days": 3,
            "games_in_last_14_days": 6,
            "minutes_in_last_7_days": 90.0,
            "minutes_in_last_14_days": 180.0,
            "back_to_backs_last_14_days": 0,
            "avg_minutes_per_game_last_7": 30.0,
            "points_avg_last_5": 20.0,
            "points_avg_last_10": 20.0,
            "usage_rate_last_7": 22.0,
            "projected_usage_rate": 22.0,
            "team_pace_last_10": 100.0,
            "opponent_pace_last_10": 100.0,
            "pace_differential": 0.0,
            "star_teammates_out": 0,
            "team_days_rest": 1,
            "opponent_days_rest": 1,
            "season_phase": "regular_season",
            "player_age": 25,
            "l5_completeness_pct": 100.0,
            "l10_completeness_pct": 100.0,
            "l7d_completeness_pct": 100.0,
            "l14d_completeness_pct": 100.0,
            "l30d_completeness_pct": 100.0,
            "data_hash": "0" * 16,
        }
        row.update(values)
        self.add(UPGC, **row)

    # -- writing ---------------------------------------------------------------------------
    def write(self, wh: DuckDBWarehouse, tables: Iterable[str] | None = None) -> None:
        """Create the input tables (all known ones unless ``tables``) and append the rows."""
        schemas = {
            PGS: PGS_COLUMNS,
            TDGS: TDGS_COLUMNS,
            TOGS: TOGS_COLUMNS,
            UPGC: UPGC_COLUMNS,
            UTGC: UTGC_COLUMNS,
            SCHEDULE: raw_columns(SCHEDULE),
            GAMEBOOK: raw_columns(GAMEBOOK),
        }
        for table in tables or schemas:
            columns = schemas[table]
            wh.ensure_table(table, columns, partition_column="game_date")
            rows = self.rows.get(table, [])
            unknown = {k for r in rows for k in r} - set(columns)
            if unknown:
                raise KeyError(f"{table}: unknown fixture column(s) {sorted(unknown)}")
            wh.append_rows(table, columns, [tuple(r.get(c) for c in columns) for r in rows])
        self.rows.clear()


def run(
    wh: DuckDBWarehouse,
    processor: SqlProcessor,
    dates: Sequence[date],
    *,
    mode: str = "backfill",
    params: Mapping[str, Any] | None = None,
) -> ProcessorResult:
    """Run one processor over ``dates`` in one transaction, as the runner does for one node."""
    with wh.transaction() as tx:
        ctx = ProcessorContext(
            processor=processor,
            dates=list(dates),
            params={**policy_for(mode).processor_params(), **(params or {})},
            run_id="t",
            mode=mode,
            warehouse=wh,
            transaction=tx,
        )
        return processor.run(ctx)


def failures(wh: DuckDBWarehouse, processor: str) -> list[dict[str, Any]]:
    if not wh.table_exists("nba_processing.precompute_failures"):
        return []
    return wh.query(
        "SELECT * FROM nba_processing.precompute_failures WHERE processor_name = @p ORDER BY analysis_date, entity_id",
        {"p": processor},
    )


# --- a small league, for the processors that need others' output (PCF, PDC, MLFS, Phase 5) ----

LEAGUE_TEAMS = [f"T{i:02d}" for i in range(20)]
LEAGUE_DAY = 24  # the analysis date of the league fixture: season day 24 (past HEAD's relaxed thresholds)


def league(fx: Fixture, *, last_day: int = LEAGUE_DAY) -> None:
    """20 teams in 10 fixed pairs, each pair playing every day from day 0 to ``last_day``.

    * TDGS: team i allows paint (20 + i % 5)/40, mid-range 8/20, threes 12/36; defensive rating
      100 + i, opponent pace 95 + i. TOGS: pace 100 + i, offensive rating 110 + i, even teams win.
    * PGS: one regular per team, ``p00`` .. ``p19``, 20 points on 30 minutes every game; ``p00``
      (T00) instead scores n points on season day n. ``newbie`` (T02) plays only its last 5 days
      (4 games before ``last_day``), ``early`` (T04) its last 8 days (7 games before ``last_day``).
    * UPGC rows on ``last_day`` for every player with a game that day (all of the above).
    """
    for n in range(last_day + 1):
        d = day(n)
        for a in range(0, 20, 2):
            home, away = LEAGUE_TEAMS[a], LEAGUE_TEAMS[a + 1]
            fx.game(d, away, home)
            for i, team, opp in ((a, home, away), (a + 1, away, home)):
                gid = game_id(d, away, home)
                fx.tdgs(
                    d,
                    team,
                    opp,
                    game_id=gid,
                    is_home=team == home,
                    paint=(20 + i % 5, 40),
                    mid=(8, 20),
                    three=(12, 36),
                    defensive_rating=100.0 + i,
                    opponent_pace=95.0 + i,
                )
                fx.togs(
                    d,
                    team,
                    opp,
                    game_id=gid,
                    is_home=team == home,
                    pace=100.0 + i,
                    offensive_rating=110.0 + i,
                    win_flag=i % 2 == 0,
                )
                player = f"p{i:02d}"
                points = n if player == "p00" else 20
                fx.pgs(d, player, team, opp, game_id=gid, is_home=team == home, points=points, ft_makes=points // 10)
                fx.gamebook(d, player, team, opp, game_id=gid)
                extra = {"newbie": (2, last_day - 4), "early": (4, last_day - 7)}
                for name, (team_i, first) in extra.items():
                    if i == team_i and n >= first:
                        fx.pgs(d, name, team, opp, game_id=gid, is_home=team == home, points=12)
                        fx.gamebook(d, name, team, opp, game_id=gid)
                if n == last_day:
                    fx.utgc(d, team, opp)
                    for name in [player] + [x for x, (t_i, _) in extra.items() if t_i == i]:
                        fx.upgc(
                            d,
                            name,
                            team,
                            opp,
                            game_id=gid,
                            is_home=team == home,
                            points_line=25.5 if name == "p00" else None,
                        )


def league_run() -> DuckDBWarehouse:
    """The small league run through Phase 4 and Phase 5 on LEAGUE_DAY (plus MLFS and predictions on
    day 5, a bootstrap day, and MLFS on the day before, a day without Phase 4 upstream rows)."""
    w = DuckDBWarehouse(":memory:")
    fx = Fixture()
    league(fx)
    fx.write(w)
    pre = {p.name: p for p in nba_module("precompute").precompute_processors()}
    for name in ("tdza", "psza", "pcf", "pdc", "mlfs"):
        run(w, pre[name], [day(LEAGUE_DAY)])
    run(w, pre["mlfs"], [day(5), day(LEAGUE_DAY - 1)])
    (predict,) = nba_module("predictions").prediction_processors()
    run(w, predict, [day(5), day(LEAGUE_DAY)])
    return w
