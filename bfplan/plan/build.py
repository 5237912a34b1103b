"""``load_plan()``: a plan file read into a :class:`~bfplan.plan.model.Plan`, every problem at once.

A plan is checked in one pass that collects every problem: YAML-level problems, ``${var}``
references, the JSON Schema (``schemas/plan.schema.json``, the format's source of truth, its
errors translated into plain messages), then what a schema cannot say (real calendar dates,
start after end, duplicate names, ``depends_on`` targets, the size of the work, values no
schema bounds) and, given a registry, unknown processors, gates, calendars and warehouse
types, gate options and processor params. All of them are raised together as one
``PlanError``, each at the line and column a user has to edit. What needs the plugins to run
(calendars, the DAG's shape, notifications) is :mod:`bfplan.plan.validate`'s.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.resources
import json
import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bfplan.errors import PlanError, PlanIssue
from bfplan.plan.builder import Builder, plugin_paths
from bfplan.plan.marks import (
    DocumentError,
    KeyPath,
    MarkedDocument,
    decode,
    describe,
    format_path,
    load_marked,
)
from bfplan.plan.messages import IssueCollector
from bfplan.plan.model import (
    DATE_MAX,
    DATE_MIN,
    DATE_PATTERN,
    IDENTIFIER,
    Plan,
    RegistryLike,
    out_of_range,
)
from bfplan.plan.values import jsonable
from bfplan.plan.variables import BAD_NAME, apply_variables, interpolate

_PLAN_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_.-]*$"
# Plain words for the schema's patterns: (what a value must be, what to say when it is not).
_PATTERNS = {
    IDENTIFIER.pattern: ("a name", BAD_NAME),
    "^([a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{0,62}$": (
        "a project id", "invalid project id {!r} (lowercase letters, digits and -, starting with a letter)"),
    "^[A-Za-z0-9_]{0,64}$": ("a dataset prefix", "invalid dataset prefix {!r} (letters, digits and _ only)"),
    DATE_PATTERN.pattern: ("a date (YYYY-MM-DD)", "invalid date {!r} (expected YYYY-MM-DD)"),
    _PLAN_NAME_PATTERN: (
        "a plan name",
        "invalid plan name {!r} (use letters, digits, _, . and -, not starting with a digit, . or -)",
    ),
}


@functools.cache
def plan_schema() -> dict[str, Any]:
    """The plan JSON Schema: from the installed package if shipped there, else from the repository."""
    shipped = importlib.resources.files("bfplan").joinpath("schemas/plan.schema.json")
    if shipped.is_file():
        return json.loads(shipped.read_text(encoding="utf-8"))
    repo_copy = Path(__file__).parents[2] / "schemas" / "plan.schema.json"
    return json.loads(repo_copy.read_text(encoding="utf-8"))


def _read(path: Path, file: str) -> MarkedDocument:
    try:
        return load_marked(decode(path.read_bytes()))
    except OSError as exc:
        raise PlanError([PlanIssue(file, 1, 1, "", f"cannot read the plan: {exc.strerror or exc}")]) from exc
    except DocumentError as exc:
        raise PlanError([PlanIssue(file, exc.mark.line, exc.mark.col, "", exc.message)]) from exc



def read_plugin_paths(path: Path, *, overrides: Mapping[str, str] | None = None) -> list[tuple[int, Path]]:
    """The plan's ``plugins:`` (index, path), with ``--var`` overrides applied, or ``[]`` if the
    plan is unreadable.

    A cheap first pass, so that plugins can be loaded before ``load_plan`` checks names against
    them; ``load_plan`` reports whatever is wrong with the file.
    """
    path = Path(path)
    try:
        doc = load_marked(decode(path.read_bytes()))
    except (OSError, DocumentError):
        return []
    if not isinstance(doc.data, dict):
        return []
    check = IssueCollector(str(path), doc, _PATTERNS)
    variables = apply_variables(doc.data, dict(overrides or {}), check)
    return plugin_paths(path, interpolate(doc.data.get("plugins"), ("plugins",), variables, check, set()))


def _check_values(value: Any, path: KeyPath, check: IssueCollector) -> None:
    """What no schema can say of any value: numbers must be finite, text must hold no NUL byte
    (a path with one would be cut short by the operating system)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_values(item, (*path, key), check)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_values(item, (*path, index), check)
    elif isinstance(value, float) and not math.isfinite(value):
        check.report(path, f"expected a finite number, got {value}")
        check.settled.add(path)
    elif isinstance(value, str) and "\0" in value:
        check.report(path, "contains a NUL character")
        check.settled.add(path)
    elif (isinstance(value, date) and not isinstance(value, datetime) and path[:1] == ("vars",)
          and not DATE_MIN <= value <= DATE_MAX):
        check.report(path, out_of_range(value))
        check.settled.add(path)


def _check_today(variables: Mapping[str, Any], check: IssueCollector) -> None:
    """``today`` is the one variable the engine reads (the age policy): it must be a date."""
    if "today" not in variables:
        return
    value = variables["today"]
    if isinstance(value, str) and DATE_PATTERN.fullmatch(value):
        with contextlib.suppress(ValueError):
            value = date.fromisoformat(value)
    if not isinstance(value, date) or isinstance(value, datetime):
        check.report(("vars", "today"), f"expected a date (YYYY-MM-DD), got {describe(value)}")
    elif not DATE_MIN <= value <= DATE_MAX:
        check.report(("vars", "today"), out_of_range(value))


def check_plan(path: Path, *, registry: RegistryLike | None = None, overrides: Mapping[str, str] | None = None,
               plugin_errors: Mapping[Path, str] | None = None) -> tuple[Plan | None, list[PlanIssue]]:
    """Read and check the plan at ``path``: the plan (None when the file is no plan at all) and
    every issue found. The plan is built however many issues there are, so that later checks
    (:mod:`bfplan.plan.validate`) can add theirs to the same answer."""
    path = Path(path)
    file = str(path)
    doc = _read(path, file)
    check = IssueCollector(file, doc, _PATTERNS)
    if not isinstance(doc.data, dict):
        if not check.issues:
            got = (
                "the plan is empty"
                if doc.data is None
                else (f"the plan must be a mapping (name: ..., dates: ..., phases: ...), got {describe(doc.data)}")
            )
            check.report((), got)
        return None, check.issues
    variables = apply_variables(doc.data, dict(overrides or {}), check)
    expanded: set[KeyPath] = set()
    data = interpolate(doc.data, (), variables, check, expanded)
    _check_values(data, (), check)
    _check_today(variables, check)
    check.schema(jsonable(data), plan_schema(), ())
    builder = Builder(check, expanded)
    plan = builder.plan(path, data, variables, registry, plugin_errors)
    return replace(plan, marks={format_path(p): m for p, m in doc.marks.items()}), check.issues


def load_plan(path: Path, *, registry: RegistryLike | None = None, overrides: Mapping[str, str] | None = None,
              plugin_errors: Mapping[Path, str] | None = None) -> Plan:
    """Load and check the plan at ``path``; raise ``PlanError`` carrying every issue found.

    ``overrides`` are ``--var NAME=VALUE`` pairs; a value takes the type of the plan's own value
    for that variable. With a ``registry``, processor, gate, calendar and warehouse names are
    checked against it, as are gate options and processor params against their schemas.
    """
    plan, issues = check_plan(path, registry=registry, overrides=overrides, plugin_errors=plugin_errors)
    if issues or plan is None:
        raise PlanError(issues)
    return plan
