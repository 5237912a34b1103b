"""The built-in webhook notifier: run events as Slack-compatible JSON (``{"text": ...}``).

Configured in a plan::

    notify:
      - webhook: {url: "https://hooks.example/T000/B000", events: [run_finished, gate_failed]}

It is an ordinary ``bfplan_on_event`` plugin, registered for the length of a run. A delivery
failure is logged and never fails the run.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import structlog

from bfplan import hookimpl
from bfplan.errors import PlanError
from bfplan.events import EVENT_TYPES, Event
from bfplan.plan.model import Plan

log = structlog.get_logger("bfplan.notify")
DEFAULT_EVENTS = ("run_finished", "gate_failed")


@dataclass(frozen=True)
class Webhook:
    url: str
    events: tuple[str, ...] = DEFAULT_EVENTS
    timeout_s: float = 5.0


def parse_notify(plan: Plan) -> list[Webhook]:
    """The plan's ``notify`` entries as webhooks; a bad entry is a plan error at its line."""
    hooks, issues = [], []
    for i, item in enumerate(plan.notify):
        path = f"notify[{i}]"
        if set(item) != {"webhook"} or not isinstance(item.get("webhook"), Mapping):
            issues.append(plan.issue(path, "expected {webhook: {url: ..., events: [...]}}"))
            continue
        cfg = item["webhook"]
        unknown = sorted(str(k) for k in set(cfg) - {"url", "events", "timeout_s"})
        if unknown:
            issues.append(plan.issue(f"{path}.webhook",
                                     f"unknown key '{unknown[0]}' (expected url, events, timeout_s)"))
        url = cfg.get("url", "")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            issues.append(plan.issue(f"{path}.webhook.url", f"expected an http(s) URL, got {url!r}"))
            url = ""
        raw_events = cfg.get("events") or list(DEFAULT_EVENTS)
        if not isinstance(raw_events, list) or not all(isinstance(e, str) for e in raw_events):
            issues.append(plan.issue(f"{path}.webhook.events", f"expected a list of event names, got {raw_events!r}"))
            raw_events = list(DEFAULT_EVENTS)
        events = tuple(raw_events)
        bad = [e for e in events if e not in EVENT_TYPES]
        if bad:
            issues.append(plan.issue(f"{path}.webhook.events",
                                     f"unknown event '{bad[0]}' (expected one of {', '.join(EVENT_TYPES)})"))
        timeout = cfg.get("timeout_s", 5.0)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 300:
            issues.append(plan.issue(f"{path}.webhook.timeout_s", f"expected seconds, more than 0 and at most 300, "
                                                                  f"got {timeout!r}"))
            timeout = 5.0
        hooks.append(Webhook(url, events, float(timeout)))
    if issues:
        raise PlanError(issues)
    return hooks


def message(event: Event) -> str:
    """One human line for a chat channel."""
    d = event.data
    if event.type == "run_finished":
        p = d.get("partitions", {})
        return (f"bfplan {event.plan}: run {event.run_id} {d.get('status')} in {d.get('duration_s')}s — "
                f"{p.get('done', 0)} done, {p.get('failed', 0)} failed, {p.get('blocked', 0)} blocked")
    if event.type == "gate_failed":
        return f"bfplan {event.plan}: gate {d.get('gate')} ({d.get('stage')}) FAILED: {d.get('summary')}"
    if event.type == "node_finished":
        return f"bfplan {event.plan}: {d.get('node')} {d.get('status')}"
    if event.type == "phase_completed":
        return f"bfplan {event.plan}: phase {d.get('phase')} completed"
    return f"bfplan {event.plan}: {event.type}"


class WebhookNotifier:
    """Posts the events it is configured for to each webhook."""

    def __init__(self, hooks: Sequence[Webhook]) -> None:
        self.hooks = list(hooks)

    @hookimpl
    def bfplan_on_event(self, event: Event) -> None:
        for hook in self.hooks:
            if event.type not in hook.events:
                continue
            body = json.dumps({"text": message(event), "bfplan": event.as_dict()}, default=str).encode()
            req = urllib.request.Request(hook.url, data=body, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=hook.timeout_s) as resp:
                    resp.read()
            except (urllib.error.URLError, OSError, ValueError) as exc:
                log.warning("webhook delivery failed", url=hook.url, event=event.type, error=str(exc))
