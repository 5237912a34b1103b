"""1,000 seeded hostile plans through ``bfplan validate``: no traceback, every error located,
each answer within 5 s, the whole process within 500 MB (see tests/fuzz_validate.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

FUZZ = Path(__file__).parent / "fuzz_validate.py"


def test_a_thousand_mutated_plans_get_bounded_located_answers():
    started = time.perf_counter()
    env = {**os.environ, "BFPLAN_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run([sys.executable, str(FUZZ), "--seed", "2026", "--count", "1000"], env=env,
                          capture_output=True, text=True, timeout=300)
    report = json.loads(done.stdout)
    assert report["findings"] == [], json.dumps(report["findings"][:5], indent=2)
    assert report["cases"] == 1000
    assert report["outcomes"].get("0", 0) > 20 and report["outcomes"].get("2", 0) > 500  # both kinds of answer
    assert report["slowest_s"] <= 5.0, f"case {report['slowest_case']} took {report['slowest_s']} s"
    assert report["peak_rss_mb"] <= 500
    assert time.perf_counter() - started <= 60
    assert done.returncode == 0
