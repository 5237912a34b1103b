"""sql: each row the plan's query returns is a failing finding."""

from __future__ import annotations

from tests.gates.conftest import failing


def test_rows_become_findings_with_date_processor_and_entity(pipeline):
    pipeline.sql("UPDATE gt.team SET points_total = 5000 WHERE day = DATE '2021-11-03' AND team = 'B'")
    (gate,) = pipeline.check(gate="sql").gates
    assert gate["status"] == "fail"
    (finding,) = failing(gate)
    assert finding["date"] == "2021-11-03" and finding["entities"] == ["B"]
    assert finding["detail"] == 'a team scored over 1000: {"date": "2021-11-03", "entity": "B", "points_total": 5000}'


def test_query_binds_dates_and_plan_params_and_reports_errors(pipeline):
    query = ("SELECT 'form' AS processor, 'gt.form' AS `table`, day AS date, player_id AS entity_id "
             "FROM gt.form WHERE day BETWEEN @start_date AND @end_date AND games < @min_games + 1")
    result = pipeline.gate("sql", {"query": query, "message": "second game"})
    assert result.status == "fail"
    assert {(f.processor, f.table, f.date.isoformat()) for f in result.findings} == {
        ("form", "gt.form", "2021-11-02"), ("form", "gt.form", "2021-11-04")}
    assert sorted(e for f in result.findings for e in f.entities) == ["p01", "p02", "p03", "p04", "p05", "p06"]
    broken = pipeline.gate("sql", {"query": "SELECT * FROM gt.nope"})
    assert broken.status == "fail" and broken.findings[0].detail.startswith("query failed:")
    assert pipeline.gate("sql", {"query": "SELECT 1 AS x FROM gt.form WHERE FALSE"}).status == "pass"
