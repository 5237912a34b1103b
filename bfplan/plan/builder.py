"""The document → :class:`~bfplan.plan.model.Plan`, with what a schema cannot say.

:class:`Builder` never assumes the schema passed: anything of the wrong shape is skipped (the
schema reported it), so every other problem is still found in the same pass — real calendar
dates in range, start after end, duplicate names, ``depends_on`` targets, plugin paths that
failed to load, a warehouse path that cannot be a file, the size of the work and, given a
registry, unknown processors, gates, calendars and warehouse types, gate options (SQL options
included) and processor params.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bfplan.contracts import Contract, ContractError
from bfplan.plan.marks import KeyPath, did_you_mean
from bfplan.plan.messages import IssueCollector
from bfplan.plan.model import (
    DATE_MAX,
    DATE_MIN,
    DATE_PATTERN,
    IDENTIFIER,
    DateSpec,
    Defaults,
    GateRef,
    Phase,
    Plan,
    ProcessorRef,
    RegistryLike,
    out_of_range,
)
from bfplan.plan.values import as_int, as_list, as_mapping, as_text, jsonable, pick, short

#: gate options whose schema says ``contentMediaType: application/sql`` hold SQL
SQL_MEDIA_TYPE = "application/sql"
_SEVERITIES = ("block", "warn")


class Builder:
    """Builds the Plan from a (possibly invalid) document, reporting what the schema cannot say.

    It never assumes the schema passed: anything of the wrong shape is skipped (the schema has
    reported it), so that every other problem is still found in the same pass.
    """

    def __init__(self, check: IssueCollector, expanded: set[KeyPath] | None = None) -> None:
        self.check = check
        self.expanded = expanded or set()
        self.refs: list[tuple[ProcessorRef, KeyPath, KeyPath]] = []  # (ref, name path, item path)
        self.gates: list[tuple[GateRef, KeyPath, KeyPath]] = []  # (gate, item path, name path)
        self.calendars: list[tuple[str, KeyPath]] = []
        self.phase_lines: dict[str, int] = {}  # phase name -> line of its first definition
        self.date_paths: list[KeyPath] = []  # per phase, where its dates are written

    def plan(self, path: Path, data: dict[str, Any], variables: dict[str, Any], registry: RegistryLike | None,
             plugin_errors: Mapping[Path, str] | None = None) -> Plan:
        raw_dates = data.get("dates")
        dates = self.date_spec(raw_dates, ("dates",))
        if isinstance(raw_dates, dict) and "dates" not in raw_dates:
            missing = [key for key in ("start", "end") if key not in raw_dates]
            if len(missing) == 2:
                self.check.report(("dates",), "missing required keys 'start' and 'end' (or a list under 'dates')")
            elif missing:
                self.check.report(("dates",), f"missing required key {missing[0]!r}")
        self.check_order(dates, ("dates",))
        phases = tuple(
            self.phase(raw, ("phases", index), dates)
            for index, raw in enumerate(as_list(data.get("phases")))
            if isinstance(raw, dict)
        )
        self.check_names()
        name = as_text(data.get("name"))
        defaults, breaker = (
            as_mapping(data.get("defaults")),
            as_mapping(as_mapping(data.get("defaults")).get("circuit_breaker")),
        )
        backoff = defaults.get("retry_backoff_s")
        plan = Plan(
            path=path,
            name=name,
            description=as_text(data.get("description")),
            dates=dates,
            mode=as_text(data.get("mode"), "backfill"),
            warehouse=jsonable(data["warehouse"])
            if isinstance(data.get("warehouse"), dict)
            else {"type": "duckdb", "path": f".bfplan/{name}.duckdb"},
            plugins=tuple(p for _, p in plugin_paths(path, data.get("plugins"))),
            vars=variables,
            params=dict(as_mapping(data.get("params"))),
            defaults=Defaults(
                retries=pick(defaults.get("retries"), 2),
                batch_days=pick(defaults.get("batch_days"), 7),
                jobs=pick(defaults.get("jobs"), 2),
                retry_backoff_s=float(backoff)
                if isinstance(backoff, int | float) and not isinstance(backoff, bool)
                else 0.5,
                circuit_breaker_max_failures=pick(breaker.get("max_failures"), 3),
                max_nodes=pick(defaults.get("max_nodes"), Defaults.max_nodes),
                max_days=pick(defaults.get("max_days"), Defaults.max_days),
            ),
            phases=phases,
            notify=tuple(item for item in as_list(data.get("notify")) if isinstance(item, dict)),
            marks={},
        )
        self.check_plugins(path, data.get("plugins"), plugin_errors or {})
        self.check_warehouse(plan)
        self.check_size(plan)
        if registry is not None:
            self.check_registry(registry, plan, data)
        return plan

    def check_plugins(self, path: Path, raw: Any, errors: Mapping[Path, str]) -> None:
        """A plugin path that failed to load is reported at its own line."""
        for index, resolved in plugin_paths(path, raw):
            if resolved in errors:
                self.check.report(("plugins", index), errors[resolved])

    def check_warehouse(self, plan: Plan) -> None:
        """A DuckDB path that names a folder (or lies under a file) cannot become a database."""
        config = plan.warehouse
        where = config.get("path")
        if config.get("type") != "duckdb" or not isinstance(where, str) or where == ":memory:" or "\0" in where:
            return
        target = plan.base_dir / where
        try:
            folder = target.is_dir()
            under_file = not folder and any(parent.is_file() for parent in target.parents)
        except OSError as exc:  # a name too long for the file system, say
            self.check.report(("warehouse", "path"), f"{short(where)} cannot be a file path: {exc.strerror}")
            return
        if folder:
            self.check.report(("warehouse", "path"), f"{where!r} is a folder, not a DuckDB file "
                                                     f"(name a file in it, e.g. {where.rstrip('/')}/warehouse.duckdb)")
        elif under_file:
            self.check.report(("warehouse", "path"), f"{where!r} lies under a file, not a folder")

    def check_size(self, plan: Plan) -> None:
        """Bound the work before anything is expanded: each date range within ``max_days``, the
        plan's nodes within ``max_nodes`` (an upper bound: a calendar can only remove dates)."""
        limits = plan.defaults
        spans = [(where, phase.dates.span_days()) for where, phase in zip(self.date_paths, plan.phases, strict=True)]
        too_long = False
        for where, days in dict(spans).items():
            if days > limits.max_days:
                too_long = True
                self.check.report(where, f"the dates span {days:,} days, more than defaults.max_days "
                                         f"({limits.max_days:,}): narrow them, or raise defaults.max_days")
        if too_long:
            return
        nodes, count = plan.node_bound(), len(plan.processor_refs())
        if nodes > limits.max_nodes:
            self.check.report(("dates",), f"the plan makes up to {nodes:,} nodes ({count} processor(s) over "
                                          f"{max(d for _, d in spans):,} days), more than defaults.max_nodes "
                                          f"({limits.max_nodes:,}): narrow the dates, raise batch_days, or "
                                          "raise defaults.max_nodes")

    def date(self, value: Any, path: KeyPath) -> date | None:
        day = None
        if isinstance(value, date) and not isinstance(value, datetime):
            day = value
        elif isinstance(value, str) and DATE_PATTERN.fullmatch(value):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                self.check.report(path, f"invalid date {value!r} (not a real calendar date)")
        if day is not None and not DATE_MIN <= day <= DATE_MAX:
            self.check.report(path, out_of_range(day))
            return None
        return day

    def date_spec(self, raw: Any, path: KeyPath) -> DateSpec:
        raw = as_mapping(raw)
        if "dates" in raw and ("start" in raw or "end" in raw):
            self.check.report(
                path, "give either start and end, or a list of dates, not both", at=(*path, "dates"), key=True
            )
        listed = [self.date(value, (*path, "dates", index)) for index, value in enumerate(as_list(raw.get("dates")))]
        calendar = raw.get("calendar") if isinstance(raw.get("calendar"), str) else None
        if calendar is not None:
            self.calendars.append((calendar, (*path, "calendar")))
        return DateSpec(
            self.date(raw.get("start"), (*path, "start")),
            self.date(raw.get("end"), (*path, "end")),
            tuple(d for d in listed if d) if "dates" in raw else None,
            calendar,
        )

    def check_order(self, spec: DateSpec, path: KeyPath) -> None:
        if spec.start is not None and spec.end is not None and spec.start > spec.end:
            self.check.report(path, f"start {spec.start} is after end {spec.end}")

    def phase(self, raw: dict[str, Any], path: KeyPath, plan_dates: DateSpec) -> Phase:
        override = as_mapping(raw.get("dates"))
        self.date_paths.append((*path, "dates") if {"dates", "start", "end"} & set(override) else ("dates",))
        spec = self.date_spec(override, (*path, "dates"))
        calendar = spec.calendar or plan_dates.calendar
        # A phase's own dates replace the plan's; a lone start (or end) keeps the plan's other bound.
        if "dates" in override:
            dates = DateSpec(None, None, spec.dates, calendar)
        elif "start" in override or "end" in override:
            low, high = plan_dates.start, plan_dates.end
            if plan_dates.dates:
                low, high = min(plan_dates.dates), max(plan_dates.dates)
            dates = DateSpec(spec.start or low, spec.end or high, None, calendar)
            if spec.start or spec.end:  # an invalid override date is reported already
                self.check_order(dates, (*path, "dates"))
        else:
            dates = replace(plan_dates, calendar=calendar)
        name = as_text(raw.get("name"))
        if name in self.phase_lines:
            first = self.phase_lines[name]
            self.check.report((*path, "name"), f"duplicate phase {name!r} (first at line {first})")
        elif name:
            self.phase_lines[name] = self.check.mark((*path, "name")).line
        gates = as_mapping(raw.get("gates"))
        processors = (
            self.processor(item, (*path, "processors", index))
            for index, item in enumerate(as_list(raw.get("processors")))
        )
        return Phase(
            name=name,
            processors=tuple(ref for ref in processors if ref),
            gates_before=self.gate_list(gates.get("before"), (*path, "gates", "before")),
            gates_after=self.gate_list(gates.get("after"), (*path, "gates", "after")),
            dates=dates,
            mark=self.check.mark(path),
        )

    def processor(self, item: Any, path: KeyPath) -> ProcessorRef | None:
        raw, name_path = ({"name": item}, path) if isinstance(item, str) else (as_mapping(item), (*path, "name"))
        if not isinstance(raw.get("name"), str):
            return None
        ref = ProcessorRef(
            name=raw["name"],
            depends_on=tuple(d for d in as_list(raw.get("depends_on")) if isinstance(d, str)),
            params=dict(as_mapping(raw.get("params"))),
            batch_days=as_int(raw.get("batch_days")),
            retries=as_int(raw.get("retries")),
            max_concurrency=as_int(raw.get("max_concurrency")),
            gates_after=self.gate_list(as_mapping(raw.get("gates")).get("after"), (*path, "gates", "after")),
            mark=self.check.mark(name_path),
            contract=self.contract(raw.get("contract"), (*path, "contract")),
        )
        self.refs.append((ref, name_path, path))
        return ref

    def contract(self, raw: Any, path: KeyPath) -> Contract | None:
        """A processor's ``contract:`` (what the schema cannot say: bounds in order, values of one kind)."""
        if not isinstance(raw, dict):
            return None
        try:
            return Contract.of(raw, allow_sql=False)
        except ContractError as exc:
            keys = [int(k) if k.isdigit() else k for k in exc.path.replace("[", ".").replace("]", "").split(".") if k]
            self.check.report((*path, *keys), exc.message)
            return None

    def gate_list(self, raw: Any, path: KeyPath) -> tuple[GateRef, ...]:
        gates = []
        for index, item in enumerate(as_list(raw)):
            item_path = (*path, index)
            if isinstance(item, str):
                name, options, name_path = item, {}, item_path
            elif isinstance(item, dict) and len(item) == 1:
                name, options = next(iter(item.items()))
                name_path = (*item_path, name)
            else:
                continue
            options = dict(as_mapping(options))
            severity = options.pop("severity", "block")
            gate = GateRef(
                name,
                options,
                severity if severity in _SEVERITIES else "block",
                self.check.mark(name_path, key=name_path != item_path),
            )
            self.gates.append((gate, item_path, name_path))
            gates.append(gate)
        return tuple(gates)

    def check_names(self) -> None:
        """Duplicate processors; ``depends_on`` naming no processor of the plan."""
        first: dict[str, int] = {}
        for ref, name_path, _ in self.refs:
            if ref.name in first:
                self.check.report(name_path, f"duplicate processor {ref.name!r} (first at line {first[ref.name]})")
            first.setdefault(ref.name, ref.mark.line)
        for ref, _, item_path in self.refs:
            for index, target in enumerate(ref.depends_on):
                where = (*item_path, "depends_on", index)
                if target == ref.name:
                    self.check.report(where, f"processor {ref.name!r} depends on itself")
                elif target not in first and IDENTIFIER.fullmatch(target):
                    self.check.report(where, f"{target!r} is not a processor in this plan{did_you_mean(target, first)}")

    def unknown(self, kind: str, name: str, known: Mapping[str, Any], path: KeyPath, *, key: bool = False) -> None:
        """Report ``name`` as an unknown ``kind`` at ``path`` (``path``'s key, with ``key``)."""
        if IDENTIFIER.fullmatch(name):  # a malformed name is reported already
            shown = path[:-1] if key else path
            hint = did_you_mean(name, known)
            if not hint and os.environ.get("BFPLAN_DISABLE_PLUGIN_AUTOLOAD", "") in ("1", "true", "yes"):
                hint = (" (installed plugins are not loaded: BFPLAN_DISABLE_PLUGIN_AUTOLOAD is set; list the "
                        "plugin under plugins: or pass --plugins-dir)")
            self.check.report(shown, f"unknown {kind} {name!r}{hint}", at=path, key=key)

    def check_registry(self, registry: RegistryLike, plan: Plan, data: dict[str, Any]) -> None:
        for ref, name_path, item_path in self.refs:
            if ref.name not in registry.processors:
                self.unknown("processor", ref.name, registry.processors, name_path)
                continue
            schema = getattr(registry.processors[ref.name], "params_schema", None)
            if schema:
                self.check_params(ref, schema, item_path, plan.params)
        for gate, item_path, name_path in self.gates:
            if gate.name not in registry.gates:
                self.unknown("gate", gate.name, registry.gates, name_path, key=name_path != item_path)
                continue
            schema = getattr(registry.gates[gate.name], "options_schema", None)
            if schema:
                self.check.schema(jsonable(dict(gate.options)), schema, name_path, f"gate {gate.name!r}")
                self.check_sql_options(gate, schema, name_path)
        for calendar, path in self.calendars:
            if calendar not in registry.calendars:
                self.unknown("calendar", calendar, registry.calendars, path)
        kind = as_mapping(data.get("warehouse")).get("type")
        if isinstance(kind, str) and kind not in registry.warehouses:
            names = registry.warehouses
            self.check.report(("warehouse", "type"), f"unknown warehouse type {kind!r}{did_you_mean(kind, names)}")

    def check_sql_options(self, gate: GateRef, schema: Mapping[str, Any], name_path: KeyPath) -> None:
        """SQL options (``contentMediaType: application/sql``) take no ``${var}`` — values reach SQL
        only as bound parameters — and must be one read-only query."""
        from bfplan.warehouse.dialect import read_only_problem

        for key, prop in (schema.get("properties") or {}).items():
            text = gate.options.get(key)
            if not isinstance(prop, Mapping) or prop.get("contentMediaType") != SQL_MEDIA_TYPE or not isinstance(
                    text, str):
                continue
            where = (*name_path, key)
            if where in self.expanded:
                self.check.report(where, "${...} in SQL: variables are never pasted into SQL; write @name "
                                         "instead (the plan's vars and params are bound as query parameters)")
                continue
            problem = read_only_problem(text)
            if problem:
                self.check.report(where, problem)

    def check_params(
        self, ref: ProcessorRef, schema: Mapping[str, Any], item_path: KeyPath, shared: Mapping[str, Any]
    ) -> None:
        """A processor's params against its schema; a required param may come from the plan-wide params."""
        lenient = {key: value for key, value in schema.items() if key != "required"}
        owner = f"processor {ref.name!r}"
        self.check.schema(jsonable(dict(ref.params)), lenient, (*item_path, "params"), owner)
        known = schema.get("properties", {})
        self.check.schema(jsonable({k: v for k, v in shared.items() if k in known}), lenient, ("params",), owner)
        for key in schema.get("required", []):
            if key not in ref.params and key not in shared:
                self.check.report(item_path, f"missing required param {key!r} for processor {ref.name!r}")

def plugin_paths(path: Path, plugins: Any) -> list[tuple[int, Path]]:
    """The plan's ``plugins:`` entries (index, absolute path), relative to the plan's folder;
    entries that cannot be paths (not text, empty, a NUL byte) are left out: the plan check
    reports them."""
    base = path.absolute().parent
    items = plugins if isinstance(plugins, list) else []
    return [(index, (base / Path(p).expanduser()).resolve()) for index, p in enumerate(items)
            if isinstance(p, str) and p and "\0" not in p]
