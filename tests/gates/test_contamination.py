"""contamination: NULL and zero critical values, per field and date, with the bad rows named."""

from __future__ import annotations

from tests.gates.conftest import failing


def test_null_critical_field_is_contaminated_and_fails_under_strict(pipeline):
    pipeline.sql("UPDATE gt.form SET points_avg = NULL WHERE day = DATE '2021-11-04'")
    (gate,) = pipeline.check(gate="contamination").gates
    assert gate["status"] == "fail"
    (finding,) = failing(gate)
    assert (finding["processor"], finding["table"], finding["date"]) == ("form", "gt.form", "2021-11-04")
    assert finding["detail"].startswith("gt.form.points_avg 2021-11-04: CONTAMINATED, 0% valid (0 of 6 rows not NULL)")
    assert finding["entities"] == ["p01", "p02", "p03", "p04", "p05", "p06"]
    # without strict, contamination only warns
    assert pipeline.gate("contamination", {}).status == "warn"


def test_zero_breaks_the_positive_rule(pipeline):
    pipeline.sql("UPDATE gt.team SET points_total = 0 WHERE day = DATE '2021-11-02'")
    result = pipeline.gate("contamination", {"strict": True})
    (finding,) = failing(result)
    assert (finding["processor"], finding["table"], finding["date"]) == ("team", "gt.team", "2021-11-02")
    assert "CONTAMINATED, 0% valid (0 of 2 rows > 0)" in finding["detail"]
    assert finding["entities"] == ["A", "B"]


def test_some_bad_rows_are_partial_and_warn(pipeline):
    pipeline.sql("UPDATE gt.form SET games = 0 WHERE day = DATE '2021-11-06' AND player_id IN ('p01', 'p02')")
    result = pipeline.gate("contamination", {"strict": True})
    assert result.status == "warn"
    partial = [f for f in result.findings if "PARTIAL" in f.detail]
    assert [(f.table, f.date.isoformat(), f.entities) for f in partial] == [("gt.form", "2021-11-06", ("p01", "p02"))]
    assert "gt.form.games 2021-11-06: PARTIAL, 66.7% valid (4 of 6 rows > 0); 2 bad rows" in partial[0].detail


def test_no_data_warns_by_default_and_fails_when_asked(pipeline):
    # the clean pipeline has no form rows on the season's first day (all INSUFFICIENT_DATA)
    result = pipeline.gate("contamination", {"strict": True})
    assert result.status == "warn"
    assert [(f.table, f.date.isoformat()) for f in result.findings] == [("gt.form", "2021-11-01")]
    assert pipeline.gate("contamination", {"strict": True, "no_data": "fail"}).status == "fail"
    assert pipeline.gate("contamination", {"no_data": "pass"}).status == "pass"
    # or the season's first day is a bootstrap day, where no rows (or placeholders) are expected
    assert pipeline.gate("contamination", {"strict": True, "no_data": "fail", "ignore_bootstrap_days": 1}).status == "pass"
