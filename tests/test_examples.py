"""The example pipeline (examples/sensors: weather stations) runs on the engine as it is, and
nothing bfplan prints for it speaks of basketball."""

from __future__ import annotations

import re

from tests.conftest import as_json, sensors_copy

PIPELINE_WORDS = re.compile(r"\b(nba|games?|players?|teams?|basketball|season)\b", re.IGNORECASE)



def test_the_example_validates_runs_and_checks_in_its_own_words(bfplan, tmp_path):
    plan = sensors_copy(tmp_path)
    said = []
    for args in (["validate", plan], ["run", plan], ["status", plan], ["check", plan], ["gaps", plan],
                 ["report", plan, "-o", tmp_path / "r.html"], ["run", plan]):
        result = bfplan(*args)
        assert result.exit_code == 0, (args, result.output)
        said.append(result.stdout + result.stderr)
    text = "\n".join(said) + (tmp_path / "r.html").read_text()
    assert "check pass" in text and "no gaps" in text
    assert PIPELINE_WORDS.findall(text) == []


def test_a_station_missing_from_a_days_file_is_named(bfplan, tmp_path):
    plan = sensors_copy(tmp_path)
    readings = plan.parent / "data" / "readings" / "2024-03-04.csv"
    readings.write_text("".join(line for line in readings.read_text().splitlines(keepends=True)
                                if not line.startswith("harbor,")))
    assert bfplan("run", plan).exit_code == 1  # the coverage gate blocks: one station did not report
    doc = as_json(bfplan("check", plan, "--json"))
    coverage = next(g for g in doc["gates"] if g["gate"] == "coverage")
    assert coverage["status"] == "fail"
    named = [f for f in coverage["findings"] if f["status"] == "fail"]
    assert {(f["processor"], f["date"]) for f in named} >= {("daily", "2024-03-04")}
    assert any("harbor" in f["entities"] for f in named)
