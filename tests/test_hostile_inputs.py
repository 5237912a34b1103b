"""Bad input of every kind gets a bounded, located, one-line answer — never a traceback.

Each test is one finding of the attack on the engine: SQL through variables and gates, plans
that would take forever to validate, values that overflow, paths with NUL bytes, a corrupt or
full warehouse, commands that looked at the warehouse by writing to it.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from bfplan.errors import WarehouseError
from bfplan.warehouse.duckdb_common import wrap as _wrap
from tests.conftest import TOY_PLUGIN, as_json

BASE = """
name: toy
dates: {start: 2021-11-01, end: 2021-11-04}
warehouse: {type: duckdb, path: w.duckdb}
plugins: ["{toy}"]
phases:
  - name: one
    processors: [src]
"""

ENV = {**os.environ, "BFPLAN_DISABLE_PLUGIN_AUTOLOAD": "1"}


def _gate_plan(query: str, extra: str = "") -> str:
    return f"""
name: toy
dates: {{start: 2021-11-01, end: 2021-11-04}}
warehouse: {{type: duckdb, path: w.duckdb}}
plugins: ["{{toy}}"]
vars: {{team: "1"}}
{extra}
phases:
  - name: one
    processors: [src]
    gates:
      after:
        - sql:
            query: "{query}"
"""


# -- 2: SQL cannot be injected, gates cannot write ----------------------------------------------
INJECTION = "x' UNION ALL SELECT content FROM read_text('SECRET') WHERE '1'='1"


def test_a_variable_pasted_into_gate_sql_is_a_plan_error(write_plan, bfplan):
    plan = write_plan(_gate_plan("SELECT day AS date FROM toy.src WHERE CAST(k AS STRING) = '${team}'"))
    result = bfplan("validate", plan, "--var", f"team={INJECTION}")
    assert result.exit_code == 2
    assert result.stderr == (f"{plan}:13:20: phases[0].gates.after[0].sql.query: ${{...}} in SQL: variables are "
                             "never pasted into SQL; write @name instead (the plan's vars and params are bound "
                             "as query parameters)\n")


def test_a_variable_bound_as_a_parameter_cannot_read_a_file(write_plan, bfplan, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    plan = write_plan(_gate_plan("SELECT day AS date, k FROM toy.src WHERE CAST(k AS STRING) = @team"))
    run = bfplan("run", plan, "--var", "team=" + INJECTION.replace("SECRET", str(secret)), "--json")
    assert run.exit_code == 0, run.output
    check = bfplan("check", plan, "--var", "team=" + INJECTION.replace("SECRET", str(secret)), "--json")
    assert check.exit_code == 0
    assert "TOP-SECRET" not in check.stdout + check.stderr
    db = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert db.execute("SELECT count(*) FROM bfplan.gate_results WHERE findings LIKE '%TOP-SECRET%'").fetchall() == [(0,)]
    db.close()
    # the same query with an ordinary value finds its rows: the parameter really is bound
    found = bfplan("check", plan, "--json")
    assert found.exit_code == 1 and len(as_json(found)["gates"][0]["findings"]) == 4


@pytest.mark.parametrize("query, what", [
    ("DELETE FROM toy.src WHERE TRUE", "got DELETE"),
    ("WITH d AS (DELETE FROM toy.src WHERE TRUE RETURNING *) SELECT * FROM d", "it contains DELETE"),
    ("SELECT 1; DROP TABLE toy.src", "expected one SQL statement, got 2"),
    ("CREATE TABLE toy.x AS SELECT 1 AS a", "got CREATE"),
])
def test_a_gate_query_that_is_not_one_read_only_select_is_a_plan_error(write_plan, bfplan, query, what):
    plan = write_plan(_gate_plan(query))
    result = bfplan("validate", plan)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{plan}:13:20: phases[0].gates.after[0].sql.query: ")
    assert what in result.stderr


def test_a_gate_cannot_write_through_its_context(write_plan, bfplan, tmp_path):
    plan = write_plan(BASE.replace("processors: [src]", "processors: [src]\n    gates: {after: [writer]}"))
    result = bfplan("run", plan, "--json")
    assert result.exit_code == 1
    assert "raised WarehouseError: gates read the warehouse; they cannot write to it" in result.stderr
    db = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert db.execute("SELECT count(*) FROM toy.src").fetchall() == [(12,)]


# -- 3: validate is bounded in time and memory ---------------------------------------------------
def _timed_validate(bfplan, plan, *args):
    started = time.perf_counter()
    result = bfplan("validate", plan, *args)
    return result, time.perf_counter() - started


def test_a_huge_description_of_unclosed_references_validates_in_linear_time(write_plan, bfplan):
    plan = write_plan(BASE + 'description: "' + "${" * 50_000 + '"\n')
    result, seconds = _timed_validate(bfplan, plan)
    assert result.exit_code == 0, result.output
    assert seconds < 5


def test_the_size_of_the_work_is_bounded_before_anything_is_built(write_plan, bfplan):
    text = BASE.replace("2021-11-01, end: 2021-11-04", "1900-01-01, end: 2100-12-31").replace(
        "processors: [src]", "processors: [src, dbl, side]").replace("phases:", "defaults: {batch_days: 1}\nphases:")
    plan = write_plan(text)
    result, seconds = _timed_validate(bfplan, plan)
    assert result.exit_code == 2 and seconds < 5
    assert result.stderr == (
        f"{plan}:2:8: dates: the dates span 73,414 days, more than defaults.max_days (36,525): narrow them, "
        "or raise defaults.max_days\n")
    # the setting decides: raised, the days pass and the node bound speaks
    plan = write_plan(text.replace("{batch_days: 1}", "{batch_days: 1, max_days: 80000}"))
    result, seconds = _timed_validate(bfplan, plan)
    assert result.exit_code == 2 and seconds < 5
    assert result.stderr == (
        f"{plan}:2:8: dates: the plan makes up to 220,242 nodes (3 processor(s) over 73,414 days), more than "
        "defaults.max_nodes (100,000): narrow the dates, raise batch_days, or raise defaults.max_nodes\n")
    plan = write_plan(text.replace("{batch_days: 1}", "{batch_days: 30, max_days: 80000}"))
    assert bfplan("validate", plan).exit_code == 0
    plan = write_plan(text.replace("{batch_days: 1}", "{batch_days: 1, max_days: 80000, max_nodes: 10}"))
    small = write_plan(BASE.replace("phases:", "defaults: {batch_days: 1, max_nodes: 3}\nphases:"), "small.yaml")
    assert "more than defaults.max_nodes (3)" in bfplan("validate", small).stderr


def test_mode_daily_on_a_large_backfill_is_refused_before_it_is_built(write_plan, bfplan):
    plan = write_plan(BASE.replace("2021-11-04", "2021-12-31").replace("phases:", "defaults: {batch_days: 30, "
                                                                                  "max_nodes: 20}\nphases:"))
    assert bfplan("validate", plan).exit_code == 0
    result = bfplan("run", plan, "--mode", "daily", "--force", "--dry-run")
    assert result.exit_code == 2
    assert result.stderr == ("error: --mode daily: the plan would make up to 61 nodes, more than defaults.max_nodes "
                             "(20); narrow the dates (--start/--end) or raise defaults.max_nodes\n")


def test_variables_that_double_at_every_step_stop_at_a_bound(write_plan, bfplan):
    chain = "".join(f"  v{i}: '${{v{i + 1}}}${{v{i + 1}}}'\n" for i in range(40)) + "  v40: 'xxxxxxxx'\n"
    plan = write_plan(BASE + "vars:\n" + chain)
    result, seconds = _timed_validate(bfplan, plan)
    assert result.exit_code == 2 and seconds < 5
    assert "expands to more than 1,048,576 characters (variables nest too deeply)" in result.stderr


def test_four_hundred_chained_variables_resolve(write_plan, bfplan):
    chain = "".join(f"  v{i}: '${{v{i + 1}}}'\n" for i in range(400)) + "  v400: end\n"
    plan = write_plan(BASE.replace("name: toy", "name: toy\ndescription: '${v0}'") + "vars:\n" + chain)
    result = bfplan("validate", plan, "--json")
    assert result.exit_code == 0, result.output


# -- 4 and 7: values that used to raise are located plan errors ----------------------------------
@pytest.mark.parametrize("change, expected", [
    (("2021-11-04", "9999-12-31"), "2: dates.end: date 9999-12-31 is out of range (plans cover 1900-01-01..2999-12-31)"),
    (("2021-11-01", "0001-01-01"), "2: dates.start: date 0001-01-01 is out of range (plans cover 1900-01-01..2999-12-31)"),
    (("phases:", "defaults: {retry_backoff_s: .nan}\nphases:"), "5: defaults.retry_backoff_s: expected a finite number, got nan"),
    (("path: w.duckdb}", "path: w.duckdb, threads: 99999999999999999999}"),
     "3: warehouse.threads: must be at most 1024, got 99999999999999999999"),
    (('plugins: ["{toy}"]', 'plugins: ["{toy}", "pl\\0ugin"]'), "4: plugins[1]: contains a NUL character"),
    (("path: w.duckdb}", "path: folder}"), "3: warehouse.path: 'folder' is a folder, not a DuckDB file (name a file "
                                           "in it, e.g. folder/warehouse.duckdb)"),
    (("phases:", "defaults: {jobs: 100000, retries: 1000}\nphases:"), "5: defaults.jobs: must be at most 256, got 100000"),
])
def test_values_that_used_to_raise_are_located_plan_errors(write_plan, bfplan, tmp_path, change, expected):
    (tmp_path / "folder").mkdir()
    plan = write_plan(BASE.replace(*change))
    result = bfplan("validate", plan)
    assert result.exit_code == 2, result.output
    line, message = expected.split(": ", 1)
    assert any(re.fullmatch(rf"{re.escape(str(plan))}:{line}:\d+: {re.escape(message)}", text)
               for text in result.stderr.splitlines()), result.stderr
    assert "Traceback" not in result.output


def test_today_out_of_range_is_a_plan_error(write_plan, bfplan):
    plan = write_plan(BASE.replace("name: toy", "name: toy\nmode: daily\nvars: {today: 2021-11-05}"))
    assert bfplan("validate", plan).exit_code == 0
    result = bfplan("validate", plan, "--var", "today=0001-01-01")
    assert result.exit_code == 2
    assert result.stderr == f"{plan}:3:15: vars.today: date 0001-01-01 is out of range (plans cover 1900-01-01..2999-12-31)\n"


def test_daily_mode_age_refusal_is_located_at_the_dates(write_plan, bfplan):
    plan = write_plan(BASE.replace("name: toy", "name: toy\nmode: daily\nvars: {today: 2022-06-01}"))
    result = bfplan("run", plan)
    assert result.exit_code == 2
    assert result.stderr == (f"{plan}:4:8: dates: daily mode refuses dates older than 90 days (2021-11-01 < "
                             "2022-03-03): run them in backfill mode (--mode backfill), or pass --force\n")


def test_a_calendar_without_dates_is_located(write_plan, bfplan, tmp_path):
    plugin = tmp_path / "cal.py"
    plugin.write_text("from bfplan import hookimpl\n\n@hookimpl\ndef bfplan_calendars():\n"
                      "    return {'never': lambda start, end, **_: []}\n")
    plan = write_plan(BASE.replace("2021-11-04}", "2021-11-04, calendar: never}").replace(
        'plugins: ["{toy}"]', f'plugins: ["{{toy}}", "{plugin}"]'))
    result = bfplan("run", plan)
    assert result.exit_code == 2
    assert re.fullmatch(rf"{re.escape(str(plan))}:2:\d+: dates.calendar: calendar 'never' has no dates between "
                        r"2021-11-01 and 2021-11-04: the plan has nothing to run\n", result.stderr)


def test_a_missing_plugin_is_located_and_hides_no_other_error(write_plan, bfplan, tmp_path):
    plan = write_plan(BASE.replace('plugins: ["{toy}"]', 'plugins: ["{toy}", "nowhere"]').replace(
        "2021-11-01, end: 2021-11-04", "2021-11-05, end: 2021-11-04"))
    result = bfplan("validate", plan)
    assert result.exit_code == 2
    first, second = result.stderr.splitlines()
    assert first == f"{plan}:2:8: dates: start 2021-11-05 is after end 2021-11-04"
    assert second.startswith(f"{plan}:4:") and second.endswith(
        f": plugins[1]: plugin path {tmp_path / 'nowhere'} does not exist (expected a package directory or a .py file)")


def test_a_plugin_that_fails_to_import_names_its_file_and_line(write_plan, bfplan, tmp_path):
    plugin = tmp_path / "broken.py"
    plugin.write_text("x = 1\ny = 1 / 0\n")
    plan = write_plan(BASE.replace('plugins: ["{toy}"]', f'plugins: ["{{toy}}", "{plugin}"]'))
    result = bfplan("validate", plan)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{plan}:4:")
    assert result.stderr.endswith(f": plugins[1]: plugin {plugin} failed to import: ZeroDivisionError: "
                                  f"division by zero (at {plugin}:2)\n")


def test_report_into_a_missing_folder_is_a_usage_error(write_plan, bfplan, tmp_path):
    plan = write_plan(BASE)
    result = bfplan("report", plan, "-o", tmp_path / "no" / "such" / "r.html")
    assert result.exit_code == 2
    assert result.stderr == f"error: -o {tmp_path / 'no/such/r.html'}: the folder {tmp_path / 'no/such'} does not exist\n"


def test_out_of_range_command_line_dates_are_usage_errors(write_plan, bfplan):
    plan = write_plan(BASE)
    result = bfplan("run", plan, "--end", "9999-12-31")
    assert result.exit_code == 2
    assert result.stderr == "error: --end 9999-12-31: out of range (1900-01-01..2999-12-31)\n"


# -- 5: --var reaches plugins: -------------------------------------------------------------------
def test_var_overrides_choose_the_plugins_that_load(write_plan, bfplan, tmp_path):
    plan = write_plan(BASE.replace('plugins: ["{toy}"]', 'vars: {pdir: nowhere}\nplugins: ["${pdir}"]'))
    missing = bfplan("validate", plan)
    assert missing.exit_code == 2 and "plugins[0]: plugin path" in missing.stderr
    loaded = bfplan("validate", plan, "--var", f"pdir={TOY_PLUGIN}")
    assert loaded.exit_code == 0, loaded.output
    listed = bfplan("plugins", "--plan", plan, "--var", f"pdir={TOY_PLUGIN}", "--json")
    assert "src" in [p["name"] for p in as_json(listed)["processors"]]


# -- 6: a corrupt warehouse is refused, not trusted ----------------------------------------------
def test_run_refuses_a_corrupt_warehouse(write_plan, bfplan, tmp_path):
    plan = write_plan(BASE.replace("[src]", "[src, dbl]"))
    assert bfplan("run", plan).exit_code == 0
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    block = con.execute("SELECT max(block_id) FROM pragma_storage_info('toy.src') WHERE block_id >= 0").fetchall()[0][0]
    con.close()
    # one damaged data block (a bad sector, a torn copy): the catalog and the ledger still read fine
    data = bytearray(db.read_bytes())
    start = 3 * 4096 + block * 256 * 1024  # DuckDB: three header blocks, then 256 KiB blocks
    data[start + 16:start + 80] = bytes(b ^ 0xFF for b in data[start + 16:start + 80])
    db.write_bytes(bytes(data))
    con = duckdb.connect(str(db), read_only=True)  # the ledger alone looks healthy
    assert con.execute("SELECT count(*) FROM bfplan.partition_log WHERE status = 'done'").fetchall() == [(8,)]
    con.close()
    result = bfplan("run", plan)
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith(f"error: {db} cannot be read (toy.src: Corrupt database file: computed checksum ")
    assert result.stderr.endswith("; restore it from a copy, or move it away to rebuild from scratch\n")
    assert "nothing to do" not in result.stdout


# -- 9: read-only commands write nothing; URLs mean one thing ------------------------------------
def test_status_on_a_mistyped_path_creates_nothing(write_plan, bfplan, tmp_path):
    plan = write_plan(BASE)
    result = bfplan("status", plan, "--warehouse", f"duckdb:///{tmp_path / 'typo.duckdb'}")
    assert result.exit_code == 0
    assert "the warehouse does not exist yet" in result.stderr
    assert not (tmp_path / "typo.duckdb").exists()
    assert bfplan("gaps", plan, "--warehouse", f"duckdb:///{tmp_path / 'typo.duckdb'}").exit_code == 1
    checked = bfplan("check", plan, "--warehouse", f"duckdb:///{tmp_path / 'typo.duckdb'}")
    assert checked.exit_code == 3 and "no warehouse yet" in checked.stderr
    assert not (tmp_path / "typo.duckdb").exists()


def test_validate_adds_nothing_to_an_existing_file(write_plan, bfplan, tmp_path):
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE mine (a INTEGER)")
    con.close()
    before = db.read_bytes()
    plan = write_plan(BASE)
    assert bfplan("validate", plan).exit_code == 0
    assert bfplan("status", plan).exit_code == 0
    assert db.read_bytes() == before
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT table_name FROM information_schema.tables").fetchall() == [("mine",)]


@pytest.mark.parametrize("url, message", [
    ("duckdb:///x#1.duckdb", "'#' has no meaning in a duckdb URL (a file name containing it is written %23)"),
    ("duckdb:///x.duckdb?threads=4", "'?' has no meaning in a duckdb URL (a file name containing it is written %3F)"),
    ("duckdb:///x%00.duckdb", "the path contains a NUL character"),
    ("duckdb://host/x.duckdb", "use duckdb:///relative/path or duckdb:////absolute/path"),
    ("bigquery://proj?locaton=US", "unknown option 'locaton' (expected location, dataset_prefix, query_timeout_s, "
                                   "price_per_tib)"),
    ("bigquery://Bad_Project", "invalid project id 'Bad_Project'"),
    ("bigquery://proj?query_timeout_s=soon", "query_timeout_s='soon' is not a int"),
])
def test_warehouse_urls_are_parsed_strictly(write_plan, bfplan, url, message):
    plan = write_plan(BASE)
    result = bfplan("validate", plan, "--warehouse", url)
    assert result.exit_code == 2
    assert result.stderr == f"error: --warehouse {url}: {message}\n"


def test_an_escaped_hash_is_part_of_the_file_name(write_plan, bfplan, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = write_plan(BASE)
    assert bfplan("run", plan, "--warehouse", "duckdb:///x%231.duckdb").exit_code == 0
    assert (tmp_path / "x#1.duckdb").exists() and not (tmp_path / "x").exists()


# -- 10: a full disk stops the run; no retry storm, no breaker -----------------------------------
def test_the_warehouse_errors_of_the_machine_are_permanent():
    for text in ("Could not write file \"w.duckdb.wal\": No space left on device", "File too large",
                 "Read-only file system", "Disk quota exceeded"):
        err = _wrap(duckdb.TransactionException(f"TransactionContext Error: Failed to commit: {text}"), "commit")
        assert isinstance(err, WarehouseError) and err.environment and not err.transient
    assert _wrap(duckdb.TransactionException("Conflict on tuple deletion"), "write").transient


def _limited(size: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), not the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return apply


def test_a_disk_that_takes_no_more_stops_the_run_without_retries_or_breaker(write_plan, tmp_path):
    plan = write_plan(BASE.replace("[src]", "[src, bulk]").replace(
        "phases:", "defaults: {batch_days: 1, jobs: 1, retries: 3, circuit_breaker: {max_failures: 1}}\nphases:"))
    cli = [sys.executable, "-m", "bfplan"]
    assert subprocess.run([*cli, "run", str(plan), "--only", "src"], env=ENV, capture_output=True).returncode == 0
    full = subprocess.run([*cli, "run", str(plan)], env=ENV, capture_output=True, text=True, timeout=120,
                          preexec_fn=_limited(400_000))
    assert full.returncode == 3, full.stderr
    assert "1 failed, 3 blocked" in full.stdout
    assert "STOPPED: the warehouse refuses writes" in full.stderr and "File too large" in full.stderr
    db = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert db.execute("SELECT max(attempt) FROM bfplan.partition_log WHERE processor = 'bulk'").fetchall() == [(1,)]
    assert db.execute("SELECT count(*) FROM bfplan.circuit_breakers").fetchall() == [(0,)]
    db.close()
    # room again: the next run finishes the job
    again = subprocess.run([*cli, "run", str(plan), "--json"], env=ENV, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert '"done": 4' in again.stdout


# -- 8: Ctrl-C at any moment exits 130 -----------------------------------------------------------
SLOW = BASE.replace("[src]", "[slow]").replace("phases:", "defaults: {batch_days: 1, jobs: 1}\nphases:")


@pytest.mark.parametrize("delay", [0.3, 0.6, 0.9, 1.2, 1.5])
def test_sigint_at_any_moment_exits_130(write_plan, delay):
    plan = write_plan(SLOW.replace("2021-11-04", "2021-11-20"))  # runs ~5 s: every delay lands inside it
    proc = subprocess.Popen([sys.executable, "-m", "bfplan", "run", str(plan)], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Aborted!" not in err


# -- 11: a running plan can be watched ---------------------------------------------------------
def test_a_running_plan_can_be_watched(write_plan, bfplan, tmp_path):
    plan = write_plan(SLOW.replace("2021-11-04", "2021-11-20"))
    proc = subprocess.Popen([sys.executable, "-m", "bfplan", "run", str(plan), "--var", "sleep_s=0.3"], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        progress = tmp_path / "w.duckdb.progress.json"
        deadline = time.monotonic() + 30
        while not progress.exists():
            assert time.monotonic() < deadline, "no live progress appeared"
            time.sleep(0.05)
        states: set[str] = set()
        while "done" not in states:  # the run rewrites its progress at most once a second
            assert time.monotonic() < deadline + 15, f"no finished node shown: {states}"
            time.sleep(0.3)
            status = bfplan("status", plan, "--json")
            assert status.exit_code == 0, status.output
            doc = as_json(status)
            assert doc["live"]["pid"] == proc.pid and doc["live"]["total_nodes"] == 20
            states = {p["status"] for p in doc["partitions"]}
        assert "pending" in states
        text = bfplan("status", plan)
        assert text.exit_code == 0 and text.stdout.startswith("run ") and " in progress since " in text.stdout
        gaps = bfplan("gaps", plan)
        assert gaps.exit_code == 3
        assert "is locked by run " in gaps.stderr and "gaps must wait until it finishes" in gaps.stderr
        check = bfplan("check", plan)
        assert check.exit_code == 3 and "check must wait until it finishes" in check.stderr
        validate = bfplan("validate", plan)
        assert validate.exit_code == 0 and "counts below ignore what it has done" in validate.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


def test_a_dead_runs_holder_file_does_not_name_the_dead_process(write_plan, bfplan, tmp_path):
    plan = write_plan(BASE)
    assert bfplan("run", plan).exit_code == 0
    db = tmp_path / "w.duckdb"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "w.duckdb.run.json").write_text(
        f'{{"run_id": "dead-run", "since": "2021-01-01 00:00:00 UTC", "host": "{os.uname().nodename}", '
        f'"pid": {dead.pid}}}')
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(db)!r}); "
                               "print('open', flush=True); time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        result = bfplan("gaps", plan)
        assert result.exit_code == 3
        assert "dead-run" not in result.stderr and f"pid {dead.pid}" not in result.stderr
        assert "in use by another process" in result.stderr
    finally:
        holder.kill()
        holder.wait()


def test_plans_written_by_the_fuzzer_find_the_toy_plugin():
    assert (Path(TOY_PLUGIN) / "__init__.py").is_file()
