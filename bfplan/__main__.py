"""``python -m bfplan`` and the ``bfplan`` console script.

Nothing heavy is imported before the Ctrl-C guard is in place: SIGINT at any moment after this
module starts exits 130, never with a traceback or click's "Aborted!" (exit 1).
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Import the command line under the guard, then run it (it guards itself from there)."""
    from bfplan.interrupts import install

    install()
    try:
        from bfplan.cli import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
        os._exit(130)  # not sys.exit: see bfplan.cli.leave
    cli_main()


if __name__ == "__main__":
    main()
