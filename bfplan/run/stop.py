"""SIGINT/SIGTERM during a run: a stop flag, never an exception in the middle of a write.

The first signal sets the flag the scheduler checks: running nodes finish their transaction,
nothing new starts, the run is recorded as interrupted. A second SIGINT raises
KeyboardInterrupt at once. The command line remembers the signal either way (exit 130).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import structlog

from bfplan import interrupts

log = structlog.get_logger("bfplan.run")


class StopRequest:
    """The stop flag of one run (true once a stop was asked for)."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __bool__(self) -> bool:
        return self.event.is_set()

    def set(self) -> None:
        """Ask the run to stop (a signal, or the machine refusing writes)."""
        self.event.set()

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopRequest]:
        """SIGINT/SIGTERM set the flag for the duration (main thread only: that is where
        Python delivers signals)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def handler(signum: int, frame: FrameType | None) -> None:
            interrupts.note()  # the command exits 130 even if the run finishes its last node
            if self.event.is_set() and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self.event.set()
            log.warning("stop requested: no new nodes start; running ones finish their transaction "
                        "(Ctrl-C again to abort at once)", signal=signal.Signals(signum).name)

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for sig, prev in previous.items():
                signal.signal(sig, prev)
