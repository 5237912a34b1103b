"""Plans: ``model`` (what a checked plan is), ``marks`` (YAML with positions), ``messages``
(problems in plain words), ``variables``, ``build`` (``load_plan``: the file, checked) and
``validate`` (every check, the plugins' included, in one pass). The common names are here."""

from __future__ import annotations

from bfplan.plan.build import load_plan, plan_schema, plugin_paths, read_plugin_paths
from bfplan.plan.marks import Mark
from bfplan.plan.model import (
    DATE_MAX,
    DATE_MIN,
    IDENTIFIER,
    DateSpec,
    Defaults,
    GateRef,
    Phase,
    Plan,
    ProcessorRef,
    RegistryLike,
)

__all__ = ["DATE_MAX", "DATE_MIN", "IDENTIFIER", "DateSpec", "Defaults", "GateRef", "Mark", "Phase", "Plan",
           "ProcessorRef", "RegistryLike", "load_plan", "plan_schema", "plugin_paths", "read_plugin_paths"]
