"""A plan's dates, through its calendar plugin when it names one."""

from __future__ import annotations

import functools
from datetime import date

from bfplan.errors import BfplanError, PlanError
from bfplan.plan.model import DateSpec, Plan, RegistryLike
from bfplan.plugin_errors import raised


def expand_dates(spec: DateSpec, registry: RegistryLike, plan: Plan) -> list[date]:
    """The dates of ``spec`` (sorted, unique), kept to those its calendar yields. A calendar that
    cannot answer is a plan error at ``dates.calendar``: in its own words when it raised a
    :class:`BfplanError` (a problem of the plan's inputs), else naming the plugin and the line
    of its code that raised."""
    calendar = None
    if spec.calendar:
        fn = registry.calendars[spec.calendar]
        calendar = functools.partial(fn, vars=dict(plan.vars), base_dir=plan.path.parent)
    try:
        return spec.expand(calendar)
    except PlanError:
        raise
    except BfplanError as exc:
        raise PlanError([plan.issue("dates.calendar", f"calendar {spec.calendar!r}: {exc}")]) from exc
    except Exception as exc:
        if calendar is None:
            raise
        source = getattr(registry, "sources", {}).get(("calendars", spec.calendar), "?")
        message = raised("calendar", str(spec.calendar), source, exc, calendar.func)
        raise PlanError([plan.issue("dates.calendar", message)]) from exc
