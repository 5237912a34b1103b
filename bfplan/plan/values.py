"""Reading a plan document's values without trusting their shape (the schema reports shapes)."""

from __future__ import annotations

from datetime import date
from typing import Any


def jsonable(value: Any) -> Any:
    """The document as JSON Schema sees it: YAML dates become their ISO text."""
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    return value.isoformat() if isinstance(value, date) else value


def as_int(value: Any) -> int | None:
    """An integer (a whole float counts), else None."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_text(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def pick(value: Any, default: int) -> int:
    number = as_int(value)
    return default if number is None else number


def short(text: str, width: int = 60) -> str:
    """A value as a message quotes it: whole when short, its start and its length when long."""
    return repr(text) if len(text) <= width else f"{text[:width]!r}... ({len(text):,} characters)"
