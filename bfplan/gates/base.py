"""Gates: checks at a stage boundary returning pass / warn / fail with findings.

A gate runs before or after a phase, or after a processor. ``check(ctx)`` gets a
:class:`GateContext` naming the stage, its processors and dates and the warehouse, and
returns a :class:`GateResult`. A failing gate with ``severity: block`` (the default) blocks
everything downstream of it; with ``severity: warn`` a failure is reported and the run goes on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bfplan.status import GateStatus

if TYPE_CHECKING:
    from bfplan.plan.model import Plan, RegistryLike
    from bfplan.processors import Processor
    from bfplan.warehouse.base import Warehouse

#: a gate's verdicts, best to worst (plugins may write them as the plain strings)
STATUSES = (GateStatus.PASS, GateStatus.WARN, GateStatus.FAIL)

#: marks an option of a gate's ``options_schema`` (``{"type": "string", FILE_OPTION: True}``)
#: whose value names a file, relative to the plan's folder: the file's contents are part of
#: what a verdict judged, so a run evaluates the gate again when they change
FILE_OPTION = "x-bfplan-file"


@dataclass(frozen=True)
class Finding:
    """One thing a gate noticed: which processor/table/date, what, and how bad."""

    detail: str
    status: str = GateStatus.FAIL
    processor: str | None = None
    table: str | None = None
    date: date | None = None
    entities: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["date"] = self.date.isoformat() if self.date else None
        d["entities"] = list(self.entities)
        return d


@dataclass
class GateResult:
    """A gate's verdict: the worst finding's status, unless the gate says otherwise."""

    status: str = GateStatus.PASS
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""
    #: when the gate's code raised: the full traceback (``summary`` says it in one line)
    traceback: str | None = None

    @classmethod
    def from_findings(cls, findings: Sequence[Finding], summary: str = "") -> GateResult:
        worst = GateStatus.PASS
        for f in findings:
            if GateStatus(f.status).level > worst.level:
                worst = GateStatus(f.status)
        return cls(worst, list(findings), summary)


@dataclass(frozen=True)
class GateContext:
    """What a gate checks: a stage ("before phase X", "after processor P") over dates."""

    gate: str
    stage: str
    options: Mapping[str, Any]
    processors: Sequence[Processor]
    #: processors of the stages upstream of this one (their outputs are this stage's inputs)
    upstream: Sequence[Processor]
    dates: Sequence[date]
    mode: str
    warehouse: Warehouse
    plan: Plan | None
    registry: RegistryLike | None
    run_id: str = ""


class Gate:
    """Base class for gates. Subclasses set ``name`` (and ``options_schema``) and implement check."""

    name: str = ""
    description: str = ""
    options_schema: Mapping[str, Any] | None = None

    def check(self, ctx: GateContext) -> GateResult:
        """Check the stage and return the verdict. Never raise for a finding: report it."""
        raise NotImplementedError


def option_path(plan: Plan | None, value: Any) -> Path:
    """A file option's value as a path: relative to the plan's folder unless absolute."""
    path = Path(str(value))
    if not path.is_absolute() and plan is not None:
        path = plan.base_dir / path
    return path


def option_files(gate: Gate | None, options: Mapping[str, Any], plan: Plan | None) -> dict[str, Path]:
    """The files ``options`` name through the gate's file options (see :data:`FILE_OPTION`)."""
    schema = getattr(gate, "options_schema", None) or {}
    props = (schema.get("properties") or {}) if isinstance(schema, Mapping) else {}
    return {key: option_path(plan, options[key]) for key, prop in props.items()
            if isinstance(prop, Mapping) and prop.get(FILE_OPTION) and options.get(key)}
