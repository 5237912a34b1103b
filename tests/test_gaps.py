"""Gaps and staleness on real DuckDB: each gap type built after a clean run, then repaired."""

from __future__ import annotations

import duckdb
import pytest

from tests.conftest import as_json

PLAN = """
name: toy
dates: {start: 2021-11-01, end: 2021-11-06}
warehouse: {type: duckdb, path: w.duckdb}
plugins: ["{toy}"]
defaults: {batch_days: 2, jobs: 2}
phases:
  - name: first
    processors: [src, dbl]
  - name: second
    processors: [cum]
"""


def _sql(tmp_path, sql):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        con.execute(sql)
    finally:
        con.close()


def _table_hash(tmp_path, table):
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        return con.execute(f"SELECT count(*), sum(hash(t)) FROM {table} AS t").fetchone()
    finally:
        con.close()


@pytest.fixture
def clean(write_plan, bfplan, tmp_path):
    plan = write_plan(PLAN)
    assert bfplan("run", plan).exit_code == 0
    return plan


def test_clean_run_has_no_gaps(clean, bfplan):
    result = bfplan("gaps", clean, "--json")
    assert result.exit_code == 0
    assert as_json(result) == {"gaps": []}
    assert bfplan("gaps", clean).stdout == "no gaps\n"


@pytest.mark.parametrize(("fault", "expected"), [
    ("DELETE FROM toy.src WHERE day = DATE '2021-11-03'", ("src", "2021-11-03", "missing_date")),
    ("DELETE FROM toy.src WHERE day = DATE '2021-11-04' AND k = 2", ("src", "2021-11-04", "partial")),
    ("UPDATE toy.src SET v = NULL WHERE day = DATE '2021-11-05' AND k = 1", ("src", "2021-11-05", "null_field")),
    ("UPDATE toy.src SET v = 0 WHERE day = DATE '2021-11-02' AND k = 3", ("src", "2021-11-02", "zero_value")),
])
def test_each_data_gap_is_reported_exactly(clean, bfplan, tmp_path, fault, expected):
    _sql(tmp_path, fault)
    result = bfplan("gaps", clean, "--json")
    assert result.exit_code == 1
    found = [(g["processor"], g["date"], g["type"]) for g in as_json(result)["gaps"]]
    assert found == [expected]


def test_partial_and_field_gaps_name_the_entities(clean, bfplan, tmp_path):
    _sql(tmp_path, "DELETE FROM toy.src WHERE day = DATE '2021-11-04' AND k IN (1, 3)")
    (gap,) = as_json(bfplan("gaps", clean, "--json"))["gaps"]
    assert gap["entities"] == ["1", "3"]
    assert gap["detail"] == "2 expected entities have neither a row nor a failure: 1, 3"
    assert gap["table"] == "toy.src"


def test_rewriting_upstream_makes_exactly_its_readers_stale_then_stale_run_repairs(clean, bfplan, tmp_path):
    before = {t: _table_hash(tmp_path, t) for t in ("toy.src", "toy.dbl", "toy.cum")}
    assert bfplan("run", clean, "--only", "src", "--dates", "2021-11-03", "--force").exit_code == 0
    found = [(g["processor"], g["date"], g["type"]) for g in as_json(bfplan("gaps", clean, "--json"))["gaps"]]
    # dbl reads src on the same date only; cum reads dbl, which has not changed yet
    assert found == [("dbl", "2021-11-03", "cascade")]
    rerun = as_json(bfplan("run", clean, "--stale", "--json"))
    # dbl 11-03, then cum for 11-03 and every later date (its window is season to date)
    assert rerun["partitions"]["done"] == 1 + 4
    assert as_json(bfplan("gaps", clean, "--json")) == {"gaps": []}
    assert {t: _table_hash(tmp_path, t) for t in before} == before


def test_from_recomputes_a_date_and_everything_that_read_it(clean, bfplan, tmp_path):
    before = {t: _table_hash(tmp_path, t) for t in ("toy.src", "toy.dbl", "toy.cum")}
    _sql(tmp_path, "UPDATE toy.src SET v = 0 WHERE day = DATE '2021-11-02'")
    doc = as_json(bfplan("run", clean, "--from", "src", "--dates", "2021-11-02", "--json"))
    # src and dbl on 11-02; cum on 11-02 and every later date, whose season-to-date window reads it
    assert doc["partitions"]["done"] == 1 + 1 + 5
    assert as_json(bfplan("gaps", clean, "--json")) == {"gaps": []}
    assert {t: _table_hash(tmp_path, t) for t in before} == before


def test_built_while_upstream_was_missing_is_cascade(write_plan, bfplan, tmp_path):
    plan = write_plan(PLAN)
    assert bfplan("run", plan, "--only", "src,dbl", "--end", "2021-11-03").exit_code == 0
    assert bfplan("run", plan, "--only", "cum").exit_code == 0  # dbl has 11-01..11-03 only
    assert bfplan("run", plan, "--only", "src,dbl").exit_code == 0
    gaps = as_json(bfplan("gaps", plan, "--json"))["gaps"]
    assert [(g["processor"], g["date"], g["type"]) for g in gaps] == [
        ("cum", f"2021-11-0{d}", "cascade") for d in (4, 5, 6)]
    assert gaps[0]["detail"] == "stale: 1 dbl partition(s) it reads were missing when it was built"
    assert bfplan("run", plan, "--stale").exit_code == 0
    assert as_json(bfplan("gaps", plan, "--json")) == {"gaps": []}


def test_status_grid_shows_stale(clean, bfplan):
    bfplan("run", clean, "--only", "src", "--dates", "2021-11-03", "--force")
    rows = as_json(bfplan("status", clean, "--json"))["partitions"]
    stale = [(r["processor"], r["date"]) for r in rows if r["status"] == "stale"]
    assert stale == [("dbl", "2021-11-03")]
    text = bfplan("status", clean).stdout
    assert "S stale (1)" in text
