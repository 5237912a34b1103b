"""The synthetic season simulator (plugins/nba/simulate/), imported as a package by path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SIM_DIR = Path(__file__).resolve().parents[2] / "plugins" / "nba" / "simulate"


def load_simulator(name: str = "nba_simulate") -> ModuleType:
    """The ``simulate`` package (its submodules use relative imports, so it loads as a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SIM_DIR / "__init__.py", submodule_search_locations=[str(SIM_DIR)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
