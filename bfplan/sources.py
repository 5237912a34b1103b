"""What a file source held when a partition was loaded, and whether it still holds it.

A processor that reads files (``Processor.source_files``) has its files' state recorded with
each partition it writes: every file's name and a hash of its bytes. A file that arrives late,
is re-delivered with other contents, or disappears after the load leaves the loaded partition
out of date although nothing in the warehouse changed: :func:`changed_sources` finds those
partitions (``gaps`` reports them as ``cascade``, ``run --stale`` loads them again), naming the
files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bfplan.ledger.ledger import PartitionState
from bfplan.processors import Processor
from bfplan.status import PartitionStatus

MAX_NAMED = 5


def file_states(paths: Iterable[Path], cache: dict[tuple[str, int, int], str] | None = None) -> dict[str, str]:
    """File name → a short hash of its bytes (a file that cannot be read: ``unreadable``);
    ``cache`` keeps hashes by (path, size, mtime) across calls (a file many dates share)."""
    out = {}
    for path in paths:
        try:
            st = path.stat()
            key = (str(path), st.st_size, st.st_mtime_ns)
            if cache is not None and key in cache:
                out[path.name] = cache[key]
                continue
            out[path.name] = hashlib.blake2b(path.read_bytes(), digest_size=8).hexdigest()
            if cache is not None:
                cache[key] = out[path.name]
        except OSError:
            out[path.name] = "unreadable"
    return out


def encode(state: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(state.items())), separators=(",", ":"))


def describe(then: Mapping[str, str], now: Mapping[str, str]) -> str | None:
    """What changed between two states of a date's files, or None."""
    parts = []
    changed = sorted(n for n in now if n in then and now[n] != then[n])
    for label, names in (("new", sorted(set(now) - set(then))), ("re-delivered with other contents", changed),
                         ("gone", sorted(set(then) - set(now)))):
        if names:
            more = f" (+{len(names) - MAX_NAMED} more)" if len(names) > MAX_NAMED else ""
            parts.append(f"{len(names)} {label}: {', '.join(names[:MAX_NAMED])}{more}")
    return "; ".join(parts) or None


@dataclass(frozen=True)
class SourceChange:
    processor: str
    date: date
    detail: str


def changed_sources(processors: Mapping[str, Processor], states: Mapping[tuple[str, date], PartitionState],
                    planned: Mapping[str, set[date]],
                    params_of: Callable[[str], Mapping[str, Any]]) -> list[SourceChange]:
    """Done partitions of file sources whose files differ from what was loaded (``params_of``:
    a processor's params, which say where its files are)."""
    out = []
    cache: dict[tuple[str, int, int], str] = {}
    for name, dates in planned.items():
        proc = processors[name]
        params = params_of(name)
        for d in sorted(dates):
            st = states.get((name, d))
            if st is None or st.status != PartitionStatus.DONE or st.source_state is None:
                continue
            paths: Sequence[Path] | None = proc.source_files(params, d)
            if paths is None:
                continue
            change = describe(json.loads(st.source_state), file_states(paths, cache))
            if change:
                out.append(SourceChange(name, d, f"source files changed since the load: {change}"))
    return out
