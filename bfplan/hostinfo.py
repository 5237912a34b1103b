"""Facts about processes on this host, for locks held by processes that may have died."""

from __future__ import annotations

import os
import socket


def host() -> str:
    """This machine's name, as lock records and holder files write it."""
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except (OverflowError, ValueError, TypeError):
        return False
    return True
