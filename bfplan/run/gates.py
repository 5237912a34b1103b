"""Evaluating one gate — the one way ``bfplan run`` and ``bfplan check`` both do it.

A gate's verdict is part of the plan's state. Each evaluation is written to the ledger twice:
a ``running`` record when it starts and the verdict when it ends, both under the gate's key
(stage, name, occurrence) and a fingerprint of what it judged (its options and the files they
name, its dates, and the versions of the partitions it stands on). A later run evaluates the gate again when its latest
record is a blocking failure, is still ``running`` (the process died mid-gate), or carries
another fingerprint than the inputs have now — see :func:`needs_recheck`.

Gates see the warehouse read-only (:class:`~bfplan.warehouse.base.ReadOnlyWarehouse`): a gate
query that would write is refused, whatever plugin wrote it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from bfplan.dag import GateSpec
from bfplan.gates.base import Gate, GateContext, GateResult, option_files
from bfplan.ledger.clock import utcnow
from bfplan.ledger.ledger import GateState, Ledger
from bfplan.ledger.lineage import VersionIndex
from bfplan.plan.model import GateRef, Plan
from bfplan.plugin_errors import full_traceback, raised
from bfplan.plugins import Registry
from bfplan.processors import Processor
from bfplan.status import GateStatus
from bfplan.warehouse.base import ReadOnlyWarehouse, Warehouse


def gate_key(stage: str, name: str, occurrence: int) -> str:
    """``after phase precompute: coverage`` (``#2`` for the second coverage at that stage)."""
    return f"{stage}: {name}" + (f" #{occurrence}" if occurrence > 1 else "")


def stage_specs(refs: Sequence[GateRef], stage: str, processors: tuple[str, ...], phase: int,
                path: str) -> list[GateSpec]:
    """The gates of one stage as the DAG places them, each with its key."""
    seen: Counter[str] = Counter()
    out = []
    for i, g in enumerate(refs):
        seen[g.name] += 1
        out.append(GateSpec(g.name, stage, g.severity, g.options, processors, phase, f"{path}[{i}]",
                            gate_key(stage, g.name, seen[g.name])))
    return out


def plan_gates(plan: Plan) -> list[GateSpec]:
    """Every gate of the plan, in the order a run meets them."""
    out: list[GateSpec] = []
    for k, phase in enumerate(plan.phases):
        names = tuple(r.name for r in phase.processors)
        out += stage_specs(phase.gates_before, f"before phase {phase.name}", names, k, f"phases[{k}].gates.before")
        for j, ref in enumerate(phase.processors):
            out += stage_specs(ref.gates_after, f"after processor {ref.name}", (ref.name,), k,
                               f"phases[{k}].processors[{j}].gates.after")
        out += stage_specs(phase.gates_after, f"after phase {phase.name}", names, k, f"phases[{k}].gates.after")
    return out


def inputs_of(plan: Plan, spec: GateSpec) -> list[str]:
    """The processors whose partitions a gate judges: every earlier phase's, and — for a gate
    after its stage — its stage's (a gate before a phase judges only what the phase reads)."""
    earlier = [r.name for ph in plan.phases[: spec.phase] for r in ph.processors]
    if spec.stage.startswith("before "):
        return earlier
    return [*earlier, *(p for p in spec.processors if p not in earlier)]


def fingerprint(plan: Plan, spec: GateSpec, dates: Sequence[date], versions: VersionIndex, gate: Gate | None) -> str:
    """What a verdict was about: the gate's options, the contents of the files its file options
    name (:data:`~bfplan.gates.base.FILE_OPTION`), the values its queries bind (the plan's
    vars and params), its dates, and each input's (newest version, partitions)."""
    days = ",".join(d.isoformat() for d in sorted(dates))
    payload: dict[str, object] = {
        "options": spec.options,
        "bound": [plan.vars, plan.params],
        "dates": hashlib.sha256(days.encode()).hexdigest(),
        "inputs": [[name, *versions.summary(name)] for name in inputs_of(plan, spec)],
    }
    files = option_files(gate, spec.options, plan)
    if files:  # only then: a gate without file options keeps the fingerprint it had
        payload["files"] = {key: _digest(path) for key, path in files.items()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _digest(path: Path) -> str | None:
    """A file's contents as a hash; None when it cannot be read (the gate says why)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def needs_recheck(state: GateState | None, current: str) -> bool:
    """Whether a gate must be evaluated again although nothing it guards is to run: its last
    verdict blocked, never came, or judged other inputs than there are now."""
    if state is None:
        return False
    if state.status == GateStatus.RUNNING:
        return True
    if state.status == GateStatus.FAIL and state.severity == "block":
        return True
    return state.fingerprint != current


def gate_context(spec: GateSpec, *, plan: Plan, registry: Registry, warehouse: Warehouse, dates: Sequence[date],
                 mode: str, run_id: str) -> GateContext:
    """The context a gate checks in: its stage's processors, those upstream, read-only access."""
    upstream: list[Processor] = [registry.processors[r.name] for ph in plan.phases[: spec.phase]
                                 for r in ph.processors]
    return GateContext(
        gate=spec.name, stage=spec.stage, options=spec.options,
        processors=[registry.processors[p] for p in spec.processors], upstream=upstream,
        dates=list(dates), mode=mode, warehouse=ReadOnlyWarehouse(warehouse), plan=plan, registry=registry,
        run_id=run_id,
    )


def evaluate(gate: Gate, ctx: GateContext, spec: GateSpec, ledger: Ledger, current: str) -> GateResult:
    """Run ``gate.check`` and keep its verdict; a gate that raises fails, naming the plugin and
    the line of its code that raised (the traceback kept with the verdict)."""
    started = utcnow()
    ledger.record_gate(ledger.gate_record(ctx.run_id, spec.name, spec.stage, GateStatus.RUNNING, spec.severity,
                                          "started", [], started, key=spec.key, fingerprint=current))
    try:
        result = gate.check(ctx)
    except Exception as exc:
        source = getattr(ctx.registry, "sources", {}).get(("gates", spec.name), "?")
        result = GateResult(GateStatus.FAIL, [], raised("gate", spec.name, source, exc, gate),
                            traceback=full_traceback(exc))
    ledger.record_gate(ledger.gate_record(ctx.run_id, spec.name, spec.stage, result.status, spec.severity,
                                          result.summary, [f.as_dict() for f in result.findings], started,
                                          key=spec.key, fingerprint=current, traceback=result.traceback))
    return result
