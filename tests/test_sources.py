"""A file that arrives late or is re-delivered with other contents leaves the loaded partition
out of date although nothing in the warehouse changed: ``gaps`` names the files, ``run --stale``
loads them again and recomputes what read them."""

from __future__ import annotations

from pathlib import Path

from bfplan.sources import describe
from tests.conftest import as_json, db_rows, sensors_copy


def _gaps(bfplan, plan: Path) -> list[tuple[str, str, str, str]]:
    return [(g["processor"], g["date"], g["type"], g["detail"]) for g in as_json(bfplan("gaps", plan, "--json"))["gaps"]]


def test_a_redelivered_file_makes_its_partition_stale_and_stale_reloads_it(bfplan, tmp_path):
    plan = sensors_copy(tmp_path)
    assert bfplan("run", plan).exit_code == 0
    assert _gaps(bfplan, plan) == []
    day = plan.parent / "data" / "readings" / "2024-03-04.csv"
    lines = day.read_text().splitlines(keepends=True)
    first = lines[1].split(",")
    lines[1] = ",".join([first[0], first[1], "-3.5", first[3]])  # the corrected reading (station, hour, temp)
    day.write_text("".join(lines))

    assert _gaps(bfplan, plan) == [("readings", "2024-03-04", "cascade",
                                    "stale: source files changed since the load: 1 re-delivered with other contents: "
                                    "2024-03-04.csv")]
    assert bfplan("gaps", plan).exit_code == 1
    stale = as_json(bfplan("run", plan, "--stale", "--json"))
    assert stale["partitions"]["done"] >= 2  # the reading's date and the summaries that read it
    db = plan.parent / "w.duckdb"
    assert db_rows(db, "SELECT min(temp_c) FROM weather.readings WHERE day = DATE '2024-03-04'")[0][0] <= -3.5
    assert db_rows(db, "SELECT temp_min FROM weather.daily WHERE day = DATE '2024-03-04' "
                       f"AND station = '{first[0]}'")[0][0] == -3.5
    assert _gaps(bfplan, plan) == []


def test_a_late_file_is_new_and_a_withdrawn_one_is_gone(bfplan, tmp_path):
    plan = sensors_copy(tmp_path)
    folder = plan.parent / "data" / "readings"
    late = folder / "2024-03-06.csv"
    held = late.read_bytes()
    late.unlink()  # not delivered yet when the plan first runs
    assert bfplan("run", plan).exit_code in (0, 1)
    late.write_bytes(held)
    (folder / "2024-03-07.csv").unlink()
    found = {(p, d): detail for p, d, kind, detail in _gaps(bfplan, plan) if kind == "cascade"}
    assert found[("readings", "2024-03-06")] == "stale: source files changed since the load: 1 new: 2024-03-06.csv"
    assert found[("readings", "2024-03-07")] == "stale: source files changed since the load: 1 gone: 2024-03-07.csv"
    bfplan("run", plan, "--stale")
    db = plan.parent / "w.duckdb"
    assert db_rows(db, "SELECT count(*) FROM weather.readings WHERE day = DATE '2024-03-06'")[0][0] > 0


def test_describe_names_each_kind_of_change():
    assert describe({"a": "1", "b": "2"}, {"a": "1", "b": "2"}) is None
    assert describe({"a": "1", "b": "2"}, {"b": "3", "c": "4"}) == (
        "1 new: c; 1 re-delivered with other contents: b; 1 gone: a")
    many = {f"f{i}": "x" for i in range(7)}
    assert describe({}, many) == "7 new: f0, f1, f2, f3, f4 (+2 more)"


def test_stale_also_builds_what_was_never_built(bfplan, tmp_path):
    plan = sensors_copy(tmp_path)
    late = plan.parent / "data" / "readings" / "2024-03-06.csv"
    held = late.read_bytes()
    late.unlink()
    first = as_json(bfplan("run", plan, "--only", "readings", "--json"))
    assert first["partitions"]["done"] == 10  # the readings only: the rest was never built
    late.write_bytes(held)
    done = bfplan("run", plan, "--stale")
    assert done.exit_code == 0, done.output
    db = plan.parent / "w.duckdb"
    assert db_rows(db, "SELECT count(DISTINCT day) FROM weather.daily")[0][0] == 10
    assert _gaps(bfplan, plan) == []


def test_one_stale_run_rebuilds_the_readers_of_what_it_builds_for_the_first_time(bfplan, tmp_path):
    plan = sensors_copy(tmp_path)
    days = [f"2024-03-{d:02d}" for d in range(1, 11) if d != 4]
    assert bfplan("run", plan, "--dates", ",".join(days)).exit_code in (0, 1)  # 03-04 never built
    assert bfplan("run", plan, "--stale").exit_code == 0
    assert [g for g in _gaps(bfplan, plan) if g[2] == "cascade"] == []  # the weeks that read 03-04 were rebuilt
