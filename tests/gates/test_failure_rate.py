"""failure_rate: PROCESSING_ERROR from a processor fails naming it; season-week bands."""

from __future__ import annotations

from tests.gates.conftest import failing, write_plan


def test_processing_error_recorded_by_the_processor_fails_naming_entity_and_date(pipeline):
    write_plan(pipeline.folder, error_entity="p03", error_date="2021-11-05")
    run = pipeline.run("run", pipeline.plan, "--only", "form", "--force", "--json")
    assert run.exit_code == 1  # the plan's own failure_rate gate blocks
    (gate,) = pipeline.check(gate="failure_rate").gates
    assert gate["status"] == "fail"
    (finding,) = failing(gate)
    assert (finding["processor"], finding["table"], finding["date"]) == ("form", "gt.failures", "2021-11-05")
    assert finding["entities"] == ["p03"]
    assert "PROCESSING_ERROR (a bug, whatever the rates) for p03" in finding["detail"]
    assert "PROCESSING_ERROR 1 (bug)" in gate["summary"] and "INSUFFICIENT_DATA 6 (expected)" in gate["summary"]
    # coverage sees the same entity as INVESTIGATE
    (coverage,) = pipeline.check(gate="coverage").gates
    (finding,) = failing(coverage)
    assert finding["date"] == "2021-11-05" and finding["entities"] == ["p03"]
    assert "INVESTIGATE" in finding["detail"]


def test_rates_outside_the_band_warn_or_fail_with_strict(pipeline):
    # 6 of 34 entity-dates failed (17.6%): inside a 10-20% band, outside the seed's weeks 1-2 band
    band = [{"from_day": 1, "min_pct": 10, "max_pct": 20}]
    assert pipeline.gate("failure_rate", {"bands": band}).status == "pass"
    result = pipeline.gate("failure_rate", {})
    assert result.status == "warn"
    (finding,) = result.findings
    assert finding.date.isoformat() == "2021-11-01"
    assert "season week 1 (2021-11-01..2021-11-06): failure rate 17.6% (6 of 34 entity-dates)" in finding.detail
    assert pipeline.gate("failure_rate", {"strict": True}).status == "fail"
    # season_start moves the days: from 2021-08-30 these dates are days 64-69, one mid-season week
    assert pipeline.gate("failure_rate", {"season_start": "2021-08-30", "strict": True}).status == "pass"


def test_date_level_failure_counts_the_whole_date_and_odd_categories_warn(pipeline):
    pipeline.sql("DELETE FROM gt.form WHERE day = DATE '2021-11-06'")
    pipeline.sql("INSERT INTO gt.failures (processor_name, analysis_date, entity_id, failure_category) "
                 "VALUES ('form', DATE '2021-11-06', 'DATE_LEVEL', 'MISSING_DEPENDENCY')")
    result = pipeline.gate("failure_rate", {"bands": []})
    assert result.status == "warn"
    (finding,) = result.findings
    assert "unexpected failure category MISSING_DEPENDENCY" in finding.detail
    assert finding.date.isoformat() == "2021-11-06"
    assert "failure rate 35.3% (12 of 34 entity-dates)" in result.summary
