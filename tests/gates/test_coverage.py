"""coverage: UNTRACKED, DEPS_MISSING, INVESTIGATE dates and reconcile's unaccounted entities."""

from __future__ import annotations

from tests.gates.conftest import failing, track_report


def test_deleted_date_is_untracked_and_names_the_entities(pipeline):
    pipeline.sql("DELETE FROM gt.form WHERE day = DATE '2021-11-05'")
    (gate,) = pipeline.check(gate="coverage").gates
    assert gate["status"] == "fail"
    (finding,) = failing(gate)
    assert (finding["processor"], finding["table"], finding["date"]) == ("form", "gt.form", "2021-11-05")
    assert finding["detail"].startswith("form 2021-11-05 UNTRACKED: 6 expected, 0 with rows")
    assert finding["entities"] == ["p01", "p02", "p03", "p04", "p05", "p06"]


def test_date_level_failure_makes_a_missing_date_deps_missing(pipeline):
    pipeline.sql("DELETE FROM gt.form WHERE day = DATE '2021-11-05'")
    pipeline.sql("INSERT INTO gt.failures (processor_name, analysis_date, entity_id, failure_category) "
                 "VALUES ('form', DATE '2021-11-05', 'DATE_LEVEL', 'MISSING_DEPENDENCY')")
    result = pipeline.gate("coverage", {})
    assert result.status == "warn"  # explained, but the data is still missing
    (finding,) = result.findings
    assert "DEPS_MISSING" in finding.detail and "MISSING_DEPENDENCY" in finding.detail
    # reconcile: a date-level failure accounts for no entity
    result = pipeline.gate("coverage", {"reconcile": True})
    assert result.status == "fail"
    assert result.findings[0].entities == ("p01", "p02", "p03", "p04", "p05", "p06")


def test_reconcile_lists_deleted_entities_by_name(pipeline):
    pipeline.sql("DELETE FROM gt.form WHERE day = DATE '2021-11-04' AND player_id IN ('p02', 'p05')")
    (gate,) = pipeline.check(gate="coverage").gates
    (finding,) = failing(gate)
    assert (finding["table"], finding["date"], finding["entities"]) == ("gt.form", "2021-11-04", ["p02", "p05"])
    assert "OK: 6 expected, 4 with rows in gt.form, 0 failure-only, 2 unaccounted; coverage 66.7%" in finding["detail"]
    assert "unaccounted: p02, p05" in finding["detail"]
    # without reconcile a partial date only warns
    assert pipeline.gate("coverage", {}).status == "warn"
    # and min_coverage alone can fail it
    assert pipeline.gate("coverage", {"min_coverage": 90}).status == "fail"


def test_failure_only_entities_count_as_covered(pipeline):
    result = pipeline.gate("coverage", {"reconcile": True})
    assert result.status == "pass"
    assert "5 OK, 1 SKIPPED" in result.summary  # day 1: every player INSUFFICIENT_DATA
    assert "28 with rows + 6 failure-only of 34 expected" in result.summary


def test_processing_error_is_investigate(pipeline):
    pipeline.sql("DELETE FROM gt.form WHERE day = DATE '2021-11-03' AND player_id = 'p04'")
    pipeline.sql("INSERT INTO gt.failures (processor_name, analysis_date, entity_id, failure_category) "
                 "VALUES ('form', DATE '2021-11-03', 'p04', 'PROCESSING_ERROR')")
    result = pipeline.gate("coverage", {"reconcile": True})
    assert result.status == "fail"
    (finding,) = result.findings
    assert finding.date.isoformat() == "2021-11-03" and finding.entities == ("p04",)
    assert finding.detail.startswith("form 2021-11-03 INVESTIGATE")
    assert "PROCESSING_ERROR: p04" in finding.detail


def test_all_expected_skips_without_rows_is_skipped_else_untracked(pipeline):
    # day 1 is SKIPPED (every expected player INSUFFICIENT_DATA); drop one failure and it is not
    pipeline.sql("DELETE FROM gt.failures WHERE analysis_date = DATE '2021-11-01' AND entity_id = 'p03'")
    result = pipeline.gate("coverage", {})
    assert result.status == "fail"
    (finding,) = result.findings
    assert finding.detail.startswith("form 2021-11-01 UNTRACKED") and finding.entities == ("p03",)


def test_unknown_processor_option_fails(pipeline):
    result = pipeline.gate("coverage", {"processors": ["fromm"]})
    assert result.status == "fail"
    assert "'fromm'" in result.findings[0].detail


def test_named_entities_are_capped_and_the_rest_counted(pipeline, monkeypatch):
    import bfplan.gates.common as common
    import bfplan.gates.coverage as coverage

    monkeypatch.setattr(common, "ENTITY_CAP", 2)
    monkeypatch.setattr(coverage, "ENTITY_CAP", 2)
    pipeline.sql("DELETE FROM gt.form WHERE day = DATE '2021-11-05'")
    (finding,) = pipeline.gate("coverage", {"reconcile": True}).findings
    assert finding.entities == ("p01", "p02")
    assert "unaccounted: p01, p02 (+4 more)" in finding.detail


def test_deps_missing_is_expected_when_an_upstream_was_legitimately_short(pipeline):
    reg = pipeline.session.registry
    report = track_report(pipeline)
    for day in ("2021-11-01", "2021-11-03"):
        pipeline.sql(f"DELETE FROM gt.report WHERE day = DATE '{day}'")
        pipeline.sql("INSERT INTO gt.failures (processor_name, analysis_date, entity_id, failure_category) "
                     f"VALUES ('report', DATE '{day}', 'DATE_LEVEL', 'MISSING_DEPENDENCY')")
    try:
        result = pipeline.gate("coverage", {}, phase="publish")
        # 11-01: form (its input) skipped every player, INSUFFICIENT_DATA: expected; 11-03: form was whole
        assert result.status == "warn"
        assert [(f.date.isoformat(), f.detail.split(":")[0]) for f in result.findings] == [
            ("2021-11-03", "report 2021-11-03 DEPS_MISSING")]
        assert "1 DEPS_EXPECTED, 1 DEPS_MISSING, 4 OK" in result.summary
        assert "DEPS_EXPECTED on 1 date(s) (2021-11-01..2021-11-01): upstream form short by expected skips" \
            in result.summary
        # an upstream entity with neither a row nor a failure record explains nothing
        pipeline.sql("DELETE FROM gt.failures WHERE processor_name = 'form' AND analysis_date = DATE '2021-11-01' "
                     "AND entity_id = 'p01'")
        result = pipeline.gate("coverage", {}, phase="publish")
        assert sorted(f.date.isoformat() for f in result.findings) == ["2021-11-01", "2021-11-03"]
    finally:
        reg.processors["report"] = report
