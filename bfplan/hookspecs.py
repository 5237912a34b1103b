"""The whole bfplan plugin API: five hooks, project name ``bfplan``, entry-point group ``bfplan``.

A plugin is a module (or object) with functions decorated by ``bfplan.hookimpl`` whose names
match these specs. Plugins come from, in this order: installed distributions' ``bfplan``
entry points (unless ``BFPLAN_DISABLE_PLUGIN_AUTOLOAD=1``), the plan's ``plugins:`` paths,
and bfplan's built-ins, which use these same hooks. Every hook is called with keyword
arguments; a spec only ever gains arguments, so implementations may accept fewer.

The registry is built once per command from the ``bfplan_*`` "provider" hooks; nothing calls
every plugin for every node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from bfplan.events import Event
    from bfplan.gates.base import Gate
    from bfplan.processors import Processor
    from bfplan.warehouse.base import Warehouse

hookspec = pluggy.HookspecMarker("bfplan")


@hookspec
def bfplan_processors() -> Iterable[Processor]:
    """Return the processors this plugin provides.

    Called once when the registry is built. Each :class:`bfplan.processors.Processor` has a
    unique ``name`` (the name plans use), its output table, partition column, input tables,
    entity key, critical fields and expected-entity query. Two plugins returning the same
    name is an error naming both.
    """


@hookspec
def bfplan_gates() -> Iterable[Gate]:
    """Return the validation gates this plugin provides.

    Called once when the registry is built. A :class:`bfplan.gates.base.Gate` has a ``name``,
    an optional ``options_schema`` (JSON Schema for its options in a plan; an option naming a
    file is marked :data:`bfplan.gates.base.FILE_OPTION`, so a changed file re-checks the gate)
    and a ``check`` method returning pass / warn / fail with findings.
    """


@hookspec
def bfplan_warehouses() -> Mapping[str, Callable[..., Warehouse]]:
    """Return warehouse factories by type name, e.g. ``{"duckdb": DuckDBWarehouse.from_config}``.

    A factory is called with the plan's ``warehouse`` mapping (without ``type``) as keyword
    arguments plus ``base_dir`` (the plan file's directory) and ``read_only`` (True for the
    commands that only look: validate, status, gaps, report — the warehouse must then create
    nothing, and may stand in an empty one with ``exists = False`` where none exists yet), and
    returns an open :class:`bfplan.warehouse.base.Warehouse`. Import heavy clients inside the
    factory, not at module import, so that ``bfplan --help`` stays fast.
    """


@hookspec
def bfplan_calendars() -> Mapping[str, Callable[..., Iterable[date]]]:
    """Return date calendars by name, e.g. ``{"trading_days": trading_days}``.

    A calendar is called as ``calendar(start, end, vars=plan_vars, base_dir=plan_dir)`` (accept
    ``**kwargs``: more keywords may come) and yields the dates
    between start and end (inclusive) on which partitions are expected. A date a calendar
    does not yield is never a "missing date" and is not scheduled.
    """


@hookspec
def bfplan_on_event(event: Event) -> None:
    """Receive a run event (notifications, alerts, downstream triggers).

    Called for ``run_started``, ``node_finished``, ``gate_failed``, ``phase_completed`` and
    ``run_finished`` events, in daily mode; in backfill mode only ``run_finished`` is emitted
    (the mode's policy decides: ``alerts``, ``downstream_triggers``). Called from one notifier
    thread of the run — never from the threads that run nodes — one event at a time, in the
    order they happened; the run waits for queued events before it returns. A slow
    implementation delays later notifications, never a node. Do not raise: an exception is
    logged with the event and otherwise ignored.
    """

