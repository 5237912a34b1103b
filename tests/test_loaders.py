"""The generic file loader: a bad record is quarantined with its file, line and reason; the rest loads."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bfplan.loaders import BadValue, convert, csv_records, json_records
from tests.conftest import as_json, db_rows, sensors_copy
from tests.nba.simload import load_simulator

ROOT = Path(__file__).resolve().parents[1]


def test_json_records_know_where_each_record_starts(tmp_path):
    path = tmp_path / "f.json"
    path.write_text('{"game_date": "2021-11-01",\n "rows": [\n  {"a": 1},\n  {"a": 2}, {"a": 3}\n ],\n "z": 0}\n')
    assert [(r.values, r.line, r.col) for r in json_records(path)] == [
        ({"a": 1}, 3, 3), ({"a": 2}, 4, 3), ({"a": 3}, 4, 13)]
    one_line = tmp_path / "g.json"
    one_line.write_text('{"rows":[{"a":1},{"a":2}]}')
    assert [r.location for r in json_records(one_line)] == [f"{one_line}:1:10", f"{one_line}:1:18"]


def test_a_truncated_file_loads_the_whole_records_and_names_the_rest(tmp_path):
    path = tmp_path / "f.json"
    path.write_text('{"rows": [{"a": 1}, {"a": 2}, {"a": 3')
    records = list(json_records(path))
    assert [r.values for r in records[:2]] == [{"a": 1}, {"a": 2}]
    assert records[2].problem and "record 2 and the rest of the file" in records[2].problem
    assert records[2].line == 1


@pytest.mark.parametrize(("text", "problem"), [
    ("not json", "not JSON"),
    ('{"source": "x"}', "no 'rows' list"),
    ('{"rows": [1]}', "record 0 is not a JSON object"),
    ('{"rows": [{"a": 1} {"a": 2}]}', "expected ',' or ']'"),
])
def test_a_file_that_is_not_records_is_a_bad_record(tmp_path, text, problem):
    path = tmp_path / "f.json"
    path.write_text(text)
    assert any(problem in (r.problem or "") for r in json_records(path))


def test_csv_records_name_lines_with_the_wrong_number_of_fields(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text('a,b\n1,2\n"x\ny",3\n4,5,6\n\n7\n')
    records = list(csv_records(path))
    assert [(r.line, r.problem) for r in records] == [
        (2, None), (3, None), (5, "3 fields where the header has 2"), (7, "1 fields where the header has 2")]
    assert records[1].values == {"a": "x\ny", "b": "3"}


@pytest.mark.parametrize(("value", "kind", "expected"), [
    ("12", "INT64", 12), (3.0, "INT64", 3), ("", "INT64", None), ("1.5", "FLOAT64", 1.5), (2, "FLOAT64", 2.0),
    ("true", "BOOL", True), ("0", "BOOL", False), ("2021-11-01", "DATE", date(2021, 11, 1)), ("x", "STRING", "x"),
    ({"k": 1}, "JSON", '{"k": 1}'),
])
def test_values_convert_to_their_columns_type(value, kind, expected):
    assert convert(value, kind, "c") == expected


@pytest.mark.parametrize(("value", "kind", "why"), [
    (float("nan"), "FLOAT64", "not a finite number"), ("inf", "FLOAT64", "not a finite number"),
    (float("nan"), "INT64", "not a finite number"), (2.5, "INT64", "not a whole number"), ("abc", "INT64", "not a valid INT64"),
    (True, "INT64", "not a valid INT64"), (5, "STRING", "not a valid STRING"), ("2021-13-01", "DATE", "not a valid DATE"),
    ("maybe", "BOOL", "not a valid BOOL"),
])
def test_values_that_cannot_be_their_type_say_why(value, kind, why):
    with pytest.raises(BadValue, match=why):
        convert(value, kind, "c")



def test_a_csv_with_one_corrupt_line_loads_every_other_line_and_names_the_bad_one(bfplan, tmp_path):
    plan = sensors_copy(tmp_path)
    day = plan.parent / "data" / "readings" / "2024-03-04.csv"
    lines = day.read_text().splitlines(keepends=True)
    bad = lines[5].split(",")
    lines[5] = ",".join([bad[0], bad[1], "warm", bad[3]])  # text where a temperature belongs
    day.write_text("".join(lines))
    result = bfplan("run", plan, "--json")
    doc = as_json(result)
    assert doc["quarantined"] == {"readings": 1}
    assert doc["partitions"]["failed"] == 0
    db = plan.parent / "w.duckdb"
    loaded = db_rows(db, "SELECT count(*) FROM weather.readings WHERE day = DATE '2024-03-04'")[0][0]
    assert loaded == len(lines) - 2  # the header and the bad line
    (rule, detail, source), = db_rows(db, "SELECT rule, detail, source FROM bfplan.quarantine")
    assert rule == "invalid" and "temp_c: 'warm' is not a valid FLOAT64" in detail and source == f"{day}:6"
    assert result.exit_code == 0
    again = bfplan("run", plan, "--force", "--only", "readings")
    assert "rows quarantined (set aside, the rest committed): readings 1" in again.output


def test_a_contract_sets_aside_an_impossible_reading_and_the_rest_commits(bfplan, tmp_path):
    plan = sensors_copy(tmp_path)
    day = plan.parent / "data" / "readings" / "2024-03-05.csv"
    lines = day.read_text().splitlines(keepends=True)
    lines.append(lines[1])  # one reading delivered twice
    first = lines[2].split(",")
    lines[2] = ",".join([first[0], first[1], "71.5", first[3]])  # 71.5 °C: a thermometer fault
    day.write_text("".join(lines))
    doc = as_json(bfplan("run", plan, "--json"))
    assert doc["quarantined"] == {"readings": 2}
    kept = db_rows(plan.parent / "w.duckdb", "SELECT rule, row_key, action FROM bfplan.quarantine ORDER BY rule")
    assert kept == [("range(temp_c)", f"2024-03-05|{first[0]}|{first[1]}", "quarantined"),
                    ("unique_key", f"2024-03-05|{lines[1].split(',')[0]}|{lines[1].split(',')[1]}", "quarantined")]


def test_a_raw_file_with_one_corrupt_record_loads_every_other_record(bfplan, tmp_path):
    sim = load_simulator()
    bucket = tmp_path / "bucket"
    sim.simulate_season(bucket, end=date(2021, 10, 21))
    folder = bucket / "raw" / "nbac_gamebook" / "2021-10-20"
    path = sorted(folder.glob("*.json"))[0]
    doc = json.loads(path.read_text())
    total = sum(len(json.loads(p.read_text())["rows"]) for p in folder.glob("*.json"))
    doc["rows"][3]["points"] = float("nan")  # what a scraper writes for "no value": not JSON, not a count
    path.write_text(json.dumps(doc))
    plan = tmp_path / "raw.yaml"
    plan.write_text(f"""
name: raw
dates: {{start: 2021-10-19, end: 2021-10-21}}
warehouse: {{type: duckdb, path: w.duckdb}}
plugins: [{ROOT / 'plugins' / 'nba'}]
vars: {{bucket: {bucket}}}
phases:
  - name: raw
    processors: [raw_gamebook]
""")
    result = bfplan("run", plan, "--json")
    assert result.exit_code == 0, result.output
    assert as_json(result)["quarantined"] == {"raw_gamebook": 1}
    db = tmp_path / "w.duckdb"
    loaded = db_rows(db, "SELECT count(*) FROM nba_raw.nbac_gamebook_player_stats WHERE game_date = '2021-10-20'")
    assert loaded[0][0] == total - 1
    (detail, source, record), = db_rows(db, "SELECT detail, source, record FROM bfplan.quarantine")
    assert detail == "points: nan is not a finite number"
    assert source.startswith(f"{path}:1:") and json.loads(record.replace("NaN", "null"))["player_lookup"]
