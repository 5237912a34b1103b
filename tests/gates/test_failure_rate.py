"""failure_rate: PROCESSING_ERROR from a processor fails naming it; season-week bands."""

from __future__ import annotations

from tests.gates.conftest import failing, track_report, write_plan


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


def test_bands_per_processor_override_the_runbook_table_for_the_named_processors(pipeline):
    band = [{"from_day": 1, "min_pct": 10, "max_pct": 20}]
    assert pipeline.gate("failure_rate", {"bands": {"form": band}}).status == "pass"
    # a processor the mapping does not name keeps the runbook's table (17.6% is not 90-100%)
    result = pipeline.gate("failure_rate", {"bands": {"team": band}})
    assert result.status == "warn" and "expected 90-100% ±5" in result.findings[0].detail


def _rise(pipeline):
    """p01 and p02 fail INSUFFICIENT_DATA on the last three days: 12 of 34 entity-dates, not 6."""
    pipeline.sql("DELETE FROM gt.form WHERE day >= DATE '2021-11-04' AND player_id IN ('p01', 'p02')")
    pipeline.sql("INSERT INTO gt.failures (processor_name, analysis_date, entity_id, failure_category) "
                 "SELECT 'form', d, p, 'INSUFFICIENT_DATA' FROM (VALUES (DATE '2021-11-04'), (DATE '2021-11-05'), "
                 "(DATE '2021-11-06')) AS t(d), (VALUES ('p01'), ('p02')) AS q(p)")


def test_a_learned_baseline_passes_the_clean_history_and_a_real_rise_still_fails(pipeline):
    out = pipeline.folder / "baseline.yaml"
    learned = pipeline.run("baseline", pipeline.plan, "-o", out)
    assert learned.exit_code == 0, learned.output
    assert "{from_day: 1, min_pct: 17.6, max_pct: 17.7}" in out.read_text()  # form, one week
    # the runbook's table warns on the clean history; its own baseline does not (relative path)
    assert pipeline.gate("failure_rate", {}).status == "warn"
    clean = pipeline.gate("failure_rate", {"baseline": "baseline.yaml", "strict": True})
    assert clean.status == "pass" and clean.findings == []
    # twice the failures: 35.3% is more than 5 points above anything the clean history had
    _rise(pipeline)
    result = pipeline.gate("failure_rate", {"baseline": "baseline.yaml", "strict": True})
    assert result.status == "fail"
    (finding,) = result.findings
    assert "failure rate 35.3% (12 of 34 entity-dates), expected 17.6-17.7% ±5" in finding.detail
    assert pipeline.gate("failure_rate", {"baseline": "baseline.yaml"}).status == "warn"
    # a wider tolerance absorbs it; `bands` for the processor wins over the baseline
    assert pipeline.gate("failure_rate", {"baseline": "baseline.yaml", "tolerance": 20}).status == "pass"
    assert pipeline.gate("failure_rate", {"baseline": "baseline.yaml", "strict": True,
                                          "bands": {"form": [{"from_day": 1, "min_pct": 30, "max_pct": 40}]}}
                         ).status == "pass"


def test_a_missing_baseline_fails_and_a_history_with_a_bug_is_not_learned(pipeline):
    result = pipeline.gate("failure_rate", {"baseline": "nowhere.yaml"})
    assert result.status == "fail" and "baseline file" in result.findings[0].detail
    assert "bfplan baseline PLAN" in result.findings[0].detail
    write_plan(pipeline.folder, error_entity="p03", error_date="2021-11-05")
    pipeline.run("run", pipeline.plan, "--only", "form", "--force", "--json")
    refused = pipeline.run("baseline", pipeline.plan)
    assert refused.exit_code == 2
    assert "not a clean history: PROCESSING_ERROR (a bug) on 1 processor-date(s): form 2021-11-05" in refused.output


def test_a_date_level_failure_is_expected_when_the_upstream_was_legitimately_short(pipeline):
    reg = pipeline.session.registry
    report = track_report(pipeline)
    pipeline.sql("INSERT INTO gt.failures (processor_name, analysis_date, entity_id, failure_category) "
                 "VALUES ('report', DATE '2021-11-01', 'DATE_LEVEL', 'MISSING_DEPENDENCY')")
    try:
        # 2021-11-01: form (report's input) skipped every player: expected
        result = pipeline.gate("failure_rate", {"bands": []}, phase="publish")
        assert result.status == "pass", result.findings
        assert "MISSING_DEPENDENCY 1 (expected: upstream short)" in result.summary
        # the gate's expected_skips are the upstream's too: form's INSUFFICIENT_DATA is then no skip
        skips = {"bands": [], "expected_skips": ["INSUFFICIENT_DATA"]}
        assert pipeline.gate("failure_rate", skips, phase="publish").status == "pass"
        result = pipeline.gate("failure_rate", {"bands": [], "expected_skips": ["NO_GAMES"]}, phase="publish")
        assert result.status == "warn" and "MISSING_DEPENDENCY 1 (unexpected)" in result.summary
        # 2021-11-05: form was whole, so the same failure is unexpected
        pipeline.sql("INSERT INTO gt.failures (processor_name, analysis_date, entity_id, failure_category) "
                     "VALUES ('report', DATE '2021-11-05', 'DATE_LEVEL', 'MISSING_DEPENDENCY')")
        result = pipeline.gate("failure_rate", {"bands": []}, phase="publish")
        assert result.status == "warn"
        assert "unexpected failure category MISSING_DEPENDENCY: 2 entity-dates" in result.findings[0].detail
    finally:
        reg.processors["report"] = report
