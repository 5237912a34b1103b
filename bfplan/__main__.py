"""``bfplan`` (the console script) and ``python -m bfplan``.

Nothing heavy is imported before the Ctrl-C guard is in place, and the process ends through
:func:`leave`: SIGINT at any moment after this module starts exits 130 — never a traceback,
never click's "Aborted!" (exit 1).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from bfplan import interrupts


def main() -> None:
    """Run the command line under the guard; end the process with its exit code."""
    interrupts.install()
    try:
        import click

        from bfplan.cli import cli
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        _interrupted_now()
    try:
        try:
            code = cli.main(prog_name="bfplan", standalone_mode=False)
            code = code if isinstance(code, int) else 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
        leave(code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        sys.stderr.write("interrupted\n")
        leave(130)


def leave(code: int) -> None:
    """End the process with ``code`` — 130 if a Ctrl-C came at any point (even one a library
    swallowed, or one during a run's last node).

    The process ends here, at once (``os._exit`` after flushing): every command has closed its
    warehouse by now, and Python's own shutdown would restore the default SIGINT action, so a
    Ctrl-C in its last milliseconds would kill the process by signal instead of exit 130 (as
    would CPython 3.11 after a Ctrl-C that ever landed inside ``exec()`` of a string, which is
    how dataclasses build their methods, handled or not)."""
    signal.signal(signal.SIGINT, _interrupted_now)
    if interrupts.seen() and code != 130:
        sys.stderr.write("interrupted\n")
        code = 130
    _flush()
    os._exit(code)


def _interrupted_now(*_: object) -> None:
    _flush()
    os._exit(130)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


if __name__ == "__main__":
    main()
