"""Built-in validation gates, one module each; registered through the ordinary hooks.

preflight (inputs exist), coverage (entities accounted for), contamination (critical fields
valid), failure_rate (season-week bands, no PROCESSING_ERROR), freshness (daily mode: inputs
written recently), quality (rows not ready, against each date's baseline) and sql (a plan's
own query). Each is set-based: a few queries per
processor over all of a stage's dates, never one per date.
"""

from __future__ import annotations

from typing import Any


def builtin_gates() -> list[Any]:
    """Instances of every built-in gate (imported lazily: gates pull in their SQL)."""
    from bfplan.gates.contamination import ContaminationGate
    from bfplan.gates.coverage import CoverageGate
    from bfplan.gates.failure_rate import FailureRateGate
    from bfplan.gates.freshness import FreshnessGate
    from bfplan.gates.preflight import PreflightGate
    from bfplan.gates.quality import QualityGate
    from bfplan.gates.sql import SqlGate

    return [PreflightGate(), CoverageGate(), ContaminationGate(), FailureRateGate(), FreshnessGate(), QualityGate(),
            SqlGate()]
