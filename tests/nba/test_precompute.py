"""Phase 4 processors on small hand-checkable fixtures (real DuckDB, no mocks)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bfplan.warehouse.duckdb import DuckDBWarehouse

from .fixtures import LEAGUE_DAY, Fixture, day, failures, league_run, nba_module, run

precompute = nba_module("precompute")
PROCESSORS = {p.name: p for p in precompute.precompute_processors()}


@pytest.fixture
def wh(tmp_path: Path) -> DuckDBWarehouse:
    w = DuckDBWarehouse(":memory:")
    yield w
    w.close()


def rows(wh: DuckDBWarehouse, table: str, where: str = "TRUE", **params) -> list[dict]:
    return wh.query(f"SELECT * FROM {table} WHERE {where}", params)


def by_key(items: list[dict], key: str) -> dict:
    return {r[key]: r for r in items}


# --- TDZA ---------------------------------------------------------------------------------------


def _bos_17_games(fx: Fixture) -> list[date]:
    """BOS defends 17 games, every other day from day 0; game i allows paint i+10 of 2i+30."""
    dates = [day(2 * i) for i in range(17)]
    for i, d in enumerate(dates):
        fx.game(d, "NYK", "BOS")
        fx.tdgs(
            d,
            "BOS",
            "NYK",
            paint=(i + 10, 2 * i + 30),
            mid=(i, 20),
            three=(10, 30 + i),
            defensive_rating=100.0 + i,
            points_allowed=100 + i,
            opponent_pace=95.0 + i,
        )
    return dates


def test_tdza_uses_exactly_the_15_games_before_the_date(wh: DuckDBWarehouse) -> None:
    fx = Fixture()
    dates = _bos_17_games(fx)
    fx.write(wh)
    target = dates[16]  # day 32: BOS also plays that day (must be ignored); game 0 is the 16th-oldest
    result = run(wh, PROCESSORS["tdza"], [target])
    out = by_key(rows(wh, "nba_precompute.team_defense_zone_analysis"), "team_abbr")
    bos = out["BOS"]
    used = range(1, 16)  # games 1..15: not game 0 (too old), not game 16 (same day)
    paint_pct = sum(i + 10 for i in used) / sum(2 * i + 30 for i in used)
    assert bos["games_in_sample"] == 15
    assert bos["paint_pct_allowed_last_15"] == pytest.approx(paint_pct)
    assert bos["mid_range_pct_allowed_last_15"] == pytest.approx(sum(used) / (20 * 15))
    assert bos["three_pt_pct_allowed_last_15"] == pytest.approx(150 / sum(30 + i for i in used))
    assert bos["paint_attempts_allowed_per_game"] == pytest.approx(sum(2 * i + 30 for i in used) / 15)
    assert bos["defensive_rating_last_15"] == pytest.approx(100 + sum(used) / 15)
    assert bos["opponent_points_per_game"] == pytest.approx(100 + sum(used) / 15)
    assert bos["opponent_pace"] == pytest.approx(95 + sum(used) / 15)
    assert bos["window_start_date"] == dates[1] and bos["window_end_date"] == dates[15]
    # fewer than 10 teams with 10+ games in the last 30 days: the default league averages
    assert bos["league_avg_source"] == "default"
    assert bos["league_avg_paint_pct"] == pytest.approx(0.580)
    assert bos["league_avg_mid_range_pct"] == pytest.approx(0.410)
    assert bos["league_avg_three_pt_pct"] == pytest.approx(0.355)
    assert bos["paint_defense_vs_league_avg"] == pytest.approx((paint_pct - 0.580) * 100)
    assert bos["data_quality_tier"] == "high"
    assert bos["is_production_ready"] is True
    assert bos["completeness_percentage"] == pytest.approx(100.0)
    # NYK has a schedule but no TDGS rows: an INSUFFICIENT_DATA failure, not an output row
    assert "NYK" not in out
    fails = by_key(failures(wh, "tdza"), "entity_id")
    assert fails["NYK"]["failure_category"] == "INSUFFICIENT_DATA"
    assert result.rows == {target: 1}
    assert result.failures == {"INSUFFICIENT_DATA": 1}


@pytest.mark.parametrize(("n_teams", "source"), [(9, "default"), (10, "calculated")])
def test_tdza_league_average_needs_ten_teams_with_ten_games(wh: DuckDBWarehouse, n_teams: int, source: str) -> None:
    fx = Fixture()
    teams = [f"T{i:02d}" for i in range(n_teams)]
    target = day(40)
    for t_i, team in enumerate(teams):
        for g in range(16):  # days 10..40 step 2: 15 games before day 40, all in its last 30 days
            d = day(10 + 2 * g)
            fx.game(d, f"X{t_i:02d}", team)
            fx.tdgs(d, team, f"X{t_i:02d}", paint=(20 + t_i, 40), mid=(8, 20), three=(12, 36))
    fx.game(day(0), "AAA", "BBB")  # season start
    fx.write(wh)
    run(wh, PROCESSORS["tdza"], [target])
    out = by_key(rows(wh, "nba_precompute.team_defense_zone_analysis"), "team_abbr")
    t0 = out["T00"]
    assert t0["league_avg_source"] == source
    if source == "calculated":
        assert t0["league_avg_teams_in_sample"] == 10
        league = sum((20 + i) / 40 for i in range(10)) / 10
        assert t0["league_avg_paint_pct"] == pytest.approx(league)
        assert t0["league_avg_three_pt_pct"] == pytest.approx(12 / 36)
        assert t0["paint_defense_vs_league_avg"] == pytest.approx((20 / 40 - league) * 100)
        assert t0["strongest_zone"] == "paint"  # 0.5 vs 0.6125: allows least relative to the league
    else:
        assert t0["league_avg_teams_in_sample"] == 9
        assert t0["league_avg_paint_pct"] == pytest.approx(0.580)


def test_tdza_bootstrap_days_write_no_rows_but_failures(wh: DuckDBWarehouse) -> None:
    fx = Fixture()
    _bos_17_games(fx)
    fx.write(wh)
    result = run(wh, PROCESSORS["tdza"], [day(5), day(13), day(14)])
    assert result.rows == {day(5): 0, day(13): 0, day(14): 0}
    fails = failures(wh, "tdza")
    boot = [f for f in fails if f["analysis_date"] < day(14)]
    assert {(f["analysis_date"], f["entity_id"]) for f in boot} == {
        (day(5), "BOS"),
        (day(5), "NYK"),
        (day(13), "BOS"),
        (day(13), "NYK"),
    }
    assert {f["failure_category"] for f in boot} == {"INSUFFICIENT_DATA"}
    assert {f["failure_reason"] for f in boot} == {"early season bootstrap"}
    assert all(f["resolution_status"] == "UNRESOLVED" for f in fails)
    # day 14: HEAD's relaxed threshold min(5 + 14 DIV 3, 14) = 9 games; BOS has 7
    d14 = by_key([f for f in fails if f["analysis_date"] == day(14)], "entity_id")
    assert d14["BOS"]["failure_category"] == "INSUFFICIENT_DATA"
    assert d14["BOS"]["failure_reason"] == "7 games before the date, 9 required"


def test_tdza_relaxed_threshold_and_zone_less_games(wh: DuckDBWarehouse) -> None:
    fx = Fixture()
    # BOS plays every day from day 0 to day 34; games on days 3, 7, 20 and 24 have no shot events
    for n in range(35):
        fx.game(day(n), "NYK", "BOS")
        zoned = n not in (3, 7, 20, 24)
        fx.tdgs(day(n), "BOS", "NYK", paint=(10, 20) if zoned else None, mid=(5, 10) if zoned else None, three=(10, 30))
    fx.write(wh)
    # day 20: threshold min(5 + 20 DIV 3, 14) = 11 <= 15 games; backfill: completeness not enforced
    run(wh, PROCESSORS["tdza"], [day(20)])
    bos = by_key(rows(wh, "nba_precompute.team_defense_zone_analysis"), "team_abbr")["BOS"]
    assert bos["min_games_required"] == 11
    assert bos["games_in_sample"] == 15 and bos["shot_zone_games_in_sample"] == 14  # day 7 zone-less
    assert bos["paint_pct_allowed_last_15"] == pytest.approx(0.5)
    assert bos["paint_attempts_allowed_per_game"] == pytest.approx(20.0)  # per game WITH zone data
    assert bos["three_pt_attempts_allowed_per_game"] == pytest.approx(30.0)
    assert bos["expected_game_count"] == 15 and bos["actual_game_count"] == 14
    assert bos["completeness_percentage"] == pytest.approx(100 * 14 / 15)
    # daily mode, day 16: the last 15 scheduled games (days 1..15) hold two zone-less games ->
    # 13/15 = 86.7% < 90%, but inside the completeness checker's 30-day bootstrap window: written
    res = run(wh, PROCESSORS["tdza"], [day(16)], mode="daily")
    assert res.rows == {day(16): 1}
    assert res.failures == {"INSUFFICIENT_DATA": 1}  # NYK has no TDGS rows at all
    # daily mode, day 34: days 19..33 hold two zone-less games (20, 24) -> 13/15 -> INCOMPLETE_DATA,
    # a correctable data gap
    res = run(wh, PROCESSORS["tdza"], [day(34)], mode="daily")
    assert res.failures == {"INCOMPLETE_DATA": 2}  # NYK: no TDGS rows, 0/15 complete
    bos_fail = by_key([f for f in failures(wh, "tdza") if f["analysis_date"] == day(34)], "entity_id")["BOS"]
    assert bos_fail["failure_category"] == "INCOMPLETE_DATA"
    assert bos_fail["failure_type"] == "DATA_GAP" and bos_fail["is_correctable"] is True
    assert bos_fail["can_retry"] is True
    assert (bos_fail["expected_game_count"], bos_fail["actual_game_count"]) == (15, 13)
    assert json.loads(bos_fail["missing_dates"]) == [day(20).isoformat(), day(24).isoformat()]
    # the same date in backfill mode is written (completeness is stored, not enforced)
    res = run(wh, PROCESSORS["tdza"], [day(34)])
    assert res.rows == {day(34): 1}


# --- PSZA ---------------------------------------------------------------------------------------


def _shooter(
    fx: Fixture,
    player: str,
    totals: tuple[int, int, int],
    n_games: int = 10,
    *,
    first: int = 0,
    team: str = "BOS",
    zone_less: tuple[int, ...] = (),
) -> list[date]:
    """``n_games`` daily games from season day ``first``; over any 10 of them the player attempts
    exactly ``totals`` = (paint, mid-range, three) shots; makes are half of each zone (rounded down)."""
    paint, mid, three = totals
    dates = [day(first + i) for i in range(n_games)]
    for i, d in enumerate(dates):
        g = i % 10  # spread each total over 10 games: the first (total % 10) games get one more
        p, m, t = (x // 10 + (1 if g < x % 10 else 0) for x in (paint, mid, three))
        zoned = i not in zone_less
        fx.pgs(
            d,
            player,
            team,
            fg_attempts=p + m + t,
            fg_makes=p // 2 + m // 2 + t // 2,
            three_pt_attempts=t,
            three_pt_makes=t // 2,
            paint_attempts=p if zoned else None,
            paint_makes=p // 2 if zoned else None,
            mid_range_attempts=m if zoned else None,
            mid_range_makes=m // 2 if zoned else None,
            assisted_fg_makes=(p // 2 + m // 2 + t // 2) // 2 if zoned else None,
            has_shot_zone_data=zoned,
        )
    return dates


def _schedule(fx: Fixture, team: str, days: range) -> None:
    for n in days:
        fx.game(day(n), "OPP", team)


PRIMARY_ZONE_CASES = {
    "p_paint40": ((40, 20, 40), "paint"),  # paint exactly 40 wins even with threes at 40
    "p_three40": ((39, 21, 40), "perimeter"),  # paint 39, threes exactly 40
    "p_mid35": ((39, 35, 26), "mid_range"),  # mid-range exactly 35
    "p_mid34": ((39, 34, 27), "balanced"),  # nothing reaches its threshold
    "p_three39": ((39, 22, 39), "balanced"),
}


def test_psza_primary_zone_thresholds(wh: DuckDBWarehouse) -> None:
    fx = Fixture()
    _schedule(fx, "BOS", range(0, 31))
    for player, (totals, _) in PRIMARY_ZONE_CASES.items():
        _shooter(fx, player, totals, n_games=10, first=20)
    fx.write(wh)
    run(wh, PROCESSORS["psza"], [day(30)])
    out = by_key(rows(wh, "nba_precompute.player_shot_zone_analysis"), "player_lookup")
    for player, (totals, zone) in PRIMARY_ZONE_CASES.items():
        row = out[player]
        assert (row["paint_rate_last_10"], row["mid_range_rate_last_10"], row["three_pt_rate_last_10"]) == (
            pytest.approx(totals[0]),
            pytest.approx(totals[1]),
            pytest.approx(totals[2]),
        ), player
        assert row["primary_scoring_zone"] == zone, player
        assert row["total_shots_last_10"] == sum(totals)
        assert row["paint_pct_last_10"] == pytest.approx(
            sum((totals[0] // 10 + (g < totals[0] % 10)) // 2 for g in range(10)) / totals[0]
        )


def test_psza_windows_sample_quality_and_early_season(wh: DuckDBWarehouse) -> None:
    fx = Fixture()
    _schedule(fx, "BOS", range(0, 41))
    _shooter(fx, "vet", (40, 30, 30), n_games=25, first=15, zone_less=(24,))  # 25 games, days 15..39
    _shooter(fx, "mid", (40, 30, 30), n_games=14, first=26)  # 14 games, days 26..39
    _shooter(fx, "new", (40, 30, 30), n_games=10, first=30)  # 10 games, days 30..39
    _shooter(fx, "rookie", (40, 30, 30), n_games=9, first=31)  # 9 games: too few
    # 'gappy': 9 PGS games, but the raw gamebook has him active on day 30 too, with no PGS row there
    _shooter(fx, "gappy", (40, 30, 30), n_games=9, first=31)
    fx.gamebook(day(30), "gappy", "BOS", "OPP")
    fx.pgs(day(40), "vet", "BOS")  # a same-day game must not count
    fx.pgs(day(40), "debut", "BOS")  # first game on the date: expected, so an INSUFFICIENT_DATA failure
    fx.write(wh)
    result = run(wh, PROCESSORS["psza"], [day(40)])
    out = by_key(rows(wh, "nba_precompute.player_shot_zone_analysis"), "player_lookup")
    assert set(out) == {"vet", "mid", "new"}
    assert [(out[p]["games_in_sample_10"], out[p]["games_in_sample_20"]) for p in ("vet", "mid", "new")] == [
        (10, 20),
        (10, 14),
        (10, 10),
    ]
    assert [out[p]["sample_quality_20"] for p in ("vet", "mid", "new")] == ["excellent", "good", "limited"]
    assert out["vet"]["sample_quality_10"] == "excellent"
    # paint_rate/pct_last_20 only with 15+ games
    assert out["vet"]["paint_rate_last_20"] == pytest.approx(40.0)
    assert out["mid"]["paint_rate_last_20"] is None and out["new"]["paint_pct_last_20"] is None
    # vet's newest game before the date (day 39) has no shot zones: zone math over the other 9
    assert out["vet"]["shot_zone_games_last_10"] == 9
    assert out["vet"]["paint_attempts_per_game"] == pytest.approx(36 / 9)
    assert out["vet"]["paint_pct_last_10"] == pytest.approx(18 / 36)
    assert out["vet"]["assisted_rate_last_10"] is not None
    fails = by_key(failures(wh, "psza"), "entity_id")
    # the 12/07 split: BOS has played 40 games, so under 10 is never EXPECTED_INCOMPLETE here; a player
    # who simply played fewer is INSUFFICIENT_DATA, one whose games upstream lost is INCOMPLETE_UPSTREAM
    assert {k: v["failure_category"] for k, v in fails.items()} == {
        "rookie": "INSUFFICIENT_DATA",
        "debut": "INSUFFICIENT_DATA",
        "gappy": "INCOMPLETE_UPSTREAM",
    }
    assert fails["rookie"]["failure_reason"] == (
        "insufficient data: 9 games played while the team has played 40 (10 required); none missing upstream")
    gap = fails["gappy"]
    assert gap["failure_reason"].startswith("incomplete upstream: 9 games in PGS while the team has played 40")
    assert "the raw gamebook has 1 more active game(s) PGS has no row for" in gap["failure_reason"]
    assert (gap["failure_type"], gap["can_retry"], gap["is_correctable"]) == ("DATA_GAP", True, True)
    assert gap["missing_dates"] == f'["{day(30)}"]'
    assert result.failures == {"INSUFFICIENT_DATA": 2, "INCOMPLETE_UPSTREAM": 1}


def test_psza_under_10_games_while_the_team_also_has_under_10_is_expected_incomplete(wh: DuckDBWarehouse) -> None:
    fx = Fixture()
    _schedule(fx, "BOS", range(0, 8))  # days 0-7: BOS has played 8 games before day 20
    _shooter(fx, "early", (40, 30, 30), n_games=8, first=0)
    fx.gamebook(day(3), "early", "BOS", "OPP", status="dnp")  # a DNP is no gap
    fx.write(wh)
    result = run(wh, PROCESSORS["psza"], [day(20)])
    (fail,) = failures(wh, "psza")
    assert (fail["entity_id"], fail["failure_category"]) == ("early", "EXPECTED_INCOMPLETE")
    assert fail["failure_reason"] == "expected incomplete: 8 games, the team has played only 8 (10 required)"
    assert fail["can_retry"] is False and fail["failure_type"] is None
    assert result.failures == {"EXPECTED_INCOMPLETE": 1}
    assert "EXPECTED_INCOMPLETE" in PROCESSORS["psza"].expected_skips


# --- PCF ----------------------------------------------------------------------------------------

PSZA_MIN = {
    "analysis_date": "DATE",
    "player_lookup": "STRING",
    "primary_scoring_zone": "STRING",
    "paint_rate_last_10": "FLOAT64",
    "mid_range_rate_last_10": "FLOAT64",
    "three_pt_rate_last_10": "FLOAT64",
    "is_production_ready": "BOOL",
}
TDZA_MIN = {
    "analysis_date": "DATE",
    "team_abbr": "STRING",
    "paint_defense_vs_league_avg": "FLOAT64",
    "mid_range_defense_vs_league_avg": "FLOAT64",
    "three_pt_defense_vs_league_avg": "FLOAT64",
    "is_production_ready": "BOOL",
}


def _pcf_world(wh: DuckDBWarehouse, d: date) -> None:
    """Hand-made UPGC rows plus the PSZA / TDZA columns PCF reads, for date ``d``."""
    fx = Fixture()
    fx.game(day(0), "OPA", "BOS")
    heavy = {
        "back_to_back": True,
        "days_rest": 0,
        "games_in_last_7_days": 4,
        "minutes_in_last_7_days": 250.0,
        "avg_minutes_per_game_last_7": 36.5,
        "back_to_backs_last_14_days": 2,
        "player_age": 36,
    }
    fx.upgc(d, "old", opponent="OPA", **heavy)
    # exactly at 240 minutes / 35 per game: the code's comparisons are strict, so no penalty
    fx.upgc(
        d,
        "rested",
        opponent="OPA",
        days_rest=3,
        player_age=31,
        back_to_backs_last_14_days=1,
        minutes_in_last_7_days=240.0,
        avg_minutes_per_game_last_7=35.0,
    )
    fx.upgc(
        d,
        "slasher",
        opponent="OPA",
        pace_differential=8.0,
        projected_usage_rate=30.0,
        usage_rate_last_7=25.0,
        star_teammates_out=2,
    )
    fx.upgc(
        d,
        "big",
        opponent="OPB",
        pace_differential=-3.0,
        projected_usage_rate=20.0,
        usage_rate_last_7=25.0,
        star_teammates_out=2,
    )
    fx.upgc(d, "shooter", opponent="OPA", projected_usage_rate=40.0, usage_rate_last_7=25.0)
    fx.upgc(d, "midguy", opponent="OPB", projected_usage_rate=26.0, usage_rate_last_7=25.0, star_teammates_out=1)
    fx.upgc(d, "balanced", opponent="OPA")
    fx.upgc(d, "nozone", opponent="OPA")
    fx.utgc(d, "BOS")  # every player above plays for BOS
    fx.write(wh)
    wh.ensure_table(precompute.PSZA, PSZA_MIN)
    wh.append_rows(
        precompute.PSZA,
        PSZA_MIN,
        [
            (d, "slasher", "paint", 45.0, 25.0, 30.0, True),
            (d, "big", "paint", 60.0, 25.0, 15.0, True),
            (d, "shooter", "perimeter", 40.0, 35.0, 25.0, True),
            (d, "midguy", "mid_range", 20.0, 50.0, 30.0, True),
            (d, "balanced", "balanced", 30.0, 34.0, 36.0, True),
            (d, "old", "paint", 50.0, 25.0, 25.0, False),
            (d, "rested", "paint", 50.0, 25.0, 25.0, True),
        ],
    )
    wh.ensure_table(precompute.TDZA, TDZA_MIN)
    wh.append_rows(
        precompute.TDZA,
        TDZA_MIN,
        [
            (d, "OPA", 8.0, 1.0, -4.0, True),
            (d, "OPB", 10.0, -9.0, 2.0, True),
        ],
    )


def test_pcf_fatigue_mismatch_pace_usage_arithmetic(wh: DuckDBWarehouse) -> None:
    d = day(30)
    _pcf_world(wh, d)
    result = run(wh, PROCESSORS["pcf"], [d])
    assert result.failures == {}
    out = by_key(rows(wh, precompute.PCF), "player_lookup")
    # back-to-back -15, 4 games in 7 days -10, 250 > 240 minutes -10, 36.5 > 35 per game -8,
    # 2 back-to-backs in 14 days -12, age 36 -10: 100 - 65 = 35
    assert out["old"]["fatigue_score"] == 35
    assert out["old"]["fatigue_adjustment"] == pytest.approx((35 - 100) / 20)
    # 3 days' rest +5, 1 back-to-back -5, age 31 -5; 240 minutes and 35 per game are not penalized
    assert out["rested"]["fatigue_score"] == 95
    assert out["slasher"]["fatigue_score"] == 100
    mismatch = {p: out[p]["shot_zone_mismatch_score"] for p in out}
    assert mismatch["slasher"] == pytest.approx(8.0 * 0.9 * 1.2)  # 7.2 > 5: x1.2
    assert mismatch["big"] == pytest.approx(10.0)  # 10 x 1 x 1.2 = 12: clamped
    assert mismatch["shooter"] == pytest.approx(-4.0 * 0.5)  # |-2| <= 5: no boost
    assert mismatch["midguy"] == pytest.approx(-10.0)  # -9 x 1.2 = -10.8: clamped
    assert mismatch["balanced"] == pytest.approx(8.0 * 0.6)  # balanced uses paint (as the code)
    assert mismatch["nozone"] == 0.0  # no PSZA row
    assert out["slasher"]["pace_score"] == pytest.approx(3.0)  # 8 / 2 = 4: clamped
    assert out["big"]["pace_score"] == pytest.approx(-1.5)
    assert out["slasher"]["usage_spike_score"] == pytest.approx(0.3 * 5 * 1.30)  # 2 stars out
    assert out["midguy"]["usage_spike_score"] == pytest.approx(0.3 * 1 * 1.15)  # 1 star out
    assert out["big"]["usage_spike_score"] == pytest.approx(-1.5)  # negative: no boost
    assert out["shooter"]["usage_spike_score"] == pytest.approx(3.0)  # 4.5: clamped
    for p, r in out.items():
        assert r["opponent_strength_score"] == 0.0
        expected = (
            (r["fatigue_score"] - 100) / 20 + r["shot_zone_mismatch_score"] + r["pace_score"] + r["usage_spike_score"]
        )
        assert r["total_composite_adjustment"] == pytest.approx(expected), p
    assert out["slasher"]["is_production_ready"] is True
    assert out["old"]["is_production_ready"] is False  # its PSZA row is not production-ready
    assert out["nozone"]["is_production_ready"] is False
    assert "opponent_strength_score" not in PROCESSORS["pcf"].critical_fields


def test_pcf_bootstrap_writes_failures_only(wh: DuckDBWarehouse) -> None:
    d = day(13)
    _pcf_world(wh, d)
    result = run(wh, PROCESSORS["pcf"], [d])
    assert result.rows == {d: 0}
    assert result.failures == {"INSUFFICIENT_DATA": 8}
    assert {f["failure_reason"] for f in failures(wh, "pcf")} == {"early season bootstrap"}


# --- PDC ----------------------------------------------------------------------------------------


def test_pdc_windows_exclude_same_day_games_and_flag_early_season(wh: DuckDBWarehouse) -> None:
    import statistics

    fx = Fixture()
    _schedule(fx, "BOS", range(0, 33))
    d = day(32)
    for i in range(12):  # 'vet': days 20..31, 10 + i points
        fx.pgs(day(20 + i), "vet", points=10 + i, minutes_played=20.0 + i)
        fx.togs(day(20 + i), "BOS", pace=100.0 + i, offensive_rating=105.0 + i)
    fx.pgs(d, "vet", points=99)  # the same-day game: must not count
    for i in range(4):
        fx.pgs(day(28 + i), "four")
    for i in range(6):
        fx.pgs(day(26 + i), "six", points=6)
    for player in ("vet", "four", "six"):
        fx.upgc(d, player, games_in_last_7_days=4, back_to_back=True, player_age=33)
    fx.write(wh)
    run(wh, PROCESSORS["psza"], [d])  # PSZA first (PDC reads it; only 'vet' has 10+ games)
    result = run(wh, PROCESSORS["pdc"], [d])
    out = by_key(rows(wh, precompute.PDC), "player_lookup")
    vet = out["vet"]
    assert vet["points_avg_last_5"] == pytest.approx(sum(range(17, 22)) / 5)  # 19, not (18..21 + 99) / 5
    assert vet["points_avg_last_10"] == pytest.approx(sum(range(12, 22)) / 10)
    assert vet["points_avg_season"] == pytest.approx(sum(range(10, 22)) / 12)
    assert vet["points_std_last_10"] == pytest.approx(statistics.stdev(range(12, 22)))
    assert vet["minutes_avg_last_10"] == pytest.approx(20 + sum(range(2, 12)) / 10)
    assert vet["games_played_season"] == 12
    assert vet["team_pace_last_10"] == pytest.approx(100 + sum(range(2, 12)) / 10)
    assert vet["team_off_rating_last_10"] == pytest.approx(105 + sum(range(2, 12)) / 10)
    assert (vet["games_in_last_7_days"], vet["back_to_back"], vet["player_age"]) == (4, True, 33)  # from UPGC
    assert vet["primary_scoring_zone"] == "balanced" and vet["has_shot_zone_data"] is True  # from PSZA
    assert vet["paint_rate_last_10"] == pytest.approx(100 * 6 / 16)
    assert vet["early_season_flag"] is False
    # 5-9 games: written, flagged early season; no PSZA row (under 10 games): NULL zone fields
    six = out["six"]
    assert six["games_played_season"] == 6 and six["early_season_flag"] is True
    assert six["insufficient_data_reason"] == "only 6 games this season (10 for a full sample)"
    assert six["primary_scoring_zone"] is None and six["paint_rate_last_10"] is None
    assert six["has_shot_zone_data"] is False
    # under 5 games: INSUFFICIENT_DATA (an expected skip), never PROCESSING_ERROR
    assert "four" not in out
    (four,) = failures(wh, "pdc")
    assert (four["entity_id"], four["failure_category"]) == ("four", "INSUFFICIENT_DATA")
    assert four["failure_reason"] == "4 games this season before the date, 5 required"
    assert result.failures == {"INSUFFICIENT_DATA": 1}


def test_pdc_daily_mode_classifies_dnp_data_gap_and_mixed(wh: DuckDBWarehouse) -> None:
    fx = Fixture()
    d = day(34)
    team_days = range(20, 34)  # BOS plays every day of the 14-day window [day 20, day 34)
    _schedule(fx, "BOS", range(10, 34))
    fx.game(day(0), "OKC", "UTA")  # opening night is day 0: day 34 is past the 30-day bootstrap window
    for n in (10, 12, 22, 26, 29, 33):  # NYK: only 4 games in the 14-day window
        fx.game(day(n), "OPP", "NYK")
    raw_status = {  # the raw gamebook on the days the player has no PGS row
        "full": {},
        "dnp_guy": {30: "dnp", 32: "inactive"},
        "gap_guy": {30: "active", 32: "active"},
        "mixed_guy": {30: "active", 32: None},  # None: not in the gamebook at all
    }
    for player, missing in raw_status.items():
        for n in range(10, 34):
            if n in missing:
                if missing[n]:
                    fx.gamebook(day(n), player, "BOS", "OPP", status=missing[n])
            elif n in team_days or n in (10, 12):
                fx.pgs(day(n), player)
                fx.gamebook(day(n), player, "BOS", "OPP")
        fx.upgc(d, player)
    for n in (10, 12, 22, 26, 29):  # 'short' misses NYK's day-33 game (absent from the gamebook)
        fx.pgs(day(n), "short", "NYK")
    fx.upgc(d, "short", "NYK")
    fx.write(wh)
    run(wh, PROCESSORS["psza"], [d], mode="daily")
    result = run(wh, PROCESSORS["pdc"], [d], mode="daily")
    assert result.rows == {d: 1}  # only 'full' is complete
    fails = by_key(failures(wh, "pdc"), "entity_id")
    assert set(fails) == {"dnp_guy", "gap_guy", "mixed_guy", "short"}
    assert {f["failure_category"] for f in fails.values()} == {"INCOMPLETE_DATA"}
    expect = {  # failure_type, is_correctable, resolution_status
        "dnp_guy": ("PLAYER_DNP", False, "PERMANENT"),
        "gap_guy": ("DATA_GAP", True, "UNRESOLVED"),
        "mixed_guy": ("MIXED", True, "UNRESOLVED"),
        "short": ("INSUFFICIENT_HISTORY", False, "UNRESOLVED"),
    }
    for player, (ftype, correctable, resolution) in expect.items():
        f = fails[player]
        assert (f["failure_type"], f["is_correctable"], f["resolution_status"]) == (ftype, correctable, resolution)
        assert f["can_retry"] is True and f["raw_data_checked"] is True
    for player in ("dnp_guy", "gap_guy", "mixed_guy"):
        f = fails[player]
        assert (f["expected_game_count"], f["actual_game_count"]) == (14, 12)
        assert json.loads(f["missing_dates"]) == [day(30).isoformat(), day(32).isoformat()]
    assert (fails["short"]["expected_game_count"], fails["short"]["actual_game_count"]) == (4, 3)
    assert json.loads(fails["short"]["missing_dates"]) == [day(33).isoformat()]
    # backfill mode skips the completeness check (spec §6): all five are written, completeness stored
    result = run(wh, PROCESSORS["pdc"], [d])
    assert result.rows == {d: 5}
    dnp = by_key(rows(wh, precompute.PDC), "player_lookup")["dnp_guy"]
    assert dnp["is_production_ready"] is False and dnp["l14d_completeness_pct"] == pytest.approx(100 * 12 / 14)


# --- MLFS (and the whole Phase 4 chain) on a small league --------------------------------------


@pytest.fixture(scope="module")
def league_wh():
    w = league_run()
    yield w
    w.close()


def _mlfs(wh: DuckDBWarehouse, player: str, d: date) -> dict:
    (row,) = rows(wh, precompute.MLFS, "player_lookup = @p AND game_date = @d", p=player, d=d)
    return row


def test_mlfs_features_quality_and_tier(league_wh: DuckDBWarehouse) -> None:
    import statistics

    n = LEAGUE_DAY
    row = _mlfs(league_wh, "p00", day(n))  # p00 scored k points on season day k; plays T01
    f = dict(zip(row["feature_names"], row["features"], strict=True))
    assert row["feature_count"] == 25 and len(row["features"]) == 25
    assert row["feature_version"] == "v1_baseline_25"
    assert f["points_avg_last_5"] == pytest.approx(n - 3)  # days n-5 .. n-1
    assert f["points_avg_last_10"] == pytest.approx(n - 5.5)
    assert f["points_avg_season"] == pytest.approx((n - 1) / 2)  # days 0 .. n-1
    assert f["points_std_last_10"] == pytest.approx(statistics.stdev(range(n - 10, n)))
    assert f["recent_trend"] == -1.0  # games 4-5 back average 2.5 below games 1-3 (newest first)
    assert f["opponent_def_rating"] == pytest.approx(101.0) == row["opponent_def_rating"]  # T01's TDZA
    assert f["opponent_pace"] == pytest.approx(96.0)
    assert f["home_away"] == 1.0 and f["team_win_pct"] == 1.0  # T00 wins every game
    assert f["pct_free_throw"] == pytest.approx(sum(k // 10 for k in range(n - 10, n)) / sum(range(n - 10, n)))
    # all Phase 4: 16 phase4 + 6 calculated + 3 phase3 (UPGC) -> (2200 + 225) / 25 = 97
    assert row["feature_quality_score"] == pytest.approx(97.0)
    assert row["quality_tier"] == "gold"
    assert row["data_source"] == "phase4_partial"  # 16/25 from Phase 4: at least 50%, under 90%
    assert row["phase4_feature_count"] == 16 and row["default_feature_count"] == 0


def test_mlfs_missing_pdc_falls_back_to_phase3_and_defaults(league_wh: DuckDBWarehouse) -> None:
    # 'newbie' has 4 games: no PDC row (INSUFFICIENT_DATA) and no PSZA row; PCF and TDZA exist
    pdc_players = {r["player_lookup"] for r in rows(league_wh, precompute.PDC)}
    assert "newbie" not in pdc_players
    row = _mlfs(league_wh, "newbie", day(LEAGUE_DAY))
    src = dict(zip(row["feature_names"], row["feature_sources"], strict=True))
    f = dict(zip(row["feature_names"], row["features"], strict=True))
    assert [
        src[n]
        for n in (
            "points_avg_last_5",
            "points_avg_last_10",
            "points_avg_season",
            "points_std_last_10",
            "games_in_last_7_days",
        )
    ] == ["phase3"] * 5
    assert f["points_avg_last_5"] == pytest.approx(12.0)  # from PGS history
    assert (f["team_pace"], f["team_off_rating"], f["pct_paint"], f["pct_mid_range"], f["pct_three"]) == (
        100.0,
        112.0,
        0.30,
        0.20,
        0.35,
    )
    assert {src[n] for n in ("team_pace", "team_off_rating", "pct_paint", "pct_mid_range", "pct_three")} == {"default"}
    assert src["fatigue_score"] == "phase4" and src["opponent_def_rating"] == "phase4"
    # 6 phase4 x 100 + 6 calculated x 100 + 8 phase3 x 75 + 5 default x 40 = 2000 / 25 = 80
    assert row["feature_quality_score"] == pytest.approx(80.0)
    assert row["quality_tier"] == "silver"
    assert row["data_source"] == "mixed"
    assert row["default_feature_count"] == 5 and row["phase3_feature_count"] == 8


def test_mlfs_placeholders_and_date_level_dependency_failure(league_wh: DuckDBWarehouse) -> None:
    boot = rows(league_wh, precompute.MLFS, "game_date = @d", d=day(5))
    assert len(boot) == 20
    assert {r["data_source"] for r in boot} == {"early_season"}
    assert all(r["features"] == [] and r["feature_quality_score"] == 0.0 for r in boot)  # BigQuery: no NULL arrays
    assert all(r["early_season_flag"] is True and len(r["feature_names"]) == 25 for r in boot)
    # day 39: no PDC / PCF / PSZA / TDZA rows -> one DATE_LEVEL failure, no player rows
    assert rows(league_wh, precompute.MLFS, "game_date = @d", d=day(LEAGUE_DAY - 1)) == []
    (fail,) = [f for f in failures(league_wh, "mlfs") if f["analysis_date"] == day(LEAGUE_DAY - 1)]
    assert (fail["entity_id"], fail["failure_category"]) == ("DATE_LEVEL", "MISSING_DEPENDENCY")
    assert "TDZA 0 teams (20 required)" in fail["failure_reason"]
    assert not [f for f in failures(league_wh, "mlfs") if f["failure_category"] == "PROCESSING_ERROR"]


def test_phase4_chain_on_the_league(league_wh: DuckDBWarehouse) -> None:
    tdza = rows(league_wh, precompute.TDZA)
    assert len(tdza) == 20 and {r["league_avg_source"] for r in tdza} == {"calculated"}
    psza = by_key(rows(league_wh, precompute.PSZA), "player_lookup")
    assert set(psza) == {f"p{i:02d}" for i in range(20)}  # newbie and early have under 10 games
    pcf = by_key(rows(league_wh, precompute.PCF), "player_lookup")
    assert len(pcf) == 22 and pcf["p00"]["has_shot_zone_matchup"] is True
    # the same numbers flow on: MLFS features 5-8 are PCF's scores
    row = _mlfs(league_wh, "p00", day(LEAGUE_DAY))
    assert row["features"][6] == pytest.approx(pcf["p00"]["shot_zone_mismatch_score"])
    fails = failures(league_wh, "psza") + failures(league_wh, "pdc") + failures(league_wh, "tdza")
    assert {f["failure_category"] for f in fails} == {"INSUFFICIENT_DATA"}


def test_phase5_predictions_from_the_real_feature_store(league_wh: DuckDBWarehouse) -> None:
    """The chain MLFS -> predictions on the small league: p00 (k points on day k, at home)."""
    n = LEAGUE_DAY
    got = league_wh.query("SELECT * FROM nba_predictions.player_prop_predictions WHERE game_date = @d", {"d": day(n)})
    assert len(got) == 22  # every player with a feature vector on day 40
    (p00,) = [r for r in got if r["player_lookup"] == "p00"]
    (pcf,) = league_wh.query(
        "SELECT total_composite_adjustment AS t FROM nba_precompute.player_composite_factors "
        "WHERE player_lookup = 'p00'"
    )
    expected = 0.5 * (n - 3) + 0.3 * (n - 5.5) + 0.2 * (n - 1) / 2 + pcf["t"] + 0.5
    assert p00["predicted_points"] == pytest.approx(expected)
    assert p00["points_line"] == 25.5
    assert expected - 25.5 < -1.5 and p00["recommendation"] == "UNDER"
    # bootstrap placeholders (day 5) have no features: no predictions that day
    assert (
        league_wh.query("SELECT * FROM nba_predictions.player_prop_predictions WHERE game_date = @d", {"d": day(5)})
        == []
    )
