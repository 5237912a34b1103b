"""Learned failure-rate baselines: what `bfplan baseline` learns from, the file, and how the gate reads it."""

from __future__ import annotations

from types import SimpleNamespace

import yaml

from bfplan.baseline import dump
from bfplan.gates.baseline import load_baseline

BAND = {"from_day": 1, "min_pct": 10.0, "max_pct": 20.0}


def test_processor_names_yaml_would_read_as_other_values_round_trip(tmp_path):
    names = ["on", "yes", "No", "null", "1.5", "2021-11-01", "# x", "a: b", "plain_name"]
    doc = {"learned_from": {"plan": "p"}, "processors": {n: [BAND] for n in names}}
    text = dump(doc)
    assert list(yaml.safe_load(text)["processors"]) == names
    assert "  plain_name:" in text  # plain names stay bare
    path = tmp_path / "baseline.yaml"
    path.write_text(text, encoding="utf-8")
    learned = load_baseline(SimpleNamespace(options={"baseline": str(path)}, plan=None))
    assert list(learned) == names and learned["on"] == [BAND]
