"""``validate`` reads each SQL processor's query: a table it reads must be among its ``inputs``,
and it must compile over its inputs' columns (DuckDB, empty stand-ins) — a column typo is an
error naming the processor and the line of the SQL, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bfplan.sqlcheck import explain_error, locate
from bfplan.sqlrefs import tables_read
from tests.conftest import sensors_copy

ROOT = Path(__file__).resolve().parents[1]


def _edit_plugin(plan: Path, old: str, new: str) -> None:
    plugin = plan.parent / "plugin" / "__init__.py"
    text = plugin.read_text()
    assert old in text
    plugin.write_text(text.replace(old, new, 1))


def test_tables_read_skips_ctes_and_unnest():
    sql = ("WITH a AS (SELECT * FROM ds.x) SELECT * FROM a JOIN ds.y AS y USING (k) "
           "CROSS JOIN UNNEST(@dates) AS d WHERE k IN (SELECT k FROM ds.x)")
    assert tables_read(sql) == ("ds.x", "ds.y")


def test_an_undeclared_input_is_an_error_at_the_processors_line(bfplan, tmp_path):
    plan = sensors_copy(tmp_path)
    _edit_plugin(plan, 'inputs=("weather.daily",)', "inputs=()")
    result = bfplan("validate", plan)
    assert result.exit_code == 2
    assert (f"{plan}:16:25: phases[1].processors[1]: processor 'week' reads weather.daily but does not "
            "declare it in inputs (run order would be wrong)") in result.stderr
    assert not (plan.parent / "w.duckdb").exists()


def test_a_column_typo_in_inline_sql_names_the_processor_and_the_sql_line(bfplan, tmp_path):
    plan = sensors_copy(tmp_path)
    _edit_plugin(plan, "MIN(temp_c) AS temp_min", "MIN(tmep_c) AS temp_min")
    result = bfplan("validate", plan)
    assert result.exit_code == 2, result.output
    assert (f"{plan}:16:18: phases[1].processors[0]: processor 'daily': SQL line 2: "
            'column "tmep_c" not found (did you mean temp_c?)') in result.stderr
    assert not (plan.parent / "w.duckdb").exists()


def test_a_column_typo_in_a_sql_file_is_at_its_file_and_line(bfplan, tmp_path):
    plan = sensors_copy(tmp_path)
    sql = plan.parent / "plugin" / "daily.sql"
    sql.write_text("-- each station's day\nSELECT day, station,\n  MIN(temp_c) AS temp_min, MAX(temp_c) AS temp_max,\n"
                   "  AVG(tmep_c) AS temp_avg, SUM(rain_mm) AS rain_mm, COUNT(*) AS readings\n"
                   "FROM weather.readings WHERE day IN UNNEST(@dates)\nGROUP BY day, station\n")
    _edit_plugin(plan, "sql=DAILY)", "sql_path=Path(__file__).parent / 'daily.sql')")
    _edit_plugin(plan, "from __future__ import annotations\n", "from __future__ import annotations\n\n"
                 "from pathlib import Path\n")
    result = bfplan("validate", plan)
    assert result.exit_code == 2, result.output
    assert f"{sql}:4:7: processor 'daily': column \"tmep_c\" not found (did you mean temp_c?)" in result.stderr


def test_a_downstream_query_sees_the_upstream_querys_columns(bfplan, tmp_path):
    plan = sensors_copy(tmp_path)
    _edit_plugin(plan, "AVG(s.temp_avg) AS temp_avg_7d", "AVG(s.temp_mean) AS temp_avg_7d")
    result = bfplan("validate", plan)
    assert result.exit_code == 2
    assert 'processor \'week\': SQL line 2: column "s.temp_mean" not found' in result.stderr


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated bucket for the NBA plans (a fresh clone has none: the plans' calendar reads it)."""
    from datetime import date

    from tests.nba.simload import load_simulator

    tmp = tmp_path_factory.mktemp("sim")
    load_simulator().simulate_season(tmp / "bucket", end=date(2021, 12, 5))
    return tmp


@pytest.mark.parametrize("plan", [*sorted((ROOT / "plans").glob("*.yaml")), ROOT / "examples/sensors/plan.yaml"],
                         ids=lambda p: p.name)
def test_shipped_plans_validate_clean(bfplan, plan, simulated):
    from tests.nba.test_plans import _copy

    if plan.parent.name == "plans":
        plan = _copy(plan.name, simulated, simulated / "bucket", f"{plan.stem}.duckdb")
    result = bfplan("validate", plan)
    assert result.exit_code == 0, result.output


def test_error_text_and_location():
    text = ('Binder Error: Referenced column "tmep_c" not found in FROM clause!\nCandidate bindings: "temp_c"\n\n'
            "LINE 1: ...")
    assert explain_error(text) == ('column "tmep_c" not found (did you mean temp_c?)', "tmep_c")
    assert locate("SELECT a,\n  s.tmep_c\nFROM t", "tmep_c") == (2, 5)
    assert locate("SELECT 1", None) is None
