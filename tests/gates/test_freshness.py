"""freshness: daily mode fails on upstream partitions written too long ago."""

from __future__ import annotations


def test_stale_upstream_partition_fails_in_daily_mode(pipeline):
    options = {"max_age_hours": 1}
    assert pipeline.gate("freshness", options, stage="before", mode="daily").status == "pass"
    pipeline.sql("UPDATE bfplan.partition_log SET finished_at = finished_at - INTERVAL 3 HOUR "
                 "WHERE processor = 'box' AND partition_date = DATE '2021-11-02'")
    result = pipeline.gate("freshness", options, stage="before", mode="daily")
    assert result.status == "fail"
    (finding,) = result.findings
    assert (finding.processor, finding.table, finding.date.isoformat()) == ("box", "gt.box", "2021-11-02")
    assert "stale" in finding.detail and "max 1 h" in finding.detail
    # backfill mode: not checked
    backfill = pipeline.gate("freshness", options, stage="before", mode="backfill")
    assert backfill.status == "pass" and "backfill mode" in backfill.summary


def test_never_written_partition_fails_and_after_stages_check_their_own_processors(pipeline):
    pipeline.sql("DELETE FROM bfplan.partition_log WHERE processor = 'team' AND partition_date = DATE '2021-11-06'")
    assert pipeline.gate("freshness", {}, stage="before", mode="daily").status == "pass"
    result = pipeline.gate("freshness", {}, stage="after", mode="daily")
    assert [(f.processor, f.date.isoformat()) for f in result.findings] == [("team", "2021-11-06")]
    assert "no done partition" in result.findings[0].detail
    named = pipeline.gate("freshness", {"processors": ["team"]}, stage="before", mode="daily")
    assert named.status == "fail"
