#!/usr/bin/env python3
"""A local BigQuery emulator for bfplan's tests and demos (standard library only).

    python3 tools/bq_emulator.py setup            # create/update .venv-bq (idempotent)
    python3 tools/bq_emulator.py start [--port N] # prints BIGQUERY_EMULATOR_HOST=http://127.0.0.1:PORT
    python3 tools/bq_emulator.py status
    python3 tools/bq_emulator.py stop

The emulator is ``bqemulator`` (REST + gRPC, DuckDB inside) in its own virtualenv,
``.venv-bq``: it pins its own DuckDB and ships a pytest plugin that needs testcontainers, so
it must stay out of the project's venv. It is started through a small launcher (written into
that venv) that works around three things, each checked against bqemulator 1.4.0:

- it runs ``INSTALL spatial`` at start-up, which needs the network: ``setup`` installs the
  extension from the ``duckdb-extension-spatial`` wheel into an extension directory inside
  the venv, and the launcher points every DuckDB connection at that directory;
- small load jobs fail with "unsupported Content-Type '*/*'": the launcher adds ``*/*`` to
  the upload whitelist;
- query parameters are dropped from multi-statement scripts ("Values were not provided for
  the following prepared statement parameters"), while real BigQuery binds them in every
  statement of a script: the launcher passes the job's parameters to the script
  interpreter. (bfplan's atomic partition rewrites are one parameterized script.)

State lives in ``.bfplan/``: ``bq-emulator.json`` (pid, ports, log) and ``bq-emulator.log``.
The functions :func:`setup`, :func:`start`, :func:`stop` and :func:`running` are what the
test session imports.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv-bq"
STATE_DIR = REPO / ".bfplan"
STATE_FILE = STATE_DIR / "bq-emulator.json"
LOG_FILE = STATE_DIR / "bq-emulator.log"
SETUP_LOG = STATE_DIR / "bq-emulator-setup.log"
LOCK_FILE = STATE_DIR / "bq-emulator.lock"

#: What .venv-bq holds. bqemulator pins duckdb 1.5.5; the spatial wheel must match it.
PACKAGES = ("bqemulator==1.4.0", "duckdb==1.5.5", "duckdb-extension-spatial==1.5.5", "numpy")
MARKER = VENV / ".bfplan-setup.json"
EXTENSION_DIR = VENV / "duckdb-extensions"
LAUNCHER = VENV / "bfplan_launch_bqemulator.py"
HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
ENV_HOST = "BIGQUERY_EMULATOR_HOST"

#: emulators started by this process: kept so that they are reaped, not left as zombies
_children: list[subprocess.Popen[bytes]] = []

LAUNCHER_SOURCE = '''\
"""Start bqemulator with bfplan's offline and parity fixes (written by tools/bq_emulator.py)."""
import contextvars
import os
import sys

import duckdb

EXTENSION_DIR = os.environ["BFPLAN_BQEMU_EXTENSION_DIR"]
_connect = duckdb.connect


def connect(*args, **kwargs):
    # Every connection finds spatial in the venv's extension directory: no download.
    config = dict(kwargs.pop("config", None) or {})
    config.setdefault("extension_directory", EXTENSION_DIR)
    return _connect(*args, config=config, **kwargs)


duckdb.connect = connect

from bqemulator.api.routes import upload  # noqa: E402

upload._PERMITTED_MEDIA_CONTENT_TYPES = (*upload._PERMITTED_MEDIA_CONTENT_TYPES, "*/*")

from bqemulator.jobs import executor  # noqa: E402
from bqemulator.scripting import interpreter  # noqa: E402

_script_params = contextvars.ContextVar("bfplan_script_params", default=None)
_run_query_body = executor._run_query_body


async def run_query_body(**kwargs):
    token = _script_params.set(kwargs.get("query_params") if kwargs.get("is_scripted") else None)
    try:
        return await _run_query_body(**kwargs)
    finally:
        _script_params.reset(token)


executor._run_query_body = run_query_body
_bind_parameters = interpreter.bind_parameters


def bind_parameters(sql, query_parameters=None):
    # Script statements are bound with the job's named parameters, as BigQuery does.
    return _bind_parameters(sql, query_parameters if query_parameters is not None else _script_params.get())


interpreter.bind_parameters = bind_parameters

from bqemulator.cli import main  # noqa: E402

sys.argv[0] = "bqemulator"
sys.exit(main())
'''


class EmulatorError(Exception):
    """A one-line reason why the emulator could not be set up, started or stopped."""


# -- setup ------------------------------------------------------------------------------------
def _venv_python() -> Path:
    return VENV / "bin" / "python"


def _wanted_marker() -> dict[str, object]:
    return {"packages": list(PACKAGES)}


def is_set_up() -> bool:
    """Whether .venv-bq holds exactly :data:`PACKAGES` and the spatial extension."""
    try:
        marker = json.loads(MARKER.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker == _wanted_marker() and _venv_python().exists()


def _run_logged(cmd: list[str], what: str) -> None:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with SETUP_LOG.open("a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(cmd)}\n")
        log.flush()
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False)
    if proc.returncode != 0:
        lines = [ln for ln in SETUP_LOG.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
        last = lines[-1].strip() if lines else ""
        raise EmulatorError(f"{what} failed (exit {proc.returncode}, see {_rel(SETUP_LOG)}): {last}")


# Installs the extension shipped in the spatial wheel into the venv's extension directory.
_INSTALL_SPATIAL = """
import pathlib, sys, duckdb, duckdb_extension_spatial
found = sorted(pathlib.Path(duckdb_extension_spatial.__file__).parent.rglob("spatial.duckdb_extension"))
if not found:
    sys.exit("no spatial.duckdb_extension inside the duckdb-extension-spatial wheel")
con = duckdb.connect(":memory:", config={"extension_directory": sys.argv[1]})
con.execute("INSTALL '" + str(found[-1]).replace("'", "''") + "'")
con.execute("LOAD spatial")
"""


def setup(*, force: bool = False) -> bool:
    """Create or update .venv-bq; returns False when it was already complete (nothing done)."""
    if not force and is_set_up():
        return False
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    SETUP_LOG.write_text("", encoding="utf-8")
    with contextlib.suppress(FileNotFoundError):
        MARKER.unlink()
    if not _venv_python().exists():  # absent, or its interpreter is gone: start afresh
        _run_logged([sys.executable, "-m", "venv", "--clear", str(VENV)], "creating .venv-bq")
    pip = [str(_venv_python()), "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _run_logged([*pip, "install", "--quiet", *PACKAGES], "pip install " + " ".join(PACKAGES))
    _run_logged([str(_venv_python()), "-c", _INSTALL_SPATIAL, str(EXTENSION_DIR)], "installing the spatial extension")
    _write_launcher()
    MARKER.write_text(json.dumps(_wanted_marker()), encoding="utf-8")
    return True


def _write_launcher() -> None:
    if not LAUNCHER.exists() or LAUNCHER.read_text(encoding="utf-8") != LAUNCHER_SOURCE:
        LAUNCHER.write_text(LAUNCHER_SOURCE, encoding="utf-8")


# -- state ------------------------------------------------------------------------------------
@contextlib.contextmanager
def _locked() -> Iterator[None]:
    # Two test sessions (or make targets) starting at once must not start two emulators.
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with LOCK_FILE.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_state() -> dict[str, object] | None:
    try:
        state = json.loads(STATE_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _is_our_process(pid: int) -> bool:
    """The pid is alive and is our launcher (not a recycled pid of something else)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc: trust the pid
    return LAUNCHER.name.encode() in cmdline


def _healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=timeout) as resp:
            return resp.status == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False


def running() -> str | None:
    """The host URL of the emulator this tool started, if it is alive and healthy."""
    state = _read_state()
    if not state:
        return None
    pid, url = state.get("pid"), state.get("url")
    if isinstance(pid, int) and isinstance(url, str) and _is_our_process(pid) and _healthy(url):
        return url
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _last_log_line() -> str:
    """Why the emulator died: the last exception line of its log (not uvicorn's SystemExit)."""
    try:
        lines = [ln.strip() for ln in LOG_FILE.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    for line in reversed(lines):
        with contextlib.suppress(ValueError, AttributeError):
            error = json.loads(line).get("error")
            if error:
                return str(error).splitlines()[0][:300]
        if re.match(r"^[\w.]*(Error|Exception): ", line):
            return line[:300]
    return lines[-1][:300] if lines else ""


# -- start / stop -----------------------------------------------------------------------------
def start(port: int | None = None, grpc_port: int | None = None) -> str:
    """Start the emulator on 127.0.0.1 (or reuse the running one) and return its host URL."""
    with _locked():
        url = running()
        if url:
            return url
        _forget_stale()
        if not is_set_up():
            raise EmulatorError(".venv-bq is not set up: run `python3 tools/bq_emulator.py setup` first")
        _write_launcher()
        rest = port or _free_port()
        grpc = grpc_port or _free_port()
        while grpc == rest:
            grpc = _free_port()
        url = f"http://{HOST}:{rest}"
        cmd = [str(_venv_python()), str(LAUNCHER), "start", "--ephemeral",
               "--rest-host", HOST, "--rest-port", str(rest), "--grpc-host", HOST, "--grpc-port", str(grpc),
               "--log-format", "json", "--log-level", os.environ.get("BFPLAN_BQEMU_LOG_LEVEL", "warning")]
        env = {**os.environ, "BFPLAN_BQEMU_EXTENSION_DIR": str(EXTENSION_DIR),
               # avro is fetched from the network at start-up; bfplan never loads Avro files
               "BQEMU_ENABLE_FORMAT_EXTENSIONS": "false"}
        env.pop(ENV_HOST, None)
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with LOG_FILE.open("w", encoding="utf-8") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, cwd=str(REPO), start_new_session=True)
        _children.append(proc)
        while not _healthy(url, timeout=0.5):
            if proc.poll() is not None:
                raise EmulatorError(f"emulator exited with code {proc.returncode} ({_rel(LOG_FILE)}): "
                                    f"{_last_log_line()}")
            if time.monotonic() - started > START_TIMEOUT_S:
                _terminate(proc.pid)
                raise EmulatorError(f"emulator not healthy after {START_TIMEOUT_S:.0f}s ({_rel(LOG_FILE)})")
            time.sleep(0.05)
        state = {"pid": proc.pid, "url": url, "rest_port": rest, "grpc_port": grpc, "log": str(LOG_FILE),
                 "started_at": time.time(), "start_s": round(time.monotonic() - started, 2),
                 "packages": list(PACKAGES)}
        STATE_FILE.write_text(json.dumps(state, indent=2), encoding="utf-8")
        return url


def _forget_stale() -> None:
    state = _read_state()
    if state is None:
        STATE_FILE.unlink(missing_ok=True)
        return
    pid = state.get("pid")
    if isinstance(pid, int) and _is_our_process(pid):
        _terminate(pid)  # alive but not answering: replace it
    STATE_FILE.unlink(missing_ok=True)


def _terminate(pid: int) -> None:
    """SIGTERM the emulator's process group, then SIGKILL it if it is still there."""
    for sig, wait_s in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            if not _is_our_process(pid):
                return
            time.sleep(0.05)


def stop() -> bool:
    """Stop the emulator this tool started; False when none was running."""
    with _locked():
        state = _read_state()
        STATE_FILE.unlink(missing_ok=True)
        pid = state.get("pid") if state else None
        if not isinstance(pid, int) or not _is_our_process(pid):
            return False
        _terminate(pid)
        return True


# -- command line -----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """``setup | start [--port N] | stop | status``; errors are one line on stderr, exit 1."""
    parser = argparse.ArgumentParser(prog="bq_emulator.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_setup = sub.add_parser("setup", help="create or update .venv-bq (skipped when complete)")
    p_setup.add_argument("--force", action="store_true", help="reinstall even when complete")
    p_start = sub.add_parser("start", help="start in the background; print BIGQUERY_EMULATOR_HOST=...")
    p_start.add_argument("--port", type=int, help="REST port (default: a free one)")
    p_start.add_argument("--grpc-port", type=int, help="gRPC port (default: a free one)")
    sub.add_parser("stop", help="stop the emulator started by `start`")
    sub.add_parser("status", help="say whether it runs (exit 0) or not (exit 1)")
    args = parser.parse_args(argv)
    try:
        if args.command == "setup":
            began = time.monotonic()
            did = setup(force=args.force)
            what = f"set up in {time.monotonic() - began:.1f}s" if did else "already set up"
            print(f"bq_emulator: .venv-bq {what} ({', '.join(PACKAGES)})", file=sys.stderr)
        elif args.command == "start":
            print(f"{ENV_HOST}={start(args.port, args.grpc_port)}")
        elif args.command == "stop":
            print("bq_emulator: stopped" if stop() else "bq_emulator: not running", file=sys.stderr)
        else:
            url = running()
            state = _read_state() or {}
            if not url:
                print("bq_emulator: not running", file=sys.stderr)
                return 1
            print(f"bq_emulator: running, pid {state.get('pid')}, {ENV_HOST}={url}, log {state.get('log')}")
    except EmulatorError as exc:
        print(f"bq_emulator: {args.command}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"bq_emulator: {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
