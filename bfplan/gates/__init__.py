"""Built-in validation gates, one module each; registered through the ordinary hooks."""

from __future__ import annotations

from typing import Any


def builtin_gates() -> list[Any]:
    """Instances of every built-in gate (imported lazily: gates pull in their SQL)."""
    return []
