"""What ``bfplan validate`` (and ``run --dry-run``) say of a plan: what would run, what is done,
the mode's policy, and — where the warehouse can tell — what it would cost.

A warehouse a run is holding right now cannot be read (DuckDB: one writing process): the plan
is still checked, against an empty ledger, and the answer says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bfplan.errors import LockError
from bfplan.estimate import cost_document, estimate_plan
from bfplan.ledger.breakers import Breakers
from bfplan.run.breakers import changed_since_trip, code_fingerprint
from bfplan.run.runner import Runner, RunOptions
from bfplan.session import Session
from bfplan.warehouse.base import EmptyWarehouse, Warehouse


@dataclass
class Description:
    """The plan's work as the ledger stands: ``doc`` is the ``validate --json`` document's body."""

    doc: dict[str, Any]
    #: a line for the reader about what the counts stand on (no warehouse yet; a run holds it)
    note: str | None = None


def describe_plan(session: Session, options: RunOptions | None = None) -> Description:
    """What would run, read from the ledger without writing anything (the session is read-only)."""
    note = None
    try:
        wh: Warehouse = session.warehouse
    except LockError as exc:
        wh = EmptyWarehouse(str(exc))
        note = (f"note: {exc}: counts below ignore what it has done "
                f"(`bfplan status {session.plan.path}` shows its progress)")
    if not wh.exists and note is None:
        note = f"note: no warehouse yet ({wh.description}): nothing has run"
    runner = Runner(session.plan, session.registry, wh, options)
    doc = runner.describe()
    doc["breakers"] = open_breakers(session, wh, doc["todo"])
    doc["to_run"] -= sum(b["partitions"] for b in doc["breakers"] if not b["code_changed"])
    estimate = None
    if wh.price_per_tib is not None:
        work, _ = runner.prepare()
        estimate = cost_document(estimate_plan(session.plan, session.registry, wh, work.todo), wh.price_per_tib)
    return Description({**doc, "estimate": estimate}, note)


def _when(at: Any) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S} UTC" if isinstance(at, datetime) else str(at)


def open_breakers(session: Session, wh: Warehouse, todo: dict[str, int]) -> list[dict[str, Any]]:
    """The plan's processors whose circuit breaker is open: when, why, until when, the partitions
    it holds back, and whether the processor's code changed since (the next run closes it)."""
    breakers = Breakers.reader(wh, session.plan.name)
    if breakers is None:
        return []
    names = [r.name for _, r in session.plan.processor_refs()]
    tripped = {p: t for p, t in breakers.tripped().items() if p in names}
    now = {p: code_fingerprint(session.registry.processors[p]) for p in tripped}
    changed = set(changed_since_trip(breakers, now, tripped))
    return [{"processor": p, "opened_at": _when(t["at"]), "until": _when(t["until_at"]),
             "reason": (str(t["reason"] or "").splitlines() or [""])[0][:200], "partitions": todo.get(p, 0),
             "code_changed": p in changed}
            for p, t in sorted(tripped.items())]
