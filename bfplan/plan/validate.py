"""Every check of a plan, in one pass: one ``bfplan validate`` lists every problem at once.

:func:`bfplan.plan.build.check_plan` reads the file and checks what the file and the plugins'
names and schemas can tell (YAML, variables, the schema, semantics, plugin paths that failed
to load, unknown processors and gates, gate options, processor params, the size of the work).
Here come the checks that need the plugins to run, added to the same answer: calendars that
cannot answer or have no dates, the DAG's shape (dependency cycles, reading a table a later
phase writes), SQL that reads a table its ``inputs`` do not declare, and notification
settings. Each problem is a ``PlanIssue`` at its line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bfplan.dag import DagProblem, PhaseSpec, ProcSpec, structure_problems
from bfplan.errors import PlanError, PlanIssue
from bfplan.notify import parse_notify
from bfplan.plan.build import check_plan
from bfplan.plan.dates import expand_dates
from bfplan.plan.model import Plan, RegistryLike
from bfplan.sqlrefs import input_issues


def validate_plan(path: Path, *, registry: RegistryLike, overrides: Mapping[str, str] | None = None,
                  plugin_errors: Mapping[Path, str] | None = None) -> Plan:
    """The plan at ``path``, checked in full; raise ``PlanError`` with every issue found."""
    plan, issues = check_plan(path, registry=registry, overrides=overrides, plugin_errors=plugin_errors)
    if plan is not None:
        issues = [*issues, *shape_issues(plan, registry), *calendar_issues(plan, registry, issues),
                  *notify_issues(plan), *input_issues(plan, registry)]
    if issues or plan is None:
        raise PlanError(issues)
    return plan


def shape_issues(plan: Plan, registry: RegistryLike) -> list[PlanIssue]:
    """Dependency cycles and reads of later phases, whatever the dates."""
    phases = []
    for k, phase in enumerate(plan.phases):
        procs = []
        for j, ref in enumerate(phase.processors):
            p = registry.processors.get(ref.name)
            if p is None:
                continue  # reported as unknown already
            procs.append(ProcSpec(ref.name, k, p.table, tuple(p.inputs), tuple(ref.depends_on), (), (),
                                  f"phases[{k}].processors[{j}]"))
        phases.append(PhaseSpec(phase.name, tuple(procs)))
    return [dag_issue(plan, problem) for problem in structure_problems(phases)]


def dag_issue(plan: Plan, problem: DagProblem) -> PlanIssue:
    """A DAG problem at its plan line; a cycle names each step with its own line."""
    message = problem.message
    if problem.steps:
        where = [f"{name} (line {plan.mark_of(path).line}) {why}" for name, path, why in problem.steps]
        message += "; " + "; ".join(where)
    return plan.issue(problem.path, message)


def calendar_issues(plan: Plan, registry: RegistryLike, earlier: list[PlanIssue]) -> list[PlanIssue]:
    """A calendar that cannot answer, or whose dates leave the plan nothing to run."""
    if any(i.path.startswith("dates") or ".dates" in i.path for i in earlier):
        return []  # the dates themselves are wrong: the calendar has nothing sound to answer
    issues: list[PlanIssue] = []
    found = 0
    for phase in plan.phases:
        if phase.dates.calendar and phase.dates.calendar not in registry.calendars:
            return []  # reported as unknown already
        try:
            found += len(expand_dates(phase.dates, registry, plan))
        except PlanError as exc:
            issues += exc.issues
    spec = plan.dates
    if not issues and not found and plan.phases and spec.calendar:
        span = f" between {spec.start} and {spec.end}" if spec.start and spec.end else ""
        issues.append(plan.issue("dates.calendar", f"calendar {spec.calendar!r} has no dates{span}: the plan "
                                                   "has nothing to run"))
    return issues


def notify_issues(plan: Plan) -> list[PlanIssue]:
    """Notification entries that would fail when the run needs them."""
    try:
        parse_notify(plan)
    except PlanError as exc:
        return list(exc.issues)
    return []
