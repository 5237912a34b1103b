"""Spec §4's per-entity checks, in order: circuit breaker, then completeness outside bootstrap.

* PCF and MLFS report an entity whose circuit breaker is open (``@circuit_broken_entities``, which
  daily mode fills) as ``CIRCUIT_BREAKER_ACTIVE`` before any other check, bootstrap days included.
* Daily mode's ``INCOMPLETE_DATA`` waits out the completeness checker's own 30-day bootstrap
  window (spec §1): season day 29 is never incomplete, day 30 is.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bfplan.warehouse.duckdb import DuckDBWarehouse

from .fixtures import LEAGUE_DAY, Fixture, day, failures, league, nba_module, run
from .test_precompute import PROCESSORS, _pcf_world, by_key, rows

precompute = nba_module("precompute")
BROKEN = "circuit breaker open after repeated failures: not retried"


@pytest.fixture
def wh(tmp_path: Path) -> DuckDBWarehouse:
    w = DuckDBWarehouse(":memory:")
    yield w
    w.close()


def _by_date_entity(wh: DuckDBWarehouse, processor: str) -> dict[tuple[date, str], dict]:
    return {(f["analysis_date"], f["entity_id"]): f for f in failures(wh, processor)}


# --- circuit breaker first ---------------------------------------------------------------------


def test_pcf_reports_an_open_circuit_breaker_first(wh: DuckDBWarehouse) -> None:
    d = day(30)
    _pcf_world(wh, d)  # eight UPGC players; 'old' and 'nozone' would otherwise be written
    result = run(wh, PROCESSORS["pcf"], [d], mode="daily", params={"circuit_broken_entities": ["old", "nozone"]})
    assert result.failures == {"CIRCUIT_BREAKER_ACTIVE": 2}
    assert result.rows == {d: 6}
    assert {r["player_lookup"] for r in rows(wh, precompute.PCF)} == {
        "rested", "slasher", "big", "shooter", "midguy", "balanced"}
    fails = by_key(failures(wh, "pcf"), "entity_id")
    assert set(fails) == {"old", "nozone"}
    for f in fails.values():
        assert (f["failure_category"], f["failure_reason"], f["can_retry"]) == ("CIRCUIT_BREAKER_ACTIVE", BROKEN, False)


def test_pcf_circuit_breaker_comes_before_the_bootstrap_skip(wh: DuckDBWarehouse) -> None:
    d = day(13)
    _pcf_world(wh, d)
    result = run(wh, PROCESSORS["pcf"], [d], mode="daily", params={"circuit_broken_entities": ["old"]})
    assert result.rows == {d: 0}
    assert result.failures == {"CIRCUIT_BREAKER_ACTIVE": 1, "INSUFFICIENT_DATA": 7}


def test_pcf_without_open_breakers_is_unchanged(wh: DuckDBWarehouse) -> None:
    d = day(30)
    _pcf_world(wh, d)
    result = run(wh, PROCESSORS["pcf"], [d], mode="daily")  # the default: no entity is broken
    assert result.failures == {} and result.rows == {d: 8}


def test_mlfs_reports_an_open_circuit_breaker_first() -> None:
    w = DuckDBWarehouse(":memory:")
    try:
        fx = Fixture()
        league(fx)
        fx.write(w)
        for name in ("tdza", "psza", "pcf", "pdc"):
            run(w, PROCESSORS[name], [day(LEAGUE_DAY)])
        broken = {"circuit_broken_entities": ["p00", "newbie"]}
        # day 5 (bootstrap placeholders) and LEAGUE_DAY (feature vectors): broken players get no row
        result = run(w, PROCESSORS["mlfs"], [day(5), day(LEAGUE_DAY)], params=broken)
        assert result.failures == {"CIRCUIT_BREAKER_ACTIVE": 3}  # p00 on both days; newbie on LEAGUE_DAY
        assert result.rows == {day(5): 19, day(LEAGUE_DAY): 20}  # of 20 and 22 players
        got = {(r["game_date"], r["player_lookup"]) for r in rows(w, precompute.MLFS)}
        assert not {k for k in got if k[1] in ("p00", "newbie")}
        fails = _by_date_entity(w, "mlfs")
        assert set(fails) == {(day(5), "p00"), (day(LEAGUE_DAY), "p00"), (day(LEAGUE_DAY), "newbie")}
        for f in fails.values():
            assert (f["failure_category"], f["failure_reason"], f["can_retry"]) == (
                "CIRCUIT_BREAKER_ACTIVE", BROKEN, False)
    finally:
        w.close()


# --- the completeness checker's 30-day bootstrap window ----------------------------------------


def test_daily_incomplete_data_starts_on_season_day_30(wh: DuckDBWarehouse) -> None:
    fx = Fixture()
    # BOS plays every day from day 0 (opening night); its games of days 20 and 24 have no shot
    # events, so the last 15 games before day 29 (days 14..28) and day 30 (days 15..29) are both
    # 13/15 = 86.7% complete, under 90%
    for n in range(31):
        fx.game(day(n), "NYK", "BOS")
        zoned = n not in (20, 24)
        fx.tdgs(day(n), "BOS", "NYK", paint=(10, 20) if zoned else None, mid=(5, 10) if zoned else None)
    fx.write(wh)
    result = run(wh, PROCESSORS["tdza"], [day(29), day(30)], mode="daily")
    fails = _by_date_entity(wh, "tdza")
    # day 29 is inside the window: BOS is written (completeness stored, not enforced)
    assert result.rows[day(29)] == 1
    assert (day(29), "BOS") not in fails
    bos = by_key(rows(wh, precompute.TDZA, "analysis_date = @d", d=day(29)), "team_abbr")["BOS"]
    assert bos["completeness_percentage"] == pytest.approx(100 * 13 / 15) and bos["is_production_ready"] is False
    # day 30 is past it: INCOMPLETE_DATA, as before
    assert result.rows[day(30)] == 0
    assert fails[(day(30), "BOS")]["failure_category"] == "INCOMPLETE_DATA"
    # NYK has no TDGS rows: too few games inside the window, incomplete past it
    assert fails[(day(29), "NYK")]["failure_category"] == "INSUFFICIENT_DATA"
    assert fails[(day(30), "NYK")]["failure_category"] == "INCOMPLETE_DATA"
    # an open circuit breaker still comes first, past the window too
    run(wh, PROCESSORS["tdza"], [day(30)], mode="daily", params={"circuit_broken_entities": ["BOS"]})
    assert _by_date_entity(wh, "tdza")[(day(30), "BOS")]["failure_category"] == "CIRCUIT_BREAKER_ACTIVE"


def test_the_bootstrap_window_is_one_rule_in_one_place() -> None:
    sql_dir = Path(precompute.SQL_DIR)
    assert ">= 30 AS completeness_checked" in (sql_dir / "_batch_season.sql").read_text()
    for name in ("tdza", "psza", "pdc"):
        text = (sql_dir / f"{name}.sql").read_text()
        assert "WHEN completeness_checked AND" in text, name
        assert "WHEN @check_completeness" not in text, name
