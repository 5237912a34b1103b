"""The CLI contract: global options anywhere, JSON documents, exit codes, one-line errors."""

from __future__ import annotations

from tests.conftest import as_json

PLAN = """
name: toy
dates: {start: 2021-11-01, end: 2021-11-04}
warehouse: {type: duckdb, path: w.duckdb}
plugins: ["{toy}"]
vars: {label: x}
phases:
  - name: one
    processors: [src, side]
"""


def test_validate_json_shape_and_no_warehouse_created(write_plan, bfplan, tmp_path):
    plan = write_plan(PLAN)
    doc = as_json(bfplan("validate", plan, "--json"))
    assert doc["valid"] is True and doc["errors"] == []
    assert doc["to_run"] == 8 and doc["already_done"] == 0 and doc["nodes"] == 2
    assert doc["stages"][0]["phase"] == "one"
    assert not (tmp_path / "w.duckdb").exists()


def test_global_options_before_and_after_arguments(write_plan, bfplan, tmp_path):
    plan = write_plan(PLAN)
    other = tmp_path / "elsewhere.duckdb"
    after = bfplan("run", plan, "--warehouse", f"duckdb:///{other}", "--json")
    assert after.exit_code == 0, after.output
    assert other.exists() and not (tmp_path / "w.duckdb").exists()
    before = bfplan("--json", "--warehouse", f"duckdb:///{other}", "validate", plan)
    assert as_json(before)["already_done"] == 8


def test_bad_warehouse_url_is_exit_2(write_plan, bfplan):
    plan = write_plan(PLAN)
    result = bfplan("run", plan, "--warehouse", "postgres://x")
    assert result.exit_code == 2
    assert result.stderr == "error: --warehouse postgres://x: unknown scheme 'postgres' (expected duckdb:// or bigquery://)\n"


def test_bad_var_and_bad_date_are_exit_2(write_plan, bfplan):
    plan = write_plan(PLAN)
    assert bfplan("run", plan, "--var", "novalue").stderr == "error: --var 'novalue': expected KEY=VALUE\n"
    bad = bfplan("run", plan, "--start", "2021-13-01")
    assert bad.exit_code == 2 and bad.stderr == "error: --start '2021-13-01': expected a date YYYY-MM-DD\n"


def test_missing_plan_file(bfplan, tmp_path):
    result = bfplan("validate", tmp_path / "nope.yaml")
    assert result.exit_code == 2
    assert result.stderr == f"error: plan file not found: {tmp_path / 'nope.yaml'}\n"


def test_plan_errors_are_listed_one_per_line_with_exit_2(write_plan, bfplan):
    plan = write_plan("""
        name: toy
        dates: {start: 2021-11-05, end: 2021-11-01}
        plugins: ["{toy}"]
        phases:
          - name: one
            processors: [srcc]
        """)
    result = bfplan("validate", plan)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines == [
        f"{plan}:2:8: dates: start 2021-11-05 is after end 2021-11-01",
        f"{plan}:6:18: phases[0].processors[0]: unknown processor 'srcc' (did you mean 'src'?)",
    ]


def test_warehouse_in_use_is_exit_3(write_plan, bfplan, tmp_path):
    import duckdb

    plan = write_plan(PLAN)
    assert bfplan("run", plan).exit_code == 0
    # another process holding the file: simulate with a second in-process read-write connection
    # configured differently, which DuckDB refuses the same way it refuses another process
    holder = duckdb.connect(str(tmp_path / "w.duckdb"), config={"access_mode": "READ_ONLY"})
    try:
        result = bfplan("run", plan)
    finally:
        holder.close()
    assert result.exit_code == 3
    assert result.stderr.startswith("error: cannot open DuckDB warehouse:")


def test_status_json(write_plan, bfplan):
    plan = write_plan(PLAN)
    bfplan("run", plan)
    rows = as_json(bfplan("status", plan, "--json"))["partitions"]
    assert len(rows) == 8
    assert set(rows[0]) >= {"processor", "date", "status", "run_id", "rows", "duration_s"}
    assert rows[0]["processor"] == "src" and rows[0]["rows"] == 3


def test_report_writes_a_self_contained_page(write_plan, bfplan, tmp_path):
    plan = write_plan(PLAN)
    bfplan("run", plan)
    out = tmp_path / "r.html"
    result = bfplan("report", plan, "-o", out)
    assert result.exit_code == 0 and result.stdout == f"wrote {out}\n"
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "<h1>toy</h1>" in page
    assert 'title="src 2021-11-01: done"' in page and "http" not in page  # nothing fetched from anywhere


def test_a_calendar_that_cannot_answer_is_a_plan_error_at_its_line(write_plan, bfplan, tmp_path):
    nba = __import__("pathlib").Path(__file__).resolve().parents[1] / "plugins" / "nba"
    plan = write_plan(f"""
        name: cal
        dates: {{start: 2021-11-01, end: 2021-11-02, calendar: nba_game_days}}
        plugins: ["{nba}"]
        vars: {{bucket: {tmp_path / 'no-bucket'}}}
        phases: [{{name: raw, processors: [raw_schedule]}}]
        """)
    result = bfplan("validate", plan)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{plan}:2:55: dates.calendar: calendar 'nba_game_days': no schedule under ")
