"""A progress bar on a TTY (stderr) for long runs; nothing otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bfplan.run.node import NodeOutcome


@contextmanager
def progress_reporter(enabled: bool = True) -> Iterator[Callable[[Any, int, int], None] | None]:
    """Yield an ``on_node(outcome, finished, total)`` callback driving a rich progress bar."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=Console(file=sys.stderr), transient=True)
    task = progress.add_task("running", total=None)

    def on_node(outcome: NodeOutcome, finished: int, total: int) -> None:
        label = getattr(outcome.node, "processor", None) or getattr(outcome.node, "gate", "")
        progress.update(task, completed=finished, total=total, description=f"{label:<24}")

    with progress:
        yield on_node
