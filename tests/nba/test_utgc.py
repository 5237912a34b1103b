"""Phase 3 upcoming_team_game_context (UTGC) on a hand-checkable BOS stretch (real DuckDB).

BOS's season, every number worked out by hand in the comments:

    10-28  PHI at BOS   BOS 90-100   L
    11-01  BOS at NYK   BOS 100-90   W
    11-02  CHI at BOS   BOS 105-99   W
    11-04  BOS at MIA   BOS 110-100  W
    11-05  BOS at LAL   scheduled, not played yet (game_status 1): the context date
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest

from bfplan.warehouse.duckdb import DuckDBWarehouse

from .test_analytics import PROC, Raw, by, run

UTGC = "nba_analytics.upcoming_team_game_context"
OCT28, NOV1, NOV2, NOV4, NOV5 = date(2021, 10, 28), date(2021, 11, 1), date(2021, 11, 2), date(2021, 11, 4), \
    date(2021, 11, 5)
ARENA = {"BOS": (42.366, -71.062), "NYK": (40.751, -73.993), "MIA": (25.781, -80.188), "LAL": (34.043, -118.267)}


def miles(a: str, b: str) -> int:
    """Great-circle miles between two home arenas (haversine, earth radius 3958.8 miles)."""
    (la1, lo1), (la2, lo2) = ARENA[a], ARENA[b]
    h = math.sin(math.radians(la2 - la1) / 2) ** 2 \
        + math.cos(math.radians(la1)) * math.cos(math.radians(la2)) * math.sin(math.radians(lo2 - lo1) / 2) ** 2
    return round(3958.8 * 2 * math.asin(math.sqrt(h)))


@pytest.fixture
def wh(tmp_path: Path) -> DuckDBWarehouse:
    w = DuckDBWarehouse(tmp_path / "w.duckdb", threads=2)
    yield w
    w.close()


def bos_season() -> Raw:
    fx = Raw()
    for d, away, home, bos_points, opp_points in ((OCT28, "PHI", "BOS", 90, 100), (NOV1, "BOS", "NYK", 100, 90),
                                                 (NOV2, "CHI", "BOS", 105, 99), (NOV4, "BOS", "MIA", 110, 100)):
        gid = fx.game(d, away, home)
        opp = home if away == "BOS" else away
        fx.team(d, gid, "BOS", opp, points=bos_points)
        fx.team(d, gid, opp, "BOS", points=opp_points)
        # starters: cinco on 11-02 only; uno and dos on 11-04 (BOS's last game before 11-05)
        starters = {NOV2: ("cinco",), NOV4: ("uno", "dos")}.get(d, ())
        for player in ("uno", "dos", "tres", "cinco"):
            fx.player(d, gid, player, "BOS", opp, minutes=20.0, points=0)
            fx.rows["nba_raw.nbac_gamebook_player_stats"][-1]["starter"] = player in starters
    fx.add("nbac_schedule", game_date=NOV5, game_id="20211105_BOS_LAL", season_year=2021, home_team_abbr="LAL",
           away_team_abbr="BOS", game_status=1, is_playoffs=False, arena="x")
    for player, status in (("uno", "out"), ("tres", "out"), ("cinco", "out"), ("dos", "questionable"),
                           ("cuatro", "doubtful")):
        fx.add("nbac_injury_report", game_date=NOV5, team_abbr="BOS", player_lookup=player, injury_status=status,
               reason="x")
    fx.add("nbac_injury_report", game_date=NOV5, team_abbr="BOS", player_lookup="uno", injury_status="probable",
           reason="duplicate listing: the most severe one counts")
    return fx


def _rows(wh: DuckDBWarehouse) -> dict[tuple[date, str], dict]:
    return {(r["game_date"], r["team_abbr"]): r for r in wh.query(f"SELECT * FROM {UTGC}")}


def test_utgc_rest_form_personnel_and_travel_by_hand(wh):
    bos_season().write(wh)
    result = run(wh, "utgc", [NOV1, NOV4, NOV5])
    assert result.rows == {NOV1: 2, NOV4: 2, NOV5: 2}  # both sides of every scheduled game, played or not
    assert result.failures == {}
    rows = _rows(wh)

    bos = rows[(NOV5, "BOS")]
    assert (bos["game_id"], bos["opponent_team_abbr"], bos["home_game"]) == ("20211105_BOS_LAL", "LAL", False)
    assert bos["game_number_in_season"] == 5                    # four final games before
    assert (bos["days_since_last_game"], bos["team_days_rest"], bos["team_back_to_back"]) == (1, 0, True)
    assert bos["games_in_last_7_days"] == 3                     # 10-29..11-04: 11-01, 11-02, 11-04
    assert bos["games_in_last_14_days"] == 4                    # 10-22..11-04: 10-28 too
    assert (bos["team_win_streak_entering"], bos["team_loss_streak_entering"]) == (3, 0)  # W W W, then L
    assert (bos["last_game_margin"], bos["last_game_result"]) == (10, "W")
    assert bos["starters_out_count"] == 1                       # uno; tres did not start, cinco not last game
    assert bos["questionable_players_count"] == 2               # dos (questionable), cuatro (doubtful)
    assert bos["travel_miles"] == miles("MIA", "LAL")           # from the last game's arena in Miami
    assert 2300 < bos["travel_miles"] < 2400
    assert [bos[c] for c in ("game_spread", "game_total", "spread_movement", "total_movement")] == [None] * 4

    lal = rows[(NOV5, "LAL")]                                   # LAL's first game: no history at all
    assert (lal["home_game"], lal["game_number_in_season"], lal["days_since_last_game"]) == (True, 1, None)
    assert (lal["team_days_rest"], lal["team_back_to_back"], lal["games_in_last_7_days"]) == (None, False, 0)
    assert (lal["team_win_streak_entering"], lal["team_loss_streak_entering"]) == (0, 0)
    assert (lal["last_game_result"], lal["last_game_margin"], lal["travel_miles"]) == (None, None, 0)
    assert (lal["starters_out_count"], lal["questionable_players_count"]) == (0, 0)
    assert (lal["opponent_days_rest"], lal["opponent_back_to_back"]) == (0, True)  # BOS played 11-04
    assert (bos["opponent_days_rest"], bos["opponent_back_to_back"]) == (None, False)

    b4 = rows[(NOV4, "BOS")]                                    # 11-02 -> 11-04: one day off
    assert (b4["game_number_in_season"], b4["days_since_last_game"], b4["team_days_rest"]) == (4, 2, 1)
    assert b4["team_back_to_back"] is False
    assert b4["games_in_last_7_days"] == 3                      # 10-28..11-03: 10-28, 11-01, 11-02
    assert (b4["team_win_streak_entering"], b4["last_game_margin"]) == (2, 6)
    assert b4["travel_miles"] == miles("BOS", "MIA")            # home game on 11-02, then at Miami

    b1 = rows[(NOV1, "BOS")]                                    # 10-28 -> 11-01
    assert (b1["days_since_last_game"], b1["team_days_rest"]) == (4, 3)
    assert (b1["team_win_streak_entering"], b1["team_loss_streak_entering"]) == (0, 1)
    assert (b1["last_game_margin"], b1["last_game_result"]) == (-10, "L")
    assert b1["travel_miles"] == miles("BOS", "NYK")
    assert rows[(NOV1, "NYK")]["travel_miles"] == 0             # a home opener starts at home
    for r in rows.values():
        assert len(r["data_hash"]) == 16


def test_utgc_is_idempotent_and_reads_only_before_the_date(wh):
    bos_season().write(wh)
    run(wh, "utgc", [NOV4])
    first = wh.native(f"SELECT * FROM {UTGC} ORDER BY ALL")
    run(wh, "utgc", [NOV4])
    assert wh.native(f"SELECT * FROM {UTGC} ORDER BY ALL") == first
    # the 11-04 result itself (a win) is not part of the 11-04 context
    assert by(wh.query(f"SELECT * FROM {UTGC}"), "team_abbr")["BOS"]["team_win_streak_entering"] == 2


def test_utgc_declaration_and_expected_entities(wh):
    p = PROC["utgc"]
    assert p.table == UTGC and p.partition_column == "game_date" and p.entity_key == ("team_abbr",)
    assert set(p.inputs) == {"nba_raw.nbac_schedule", "nba_raw.nbac_team_boxscore", "nba_raw.nbac_injury_report",
                             "nba_raw.nbac_gamebook_player_stats"}
    assert p.contract.unique_key == ("game_date", "team_abbr")
    bos_season().write(wh)
    got = wh.query(p.expected_entities_sql, {"dates": [NOV4]})
    assert sorted(r["entity_id"] for r in got) == ["BOS", "MIA"]


def test_pcf_reads_the_team_context_of_the_date(tmp_path):
    """Spec §3: PCF's inputs are UPGC and UTGC for the date; a missing UTGC row makes it not ready."""
    from .fixtures import day
    from .fixtures import run as run_node
    from .test_precompute import PROCESSORS, _pcf_world

    assert "nba_analytics.upcoming_team_game_context" in PROCESSORS["pcf"].inputs
    w = DuckDBWarehouse(":memory:")
    try:
        d = day(30)
        _pcf_world(w, d)  # BOS players, with BOS's UTGC row of the date
        run_node(w, PROCESSORS["pcf"], [d])
        slasher = by(w.query("SELECT * FROM nba_precompute.player_composite_factors"), "player_lookup")["slasher"]
        assert slasher["upstream_utgc_ready"] is True and slasher["is_production_ready"] is True
        w.execute(f"DELETE FROM {UTGC}")
        run_node(w, PROCESSORS["pcf"], [d])
        rows = w.query("SELECT * FROM nba_precompute.player_composite_factors")
        assert len(rows) == 8  # still written (spec: incomplete data is logged, the row still written)
        assert {(r["upstream_utgc_ready"], r["is_production_ready"]) for r in rows} == {(False, False)}
    finally:
        w.close()
