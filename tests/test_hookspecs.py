"""Every hook is documented and exercised (as datasette does for its plugin hooks)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from bfplan import hookspecs

HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("bfplan_")]
TESTS = Path(__file__).parent


def test_the_five_hooks_of_the_design():
    assert sorted(HOOKS) == ["bfplan_calendars", "bfplan_gates", "bfplan_on_event", "bfplan_processors",
                             "bfplan_warehouses"]


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented(name):
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert len(doc.split()) >= 25, f"{name} needs a docstring saying when it is called and what it returns"
    assert "Called" in doc or "called" in doc


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_implemented_somewhere_under_test(name):  # and exercised: tests/test_hooks.py
    sources = [p.read_text() for p in TESTS.rglob("*.py") if p.name != Path(__file__).name]
    sources += [p.read_text() for p in (TESTS.parent / "bfplan").rglob("*.py") if p.name != "hookspecs.py"]
    sources += [p.read_text() for p in (TESTS.parent / "plugins").rglob("*.py")]
    assert any(f"def {name}(" in s for s in sources), f"no implementation of {name} is exercised"
