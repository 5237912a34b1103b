"""Phase 5 (``nba_predictions``): the moving-average baseline prediction system, set-based SQL.

One processor, ``predictions``, writes ``nba_predictions.player_prop_predictions`` (one row per
player, game and ``system_id='moving_average_baseline'``) from the ML feature store (features
0-4 and 15), PCF's ``total_composite_adjustment`` and the day's points line. The formula and the
confidence rules are in ``sql/predictions/predictions.sql``. Early-season placeholder rows of
the feature store (an empty features array) get no prediction.
"""

from __future__ import annotations

from pathlib import Path

from bfplan.processors import SqlProcessor

SQL_DIR = Path(__file__).parent / "sql" / "predictions"

MLFS = "nba_predictions.ml_feature_store_v2"
PCF = "nba_precompute.player_composite_factors"
UPGC = "nba_analytics.upcoming_player_game_context"
PREDICTIONS = "nba_predictions.player_prop_predictions"
SYSTEM_ID = "moving_average_baseline"

#: the players expected on a date: those with a (non-placeholder) feature vector
EXPECTED_SQL = f"""
SELECT DISTINCT game_date AS partition_date, CONCAT(CAST(player_lookup AS STRING), '|', '{SYSTEM_ID}') AS entity_id
FROM {MLFS}
WHERE game_date IN UNNEST(@dates) AND ARRAY_LENGTH(features) = 25
""".strip()


def prediction_processors() -> list[SqlProcessor]:
    """The Phase 5 processors (one system: the moving-average baseline)."""
    return [
        SqlProcessor(
            name="predictions",
            table=PREDICTIONS,
            partition_column="game_date",
            inputs=(MLFS, PCF, UPGC),
            entity_key=("player_lookup", "system_id"),
            critical_fields={
                "predicted_points": "not_null",
                "confidence_score": "not_null",
                "recommendation": "not_null",
            },
            expected_entities_sql=EXPECTED_SQL,
            lookback_days=0,
            clustering=("player_lookup",),
            description="Phase 5: moving-average baseline points predictions with OVER/UNDER/PASS",
            sql_path=SQL_DIR / "predictions.sql",
        ),
    ]
