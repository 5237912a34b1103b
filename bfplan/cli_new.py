"""``bfplan new``: start something new from a template (``bfplan new plugin NAME``)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def new() -> None:
    """Start something new from a template."""


@new.command("plugin")
@click.argument("name")
@click.option("--dir", "parent", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Write the package into DIR/NAME.")
@click.option("--force", is_flag=True, help="Write over DIR/NAME if it exists.")
def new_plugin(name: str, parent: str, force: bool) -> None:
    """Write a new plugin package NAME: a Python and a SQL processor, a gate, a plan, sample
    data, tests and a README. Then: cd NAME && pip install -e . && pytest && bfplan run plan.yaml"""
    from bfplan.scaffold import new_plugin as write

    target = write(name, Path(parent), force=force)
    click.echo(f"wrote {target}")
    click.echo(f"next: cd {target} && pip install -e . && pytest && bfplan run plan.yaml")
