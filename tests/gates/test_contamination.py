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


def test_a_date_explained_by_failure_records_is_expected_not_no_data(pipeline):
    # the clean pipeline has no form rows on the season's first day: every player INSUFFICIENT_DATA
    result = pipeline.gate("contamination", {"strict": True, "no_data": "fail"})
    assert result.status == "pass" and result.findings == []
    assert "form: 10 CLEAN (field-dates); nothing to check, expected: 1 EXPLAINED (dates)" in result.summary
    # a bug among the failures explains nothing
    pipeline.sql("UPDATE gt.failures SET failure_category = 'PROCESSING_ERROR' "
                 "WHERE analysis_date = DATE '2021-11-01' AND entity_id = 'p01'")
    assert [f.date.isoformat() for f in pipeline.gate("contamination", {}).findings] == ["2021-11-01"]


def test_no_data_without_a_failure_record_warns_by_default_and_fails_when_asked(pipeline):
    # a date whose rows and failure records are gone: nothing accounts for it
    pipeline.sql("DELETE FROM gt.form WHERE day = DATE '2021-11-03'")
    pipeline.sql("DELETE FROM gt.failures WHERE analysis_date = DATE '2021-11-03'")
    result = pipeline.gate("contamination", {"strict": True})
    assert result.status == "warn"
    assert [(f.table, f.date.isoformat()) for f in result.findings] == [("gt.form", "2021-11-03")]
    assert "NO_DATA, no rows to check" in result.findings[0].detail
    assert pipeline.gate("contamination", {"strict": True, "no_data": "fail"}).status == "fail"
    assert pipeline.gate("contamination", {"no_data": "pass"}).status == "pass"
    # a failure record for only some of the expected entities does not account for the date
    pipeline.sql("INSERT INTO gt.failures (processor_name, analysis_date, entity_id, failure_category) "
                 "VALUES ('form', DATE '2021-11-03', 'p01', 'INSUFFICIENT_DATA')")
    assert pipeline.gate("contamination", {"strict": True, "no_data": "fail"}).status == "fail"
    # a date-level failure does
    pipeline.sql("INSERT INTO gt.failures (processor_name, analysis_date, entity_id, failure_category) "
                 "VALUES ('form', DATE '2021-11-03', 'DATE_LEVEL', 'MISSING_DEPENDENCY')")
    assert pipeline.gate("contamination", {"strict": True, "no_data": "fail"}).status == "pass"
    # or the date is a bootstrap day, where no rows (or placeholders) are expected
    pipeline.sql("DELETE FROM gt.failures WHERE analysis_date = DATE '2021-11-03'")
    assert pipeline.gate("contamination", {"strict": True, "no_data": "fail", "season_start": "2021-11-02",
                                           "ignore_bootstrap_days": 2}).status == "pass"


def test_no_expected_entity_and_rows_outside_the_critical_filter_are_expected(pipeline):
    pipeline.sql("DELETE FROM gt.form WHERE day = DATE '2021-11-04'")
    pipeline.sql("DELETE FROM gt.failures WHERE analysis_date = DATE '2021-11-04'")
    pipeline.sql("DELETE FROM gt.box WHERE day = DATE '2021-11-04'")  # nobody expected that day
    result = pipeline.gate("contamination", {"no_data": "fail"}, processors=["form"])
    assert result.status == "pass" and "1 NO_EXPECTED" in result.summary
    # rows the critical_filter leaves out (placeholders) are not NO_DATA either
    import dataclasses
    reg = pipeline.session.registry
    form = reg.processors["form"]
    reg.processors["form"] = dataclasses.replace(form, critical_filter="games > 100")
    try:
        result = pipeline.gate("contamination", {"no_data": "fail"}, processors=["form"])
    finally:
        reg.processors["form"] = form
    assert result.status == "pass" and "4 NOT_APPLICABLE" in result.summary, result.summary
