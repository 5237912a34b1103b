"""A plan's dates, through its calendar plugin when it names one."""

from __future__ import annotations

import functools
from datetime import date

from bfplan.errors import BfplanError, PlanError
from bfplan.plan.model import DateSpec, Plan, RegistryLike


def expand_dates(spec: DateSpec, registry: RegistryLike, plan: Plan) -> list[date]:
    """The dates of ``spec`` (sorted, unique), kept to those its calendar yields. A calendar that
    cannot answer is a plan error at ``dates.calendar``: it is a problem of the plan's inputs."""
    calendar = None
    if spec.calendar:
        fn = registry.calendars[spec.calendar]
        calendar = functools.partial(fn, vars=dict(plan.vars), base_dir=plan.path.parent)
    try:
        return spec.expand(calendar)
    except PlanError:
        raise
    except (BfplanError, OSError, ValueError) as exc:
        raise PlanError([plan.issue("dates.calendar", f"calendar {spec.calendar!r}: {exc}")]) from exc
