"""Contracts on both warehouses: each rule fails the node naming keys and values, or quarantines.

The same plans run on DuckDB and on the BigQuery emulator; ``feed`` writes Python rows and
``mirror`` copies them with SQL, so both write paths of both adapters meet every rule.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Target, as_json

PLUGIN = Path(__file__).parent / "quality_plugin"
D1, D2 = "2021-11-01", "2021-11-02"
CLEAN = [[D1, "a", 1.0, "x"], [D1, "b", 2.0, "x"], [D2, "a", 3.0, "x"], [D2, "b", 4.0, "x"]]


def plan_text(target: Target, rows: list[list[Any]], *, feed: dict[str, Any] | None = None,
              mirror: dict[str, Any] | None = None, drop: list[str] | None = None) -> str:
    """A plan (JSON is YAML) running feed, then mirror, with the given contracts."""
    doc = {
        "name": "q",
        "dates": {"start": D1, "end": D2},
        "warehouse": target.config,
        "plugins": [str(PLUGIN)],
        "params": {"rows": rows, "drop": drop or []},
        "defaults": {"batch_days": 2, "jobs": 1, "retries": 0},
        "phases": [
            {"name": "load", "processors": [{"name": "feed", **({"contract": feed} if feed else {})}]},
            {"name": "copy", "processors": [{"name": "mirror", **({"contract": mirror} if mirror else {})}]},
        ],
    }
    return json.dumps(doc, indent=1)


@pytest.fixture
def run(tmp_path: Path, bfplan: Callable[..., Any], target: Target) -> Callable[..., Any]:
    def go(rows: list[list[Any]], **contracts: Any) -> Any:
        path = tmp_path / "plan.yaml"
        path.write_text(plan_text(target, rows, **contracts))
        return bfplan("run", path, "--json")

    return go


def quarantine(target: Target) -> list[dict[str, Any]]:
    return target.rows("SELECT processor, partition_date, rule, row_key, detail, record, action "
                       "FROM bfplan.quarantine ORDER BY processor, rule, row_key, record")


def test_a_clean_batch_passes_every_rule(run, target):
    result = run(CLEAN, feed={"columns": {"v": {"not_null": True, "range": [0, 10], "finite": True},
                                          "label": {"accepted": ["x", "y"]}}})
    assert result.exit_code == 0, result.output
    assert as_json(result)["partitions"]["done"] == 4
    assert target.rows("SELECT COUNT(*) AS n FROM q.mirror") == [{"n": 4}]
    assert quarantine(target) == []


def test_a_batch_without_rows_breaks_no_rule(run, target):
    result = run([])  # the unique key alone, over a batch that has no rows at all
    assert result.exit_code == 0, result.output
    assert target.rows("SELECT COUNT(*) AS n FROM q.feed") == [{"n": 0}]


def test_a_duplicate_key_fails_the_node_naming_the_key(run, target):
    rows = [*CLEAN, [D2, "b", 4.0, "x"]]  # the same row twice (the processor's unique_key: day, k)
    result = run(rows)
    assert result.exit_code == 1
    error = target.rows("SELECT error FROM bfplan.partition_log WHERE processor = 'feed'")[0]["error"]
    assert "ContractViolation" in error and "unique_key: 1 key(s)" in error and "2021-11-02 2021-11-02|b" in error
    assert "(exact copies)" in error and "one kept" not in error  # failing: nothing is kept
    assert target.rows("SELECT COUNT(*) AS n FROM q.feed")[0]["n"] == 0  # nothing of the batch committed
    kept = quarantine(target)
    assert {(r["rule"], r["action"], r["row_key"]) for r in kept} == {("unique_key", "rejected", "2021-11-02|b")}


def test_exact_copies_keep_one_and_differing_rows_are_all_set_aside(run, target):
    rows = [*CLEAN, [D2, "b", 4.0, "x"], [D1, "a", 9.0, "x"]]  # b: an exact copy; a: two different rows
    result = run(rows, feed={"on_violation": "quarantine"})
    assert result.exit_code == 0, result.output
    left = target.rows("SELECT CAST(day AS STRING) AS d, k, v FROM q.feed ORDER BY d, k")
    assert left == [{"d": D1, "k": "b", "v": 2.0}, {"d": D2, "k": "a", "v": 3.0}, {"d": D2, "k": "b", "v": 4.0}]
    kept = quarantine(target)
    assert [(r["row_key"], r["action"]) for r in kept] == [
        ("2021-11-01|a", "quarantined"), ("2021-11-01|a", "quarantined"), ("2021-11-02|b", "quarantined")]
    assert "exact copies: one kept" in kept[2]["detail"] and "differ" in kept[0]["detail"]
    done = target.rows("SELECT CAST(partition_date AS STRING) AS d, row_count FROM bfplan.partition_log "
                       "WHERE processor = 'feed' AND status = 'done' ORDER BY d")
    assert done == [{"d": D1, "row_count": 1}, {"d": D2, "row_count": 2}]  # the ledger counts what committed


def test_an_out_of_range_value_fails_naming_key_and_value(run, target):
    rows = [*CLEAN[:3], [D2, "b", -4.0, "x"]]
    result = run(rows, feed={"columns": {"v": {"range": [0, 10]}}})
    assert result.exit_code == 1
    error = target.rows("SELECT error FROM bfplan.partition_log WHERE processor = 'feed'")[0]["error"]
    assert "range(v): 1 row(s)" in error and "2021-11-02|b: v outside [0, 10] (-4" in error


def test_a_nan_is_quarantined_and_the_rest_commits(run, target):
    rows = [*CLEAN[:3], [D2, "b", "nan", "x"]]
    result = run(rows, feed={"columns": {"v": {"finite": True}}, "on_violation": "quarantine"})
    assert result.exit_code == 0, result.output
    assert target.rows("SELECT COUNT(*) AS n FROM q.feed")[0]["n"] == 3
    assert target.rows("SELECT COUNT(*) AS n FROM q.mirror")[0]["n"] == 3
    kept = quarantine(target)
    assert [(r["rule"], r["row_key"]) for r in kept] == [("finite(v)", "2021-11-02|b")]
    assert json.loads(kept[0]["record"].replace("NaN", "null"))["k"] == "b"


def test_nan_is_outside_every_range(run, target):
    rows = [*CLEAN[:3], [D2, "b", "nan", "x"]]
    result = run(rows, feed={"columns": {"v": {"range": [None, 10]}}})
    assert result.exit_code == 1
    error = target.rows("SELECT error FROM bfplan.partition_log WHERE processor = 'feed'")[0]["error"]
    assert "range(v): 1 row(s)" in error and "2021-11-02|b" in error


def test_accepted_and_not_null(run, target):
    rows = [*CLEAN[:2], [D2, "a", None, "x"], [D2, "b", 4.0, "z"]]
    result = run(rows, feed={"columns": {"v": {"not_null": True}, "label": {"accepted": ["x"]}},
                             "on_violation": "quarantine"})
    assert result.exit_code == 0, result.output
    assert {(r["rule"], r["row_key"]) for r in quarantine(target)} == {
        ("not_null(v)", "2021-11-02|a"), ("accepted(label)", "2021-11-02|b")}


def test_a_row_count_mismatch_fails_naming_the_missing_key_even_with_quarantine(run, target, tmp_path, bfplan):
    path = tmp_path / "plan.yaml"
    path.write_text(plan_text(target, CLEAN, mirror={"on_violation": "quarantine"}, drop=["b"]))
    result = bfplan("run", path, "--json")
    assert result.exit_code == 1
    error = target.rows("SELECT error FROM bfplan.partition_log WHERE processor = 'mirror'")[0]["error"]
    assert "rows_match 2021-11-01: 1 rows for 2 q.feed keys" in error and "missing: b" in error
    assert target.rows("SELECT COUNT(*) AS n FROM q.mirror")[0]["n"] == 0


def test_rows_match_tolerance_and_the_processors_own_filter(run, target):
    # the processor's rows_match counts input rows with label != 'skip': a copied 'skip' row is extra
    rows = [*CLEAN, [D1, "c", 5.0, "skip"]]
    assert run(rows).exit_code == 1
    error = target.rows("SELECT error FROM bfplan.partition_log WHERE processor = 'mirror'")[0]["error"]
    assert "3 rows for 2 q.feed keys" in error and "not in the input: c" in error
    # a plan may loosen it: one key in two is within a 50% tolerance
    result = run(rows, mirror={"rows_match": {"input": "q.feed", "key": ["k"], "tolerance": 0.5}})
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("target", ["duckdb"], indirect=True)
@pytest.mark.parametrize(("contract", "message"), [
    ({"columns": {"v": {"range": [10, 0]}}}, "contract.columns.v.range: lower bound 10 is above upper bound 0"),
    ({"columns": {"v": {"accepted": ["x", 1]}}}, "values must all be text, all numbers, or all true/false"),
    ({"rows_match": {"input": "q.feed", "key": ["k"], "where": "1=1"}}, "contract.rows_match"),
    ({"unique_key": ["k"], "colums": {}}, "colums"),
    ({"on_violation": "ignore"}, "contract.on_violation"),
])
def test_a_bad_contract_in_a_plan_is_a_plan_error(tmp_path, bfplan, target, contract, message):
    path = tmp_path / "plan.yaml"
    path.write_text(plan_text(target, CLEAN, feed=contract))
    result = bfplan("validate", path)
    assert result.exit_code == 2
    assert f"{path}:" in result.output and message in result.output, result.output


@pytest.mark.parametrize("target", ["duckdb"], indirect=True)
def test_a_contract_naming_a_column_the_table_lacks_fails_the_node_clearly(run, target):
    result = run(CLEAN, feed={"columns": {"points": {"not_null": True}}})
    assert result.exit_code == 1
    error = target.rows("SELECT error FROM bfplan.partition_log WHERE processor = 'feed'")[0]["error"]
    assert "checking the contract of q.feed (feed)" in error and "points" in error
