"""Plan variables: ``${name}`` references, ``--var`` overrides, resolution between variables,
and their substitution into a plan's values.

Everything here runs in time linear in the size of the plan, whatever its text: references are
found by one left-to-right scan (no backtracking regular expression), variables that refer to
each other are resolved by an explicit-stack depth-first walk (no recursion limit), and no
expansion may grow past :data:`MAX_EXPANDED` characters (``a: ${b}${b}``, ``b: ${c}${c}`` … would
otherwise double at every step).

Variables never reach SQL as text: SQL options of gates are checked for ``${`` by the plan
loader, and values reach queries as bound parameters (``@name``).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bfplan.plan.marks import KeyPath, did_you_mean
from bfplan.plan.messages import IssueCollector
from bfplan.plan.model import DATE_PATTERN

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME_THEN_BRACE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\}")
#: what a name must look like, and the message when it does not
BAD_NAME = "invalid name {!r} (use letters, digits and _, not starting with a digit)"
_BOOL_WORDS = dict.fromkeys(("true", "yes", "on", "1"), True) | dict.fromkeys(("false", "no", "off", "0"), False)
#: the longest text one string may expand to (1 MiB)
MAX_EXPANDED = 1 << 20
#: how far an invalid ``${...}`` is looked at for its closing brace (its text goes in the message)
_INVALID_WINDOW = 80


class VariableError(Exception):
    """A reference that cannot be resolved; the message says why."""


@dataclass(frozen=True)
class Reference:
    """One ``${...}`` in a text: where it starts and ends, and its name (None: not a valid name)."""

    start: int
    end: int
    name: str | None


def scan(text: str) -> Iterator[Reference | str]:
    """The pieces of ``text`` in order: literal strings and references. ``$${`` is a literal ``${``;
    a ``${`` that no ``}`` closes nearby is literal text too. One pass, no backtracking."""
    pos = 0
    literal_from = 0
    n = len(text)
    while True:
        k = text.find("$", pos)
        if k < 0 or k + 1 >= n:
            break
        if text.startswith("$${", k):
            yield text[literal_from:k] + "${"
            pos = literal_from = k + 3
            continue
        if text[k + 1] != "{":
            pos = k + 1
            continue
        match = _NAME_THEN_BRACE.match(text, k + 2)
        if match:
            if k > literal_from:
                yield text[literal_from:k]
            yield Reference(k, match.end(), match.group(1))
            pos = literal_from = match.end()
            continue
        close = text.find("}", k + 2, k + 2 + _INVALID_WINDOW)
        nested = text.find("${", k + 2, close if close >= 0 else k + 2)
        if close >= 0 and nested < 0:
            if k > literal_from:
                yield text[literal_from:k]
            yield Reference(k, close + 1, None)
            pos = literal_from = close + 1
            continue
        pos = k + 2  # not a reference: stays literal
    if literal_from < n:
        yield text[literal_from:]


def references(text: str) -> list[str]:
    """The valid variable names ``text`` refers to, in order."""
    return [p.name for p in scan(text) if isinstance(p, Reference) and p.name is not None]


def substitute(text: str, lookup: Callable[[str], object], report: Callable[[str], None]) -> object:
    """``text`` with its references replaced; a string that is exactly one reference takes the
    value's own type. ``lookup`` raises :class:`VariableError`; problems go to ``report`` (the
    first of each kind, so a text of 100,000 bad references gives one message, not 100,000)."""
    if text.startswith("${") and text.endswith("}"):
        pieces = list(scan(text))
        if len(pieces) == 1 and isinstance(pieces[0], Reference) and pieces[0].name is not None:
            try:
                return lookup(pieces[0].name)
            except VariableError as exc:
                report(str(exc))
                return text
    out: list[str] = []
    size = 0
    reported: set[str] = set()

    def once(message: str) -> None:
        if message not in reported:
            reported.add(message)
            report(message)

    for piece in scan(text):
        if isinstance(piece, str):
            part = piece
        elif piece.name is None:
            once(f"invalid variable reference {text[piece.start:piece.end]!r}")
            part = text[piece.start:piece.end]
        else:
            try:
                value = lookup(piece.name)
            except VariableError as exc:
                once(str(exc))
                part = text[piece.start:piece.end]
            else:
                part = json.dumps(value) if isinstance(value, bool) else str(value)
        size += len(part)
        if size > MAX_EXPANDED:
            report(f"expands to more than {MAX_EXPANDED:,} characters (variables nest too deeply)")
            return text
        out.append(part)
    return "".join(out)


def typed_override(text: str, current: object) -> object:
    """A ``--var`` value, converted to the type of the plan's own value for that variable."""
    if isinstance(current, bool):
        if text.lower() not in _BOOL_WORDS:
            raise ValueError("expected true or false")
        return _BOOL_WORDS[text.lower()]
    for kind, word in ((int, "an integer"), (float, "a number")):
        if isinstance(current, kind):
            try:
                value = kind(text)
            except ValueError:
                raise ValueError(f"expected {word}") from None
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"expected a finite number, got {text!r}")
            return value
    if isinstance(current, date) and not isinstance(current, datetime):
        if DATE_PATTERN.fullmatch(text):
            with contextlib.suppress(ValueError):
                return date.fromisoformat(text)
        raise ValueError("expected a date (YYYY-MM-DD)")
    return text


def resolve(raw: Mapping[str, object]) -> tuple[dict[str, object], dict[str, str]]:
    """Resolve variables that refer to each other. Returns (values, errors by variable name).

    A depth-first walk with an explicit stack: a chain of 10,000 variables is no deeper for it.
    A cycle is reported at each of its members from its own start (``a -> b -> a``,
    ``b -> a -> b``); a variable that refers to a failed one fails with the same reason.
    """
    refs = {name: references(value) if isinstance(value, str) else [] for name, value in raw.items()}
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    cycles: dict[str, list[str]] = {}  # a failed variable's chain, for those that refer to it
    state: dict[str, int] = {}  # 1: on the walk's path, 2: finished
    for root in raw:
        if root in state:
            continue
        state[root] = 1
        path = [root]
        stack = [iter(refs[root])]
        while stack:
            name = path[-1]
            dep = next(stack[-1], None)
            if dep is None:
                stack.pop()
                path.pop()
                state[name] = 2
                if name not in errors:
                    _finish(name, raw, refs, values, errors, cycles)
                continue
            if dep not in raw:
                if name not in errors:
                    errors[name] = f"unknown variable {dep!r}{did_you_mean(dep, raw)}"
            elif state.get(dep) is None:
                state[dep] = 1
                path.append(dep)
                stack.append(iter(refs[dep]))
            elif state[dep] == 1:
                cycle = path[path.index(dep):]
                for k, member in enumerate(cycle):
                    chain = [*cycle[k:], *cycle[:k], member]
                    if member not in errors:
                        errors[member] = "variables refer to each other: " + " -> ".join(chain)
                        cycles[member] = chain
    return values, errors


def _finish(name: str, raw: Mapping[str, object], refs: Mapping[str, list[str]], values: dict[str, object],
            errors: dict[str, str], cycles: dict[str, list[str]]) -> None:
    """Substitute ``name``'s value once every variable it refers to is finished."""
    for dep in refs[name]:
        if dep in errors:
            if dep in cycles:
                cycles[name] = [name, *cycles[dep]]
                errors[name] = "variables refer to each other: " + " -> ".join(cycles[name])
            else:
                errors[name] = errors[dep]
            return
    value = raw[name]
    if isinstance(value, str):
        problems: list[str] = []
        value = substitute(value, values.__getitem__, problems.append)
        if problems:
            errors[name] = problems[0]
            return
    values[name] = value


def apply_variables(data: dict[str, Any], overrides: Mapping[str, str], check: IssueCollector) -> dict[str, Any]:
    """The plan's vars with ``--var`` overrides applied and references between vars resolved."""
    raw = data.get("vars")
    if raw is None:
        raw = data["vars"] = {}
    if not isinstance(raw, dict):
        return {}
    for name, text in overrides.items():
        if not IDENTIFIER.fullmatch(name):
            check.report(("vars",), f"--var {name!r}: " + BAD_NAME.format(name))
            continue
        try:
            raw[name] = typed_override(text, raw.get(name))
        except ValueError as exc:
            check.report(("vars", name), f"--var {name}={text!r}: {exc}, like the plan's value {raw[name]!r}")
    values, errors = resolve(raw)
    for name, message in errors.items():
        check.report(("vars", name), message)
    return {**raw, **values}


def interpolate(value: Any, path: KeyPath, variables: Mapping[str, Any], check: IssueCollector,
                 expanded: set[KeyPath]) -> Any:
    """``value`` with ``${var}`` references in its strings replaced (``vars`` itself excepted);
    the paths of strings that held a reference go to ``expanded`` (SQL must not take any)."""
    if isinstance(value, dict):
        return {
            k: v if (*path, k) == ("vars",) else interpolate(v, (*path, k), variables, check, expanded)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [interpolate(item, (*path, index), variables, check, expanded) for index, item in enumerate(value)]
    if isinstance(value, str) and "${" in value:

        def lookup(name: str) -> Any:
            if name not in variables:
                raise VariableError(f"unknown variable {name!r}{did_you_mean(name, variables)}")
            return variables[name]

        def report(message: str) -> None:
            check.report(path, message)
            check.settled.add(path)

        if any(isinstance(piece, Reference) for piece in scan(value)):
            expanded.add(path)
        return substitute(value, lookup, report)
    return value
