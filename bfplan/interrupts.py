"""Ctrl-C on the command line: remembered, so that it is never lost.

The first instruction of the ``bfplan`` command installs :func:`install`'s handler: it notes
the signal and raises KeyboardInterrupt as Python's own would. A library that swallows the
exception with a bare ``except:`` (a few do, around their imports) cannot make the command
forget it: the command ends with 130 whatever the code that caught it did (see
:func:`bfplan.cli.leave`). A run installs its own handler (a stop flag) for its duration.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

_seen = False


def _handler(signum: int, frame: FrameType | None) -> None:
    global _seen
    _seen = True
    raise KeyboardInterrupt


def install() -> None:
    """Note every SIGINT from now on (main thread only: Python delivers signals there)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _handler)


def note() -> None:
    """Remember a stop signal that another handler took (a run's stop flag)."""
    global _seen
    _seen = True


def seen() -> bool:
    """Whether a SIGINT arrived since :func:`install`."""
    return _seen
