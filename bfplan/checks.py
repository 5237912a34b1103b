"""Post-run validation: run a plan's gates on their own against the warehouse as it is.

What the seed's post-backfill scripts do by hand (``validate_backfill_coverage.py``,
``validate_cascade_contamination.py``, ...), driven by the gates the plan already declares:
every gate of every stage (before a phase, after a processor, after a phase), in run order,
over the dates of its phase (narrowed by ``start``/``end``), with the options and severity
it has in the plan. Each result is appended to the ledger's gate results under a
``check-<timestamp>`` run id, so checks keep their history next to the runs'.

``bfplan check`` prints :meth:`CheckReport.as_dict` and exits with :attr:`CheckReport.exit_code`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from bfplan.errors import UsageError
from bfplan.gates.base import GateContext, GateResult
from bfplan.ledger import Ledger, utcnow
from bfplan.work import expand_dates
from bfplan.yamlmarks import did_you_mean

_LEVEL = {"pass": 0, "warn": 1, "fail": 2}


@dataclass
class CheckReport:
    """The outcome of :func:`run_checks`: overall status, each gate's result, the exit code."""

    run_id: str
    status: str = "pass"
    gates: list[dict[str, Any]] = field(default_factory=list)
    exit_code: int = 0
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The ``check --json`` document: ``{"status", "gates": [{"gate", "stage", "status",
        "findings": [{"processor", "table", "date", "detail", ...}]}, ...]}`` plus run id and timing."""
        return {"status": self.status, "run_id": self.run_id, "duration_s": round(self.duration_s, 3),
                "gates": self.gates}


@dataclass(frozen=True)
class _Stage:
    gate: Any  # the plan's GateRef
    stage: str
    processors: tuple[str, ...]
    phase: int


def _stages(plan: Any) -> list[_Stage]:
    """Every gate of the plan in the order a run meets them."""
    out = []
    for k, phase in enumerate(plan.phases):
        names = tuple(r.name for r in phase.processors)
        out += [_Stage(g, f"before phase {phase.name}", names, k) for g in phase.gates_before]
        for ref in phase.processors:
            out += [_Stage(g, f"after processor {ref.name}", (ref.name,), k) for g in ref.gates_after]
        out += [_Stage(g, f"after phase {phase.name}", names, k) for g in phase.gates_after]
    return out


def run_checks(plan: Any, registry: Any, warehouse: Any, *, gate: str | None = None, start: date | None = None,
               end: date | None = None, strict: bool = False, run_id: str = "",
               mode: str | None = None) -> CheckReport:
    """Run the plan's gates (or only those named ``gate``) and record their results.

    A gate that fails with ``severity: block`` fails the check; one with ``severity: warn``
    only warns, unless ``strict``: then any failing finding fails it (DESIGN: "with check
    --strict any failing finding counts"). ``exit_code`` is 1 when any gate fails, else 0.
    Raises :class:`~bfplan.errors.UsageError` for a ``gate`` the plan does not use.
    """
    stages = _stages(plan)
    if gate is not None:
        used = list(dict.fromkeys(s.gate.name for s in stages))
        if gate not in used:
            where = "is not a gate" if gate not in registry.gates else "is not used by this plan"
            known = f" (gates in this plan: {', '.join(used)})" if used else " (this plan declares no gates)"
            raise UsageError(f"--gate: {gate!r} {where}{did_you_mean(gate, used)}{known}")
        stages = [s for s in stages if s.gate.name == gate]
    run_id = run_id or "check-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    ledger = Ledger(warehouse, plan.name)
    report = CheckReport(run_id)
    t0 = time.perf_counter()
    phase_dates: dict[int, list[date]] = {}
    for s in stages:
        if s.phase not in phase_dates:
            dates = expand_dates(plan.phases[s.phase].dates, registry, plan)
            phase_dates[s.phase] = [d for d in dates if (start is None or d >= start) and (end is None or d <= end)]
        upstream = [registry.processors[r.name] for ph in plan.phases[: s.phase] for r in ph.processors]
        ctx = GateContext(
            gate=s.gate.name, stage=s.stage, options=s.gate.options,
            processors=[registry.processors[p] for p in s.processors], upstream=upstream,
            dates=phase_dates[s.phase], mode=mode or plan.mode, warehouse=warehouse, plan=plan,
            registry=registry, run_id=run_id,
        )
        started = utcnow()
        g0 = time.perf_counter()
        try:
            result = registry.gates[s.gate.name].check(ctx)
        except Exception as exc:
            # like the runner: a gate that raises fails, and the check goes on with the others
            result = GateResult("fail", [], f"gate raised {type(exc).__name__}: {exc}")
        ledger.record_gate(ledger.gate_record(
            run_id, s.gate.name, s.stage, result.status, s.gate.severity, result.summary,
            [f.as_dict() for f in result.findings], started))
        status = _effective(result, s.gate.severity, strict)
        report.gates.append({
            "gate": s.gate.name, "stage": s.stage, "status": status, "gate_status": result.status,
            "severity": s.gate.severity, "summary": result.summary,
            "duration_s": round(time.perf_counter() - g0, 3),
            "findings": [f.as_dict() for f in result.findings],
        })
        if _LEVEL[status] > _LEVEL[report.status]:
            report.status = status
    report.duration_s = time.perf_counter() - t0
    report.exit_code = 1 if report.status == "fail" else 0
    return report


def _effective(result: GateResult, severity: str, strict: bool) -> str:
    """A gate's status as the check counts it: severity warn downgrades a failure, unless
    strict; strict also fails a gate that reports a failing finding yet calls itself a warning."""
    if strict:
        return "fail" if any(f.status == "fail" for f in result.findings) else result.status
    return "warn" if result.status == "fail" and severity == "warn" else result.status
