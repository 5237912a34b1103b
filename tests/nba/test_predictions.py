"""Phase 5: the moving-average baseline on hand-made feature vectors (real DuckDB, no mocks).

The chain test (real MLFS output -> predictions) lives with the league fixture in test_precompute.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bfplan.warehouse.duckdb import DuckDBWarehouse

from .fixtures import Fixture, day, nba_module, run

predictions = nba_module("predictions")
PREDICT = predictions.prediction_processors()[0]
D = day(40)

MLFS_DDL = """
CREATE TABLE nba_predictions.ml_feature_store_v2 (
  player_lookup STRING, universal_player_id STRING, game_date DATE, game_id STRING, team_abbr STRING,
  opponent_team_abbr STRING, features ARRAY<FLOAT64>, points_line FLOAT64, feature_quality_score FLOAT64,
  quality_tier STRING, feature_version STRING)
"""
PCF_DDL = """
CREATE TABLE nba_precompute.player_composite_factors (
  player_lookup STRING, game_date DATE, total_composite_adjustment FLOAT64)
"""


def vector(
    l5: float, l10: float, season: float, std: float = 3.0, games_7d: float = 3.0, home: bool = True
) -> list[float]:
    """A 25-feature vector: only features 0-4 and 15 matter to the baseline."""
    f = [0.0] * 25
    f[0], f[1], f[2], f[3], f[4] = l5, l10, season, std, games_7d
    f[15] = 1.0 if home else 0.0
    return f


@pytest.fixture
def wh() -> Iterator[DuckDBWarehouse]:
    w = DuckDBWarehouse(":memory:")
    w.execute("CREATE SCHEMA IF NOT EXISTS nba_predictions")
    w.execute("CREATE SCHEMA IF NOT EXISTS nba_precompute")
    w.execute(MLFS_DDL)
    w.execute(PCF_DDL)
    yield w
    w.close()


def add(
    wh: DuckDBWarehouse,
    player: str,
    features: list[float] | None,
    *,
    line: float | None = None,
    adjustment: float | None = None,
    tier: str = "gold",
    upgc_line: float | None = None,
) -> None:
    wh.native(
        "INSERT INTO nba_predictions.ml_feature_store_v2 VALUES (?, ?, ?, ?, 'BOS', 'NYK', ?, ?, 97.0, ?, 'v1_baseline_25')",
        [player, f"{player}_001", D, f"g_{player}", features, line, tier],
    )
    if adjustment is not None:
        wh.native("INSERT INTO nba_precompute.player_composite_factors VALUES (?, ?, ?)", [player, D, adjustment])
    fx = Fixture()
    fx.upgc(D, player, points_line=upgc_line)
    fx.write(wh, tables=["nba_analytics.upcoming_player_game_context"])


def predict(wh: DuckDBWarehouse) -> dict[str, dict]:
    run(wh, PREDICT, [D])
    got = wh.query("SELECT * FROM nba_predictions.player_prop_predictions")
    return {r["player_lookup"]: r for r in got}


def test_baseline_arithmetic_clamps_and_recommendations(wh: DuckDBWarehouse) -> None:
    add(wh, "a", vector(30, 20, 10), line=20.5, adjustment=-1.25)  # 15 + 6 + 2 - 1.25 + 0.5 = 22.25
    add(wh, "high", vector(70, 65, 55, home=False), line=50.5, adjustment=3.0)  # 65.5 + 3 - 0.5 = 68 -> 60
    add(wh, "low", vector(0, 0, 0, home=False), adjustment=-2.0)  # -2.5 -> 0; no line
    add(wh, "close", vector(20, 20, 20), line=19.5)  # 20.5 vs 19.5: |1.0| < 1.5
    add(wh, "under", vector(20, 20, 20), upgc_line=25.5)  # line from UPGC: 20.5 vs 25.5
    add(wh, "edge", vector(20, 20, 20), line=19.0)  # |1.5| is not < 1.5: OVER
    add(wh, "road", vector(20, 20, 20, home=False), line=10.5)  # away: 20 - 0.5 = 19.5
    add(wh, "placeholder", None, line=20.5)  # early season: no prediction
    out = predict(wh)
    assert set(out) == {"a", "high", "low", "close", "under", "edge", "road"}
    a = out["a"]
    assert a["system_id"] == "moving_average_baseline"
    assert a["base_prediction"] == pytest.approx(23.0)
    assert a["composite_adjustment"] == pytest.approx(-1.25) and a["home_away_adjustment"] == 0.5
    assert a["predicted_points"] == pytest.approx(22.25)
    assert (a["recommendation"], a["line_margin"]) == ("OVER", pytest.approx(1.75))
    assert out["high"]["predicted_points"] == 60.0 and out["high"]["recommendation"] == "OVER"
    assert out["low"]["predicted_points"] == 0.0
    assert (out["low"]["recommendation"], out["low"]["has_prop_line"]) == ("PASS", False)
    assert out["close"]["predicted_points"] == pytest.approx(20.5) and out["close"]["recommendation"] == "PASS"
    assert out["close"]["composite_adjustment"] == 0.0  # no PCF row
    assert (out["under"]["points_line"], out["under"]["recommendation"]) == (25.5, "UNDER")
    assert out["edge"]["recommendation"] == "OVER"
    road = out["road"]
    assert (road["home_away_adjustment"], road["predicted_points"], road["is_home"]) == (
        -0.5,
        pytest.approx(19.5),
        False,
    )
    assert (road["recommendation"], road["line_margin"]) == ("OVER", pytest.approx(9.0))


def test_confidence_adjustments_and_clamp(wh: DuckDBWarehouse) -> None:
    add(wh, "steady", vector(20, 20, 20, std=3.0, games_7d=3), tier="gold")  # 0.5 + 0.10 + 0.05
    add(wh, "volatile", vector(20, 20, 20, std=5.0, games_7d=2), tier="silver")  # 0.5 - 0.08 + 0.05
    add(wh, "wild", vector(20, 20, 20, std=7.0, games_7d=1), tier="poor")  # 0.5 - .15 - .10 - .10 -> 0.2
    add(wh, "bronze", vector(20, 20, 20, std=6.0, games_7d=0), tier="bronze")  # 0.5 - 0.08 - 0.10 - 0.05
    out = predict(wh)
    assert out["steady"]["confidence_score"] == pytest.approx(0.65)
    assert out["volatile"]["confidence_score"] == pytest.approx(0.47)
    assert out["wild"]["confidence_score"] == pytest.approx(0.2)
    assert out["bronze"]["confidence_score"] == pytest.approx(0.27)
