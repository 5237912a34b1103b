"""preflight: missing raw files and missing upstream dates are found before a phase runs."""

from __future__ import annotations

import shutil

from tests.gates.conftest import failing


def test_missing_bucket_date_fails_preflight_before_the_load_phase(pipeline):
    shutil.rmtree(pipeline.folder / "bucket" / "2021-11-03")
    (gate,) = pipeline.check(gate="preflight", end=None).gates[:1]
    assert gate["stage"] == "before phase load"
    # 5 of 6 dates is 83%: the file default (fail below 50%) only warns ...
    assert gate["status"] == "warn"
    (finding,) = gate["findings"]
    assert (finding["processor"], finding["table"], finding["date"]) == ("box", "gt.box", "2021-11-03")
    assert "no source files" in finding["detail"]
    # ... and a plan asking for every date fails
    result = pipeline.gate("preflight", {"threshold": 100}, phase="load", stage="before")
    assert result.status == "fail"
    assert [(f["processor"], f["date"]) for f in failing(result)] == [("box", "2021-11-03")]


def test_date_deleted_upstream_fails_preflight_of_the_downstream_phase(pipeline):
    pipeline.sql("DELETE FROM gt.form WHERE day = DATE '2021-11-04'")
    report = pipeline.check(gate="preflight")
    by_stage = {g["stage"]: g for g in report.gates}
    assert by_stage["before phase compute"]["status"] == "pass"
    publish = by_stage["before phase publish"]
    assert publish["status"] == "fail" and report.exit_code == 1
    (finding,) = failing(publish)
    assert (finding["processor"], finding["table"], finding["date"]) == ("form", "gt.form", "2021-11-04")
    assert "no rows (input of report)" in finding["detail"]
    assert "80%" in publish["summary"]  # 4 of 5 dates (the season's first day is ignored)


def test_default_threshold_warns_between_the_fail_and_ok_levels(pipeline):
    pipeline.sql("DELETE FROM gt.box WHERE day = DATE '2021-11-02'")
    result = pipeline.gate("preflight", {}, stage="before")
    assert result.status == "warn"  # 5/6 = 83% >= 80%
    pipeline.sql("DELETE FROM gt.box WHERE day IN (DATE '2021-11-03', DATE '2021-11-04')")
    result = pipeline.gate("preflight", {}, stage="before")
    assert result.status == "fail"  # 3/6 = 50% < 80%
    assert sorted(f.date.isoformat() for f in result.findings) == ["2021-11-02", "2021-11-03", "2021-11-04"]


def test_daily_mode_applies_min_rows_and_backfill_relaxes_it(pipeline):
    pipeline.sql("DELETE FROM gt.box WHERE day = DATE '2021-11-05' AND player_id <> 'p01'")
    options = {"min_rows": {"gt.box": 3}, "threshold": 100}
    daily = pipeline.gate("preflight", options, stage="before", mode="daily")
    assert daily.status == "fail"
    assert [(f.table, f.date.isoformat()) for f in daily.findings] == [("gt.box", "2021-11-05")]
    assert "fewer than 3 rows" in daily.findings[0].detail
    assert pipeline.gate("preflight", options, stage="before", mode="backfill").status == "pass"


def test_missing_input_table_fails_every_date(pipeline):
    pipeline.sql("DROP TABLE gt.box")
    pipeline.close()  # the warehouse caches which tables exist
    result = pipeline.gate("preflight", {}, stage="before")
    assert result.status == "fail"
    assert len(result.findings) == 6 and {f.table for f in result.findings} == {"gt.box"}
