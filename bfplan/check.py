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
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bfplan.errors import UsageError
from bfplan.gates.base import Finding, GateContext, GateResult
from bfplan.ledger.ledger import Ledger, PartitionState, new_run_id
from bfplan.ledger.lineage import VersionIndex
from bfplan.plan.dates import expand_dates
from bfplan.plan.marks import did_you_mean
from bfplan.plan.model import Plan
from bfplan.plugins import Registry
from bfplan.run.gates import evaluate, fingerprint, gate_context, plan_gates
from bfplan.status import GateStatus, PartitionStatus
from bfplan.warehouse.base import Warehouse


@dataclass
class CheckReport:
    """The outcome of :func:`run_checks`: overall status, each gate's result, the exit code."""

    run_id: str
    status: GateStatus = GateStatus.PASS
    gates: list[dict[str, Any]] = field(default_factory=list)
    exit_code: int = 0
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The ``check --json`` document: ``{"status", "gates": [{"gate", "stage", "status",
        "findings": [{"processor", "table", "date", "detail", ...}]}, ...]}`` plus run id and timing."""
        return {"status": str(self.status), "run_id": self.run_id, "duration_s": round(self.duration_s, 3),
                "gates": self.gates}


def run_checks(plan: Plan, registry: Registry, warehouse: Warehouse, *, gate: str | None = None,
               start: date | None = None, end: date | None = None, strict: bool = False, run_id: str = "",
               mode: str | None = None) -> CheckReport:
    """Run the plan's gates (or only those named ``gate``) and record their results.

    A gate that fails with ``severity: block`` fails the check; one with ``severity: warn``
    only warns, unless ``strict``: then any failing finding fails it (DESIGN: "with check
    --strict any failing finding counts"). ``exit_code`` is 1 when any gate fails, else 0.
    Raises :class:`~bfplan.errors.UsageError` for a ``gate`` the plan does not use.
    """
    specs = plan_gates(plan)
    if gate is not None:
        used = list(dict.fromkeys(s.name for s in specs))
        if gate not in used:
            where = "is not a gate" if gate not in registry.gates else "is not used by this plan"
            known = f" (gates in this plan: {', '.join(used)})" if used else " (this plan declares no gates)"
            raise UsageError(f"--gate: {gate!r} {where}{did_you_mean(gate, used)}{known}")
        specs = [s for s in specs if s.name == gate]
    run_id = run_id or new_run_id("check-")
    ledger = Ledger(warehouse, plan.name)
    ledger.ensure_tables()
    names = [r.name for _, r in plan.processor_refs()]
    states = ledger.current(names)
    built = ledger.ever_done(names)
    versions = VersionIndex.from_state(states)
    report = CheckReport(run_id)
    t0 = time.perf_counter()
    phase_dates: dict[int, list[date]] = {}
    for spec in specs:
        if spec.phase not in phase_dates:
            dates = expand_dates(plan.phases[spec.phase].dates, registry, plan)
            phase_dates[spec.phase] = [d for d in dates if (start is None or d >= start) and (end is None or d <= end)]
        dates = phase_dates[spec.phase]
        ctx = gate_context(spec, plan=plan, registry=registry, warehouse=warehouse, dates=dates,
                           mode=mode or plan.mode, run_id=run_id)
        current = fingerprint(plan, spec, dates, versions, registry.gates[spec.name])
        g0 = time.perf_counter()
        result = evaluate(registry.gates[spec.name], ctx, spec, ledger, current)
        # a gate before a stage keeps its findings on what it guards (they are why it blocked);
        # its findings on inputs an earlier failure kept from being built are folded
        guarded = set(spec.processors) if spec.stage.startswith("before") else set()
        result = unbuilt_collapsed(result, states, built, guarded)
        status = _effective(result, spec.severity, strict)
        report.gates.append({
            "gate": spec.name, "stage": spec.stage, "status": status, "gate_status": result.status,
            "severity": spec.severity, "summary": result.summary,
            "duration_s": round(time.perf_counter() - g0, 3),
            "findings": [f.as_dict() for f in result.findings], "traceback": result.traceback,
        })
        if status.level > report.status.level:
            report.status = status
    report.duration_s = time.perf_counter() - t0
    report.exit_code = 1 if report.status is GateStatus.FAIL else 0
    return report


def unbuilt_collapsed(result: GateResult, states: Mapping[tuple[str, date], PartitionState],
                      built: set[tuple[str, date]], keep: Collection[str] = ()) -> GateResult:
    """The result with the findings about partitions that were never built (blocked, failed,
    held by a breaker, not run yet — and never committed before) folded into one finding per
    processor and reason, as bad as the worst it replaces: a gate judging data that is not
    there repeats what the ledger already says, once per date. Findings on ``keep`` processors
    stay as they are."""
    kept: list[Finding] = []
    unbuilt: dict[tuple[str, str], list[Finding]] = {}
    for f in result.findings:
        st = states.get((f.processor, f.date)) if f.processor and f.date else None
        never = (f.processor, f.date) not in built
        if (f.processor and f.date and f.processor not in keep and never
                and (st is None or st.status != PartitionStatus.DONE)):
            why = "not run yet" if st is None else f"{st.status}: {st.error or 'no reason recorded'}"
            unbuilt.setdefault((f.processor, why), []).append(f)
        else:
            kept.append(f)
    if not unbuilt:
        return result
    for (proc, why), found in unbuilt.items():
        days = sorted(f.date for f in found if f.date)
        worst = max((GateStatus(f.status) for f in found), key=lambda s: s.level)
        kept.append(Finding(f"{proc}: {len(days)} date(s) not built ({days[0]}..{days[-1]}), {why}; "
                            f"the first: {found[0].detail[:300]}", worst, proc, found[0].table, days[0]))
    worst = max((GateStatus(f.status) for f in kept), key=lambda s: s.level)
    return GateResult(worst, kept, result.summary, result.traceback)


def _effective(result: GateResult, severity: str, strict: bool) -> GateStatus:
    """A gate's status as the check counts it: severity warn downgrades a failure, unless
    strict; strict also fails a gate that reports a failing finding yet calls itself a warning."""
    status = GateStatus(result.status)
    if strict:
        return GateStatus.FAIL if any(f.status == GateStatus.FAIL for f in result.findings) else status
    return GateStatus.WARN if status is GateStatus.FAIL and severity == "warn" else status


def gate_contexts(plan: Plan, registry: Registry, warehouse: Warehouse, gate: str, *, start: date | None = None,
                  end: date | None = None) -> list[GateContext]:
    """The contexts the plan's ``gate`` gates check in, as :func:`run_checks` builds them (``bfplan
    baseline`` learns from the failure_rate gates' stages)."""
    out = []
    for spec in plan_gates(plan):
        if spec.name != gate:
            continue
        dates = [d for d in expand_dates(plan.phases[spec.phase].dates, registry, plan)
                 if (start is None or d >= start) and (end is None or d <= end)]
        out.append(gate_context(spec, plan=plan, registry=registry, warehouse=warehouse, dates=dates,
                                mode=plan.mode, run_id="baseline"))
    return out
