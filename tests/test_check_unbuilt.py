"""``check`` on partitions that were never built: one finding per processor and reason, as bad
as what it replaces (``--strict`` still fails), and never for a gate that judges inputs."""

from __future__ import annotations

from tests.conftest import as_json, sensors_copy


def test_unbuilt_dates_are_one_finding_that_keeps_its_level(bfplan, tmp_path):
    plan = sensors_copy(tmp_path)
    assert bfplan("run", plan, "--only", "stations,readings").exit_code == 0  # the summaries: never built
    result = bfplan("check", plan, "--gate", "coverage", "--strict", "--json")
    assert result.exit_code == 1
    (gate,) = as_json(result)["gates"]
    daily = [f for f in gate["findings"] if f["processor"] == "daily"]
    assert len(daily) == 1 and daily[0]["status"] == "fail"
    assert daily[0]["detail"].startswith("daily: 10 date(s) not built (2024-03-01..2024-03-10), not run yet; the first: ")


def test_a_gate_before_a_stage_keeps_its_own_findings(bfplan, tmp_path):
    plan = sensors_copy(tmp_path)
    (plan.parent / "data" / "readings" / "2024-03-05.csv").unlink()
    bfplan("run", plan)
    (gate, *_) = as_json(bfplan("check", plan, "--gate", "preflight", "--json"))["gates"]
    assert any("2024-03-05" in f["detail"] and "not built" not in f["detail"] for f in gate["findings"])


def test_a_gate_before_a_stage_folds_inputs_an_earlier_stop_kept_from_being_built(bfplan, tmp_path):
    plan = sensors_copy(tmp_path)
    assert bfplan("run", plan, "--only", "stations").exit_code == 0  # the readings: never loaded
    gates = as_json(bfplan("check", plan, "--gate", "preflight", "--json"))["gates"]
    before_summaries = next(g for g in gates if g["stage"] == "before phase summarize")
    readings = [f for f in before_summaries["findings"] if f["processor"] == "readings"]
    assert len(readings) == 1 and "10 date(s) not built" in readings[0]["detail"]


def test_a_run_says_what_each_warning_gate_found(bfplan, tmp_path):
    plan = sensors_copy(tmp_path)
    (plan.parent / "data" / "readings" / "2024-03-06.csv").unlink()
    result = bfplan("run", plan)
    warned = [line for line in result.stderr.splitlines() if line.startswith("  WARN gate preflight")]
    assert warned and "readings files 90%" in warned[0]
    assert "    weather.readings 2024-03-06: weather.readings: no source files on 2024-03-06" in result.stderr
    doc = as_json(bfplan("run", plan, "--force", "--json"))
    assert any(w["node"].startswith("gate preflight") for w in doc["warnings"])
