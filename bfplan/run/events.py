"""Run events to ``bfplan_on_event`` implementations, delivered off the worker threads.

The mode's policy decides which events go out (a backfill announces only its end). Events go
on a queue; one notifier thread calls the hook, in order, so a worker never waits on a slow
webhook and plugins see events one at a time. :meth:`EventBus.close` delivers what is queued
(waiting at most ``drain_s``) before the run returns.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from typing import Any

import pluggy
import structlog

from bfplan.events import Event
from bfplan.modes import Policy
from bfplan.plugin_errors import full_traceback, raised

log = structlog.get_logger("bfplan.events")
_CLOSE = object()


class EventBus:
    """The events of one run: filtered by policy, queued, delivered by one thread."""

    def __init__(self, pm: pluggy.PluginManager, policy: Policy, plan: str, *, drain_s: float = 30.0) -> None:
        self.pm = pm
        self.policy = policy
        self.plan = plan
        self.run_id = ""
        self.drain_s = drain_s
        self._queue: queue.Queue[Event | object] = queue.Queue()
        self._thread: threading.Thread | None = None

    def wanted(self, kind: str) -> bool:
        """Whether the policy sends ``kind`` events (DESIGN.md, Modes)."""
        if kind == "run_finished":
            return True
        if kind == "phase_completed":
            return self.policy.downstream_triggers
        return self.policy.alerts

    def emit(self, kind: str, data: Mapping[str, Any]) -> None:
        """Queue an event (from any thread); it is delivered by the notifier thread."""
        if not self.wanted(kind):
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._deliver, name="bfplan-events", daemon=True)
            self._thread.start()
        self._queue.put(Event(kind, self.run_id, self.plan, dict(data)))

    def _deliver(self) -> None:
        while True:
            event = self._queue.get()
            if event is _CLOSE:
                return
            assert isinstance(event, Event)
            self.deliver(event)

    def deliver(self, event: Event) -> None:
        """Call each plugin's hook in turn: one that raises is logged in one line naming the
        plugin and its line (the traceback at ``-v``) and keeps no other from the event."""
        for impl in reversed(self.pm.hook.bfplan_on_event.get_hookimpls()):  # pluggy's order
            try:
                impl.function(event=event)
            except Exception as exc:  # a notification never fails a run
                error = raised("event hook", "bfplan_on_event", impl.plugin_name, exc, impl.function)
                log.warning("event hook failed", kind=event.type, error=error)
                log.debug("event hook traceback", kind=event.type, traceback=full_traceback(exc))

    def close(self) -> None:
        """Deliver what is queued, then stop the thread (waiting at most ``drain_s``)."""
        if self._thread is None:
            return
        self._queue.put(_CLOSE)
        self._thread.join(self.drain_s)
        if self._thread.is_alive():
            log.warning("events still undelivered when the run ended", waited_s=self.drain_s)
        self._thread = None
