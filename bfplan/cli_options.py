"""The command line's shared parts: global options (before or after a command's arguments),
argument values in plain words, the session every command opens, and one-line errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import click

from bfplan.errors import BfplanError, LockError, UsageError

if TYPE_CHECKING:
    from bfplan.session import Session

GLOBAL_KEYS = ("warehouse", "var", "plugins_dir", "disable_plugin", "verbose", "json_out", "traceback")


def store_global(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    # Global options may come before or after the subcommand's arguments; both land here,
    # and a value given later (closer to the subcommand) wins.
    store = ctx.find_root().meta.setdefault("bfplan.globals", {})
    name = param.name or ""
    if name in ("var", "plugins_dir", "disable_plugin"):
        store.setdefault(name, []).extend(value or ())
    elif name == "verbose":
        store["verbose"] = store.get("verbose", 0) + (value or 0)
    elif value not in (None, False):
        store[name] = value
    return value


def global_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Attach --warehouse, --var, -v and --json to a command (and to the group)."""
    opts = [
        click.option("--warehouse", metavar="URL", expose_value=False, callback=store_global,
                     help="Override the plan's warehouse: duckdb:///rel.duckdb, duckdb:////abs.duckdb, "
                          "bigquery://PROJECT?location=US."),
        click.option("--var", metavar="KEY=VALUE", multiple=True, expose_value=False, callback=store_global,
                     help="Set a plan variable (repeatable)."),
        click.option("--plugins-dir", metavar="DIR", multiple=True, expose_value=False, callback=store_global,
                     help="Also load the plugins in DIR: each .py file and package that defines a bfplan_* "
                          "function (repeatable; other files are not imported)."),
        click.option("--disable-plugin", metavar="NAME", multiple=True, expose_value=False, callback=store_global,
                     help="Do not load the installed plugin NAME (its distribution or entry point name; "
                          "repeatable)."),
        click.option("-v", "--verbose", count=True, expose_value=False, callback=store_global, help="More logging."),
        click.option("--json", "json_out", is_flag=True, expose_value=False, callback=store_global,
                     help="Print one JSON document on stdout (logs go to stderr)."),
        click.option("--traceback", is_flag=True, expose_value=False, callback=store_global,
                     help="Print the full traceback of an error raised in plugin code (so does -v)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def global_values() -> dict[str, Any]:
    return click.get_current_context().find_root().meta.get("bfplan.globals", {})


def show_tracebacks() -> bool:
    """Whether ``--traceback`` or ``-v`` asks for the tracebacks of plugin errors."""
    ctx = click.get_current_context(silent=True)
    return ctx is not None and bool(global_values().get("traceback") or global_values().get("verbose"))


def echo_traceback(text: str | None, indent: str = "    ") -> None:
    """A kept traceback, indented under the line that said the error, on stderr."""
    if text:
        click.echo("\n".join(indent + line for line in text.splitlines()), err=True)


def var_overrides() -> dict[str, str]:
    out = {}
    for item in global_values().get("var", []):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--var {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def emit_json(doc: dict[str, Any]) -> None:
    click.echo(json.dumps(doc, indent=2, default=str))


def parse_date(value: str | None, option: str) -> date | None:
    from bfplan.plan import DATE_MAX, DATE_MIN

    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r}: expected a date YYYY-MM-DD") from None
    if not DATE_MIN <= day <= DATE_MAX:
        raise UsageError(f"{option} {value}: out of range ({DATE_MIN}..{DATE_MAX})")
    return day


def parse_dates(value: str | None) -> tuple[date, ...] | None:
    if value is None:
        return None
    return tuple(sorted({parse_date(v.strip(), "--dates") for v in value.split(",") if v.strip()}))  # type: ignore[type-var]


def parse_names(value: str | None) -> tuple[str, ...] | None:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else None


def open_plan(plan: str, *, read_only: bool = False) -> Session:
    from bfplan.logs import configure
    from bfplan.session import open_session

    configure(global_values().get("verbose", 0))
    return open_session(plan, warehouse_url=global_values().get("warehouse"), overrides=var_overrides(),
                        plugin_dirs=global_values().get("plugins_dir", []), read_only=read_only,
                        disabled_plugins=global_values().get("disable_plugin", []))


def held(exc: LockError, plan: str, what: str) -> UsageError | LockError:
    """A LockError for a command that must read what a run is writing: say so, and what to do."""
    return LockError(f"{exc}; {what} must wait until it finishes (`bfplan status {plan}` shows its progress)",
                     progress=exc.progress)


class BfplanGroup(click.Group):
    """Turns BfplanError into one line on stderr and its exit code; never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BfplanError as exc:
            as_json = ctx.meta.get("bfplan.globals", {}).get("json_out")
            report_error(exc, as_json)
            sys.exit(exc.exit_code)


def report_error(exc: BfplanError, as_json: bool) -> None:
    from bfplan.errors import PlanError

    if as_json and isinstance(exc, PlanError):
        emit_json({"valid": False, "errors": [i.as_dict() for i in exc.issues]})
    elif as_json:
        emit_json({"error": str(exc), "exit_code": exc.exit_code})
    text = str(exc) if isinstance(exc, PlanError) else f"error: {exc}"
    click.echo(text, err=True)
