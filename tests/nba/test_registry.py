"""The player name registry (Phase 3) and what PGS does with a name it cannot resolve.

The fixture is tests/nba/test_analytics.py's one game day (BOS at CHI, LAL at MIA), every gamebook
player on his team's roster. A name variant is made by respelling one source's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bfplan.warehouse.duckdb import DuckDBWarehouse
from tests.nba.test_analytics import D1, G1, PROC, by, game_day, run


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[DuckDBWarehouse]:
    w = DuckDBWarehouse(tmp_path / "w.duckdb", threads=2)
    yield w
    w.close()


def _failures(wh, processor: str) -> dict[str, dict]:
    return by(wh.query("SELECT * FROM nba_processing.analytics_failures WHERE processor_name = @p",
                       {"p": processor}), "entity_id")


def _respell(fx, table: str, old: str, new: str) -> None:
    for r in fx.rows[f"nba_raw.{table}"]:
        if r["player_lookup"] == old:
            r["player_lookup"] = new


def test_clean_names_resolve_against_the_rosters(wh):
    fx = game_day()
    fx.add("nbac_injury_report", game_date=D1, team_abbr="CHI", player_lookup="delta", injury_status="probable",
           reason="ankle")
    fx.write(wh)
    result = run(wh, "registry", [D1])
    assert result.failures == {}
    rows = wh.query("SELECT * FROM nba_analytics.player_registry ORDER BY source, source_lookup")
    # 7 gamebook names (6 active + the DNP bench player), alpha in the props (two books: one name),
    # delta in the injury report, matched to CHI's game of the day
    assert [(r["source"], r["source_lookup"]) for r in rows if r["source"] != "gamebook"] == [
        ("injuries", "delta"), ("props", "alpha")]
    assert len(rows) == 9 and {r["resolved_via"] for r in rows} == {"roster"}
    assert all(r["player_lookup"] == r["source_lookup"] for r in rows)
    assert next(r for r in rows if r["source"] == "injuries")["game_id"] == G1


def test_a_name_variant_in_the_gamebook_becomes_a_registry_failure(wh):
    fx = game_day()
    _respell(fx, "nbac_gamebook_player_stats", "charlie", "charliejr")  # rosters still say charlie
    fx.write(wh)
    assert run(wh, "registry", [D1]).failures == {"REGISTRY_LOOKUP_FAILED": 1}
    f = _failures(wh, "registry")["charliejr"]
    assert (f["failure_type"], f["can_retry"], f["is_correctable"]) == ("NAME_MISMATCH", True, True)
    reason = f["failure_reason"]
    # the source, the game, the team, and the closest CHI roster name (edit distance 2)
    assert reason.startswith(f"gamebook name charliejr (game {G1}, team CHI) is on no roster of CHI")
    assert "did you mean charlie? (edit distance 2)" in reason

    # PGS: no row under the variant; a REGISTRY_LOOKUP_FAILED failure naming it instead
    result = run(wh, "pgs", [D1])
    pgs = by(wh.query("SELECT * FROM nba_analytics.player_game_summary"), "player_lookup")
    assert "charliejr" not in pgs and "charlie" not in pgs and len(pgs) == 5
    fails = _failures(wh, "pgs")
    assert fails["charliejr"]["failure_category"] == "REGISTRY_LOOKUP_FAILED"
    assert "did you mean charlie?" in fails["charliejr"]["failure_reason"]
    # charlie's shot events now belong to no active gamebook player: the canonical name is
    # reported too, as missing upstream (G1 has shot events)
    assert fails["charlie"]["failure_category"] == "INCOMPLETE_UPSTREAM"
    assert result.failures == {"REGISTRY_LOOKUP_FAILED": 1, "INCOMPLETE_UPSTREAM": 1}
    # coverage expects the name the gamebook shows, and finds its failure
    expected = {r["entity_id"] for r in wh.query(PROC["pgs"].expected_entities_sql, {"dates": [D1]})}
    assert "charliejr" in expected and "charlie" not in expected


def test_a_dropped_letter_in_the_props_is_a_failure_and_the_line_goes_missing(wh):
    fx = game_day()
    _respell(fx, "odds_api_player_points_props", "alpha", "alpa")
    fx.write(wh)
    assert run(wh, "registry", [D1]).failures == {"REGISTRY_LOOKUP_FAILED": 1}
    reason = _failures(wh, "registry")["alpa"]["failure_reason"]
    assert reason.startswith(f"props name alpa (game {G1}, team BOS)") and "did you mean alpha?" in reason
    run(wh, "pgs", [D1])
    assert by(wh.query("SELECT * FROM nba_analytics.player_game_summary"), "player_lookup")["alpha"][
        "points_line"] is None


def test_an_alias_resolves_the_variant(wh, tmp_path: Path):
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("# a comment\nalias,player_lookup,note\ncharliejr,charlie,gamebook suffix\n"
                       "alpa,alpha,props typo\n")
    fx = game_day()
    _respell(fx, "nbac_gamebook_player_stats", "charlie", "charliejr")
    _respell(fx, "odds_api_player_points_props", "alpha", "alpa")
    fx.write(wh)
    params = {"aliases": str(aliases)}
    assert run(wh, "registry", [D1], params).failures == {}
    reg = {(r["source"], r["source_lookup"]): r for r in wh.query("SELECT * FROM nba_analytics.player_registry")}
    assert (reg[("gamebook", "charliejr")]["player_lookup"], reg[("gamebook", "charliejr")]["resolved_via"]) == (
        "charlie", "alias")
    assert reg[("props", "alpa")]["player_lookup"] == "alpha"
    # PGS writes the player under his roster name, with his events and his line
    result = run(wh, "pgs", [D1], params)
    assert result.failures == {}
    pgs = by(wh.query("SELECT * FROM nba_analytics.player_game_summary"), "player_lookup")
    assert pgs["charlie"]["points"] == 8 and pgs["charlie"]["paint_attempts"] == 2
    assert pgs["alpha"]["points_line"] == 8.5
    expected = {r["entity_id"] for r in wh.query(PROC["pgs"].expected_entities_sql, {"dates": [D1]})}
    assert "charlie" in expected and "charliejr" not in expected


def test_an_alias_to_a_player_of_another_team_does_not_resolve(wh, tmp_path: Path):
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("alias,player_lookup,note\ncharliejr,echo,wrong\n")
    fx = game_day()
    _respell(fx, "nbac_gamebook_player_stats", "charlie", "charliejr")
    fx.write(wh)
    assert run(wh, "registry", [D1], {"aliases": str(aliases)}).failures == {"REGISTRY_LOOKUP_FAILED": 1}
    assert "its alias echo is not on that roster" in _failures(wh, "registry")["charliejr"]["failure_reason"]


def test_a_team_without_a_roster_is_a_data_gap_and_pgs_keeps_the_names(wh):
    fx = game_day()
    fx.rows["nba_raw.nbac_rosters"] = [r for r in fx.rows["nba_raw.nbac_rosters"] if r["team_abbr"] != "MIA"]
    fx.write(wh)
    assert run(wh, "registry", [D1]).failures == {"INCOMPLETE_UPSTREAM": 1}
    assert "no roster rows for MIA" in _failures(wh, "registry")["foxtrot"]["failure_reason"]
    assert run(wh, "pgs", [D1]).failures == {}


def test_the_shipped_alias_list_is_empty_and_well_formed():
    registry = PROC["registry"]
    params: dict = {}
    params.update(registry.bound_params(params))
    assert params["registry_aliases"] == []
