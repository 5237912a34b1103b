"""``bfplan new plugin NAME``: a new plugin's package, from the templates beside this module.

The package holds a Python processor, a SQL processor, a gate, a plan, sample data, tests that
use :mod:`bfplan.testing`, and a README; ``pip install -e .`` makes it a plugin bfplan finds.
"""

from __future__ import annotations

import keyword
import runpy
import shutil
from datetime import date
from pathlib import Path

from bfplan.errors import UsageError

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: the sample data's dates
START = date(2024, 1, 1)
DAYS = 5

#: template → where it goes in the new package (``{name}``: the plugin's name)
PLUGIN_FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "plan.yaml.tmpl": "plan.yaml",
    "make_data.py.tmpl": "make_data.py",
    "__init__.py.tmpl": "{name}/__init__.py",
    "plugin.py.tmpl": "{name}/plugin.py",
    "test_plugin.py.tmpl": "tests/test_{name}.py",
}


def check_name(name: str) -> str:
    """A plugin's name: a Python identifier (it names the package, the dataset, the processors)."""
    if not name.isidentifier() or not name.isascii() or keyword.iskeyword(name) or name.startswith("_"):
        raise UsageError(f"plugin name {name!r}: must be a Python identifier (letters, digits, _; not a keyword)")
    if name.lower() != name:
        raise UsageError(f"plugin name {name!r}: must be lowercase (it names a package and a dataset)")
    return name


def render(text: str, name: str) -> str:
    end = date.fromordinal(START.toordinal() + DAYS - 1)
    values = {"name": name, "start": START.isoformat(), "end": end.isoformat(), "year": str(START.year),
              "month": str(START.month), "day": str(START.day), "days": str(DAYS)}
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def new_plugin(name: str, parent: Path, *, force: bool = False) -> Path:
    """Write the package ``parent/name`` and its sample data; return its folder."""
    check_name(name)
    target = parent / name
    if target.exists() and not force:
        raise UsageError(f"{target} already exists (--force writes over it)")
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a folder")
    if force and (target / "data").is_dir():
        shutil.rmtree(target / "data")
    for template, where in PLUGIN_FILES.items():
        path = target / where.format(name=name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render((TEMPLATES / "plugin" / template).read_text(encoding="utf-8"), name),
                        encoding="utf-8")
    # the sample data, written by the package's own generator (so a user sees how to make more)
    generator = runpy.run_path(str(target / "make_data.py"), run_name="bfplan_scaffold")
    generator["write"](target / "data" / "visits", START, DAYS)
    return target
