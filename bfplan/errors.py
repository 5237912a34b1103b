"""The exception tree. Every expected failure is a ``BfplanError`` carrying its exit code.

Exit codes (DESIGN.md): 1 a node or blocking gate failed; 2 bad input (plan, arguments);
3 the warehouse or the run lock is unavailable; 130 interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class BfplanError(Exception):
    """Root of every error bfplan expects; the CLI prints it on one line, without a traceback."""

    exit_code = 1


@dataclass(frozen=True, order=True)
class PlanIssue:
    """One problem in a plan file, at a position: ``FILE:LINE:COL: path: message``."""

    file: str
    line: int
    col: int
    path: str = field(compare=False)
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        """The ``--json`` form: ``{"file", "line", "col", "message"}``."""
        text = f"{self.path}: {self.message}" if self.path else self.message
        return {"file": self.file, "line": self.line, "col": self.col, "message": text}


class PlanError(BfplanError):
    """A plan (or a plugin's view of it) is invalid; carries every issue found, sorted."""

    exit_code = 2

    def __init__(self, issues: list[PlanIssue]) -> None:
        self.issues = sorted(set(issues))
        super().__init__("\n".join(str(i) for i in self.issues))


class UsageError(BfplanError):
    """Bad command-line input (not a plan problem)."""

    exit_code = 2


class PluginError(BfplanError):
    """A plugin could not be loaded, or two plugins claim the same name."""

    exit_code = 2


class WarehouseError(BfplanError):
    """A warehouse operation failed. ``transient`` errors are retried with backoff.

    ``environment`` errors come from the machine, not from the node's data or code: the disk is
    full, the file system is read-only, a permission is missing. Every other node would fail the
    same way, so they are never retried, never count towards a circuit breaker, and stop the run.
    """

    exit_code = 3

    def __init__(self, message: str, *, transient: bool = False, environment: bool = False) -> None:
        super().__init__(message)
        self.transient = transient and not environment
        self.environment = environment


class WarehouseUnavailable(WarehouseError):
    """The warehouse cannot be opened or reached at all."""


class LockError(BfplanError):
    """Another run holds the plan's run lock (``progress``: where that run publishes its progress)."""

    exit_code = 3

    def __init__(self, message: str, *, progress: Path | None = None) -> None:
        super().__init__(message)
        self.progress = progress


class Interrupted(BfplanError):
    """The run was stopped by SIGINT/SIGTERM; the ledger is consistent and a re-run resumes."""

    exit_code = 130
