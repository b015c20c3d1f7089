"""The fake executables and what they share: ``python -m lmsdrive.testing.fake_cli TOOL ARGS``.

``TOOL`` is a runtime of the registry (:mod:`lmsdrive.testing.fakes`): ``ollama`` runs
:mod:`.fake_ollama`, ``lms`` :mod:`.fake_lmstudio`. Each prints what the real one prints, on
the same streams, with the same exit codes, from the state file named by
``LMSDRIVE_FAKE_STATE`` (see :mod:`lmsdrive.testing.fake_state`). Every invocation is logged
as a spawn. Here too: the process helpers the fakes and :class:`FakeRuntime` share (a tiny
HTTP client, starting a detached fake server, checking and ending a PID).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .fake_state import ENV_NO_SPAWN_LOG, ENV_OWNER, log_spawn, state_path_from_env
from .fakes import FAKES, get_fake

_PKG_PARENT = str(Path(__file__).resolve().parent.parent.parent)
#: The braille spinner both runtimes draw (cli-spinners "dots").
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def out(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()


def err(text: str) -> None:
    sys.stderr.buffer.write(text.encode("utf-8"))
    sys.stderr.buffer.flush()


class CliError(Exception):
    """A fake command's failure, its message as the command prints it."""


# ----- HTTP -----------------------------------------------------------------------------------


class Conn:
    """A tiny HTTP client (stdlib), like the runtimes' own clients."""

    def __init__(self, host: str, port: int, timeout: float | None = None) -> None:
        self.host, self.port, self.timeout = host, port, timeout

    def request(
        self, method: str, path: str, body: object = None
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        return conn, conn.getresponse()

    def json(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        conn, resp = self.request(method, path, body)
        try:
            raw = resp.read()
        finally:
            conn.close()
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, raw.decode("utf-8", "replace")


def spawn_server(
    state_path: Path, flavor: str, port: int, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a fake HTTP server detached (own session, no terminal), as a runtime's
    background service runs: ``python -m lmsdrive.testing.fake_server`` (in ``env``, by
    default this process's environment)."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = _PKG_PARENT + os.pathsep + env.get("PYTHONPATH", "")
    log = open(state_path.with_name(f"{flavor}-server.log"), "ab")  # noqa: SIM115
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lmsdrive.testing.fake_server",
                "--state",
                str(state_path),
                "--flavor",
                flavor,
                "--port",
                str(port),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        log.close()


def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting for a parent that does not reap."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def kill_pid(pid: int, timeout: float = 3.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; reaps it when it is our child."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
        except ChildProcessError:
            pass
        if not pid_alive(pid):
            return
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def stop_on_signals() -> threading.Event:
    """An event SIGTERM and SIGINT set (a fake server's graceful stop)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return stop


def serve_until(stop: threading.Event) -> None:
    """Wait for ``stop``, or until the process that made the fake runtime (``$LMSDRIVE_FAKE_OWNER``)
    is gone: a fake server never outlives its test run, even one killed (SIGTERM, SIGKILL)
    before its teardown could stop it."""
    owner = int(os.environ.get(ENV_OWNER) or 0)
    while not stop.wait(0.1):
        if owner and not pid_alive(owner):
            return


# ----- entry point ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in FAKES:
        err(f"usage: python -m lmsdrive.testing.fake_cli {'|'.join(FAKES)} ARGS...\n")
        return 2
    tool, args = argv[0], argv[1:]
    try:
        state_path = state_path_from_env()
    except RuntimeError as e:
        err(f"{e}\n")
        return 2
    if not os.environ.get(ENV_NO_SPAWN_LOG):
        log_spawn(state_path, [tool, *args])
    try:
        return get_fake(tool).cli(state_path).run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
