"""``FakeRuntime``: fake ``ollama`` and ``lms`` first on PATH, a shared state, no GPU.

Test your own automation against Ollama and LM Studio without installing either::

    from lmsdrive.testing.runtime import FakeRuntime

    with FakeRuntime(models_downloaded=["llama3.2:3b"], server_running=True) as rt:
        subprocess.run(["ollama", "list"])          # the fake, first on PATH
        httpx.get(rt.ollama_url + "/api/tags")       # the fake server
        assert rt.spawn_count() == 1

On entry it creates a temporary directory with executables ``ollama`` and ``lms`` (Python
scripts running :mod:`lmsdrive.testing.fake_cli`), a state file, and sets (in
``os.environ`` unless ``patch_environ=False``; always available as :attr:`env`):
``PATH`` (the fakes first; directories holding a real ``ollama``/``lms`` are dropped),
``LMSDRIVE_FAKE_STATE``, ``OLLAMA_HOST`` and ``LMSTUDIO_URL`` (two free loopback ports; the
fake LM Studio's "last used port" is the latter), ``HOME`` and ``LOCALAPPDATA`` (a fresh
directory, so the LM Studio install directories ``~/.lmstudio/bin``, the home pointer and
``~/.ollama`` are absent), ``LMSDRIVE_INSTALL_ROOT`` (an empty directory: discovery finds no
``/usr/local/bin/ollama`` or other system-wide install), and unsets
``LMSDRIVE_OLLAMA_BIN``/``LMSDRIVE_LMS_BIN``. On exit every process it or the fakes started
is terminated (servers included, found by their command line naming the temporary
directory), the environment is restored and the directory removed.

Options: ``backends`` (leave one out to simulate "not installed"); ``models_downloaded`` /
``models_loaded`` (a list of names goes to every backend, a mapping ``{"ollama": [...],
"lms": [...]}`` per backend; loaded implies downloaded; Ollama models are loaded after its
server starts, since a starting ``ollama serve`` has nothing loaded); ``server_running``
(``True``, or the backends whose server runs); ``registry`` (extra pullable names);
``lms_daemon_down`` (LM Studio's daemon is down and lms commands do not wake it: they fail
with the recorded "LM Studio daemon is not running…" error until ``lms daemon up``); any
:class:`~lmsdrive.testing.fake_state.Knobs` field as a keyword (``pull_seconds=0.2``,
``pull_dies_at_percent=40``, ``serve_hangs=True``, ``port_taken=True``, ...).
``port_taken=True`` makes a foreign HTTP server hold both ports.

Servers of 2026 (issue 9): ``api_token="sk-…"`` makes both fake servers answer 401 without
that bearer token; ``lms_rest_v1=False`` makes the fake LM Studio an older one (HTTP 200 and
an ``error`` body on the REST v1 routes); ``remote=True`` leaves the fake ``ollama``/``lms``
off ``PATH`` (the servers still run, started by this runtime): what a client machine sees of
a server on another host. The servers still listen on loopback, so a test also tells the
backend to treat its URL as remote (``OllamaBackend(url, remote=True)``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, TypeAlias

from ..discovery import INSTALL_ROOT_VARIABLE
from .fake_cli import kill_pid
from .fake_state import (
    BACKENDS,
    ENV_NO_SPAWN_LOG,
    ENV_OWNER,
    ENV_STATE,
    FakeState,
    Knobs,
    RegistryEntry,
    edit_state,
    load_state,
    make_model,
    read_requests,
    read_spawns,
    request_log,
    save_state,
    spawn_log,
)
from .fakes import FAKES, get_fake

_PKG_PARENT = str(Path(__file__).resolve().parent.parent.parent)
_KNOB_NAMES = {f.name for f in dataclasses.fields(Knobs)}
_UNSET = ("LMSDRIVE_OLLAMA_BIN", "LMSDRIVE_LMS_BIN")

Names: TypeAlias = Sequence[str] | Mapping[str, Sequence[str]]


def free_port() -> int:
    """A loopback port free at the moment (released at once: for a URL nothing answers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def held_port() -> socket.socket:
    """A free loopback port, held: bound with ``SO_REUSEADDR`` and never listening, so no
    other bind to port 0 and no outgoing connection's source port takes it, while a fake
    server (``SO_REUSEADDR`` too) can still bind it. Linux allows that second bind; BSD
    rules (macOS) refuse it, so there :class:`FakeRuntime` releases the port at once."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    return s


class _Foreign(BaseHTTPRequestHandler):
    """Something else on the port: answers every request with an nginx-style 404."""

    def _answer(self) -> None:
        body = b"<html><head><title>404 Not Found</title></head><body>404 Not Found</body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _answer

    def version_string(self) -> str:
        return "nginx/1.24.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _script(tool: str) -> str:
    shebang = f"#!{sys.executable}"
    body = (
        "import sys\n"
        f"sys.path.insert(0, {_PKG_PARENT!r})\n"
        "from lmsdrive.testing.fake_cli import main\n"
        f"sys.exit(main([{tool!r}, *sys.argv[1:]]))\n"
    )
    if len(shebang) < 120 and " " not in sys.executable:
        return f"{shebang}\n{body}"
    code = body.replace("'", "'\"'\"'")
    return f"#!/bin/sh\nexec '{sys.executable}' -c '{code}' \"$@\"\n"


def _per_backend(names: Names, backends: Iterable[str]) -> dict[str, list[str]]:
    if isinstance(names, Mapping):
        return {b: list(names.get(b, ())) for b in backends}
    return {b: list(names) for b in backends}


class FakeRuntime:
    """Fake Ollama and LM Studio installations for a test (see the module docstring)."""

    def __init__(
        self,
        *,
        backends: Sequence[str] = BACKENDS,
        models_downloaded: Names = (),
        models_loaded: Names = (),
        server_running: bool | Sequence[str] = False,
        registry: Mapping[str, RegistryEntry] | None = None,
        patch_environ: bool = True,
        isolate_home: bool = True,
        lms_daemon_down: bool = False,
        remote: bool = False,
        **knobs: Any,
    ) -> None:
        unknown = set(knobs) - _KNOB_NAMES
        if unknown:
            raise TypeError(f"unknown knob(s) {sorted(unknown)}; known: {sorted(_KNOB_NAMES)}")
        bad = set(backends) - set(BACKENDS)
        if bad:
            raise ValueError(f"unknown backend(s) {sorted(bad)}; expected some of {BACKENDS}")
        self.backends = tuple(backends)
        self.models_downloaded = _per_backend(models_downloaded, self.backends)
        self.models_loaded = _per_backend(models_loaded, self.backends)
        if isinstance(server_running, bool):
            self.server_running = self.backends if server_running else ()
        else:
            self.server_running = tuple(b for b in server_running if b in self.backends)
        self.registry = dict(registry or {})
        #: LM Studio's daemon (llmster) is down and lms commands do not wake it: they fail
        #: with the recorded "daemon is not running" error until ``lms daemon up``.
        self.lms_daemon_down = lms_daemon_down
        if lms_daemon_down:
            if "lms" in self.server_running or self.models_loaded.get("lms"):
                raise ValueError("lms_daemon_down: no LM Studio server or loaded model can run")
            knobs.setdefault("lms_daemon_wakes", False)
        self.knobs = knobs
        #: The fake CLIs are not on PATH (a client of a server on another host).
        self.remote = remote
        self.patch_environ = patch_environ
        self.isolate_home = isolate_home
        self.dir = Path()
        self.env: dict[str, str] = {}
        self._saved_env: dict[str, str | None] = {}
        self._procs: list[subprocess.Popen[bytes]] = []
        self._foreign: list[ThreadingHTTPServer] = []
        self._held: list[socket.socket] = []
        self._started = False
        self.ports: dict[str, int] = {}

    # --- paths and addresses ---------------------------------------------------------------
    @property
    def bin_dir(self) -> Path:
        return self.dir / "bin"

    @property
    def state_path(self) -> Path:
        return self.dir / "state" / "state.json"

    def url(self, backend: str) -> str:
        return f"http://127.0.0.1:{self.ports[backend]}"

    @property
    def ollama_port(self) -> int:
        return self.ports["ollama"]

    @property
    def lms_port(self) -> int:
        return self.ports["lms"]

    @property
    def ollama_url(self) -> str:
        return self.url("ollama")

    @property
    def lms_url(self) -> str:
        return self.url("lms")

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeRuntime:
        if self._started:
            return self
        self._started = True
        self.dir = Path(tempfile.mkdtemp(prefix="lmsdrive-fake-"))
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def _setup(self) -> None:
        self.bin_dir.mkdir()
        self.state_path.parent.mkdir()
        knobs = Knobs(**self.knobs)
        # a port per registered runtime, even one left out (its variable points there): a
        # server started with the runtime binds port 0 and records the port it got; the
        # other ports are held until the runtime closes, so that nothing else takes one
        # before its server starts (a port bound and released could be)
        for name in FAKES:
            self.ports[name] = 0
            if name not in self.server_running or knobs.port_taken:
                self.ports[name] = self._hold_port()

        state = FakeState(knobs=knobs)
        state.registry.update(self.registry)
        now = time.time()
        for b in self.backends:
            side = state.backend(b)
            norm = get_fake(b).normalize
            names = [norm(n) for n in self.models_downloaded[b] + self.models_loaded[b]]
            for i, name in enumerate(dict.fromkeys(names)):
                # older first: `ollama list` shows the newest first
                side.downloaded.append(
                    make_model(name, state.registry.get(name), modified_at=now - 3600 * (i + 1))
                )
        save_state(self.state_path, state)

        for b in self.backends:
            exe = self.bin_dir / b
            exe.write_text(_script(b), encoding="utf-8")
            exe.chmod(0o755)

        if knobs.port_taken:
            for port in self.ports.values():
                holder = ThreadingHTTPServer(("127.0.0.1", port), _Foreign)
                holder.daemon_threads = True
                threading.Thread(target=holder.serve_forever, daemon=True).start()
                self._foreign.append(holder)
        self.env = self._make_env()
        for b in FAKES:
            if b in self.server_running:
                self.start_server(b)
        with edit_state(self.state_path) as st:
            for name, port in self.ports.items():
                up = name in self.server_running or bool(self.models_loaded.get(name))
                get_fake(name).seed(st.backend(name), port, up)

        self.env = self._make_env()
        if self.patch_environ:
            for k, v in self.env_changes().items():
                self._saved_env[k] = os.environ.get(k)
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self._load_models()

    def _hold_port(self) -> int:
        sock = held_port()
        port = int(sock.getsockname()[1])
        if sys.platform.startswith("linux"):
            self._held.append(sock)
        else:
            sock.close()
        return port

    def _load_models(self) -> None:
        """The ``models_loaded``, once the servers run (an Ollama server starts empty)."""
        now = time.time()
        with edit_state(self.state_path) as state:
            for b in self.backends:
                side = state.backend(b)
                spec = get_fake(b)
                for name in dict.fromkeys(spec.normalize(n) for n in self.models_loaded[b]):
                    model = side.find(name)
                    assert model is not None
                    side.loaded.append(spec.loaded(model, now))

    def _make_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({k: v for k, v in self.env_changes().items() if v is not None})
        for k in _UNSET:
            env.pop(k, None)
        return env

    def env_changes(self) -> dict[str, str | None]:
        """The variables this runtime sets (``None``: unset), e.g. for ``monkeypatch``."""
        kept = []
        for d in os.environ.get("PATH", "").split(os.pathsep):
            if d and any(os.access(os.path.join(d, t), os.X_OK) for t in BACKENDS):
                continue
            kept.append(d)
        first = [] if self.remote else [str(self.bin_dir)]
        changes: dict[str, str | None] = {
            "PATH": os.pathsep.join([*first, *kept]),
            ENV_STATE: str(self.state_path),
            ENV_OWNER: str(os.getpid()),
        }
        for name, port in self.ports.items():
            changes.update(get_fake(name).env(port))
        # every place discovery looks beside PATH: the system-wide install folders (under
        # the install root) and the per-user ones (under HOME, LOCALAPPDATA) are ours, empty
        root = self.dir / "root"
        root.mkdir(exist_ok=True)
        changes[INSTALL_ROOT_VARIABLE] = str(root)
        if self.isolate_home:
            home = self.dir / "home"
            home.mkdir(exist_ok=True)
            changes["HOME"] = str(home)
            changes["LOCALAPPDATA"] = str(home / "AppData" / "Local")
        for k in _UNSET:
            changes[k] = None
        return changes

    def start_server(self, backend: str, timeout: float = 60.0) -> None:
        """Start a backend's server as a detached process (not counted as a spawn) and wait
        until it answers. On port 0 (a server started with the runtime) the server binds a
        free port and records it in the state; that becomes the backend's port."""
        env = dict(self.env)
        env[ENV_NO_SPAWN_LOG] = "1"
        proc, path = get_fake(backend).start_server(
            self.state_path, self.bin_dir, env, self.ports[backend]
        )
        self._procs.append(proc)
        deadline = time.monotonic() + timeout
        port = self.ports[backend] = self._bound_port(backend, proc, deadline)
        if load_state(self.state_path).knobs.serve_hangs:
            return
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"fake {backend} server exited with {proc.returncode}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", path)
                if conn.getresponse().status in (200, 401):  # 401: it wants a token
                    conn.close()
                    return
                conn.close()
            time.sleep(0.02)
        raise TimeoutError(f"fake {backend} server did not answer within {timeout} s")

    def _bound_port(self, backend: str, proc: subprocess.Popen[bytes], deadline: float) -> int:
        """The port ``proc`` bound, once it has recorded itself as the backend's server."""
        while time.monotonic() < deadline:
            srv = load_state(self.state_path).backend(backend).server
            if srv is not None and srv.pid == proc.pid and srv.port:
                return srv.port
            if proc.poll() is not None:
                raise RuntimeError(f"fake {backend} server exited with {proc.returncode}")
            time.sleep(0.02)
        raise TimeoutError(f"fake {backend} server did not bind its port in time")

    def stop_server(self, backend: str) -> None:
        """Kill a backend's server, as if it crashed or was stopped outside the test."""
        st = load_state(self.state_path)
        srv = st.backend(backend).server
        if srv is not None:
            kill_pid(srv.pid)
            with edit_state(self.state_path) as s:
                s.backend(backend).server = None

    def close(self) -> None:
        """Terminate every process started here or by the fakes; restore the environment."""
        if not self._started:
            return
        self._started = False
        pids: set[int] = set(self._owned_pids())
        with contextlib.suppress(Exception):
            st = load_state(self.state_path)
            for b in BACKENDS:
                srv = st.backend(b).server
                if srv is not None and self._is_ours(srv.pid):
                    pids.add(srv.pid)
        for proc in self._procs:
            if proc.poll() is None:
                pids.add(proc.pid)
        for pid in pids:
            kill_pid(pid)
        for proc in self._procs:
            with contextlib.suppress(Exception):
                proc.wait(timeout=5)
        self._procs.clear()
        for foreign in self._foreign:
            foreign.shutdown()
            foreign.server_close()
        self._foreign.clear()
        for sock in self._held:
            sock.close()
        self._held.clear()
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved_env.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _owned_pids(self) -> Iterable[int]:
        """Live processes whose command line names our directory (Linux ``/proc``)."""
        proc = Path("/proc")
        if not proc.is_dir():
            return
        needle = str(self.dir).encode()
        me = os.getpid()
        for entry in proc.iterdir():
            if not entry.name.isdigit() or int(entry.name) == me:
                continue
            with contextlib.suppress(OSError):
                if needle in (entry / "cmdline").read_bytes():
                    yield int(entry.name)

    def _is_ours(self, pid: int) -> bool:
        cmdline = Path(f"/proc/{pid}/cmdline")
        if not cmdline.parent.is_dir():
            try:
                os.kill(pid, 0)
            except OSError:
                return False
            return True
        with contextlib.suppress(OSError):
            return str(self.dir).encode() in cmdline.read_bytes()
        return False

    def __enter__(self) -> FakeRuntime:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- inspection and control ------------------------------------------------------------
    def state(self) -> FakeState:
        return load_state(self.state_path)

    @contextlib.contextmanager
    def edit(self) -> Any:
        """``with rt.edit() as st: st.knobs.generate_text = "hi"`` (locked read-modify-write)."""
        with edit_state(self.state_path) as st:
            yield st

    def set(self, **knobs: Any) -> None:
        """Change knobs while the runtime runs: ``rt.set(pull_dies_at_percent=50)``."""
        unknown = set(knobs) - _KNOB_NAMES
        if unknown:
            raise TypeError(f"unknown knob(s) {sorted(unknown)}")
        with edit_state(self.state_path) as st:
            for k, v in knobs.items():
                setattr(st.knobs, k, v)

    def spawns(self) -> list[dict[str, Any]]:
        """Every fake CLI invocation so far: ``{"argv": ["ollama", "list"], "pid", "time"}``."""
        return read_spawns(self.state_path)

    def spawn_count(self) -> int:
        return len(self.spawns())

    def requests(self, server: str | None = None) -> list[dict[str, Any]]:
        """HTTP requests the fake servers answered: ``{"server", "method", "path", ...}``."""
        out = read_requests(self.state_path)
        return [r for r in out if server is None or r["server"] == server]

    def reset_counts(self) -> None:
        for p in (spawn_log(self.state_path), request_log(self.state_path)):
            p.unlink(missing_ok=True)

    def server_pid(self, backend: str) -> int | None:
        srv = self.state().backend(backend).server
        return None if srv is None else srv.pid
