"""Later deliveries of a faulted bucket: move ``late/raw`` or ``corrections/raw`` files into ``raw/``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .faults import AREAS


def deliver(bucket: Path, kind: str) -> list[str]:
    """Move every file of ``bucket/<kind>/raw`` (kind "late" or "corrections") into ``bucket/raw``, replacing.

    Returns the moved paths relative to ``raw/``, sorted. The manifest (if any) records the
    delivery, so a later run with the same faults simulates again instead of reusing this bucket.
    """
    if kind not in AREAS:
        raise ValueError(f"deliver: kind must be one of {', '.join(AREAS)}, got {kind!r}")
    bucket = Path(bucket)
    root, moved = bucket / kind / "raw", []
    for path in sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []:
        relative = path.relative_to(root)
        target = bucket / "raw" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        moved.append(relative.as_posix())
    area = bucket / kind
    for directory in [*sorted((p for p in area.rglob("*") if p.is_dir()), reverse=True), area] \
            if area.is_dir() else []:
        if not any(directory.iterdir()):
            directory.rmdir()
    manifest = bucket / "raw" / "_manifest.json"
    if moved and manifest.is_file():
        data = json.loads(manifest.read_text())
        data["delivered"] = sorted({*data.get("delivered", []), kind})
        manifest.write_text(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n")
    return moved
