"""Parameter binding, labels, SQL name mapping and configuration: no emulator needed."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from google.cloud.bigquery import ArrayQueryParameter, ScalarQueryParameter, StructQueryParameter

import bfplan.warehouse.bigquery.adapter as bq
import bfplan.warehouse.bigquery.params as bq_params
from bfplan.errors import WarehouseError
from bfplan.warehouse.bigquery import BigQueryWarehouse
from bfplan.warehouse.bigquery.params import (
    query_parameter,
    query_parameters,
    row_chunks,
    rows_parameter,
    sanitize_labels,
)
from bfplan.warehouse.bigquery.rewrite import rewrite_sql


@pytest.fixture
def offline_wh(monkeypatch: pytest.MonkeyPatch) -> BigQueryWarehouse:
    """A warehouse that never connects (anonymous credentials, an address nothing listens on)."""
    monkeypatch.setenv(bq.EMULATOR_ENV, "http://127.0.0.1:9")
    return BigQueryWarehouse.from_config(project="my-proj", location="EU", dataset_prefix="dev_",
                                         query_timeout_s=42)


@pytest.mark.parametrize(("value", "type_"), [
    (True, "BOOL"), (False, "BOOL"),  # before int: bool is an int subclass
    (7, "INT64"), (-1, "INT64"), (1.5, "FLOAT64"), (Decimal("1.25"), "NUMERIC"), ("x", "STRING"),
    (date(2021, 11, 1), "DATE"), (datetime(2021, 11, 1, 12, 30), "TIMESTAMP"), (time(12, 30), "TIME"),
    (b"\x00", "BYTES"),
])
def test_scalar_types(value, type_):
    assert query_parameter("p", value) == ScalarQueryParameter("p", type_, value)


def test_none_is_a_string_null():
    assert query_parameter("p", None) == ScalarQueryParameter("p", "STRING", None)


def test_aware_timestamps_are_sent_in_utc():
    aware = datetime(2021, 11, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    param = query_parameter("at", aware)
    assert param.type_ == "TIMESTAMP"
    assert param.to_api_repr()["parameterValue"]["value"] == "2021-11-01 12:00:00+00:00"
    naive = query_parameter("at", datetime(2021, 11, 1, 12, 0)).to_api_repr()
    assert naive["parameterValue"]["value"] == "2021-11-01 12:00:00+00:00"  # naive means UTC


@pytest.mark.parametrize(("value", "type_", "items"), [
    ([date(2021, 11, 1), date(2021, 11, 2)], "DATE", [date(2021, 11, 1), date(2021, 11, 2)]),
    ((1, 2, 3), "INT64", [1, 2, 3]),
    (["a", "b"], "STRING", ["a", "b"]),
    ([True, False], "BOOL", [True, False]),
    ([1, 2.5], "FLOAT64", [1.0, 2.5]),
    ([Decimal("1.5")], "NUMERIC", [Decimal("1.5")]),
    ([datetime(2021, 1, 1)], "TIMESTAMP", [datetime(2021, 1, 1)]),
    ({"b", "a"}, "STRING", ["a", "b"]),
])
def test_arrays(value, type_, items):
    assert query_parameter("p", value) == ArrayQueryParameter("p", type_, items)


@pytest.mark.parametrize(("name", "type_"), [("dates", "DATE"), ("game_dates", "DATE"), ("start_date", "DATE"),
                                              ("processors", "STRING"), ("ids", "STRING")])
def test_empty_arrays_are_typed_by_name(name, type_):
    assert query_parameter(name, []) == ArrayQueryParameter(name, type_, [])


@pytest.mark.parametrize(("value", "message"), [
    ([1, None], "cannot contain NULL"),
    ([1, "a"], "mixed element types"),
    ([True, 1], "mixed element types"),
    ({"a": 1}, "cannot bind a dict"),
    ([[1]], "cannot bind a list"),
])
def test_unbindable_values(value, message):
    with pytest.raises(WarehouseError, match=message):
        query_parameter("p", value)


def test_query_parameters_can_rename():
    params = query_parameters({"dates": [date(2021, 11, 1)], "n": 1}, rename="s3_")
    assert [p.name for p in params] == ["s3_dates", "s3_n"]


def test_rows_parameter_types_every_value_by_its_column():
    columns = {"run_id": "STRING", "day": "DATE", "n": "INT64", "x": "FLOAT64", "ok": "BOOL",
               "at": "TIMESTAMP", "doc": "JSON"}
    at = datetime(2021, 11, 1, 12)
    param = rows_parameter("rows", columns, [("r", date(2021, 11, 1), None, 1.5, True, at, {"k": [1]}),
                                             ("s", None, 2, None, None, None, None)])
    assert param.name == "rows" and param.array_type == "STRUCT"
    first, second = param.values
    assert isinstance(first, StructQueryParameter)
    assert first.struct_types == {"run_id": "STRING", "day": "DATE", "n": "INT64", "x": "FLOAT64", "ok": "BOOL",
                                  "at": "TIMESTAMP", "doc": "STRING"}
    assert first.struct_values == {"run_id": "r", "day": date(2021, 11, 1), "n": None, "x": 1.5, "ok": True,
                                   "at": at, "doc": '{"k": [1]}'}
    assert second.struct_values["day"] is None and second.struct_values["doc"] is None
    with pytest.raises(WarehouseError, match="2 values for 7 columns"):
        rows_parameter("rows", columns, [("r", None)])


def test_row_chunks_respect_the_size_cap(monkeypatch):
    monkeypatch.setattr(bq_params, "MAX_ROWS_PARAM_BYTES", 1000)
    rows = [(f"k{i:04}", i) for i in range(100)]
    chunks = list(row_chunks({"k": "STRING", "n": "INT64"}, rows))
    assert len(chunks) > 1
    assert [r for c in chunks for r in c] == rows


def test_labels_follow_bigquery_rules():
    assert sanitize_labels({"run_id": "20211101T120000-ABC123", "Processor": "TDZA.v2", "9lives": "x",
                            "skip": None, "long": "y" * 100}) == {
        "run_id": "20211101t120000-abc123", "processor": "tdza_v2", "k_9lives": "x", "long": "y" * 63}


def test_job_config_carries_labels_timeout_and_standard_sql(offline_wh):
    with offline_wh.job_labels(run_id="R-1", processor="TDZA"), offline_wh.job_labels(attempt=2):
        config = offline_wh.job_config([query_parameter("d", date(2021, 11, 1))])
    assert config.labels == {"tool": "bfplan", "run_id": "r-1", "processor": "tdza", "attempt": "2"}
    assert int(config.job_timeout_ms) == 42_000
    assert config.use_legacy_sql is False
    assert [p.name for p in config.query_parameters] == ["d"]
    assert offline_wh.job_config().labels == {"tool": "bfplan"}  # the context is gone


def test_names_map_to_project_and_prefixed_datasets(offline_wh):
    assert offline_wh.table_id("nba.games") == "my-proj.dev_nba.games"
    assert offline_wh.dataset_id("bfplan") == "my-proj.dev_bfplan"
    assert offline_wh.location == "EU" and offline_wh.query_timeout_s == 42
    assert "emulator http://127.0.0.1:9" in offline_wh.description
    with pytest.raises(WarehouseError, match=r"expected 'dataset\.table'"):
        offline_wh.table_id("games")


REWRITES = [
    ("SELECT * FROM nba.games WHERE game_date IN UNNEST(@dates)",
     "SELECT * FROM `proj.dev_nba.games` WHERE game_date IN UNNEST(@dates)"),
    ("SELECT g.pts FROM `nba.games` AS g JOIN nba.teams t USING (team_id)",
     "SELECT g.pts FROM `proj.dev_nba.games` AS g JOIN `proj.dev_nba.teams` t USING (team_id)"),
    # a fully qualified name and a CTE stay; INTERVAL and comments are kept as written
    ("WITH x AS (SELECT 1 AS a) SELECT * FROM x, `other-proj.ds.t` -- done\n",
     "WITH x AS (SELECT 1 AS a) SELECT * FROM x, `other-proj.ds.t` -- done"),
    ("SELECT DATE_ADD(d, INTERVAL 1 DAY) FROM nba.games;", "SELECT DATE_ADD(d, INTERVAL 1 DAY) FROM `proj.dev_nba.games`"),
    ("SELECT at, r.at FROM bfplan.runs AS r ORDER BY at", "SELECT `at`, r.`at` FROM `proj.dev_bfplan.runs` AS r ORDER BY `at`"),
    ("SELECT table_name FROM nba.INFORMATION_SCHEMA.TABLES",
     "SELECT table_name FROM `proj.dev_nba.INFORMATION_SCHEMA.TABLES`"),
]


@pytest.mark.parametrize(("sql", "expected"), REWRITES)
def test_rewrite_maps_logical_tables_and_keeps_the_rest(sql, expected):
    assert rewrite_sql(sql, "dev_", "proj").sql == expected


def test_rewrite_reports_tables_targets_and_params():
    rw = rewrite_sql("INSERT INTO nba.out (a) SELECT a FROM nba.src WHERE d = @day AND e = @day", "", "p")
    assert rw.tables == {"nba.out", "nba.src"}
    assert rw.target == "nba.out"
    assert rw.params == ("day",)


def test_rewrite_renames_params_but_not_system_variables():
    rw = rewrite_sql("DELETE FROM nba.t WHERE d IN UNNEST(@dates) AND ds = @@dataset_id AND s = '@dates'",
                     "", "p", param_prefix="s1_")
    assert rw.sql == "DELETE FROM `p.nba.t` WHERE d IN UNNEST(@s1_dates) AND ds = @@dataset_id AND s = '@dates'"


def test_rewrite_points_temp_tables_at_scratch_tables():
    create = rewrite_sql("CREATE OR REPLACE TEMP TABLE __stage_x AS SELECT * FROM nba.src", "", "p",
                         temps=(("__stage_x", "p.bfplan_scratch.t1"),))
    assert create.creates_temp == "__stage_x"
    assert create.sql == "CREATE OR REPLACE  TABLE `p.bfplan_scratch.t1` AS SELECT * FROM `p.nba.src`"
    read = rewrite_sql("SELECT * EXCEPT (a) FROM __stage_x WHERE b IS NULL", "", "p",
                       temps=(("__stage_x", "p.bfplan_scratch.t1"),))
    assert read.sql == "SELECT * EXCEPT (a) FROM `p.bfplan_scratch.t1` WHERE b IS NULL"
    assert rewrite_sql("DROP TABLE IF EXISTS __stage_x", "", "p").drops_temp == "__stage_x"
    update = rewrite_sql("UPDATE __stage_x SET a = 1 WHERE TRUE", "", "p", temps=(("__stage_x", "p.s.t1"),))
    assert (update.writes_temp, update.target, update.sql) == ("__stage_x", None, "UPDATE `p.s.t1` SET a = 1 WHERE TRUE")
    # a CTE that happens to share the name is the CTE
    cte = rewrite_sql("WITH __stage_x AS (SELECT 1 AS a) SELECT a FROM __stage_x", "", "p",
                      temps=(("__stage_x", "p.bfplan_scratch.t1"),))
    assert "scratch" not in cte.sql


def test_rewrite_rejects_what_is_not_one_statement():
    with pytest.raises(WarehouseError, match="expected one SQL statement"):
        rewrite_sql("SELECT 1; SELECT 2", "", "p")
    with pytest.raises(WarehouseError, match="does not parse"):
        rewrite_sql("SELECT FROM WHERE (", "", "p")


def test_from_config_rejects_unknown_and_bad_options(monkeypatch):
    monkeypatch.setenv(bq.EMULATOR_ENV, "127.0.0.1:9")  # a host without scheme is accepted too
    wh = BigQueryWarehouse.from_config(project="p", base_dir=None)
    assert wh.emulator_host == "http://127.0.0.1:9" and wh.kind == "bigquery"
    assert wh.price_per_tib == 6.25 and wh.cost_usd(2**40) == 6.25
    with pytest.raises(WarehouseError, match=re.escape("unknown bigquery warehouse option(s): datset")):
        BigQueryWarehouse.from_config(project="p", datset="x")
    with pytest.raises(WarehouseError, match="needs a project"):
        BigQueryWarehouse.from_config()
    with pytest.raises(WarehouseError, match="invalid dataset_prefix"):
        BigQueryWarehouse.from_config(project="p", dataset_prefix="a-b")
    with pytest.raises(WarehouseError, match="invalid query_timeout_s"):
        BigQueryWarehouse.from_config(project="p", query_timeout_s=0)
    with pytest.raises(WarehouseError, match="numbers expected"):
        BigQueryWarehouse.from_config(project="p", price_per_tib="cheap")
    # from a --warehouse bigquery://p?query_timeout_s=60 URL every value is text
    assert BigQueryWarehouse.from_config(project="p", query_timeout_s="60").query_timeout_s == 60.0


def test_results_are_naive_utc_like_duckdb():
    class Row(dict):
        pass

    aware = datetime(2021, 11, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    assert bq._rows([Row(at=aware, d=date(2021, 11, 1))]) == [{"at": datetime(2021, 11, 1, 12),
                                                               "d": date(2021, 11, 1)}]
    assert bq._naive_utc(datetime(2021, 1, 1, tzinfo=UTC)) == datetime(2021, 1, 1)
