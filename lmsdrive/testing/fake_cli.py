"""Fake ``ollama`` and ``lms`` commands: ``python -m lmsdrive.testing.fake_cli ollama|lms ARGS``.

They print what the real ones print (``ollama`` 0.12.3 by default, ``lms`` of 2026), on the
same streams, with the same exit codes, from the state file named by
``LMSDRIVE_FAKE_STATE`` (see :mod:`lmsdrive.testing.fake_state`).

``ollama`` (docs/reference/ollama-cli.md): ``serve`` runs :class:`FakeServer` in the foreground on
``OLLAMA_HOST`` (parsed like Ollama), logs slog lines and the readiness line
``msg="Listening on 127.0.0.1:PORT (version 0.12.3)"`` on stderr, a Gin line per request,
serves until SIGTERM/SIGINT (exit 0); a taken port gives ``Error: listen tcp ADDR: bind:
address already in use`` (exit 1). ``list``/``ls``, ``ps``, ``pull``, ``--version``/``-v``
talk HTTP to the server as the real client does (``HEAD /`` first): no server gives
``Error: ollama server not responding - could not connect to ollama server, run 'ollama
serve' to start it`` (v0.7.1 – v0.15.4 wording; without the prefix from v0.15.5). ``pull``
renders ``/api/pull`` as the v0.5.12+ progress animation on stderr (redrawn every 100 ms).

``lms`` (docs/reference/lms-cli.md, E4/E5 formats): ``server start|stop|status [--json]``,
``status``, ``ls``/``ps`` (``--json``), ``get NAME[@quant] [-y]`` (plan tree, bar frames with
``\\r``/``ESC[s``/``ESC[u``), ``load`` (spinner, GiB size, identifier line), ``unload``,
``version``/``-v``. Commands that need LM Studio wake its service first (``Waking up LM
Studio service...``). Texts not recorded anywhere and therefore approximations: the error when
the service dies during ``lms get`` and the chat error for a model that is not loaded while
another one is.
"""

from __future__ import annotations

import datetime as _dt
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from . import _fake_render as R
from .fake_state import (
    ENV_NO_SPAWN_LOG,
    Loaded,
    RegistryEntry,
    Server,
    edit_state,
    lms_key,
    load_state,
    log_spawn,
    make_model,
    state_path_from_env,
)

OLLAMA_DEFAULT_PORT = 11434
LMS_DEFAULT_PORT = 1234
_PKG_PARENT = str(Path(__file__).resolve().parent.parent.parent)


def _out(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()


def _err(text: str) -> None:
    sys.stderr.buffer.write(text.encode("utf-8"))
    sys.stderr.buffer.flush()


def _version_tuple(v: str) -> tuple[int, ...]:
    out = []
    for part in v.split("-")[0].split("."):
        out.append(int(part) if part.isdigit() else 0)
    return tuple(out)


# ----- HTTP -----------------------------------------------------------------------------------


class _Conn:
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


def parse_ollama_host(value: str | None) -> tuple[str, str, int]:
    """``OLLAMA_HOST`` as Ollama reads it: ``(scheme, host, port)``; ``host`` may be ``""``
    (every interface). ``http://h`` means port 80, ``https://h`` 443, otherwise 11434."""
    v = (value or "").strip().strip("\"'").strip()
    scheme, default = "http", OLLAMA_DEFAULT_PORT
    if "://" in v:
        scheme, v = v.split("://", 1)
        default = {"http": 80, "https": 443}.get(scheme, OLLAMA_DEFAULT_PORT)
    v = v.split("/", 1)[0]
    if not v:
        return scheme, "127.0.0.1", default
    host, port_text = v, ""
    if v.startswith("["):
        host, _, rest = v[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif v.count(":") == 1:
        host, port_text = v.split(":")
    port = default
    if port_text:
        try:
            port = int(port_text)
        except ValueError:
            _err("Warning: invalid port, using default\n")
    return scheme, host, port


# ----- ollama ---------------------------------------------------------------------------------


class Ollama:
    def __init__(self, state_path: Path) -> None:
        self.state_path = state_path
        self.state = load_state(state_path)
        self.version = self.state.knobs.ollama_version
        _, host, port = parse_ollama_host(os.environ.get("OLLAMA_HOST"))
        self.host, self.port = host, port
        client_host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        self.http = _Conn(client_host, port)

    def run(self, args: list[str]) -> int:
        if not args:
            _out(self._usage())
            return 0
        cmd, rest = args[0], args[1:]
        if cmd in ("-v", "--version", "version"):
            return self.version_cmd()
        if cmd in ("-h", "--help", "help"):
            _out(self._usage())
            return 0
        handlers: dict[str, Callable[[list[str]], int]] = {
            "serve": self.serve,
            "list": self.list_cmd,
            "ls": self.list_cmd,
            "ps": self.ps_cmd,
            "pull": self.pull,
        }
        handler = handlers.get(cmd)
        if handler is None:
            _err(f'Error: unknown command "{cmd}" for "ollama"\n')
            return 1
        for a in rest:
            if a in ("-h", "--help"):
                _out(f"Usage:\n  ollama {cmd} [flags]\n\nFlags:\n  -h, --help   help for {cmd}\n")
                return 0
            if a.startswith("-") and a != "--insecure":
                _err(
                    f"Error: unknown flag: {a}\n"
                    if a.startswith("--")
                    else f"Error: unknown shorthand flag: '{a[1:2]}' in {a}\n"
                )
                return 1
        return handler([a for a in rest if not a.startswith("-")])

    @staticmethod
    def _usage() -> str:
        return (
            "Large language model runner\n\nUsage:\n  ollama [flags]\n  ollama [command]\n\n"
            "Available Commands:\n  serve       Start ollama\n  pull        Pull a model from"
            " a registry\n  list        List models\n  ps          List running models\n\n"
            "Flags:\n  -h, --help      help for ollama\n  -v, --version   Show version"
            " information\n"
        )

    # --- serve ---------------------------------------------------------------------------
    def serve(self, args: list[str]) -> int:
        from .fake_server import FakeServer, forget

        bind = self.host or "0.0.0.0"
        shown = f"[::]:{self.port}" if self.host in ("", "0.0.0.0", "::") else None

        def log(line: str) -> None:
            _err(line + "\n")

        def on_die() -> None:
            forget(self.state_path, "ollama", os.getpid())
            os._exit(2)

        try:
            srv = FakeServer(
                self.state_path, flavor="ollama", host=bind, port=self.port, log=log, on_die=on_die
            )
        except OSError as e:
            reason = (e.strerror or str(e))[:1].lower() + (e.strerror or str(e))[1:]
            _err(f"Error: listen tcp {self.host}:{self.port}: bind: {reason}\n")
            return 1
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        with edit_state(self.state_path) as st:
            st.ollama.server = Server(pid=os.getpid(), port=srv.port)
            st.ollama.loaded = []  # a fresh server has nothing loaded
            blobs = sum(
                len(st.registry[m.name].layers) if m.name in st.registry else 3
                for m in st.ollama.downloaded
            )
            hangs = st.knobs.serve_hangs
        home = os.path.expanduser("~")
        env = (
            "map[CUDA_VISIBLE_DEVICES: GPU_DEVICE_ORDINAL: HIP_VISIBLE_DEVICES: "
            "HSA_OVERRIDE_GFX_VERSION: HTTPS_PROXY: HTTP_PROXY: NO_PROXY: "
            "OLLAMA_CONTEXT_LENGTH:4096 OLLAMA_DEBUG:INFO OLLAMA_FLASH_ATTENTION:false "
            f"OLLAMA_GPU_OVERHEAD:0 OLLAMA_HOST:http://{self.host}:{self.port} "
            "OLLAMA_KEEP_ALIVE:5m0s OLLAMA_KV_CACHE_TYPE: OLLAMA_LLM_LIBRARY: "
            "OLLAMA_LOAD_TIMEOUT:5m0s OLLAMA_MAX_LOADED_MODELS:0 OLLAMA_MAX_QUEUE:512 "
            f"OLLAMA_MODELS:{home}/.ollama/models OLLAMA_MULTIUSER_CACHE:false "
            "OLLAMA_NEW_ENGINE:false OLLAMA_NOHISTORY:false OLLAMA_NOPRUNE:false "
            "OLLAMA_NUM_PARALLEL:1 OLLAMA_ORIGINS:[http://localhost https://localhost "
            "http://localhost:* https://localhost:* http://127.0.0.1 https://127.0.0.1 "
            "http://127.0.0.1:* https://127.0.0.1:* http://0.0.0.0 https://0.0.0.0 "
            "http://0.0.0.0:* https://0.0.0.0:* app://* file://* tauri://* vscode-webview://* "
            "vscode-file://*] OLLAMA_REMOTES:[ollama.com] OLLAMA_SCHED_SPREAD:false "
            "ROCR_VISIBLE_DEVICES: http_proxy: https_proxy: no_proxy:]"
        )
        log(R.slog_line("routes.go:1475", "server config", env=env))
        log(R.slog_line("images.go:518", f"total blobs: {blobs}"))
        log(R.slog_line("images.go:525", "total unused blobs removed: 0"))
        if not hangs:
            addr = shown or f"{srv.host}:{srv.port}"
            srv.start()
            log(R.slog_line("routes.go:1528", f"Listening on {addr} (version {self.version})"))
            log(R.slog_line("runner.go:80", "discovering available GPU devices"))
            log(
                R.slog_line(
                    "types.go:60",
                    "inference compute",
                    id="cpu",
                    library="cpu",
                    compute="",
                    name="cpu",
                    description="cpu",
                    libdirs="ollama",
                    driver="",
                    pci_id="",
                    type="",
                    total="15.5 GiB",
                    available="12.8 GiB",
                )
            )
        while not stop.wait(0.1):
            pass
        if not hangs:
            srv.stop()
        else:
            srv.httpd.server_close()
        forget(self.state_path, "ollama", os.getpid())
        return 0

    # --- client --------------------------------------------------------------------------
    def _not_running(self) -> str:
        reason = "could not connect to ollama server, run 'ollama serve' to start it"
        if _version_tuple(self.version) >= (0, 15, 5):
            return f"Error: {reason}\n"
        return f"Error: ollama server not responding - {reason}\n"

    def _heartbeat(self) -> bool:
        """``HEAD /`` as the real client's PreRun does; prints the error when it fails."""
        try:
            conn, resp = self.http.request("HEAD", "/")
            resp.read()
            conn.close()
        except ConnectionRefusedError:
            _err(self._not_running())
            return False
        except OSError as e:
            _err(f'Error: Head "http://{self.http.host}:{self.port}/": {e}\n')
            return False
        if resp.status >= 400:
            _err(f"Error: {resp.status} {resp.reason}\n")
            return False
        return True

    def _get(self, path: str) -> Any:
        status, data = self.http.json("GET", path)
        if status >= 400:
            msg = data.get("error") if isinstance(data, dict) else None
            raise _CliError(msg or f"{status} {http.client.responses.get(status, '')}")
        return data

    def version_cmd(self) -> int:
        try:
            status, data = self.http.json("GET", "/api/version")
            server = data.get("version") if status == 200 and isinstance(data, dict) else None
        except OSError:
            server = None
        if server is None:
            _out("Warning: could not connect to a running Ollama instance\n")
            _out(f"Warning: client version is {self.version}\n")
            return 0
        _out(f"ollama version is {server}\n")
        if server != self.version:
            _out(f"Warning: client version is {self.version}\n")
        return 0

    def list_cmd(self, args: list[str]) -> int:
        if not self._heartbeat():
            return 1
        try:
            data = self._get("/api/tags")
        except _CliError as e:
            _err(f"Error: {e}\n")
            return 1
        prefix = args[0].lower() if args else ""
        models = [
            _model_from_tag(m)
            for m in data.get("models") or []
            if str(m.get("name", "")).lower().startswith(prefix)
        ]
        rows = [
            [
                m["name"],
                m["digest"][:12],
                R.human_bytes(m["size"]),
                R.human_time(m["modified"], time.time()),
            ]
            for m in models
        ]
        _out(R.ollama_table(["NAME", "ID", "SIZE", "MODIFIED"], rows))
        return 0

    def ps_cmd(self, args: list[str]) -> int:
        if not self._heartbeat():
            return 1
        try:
            data = self._get("/api/ps")
        except _CliError as e:
            _err(f"Error: {e}\n")
            return 1
        now = time.time()
        rows = []
        for m in data.get("models") or []:
            if args and not str(m.get("name", "")).startswith(args[0]):
                continue
            expires = _parse_time(str(m.get("expires_at", "")))
            until = R.human_time(expires, now)
            if expires is not None and expires < now:
                until = "Stopping..."
            rows.append(
                [
                    str(m["name"]),
                    str(m["digest"])[:12],
                    R.human_bytes(int(m["size"])),
                    R.processor(int(m["size"]), int(m.get("size_vram", 0))),
                    str(m.get("context_length", "")),
                    until,
                ]
            )
        _out(R.ollama_table(["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"], rows))
        return 0

    def pull(self, args: list[str]) -> int:
        if len(args) != 1:
            _err(f"Error: accepts 1 arg(s), received {len(args)}\n")
            return 1
        # Go installs no SIGINT handler here: Ctrl-C kills the client outright (shell: 130)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if not self._heartbeat():
            return 1
        try:
            width, height = os.get_terminal_size(2)
        except OSError:
            width, height = 80, 24
        display = R.PullDisplay(_err, width=width, height=height)
        error: str | None = None
        try:
            for event in self._pull_events(args[0]):
                if "error" in event:
                    error = str(event["error"])
                    break
                display.update(event)
        except _CliError as e:
            error = str(e)
        finally:
            display.stop()
        if error is not None:
            _err(f"Error: {error}\n")
            return 1
        return 0

    def _pull_events(self, name: str) -> Iterator[dict[str, Any]]:
        try:
            conn, resp = self.http.request("POST", "/api/pull", {"model": name, "stream": True})
        except OSError as e:
            raise _CliError(f'Post "http://{self.http.host}:{self.port}/api/pull": {e}') from e
        try:
            if resp.status >= 400:
                raw = resp.read()
                try:
                    msg = json.loads(raw).get("error")
                except ValueError:
                    msg = None
                raise _CliError(msg or f"{resp.status} {resp.reason}")
            while True:
                try:
                    line = resp.readline()
                except (http.client.HTTPException, OSError, ValueError) as e:
                    raise _CliError("unexpected EOF") from e
                if not line:
                    break
                if line.strip():
                    yield json.loads(line)
            if resp.chunked and resp.chunk_left is not None:
                # http.client ends a cut chunked body quietly; Go's reader says this
                raise _CliError("unexpected EOF")
        finally:
            conn.close()


class _CliError(Exception):
    pass


def _parse_time(text: str) -> float | None:
    if not text:
        return None
    t = text.replace("Z", "+00:00")
    head, dot, rest = t.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        t = head + "." + digits[:6] + rest[len(digits) :]
    try:
        return _dt.datetime.fromisoformat(t).timestamp()
    except ValueError:
        return None


def _model_from_tag(m: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": str(m.get("name", "")),
        "digest": str(m.get("digest", "")),
        "size": int(m.get("size", 0)),
        "modified": _parse_time(str(m.get("modified_at", ""))) or 0.0,
    }


# ----- lms ------------------------------------------------------------------------------------

LMS_LOGO = (
    "   __   __  ___  ______          ___        _______   ____",
    "  / /  /  |/  / / __/ /___ _____/ (_)__    / ___/ /  /  _/",
    " / /__/ /|_/ / _\\ \\/ __/ // / _  / / _ \\  / /__/ /___/ /",
    "/____/_/  /_/ /___/\\__/\\_,_/\\_,_/_/\\___/  \\___/____/___/",
)
LMS_TAGLINE = "lms is LM Studio's CLI utility for your models, server, and inference runtime."


def greeting_ok(port: int, timeout: float = 0.5) -> bool:
    """``GET /lmstudio-greeting`` answers ``{"lmstudio": true}`` (what lms probes)."""
    try:
        status, data = _Conn("127.0.0.1", port, timeout).json("GET", "/lmstudio-greeting")
    except (OSError, http.client.HTTPException):
        return False
    return status == 200 and isinstance(data, dict) and data.get("lmstudio") is True


def spawn_lms_server(state_path: Path, port: int) -> subprocess.Popen[bytes]:
    """Start the fake LM Studio HTTP server detached (own session, no terminal)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = _PKG_PARENT + os.pathsep + env.get("PYTHONPATH", "")
    log = open(state_path.with_name("lms-server.log"), "ab")  # noqa: SIM115
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lmsdrive.testing.fake_server",
                "--state",
                str(state_path),
                "--flavor",
                "lms",
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


_NO_DAEMON = (
    "LM Studio daemon is not running and no valid installation could be found or installed."
)
_NO_CONNECTION = "Failed to start or connect to local LM Studio API server."


class Lms:
    def __init__(self, state_path: Path) -> None:
        self.state_path = state_path
        self.state = load_state(state_path)
        self.quiet = False

    # --- output --------------------------------------------------------------------------
    def info(self, text: str) -> None:
        if not self.quiet:
            _err(text + "\n")

    def warn(self, text: str) -> None:
        self.info("W " + text)

    def error(self, text: str) -> None:
        self.info("Error: " + text)

    def titled(self, title: str, body: str) -> None:
        self.info(f"{title}\n\n{body}")

    # --- entry ---------------------------------------------------------------------------
    def run(self, args: list[str]) -> int:
        if "--quiet" in args:
            self.quiet = True
            args = [a for a in args if a != "--quiet"]
        if not args:
            _out(
                f"{LMS_TAGLINE}\nCLI commit: {self.state.knobs.lms_commit}\n\n"
                "Usage: lms [options] [command]\n"
            )
            return 0
        cmd, rest = args[0], args[1:]
        if cmd in ("-v", "--version"):
            _out(f"CLI commit: {self.state.knobs.lms_commit}\n")
            return 0
        handlers: dict[str, Callable[[list[str]], int]] = {
            "server": self.server,
            "status": self.status,
            "ls": self.ls,
            "ps": self.ps,
            "get": self.get,
            "load": self.load,
            "unload": self.unload,
            "version": self.version,
            "daemon": self.daemon,
        }
        handler = handlers.get(cmd)
        if handler is None:
            if cmd.startswith("-"):
                _err(f"error: unknown option '{cmd}'\n")
            else:
                _err(f"error: unknown command '{cmd}'\n")
            return 1
        return handler(rest)

    def _split(
        self, args: list[str], flags: set[str], options: set[str]
    ) -> tuple[list[str], set[str], dict[str, str]] | None:
        pos: list[str] = []
        seen: set[str] = set()
        opts: dict[str, str] = {}
        it = iter(args)
        for a in it:
            name, eq, value = a.partition("=")
            if name in options:
                v = value if eq else next(it, None)
                if v is None:
                    _err(f"error: option '{name} <value>' argument missing\n")
                    return None
                opts[name] = v
            elif a in flags:
                seen.add(a)
            elif a.startswith("-") and a != "-":
                _err(f"error: unknown option '{a}'\n")
                return None
            else:
                pos.append(a)
        return pos, seen, opts

    def _wake(self, *, daemon_up: bool = False) -> bool:
        """Make sure the LM Studio service runs, as lms does before talking to it."""
        if self.state.lms.service_running:
            return True
        knobs = self.state.knobs
        if not knobs.lms_daemon_installed or not (knobs.lms_daemon_wakes or daemon_up):
            self.error(_NO_DAEMON)
            self.error(_NO_CONNECTION)
            return False
        self.info("Waking up LM Studio service...")
        if knobs.lms_service_fails:
            self.error("Timed out waiting for LM Studio daemon to start.")
            self.error(_NO_CONNECTION)
            return False
        with edit_state(self.state_path) as st:
            st.lms.service_running = True
            st.lms.daemon_pid = os.getpid()
            self.state = st
        return True

    # --- daemon (llmster) ----------------------------------------------------------------
    def daemon(self, args: list[str]) -> int:
        sub, rest = (args[0], args[1:]) if args else ("", [])
        handlers = {"up": self.daemon_up, "down": self.daemon_down, "status": self.daemon_status}
        handler = handlers.get(sub)
        if handler is None:
            _err(f"error: unknown command '{sub}'\n" if sub else "error: missing command\n")
            return 1
        parsed = self._split(rest, {"--json"} if sub != "down" else set(), set())
        if parsed is None:
            return 1
        return handler("--json" in parsed[1])

    def _daemon_json(self, *, version: bool) -> str:
        obj: dict[str, Any] = {"status": "running", "pid": self.state.lms.daemon_pid}
        obj["isDaemon"] = True
        if version:
            obj["version"] = self.state.knobs.lms_daemon_version
        return json.dumps(obj, separators=(",", ":")) + "\n"

    def daemon_up(self, as_json: bool) -> int:
        was_running = self.state.lms.service_running
        if not self._wake(daemon_up=True):
            return 1
        pid = self.state.lms.daemon_pid
        if as_json:
            _out(self._daemon_json(version=True))
        elif was_running:
            _out(f"The daemon is already running (PID: {pid}).\n")
        else:
            _out(f"llmster started (PID: {pid}).\n")
        return 0

    def daemon_status(self, as_json: bool) -> int:
        running = self.state.lms.service_running
        if as_json:
            _out(
                self._daemon_json(version=False)
                if running
                else json.dumps({"status": "not-running"}, separators=(",", ":")) + "\n"
            )
        elif running:
            version, pid = self.state.knobs.lms_daemon_version, self.state.lms.daemon_pid
            _out(f"llmster v{version} is running (PID: {pid})\n")
        else:
            _out("LM Studio is not running\n")
        return 0

    def daemon_down(self, as_json: bool) -> int:
        if not self.state.lms.service_running:
            self.info("Daemon is not running.")
            return 1
        self.info("Shutting down llmster...")
        self._service_died()
        with edit_state(self.state_path) as st:
            st.lms.daemon_pid = None
        self.info("Done.")
        return 0

    # --- server --------------------------------------------------------------------------
    def server(self, args: list[str]) -> int:
        sub, rest = (args[0], args[1:]) if args else ("", [])
        if sub == "start":
            return self.server_start(rest)
        if sub == "stop":
            return self.server_stop(rest)
        if sub == "status":
            return self.server_status(rest)
        _err(f"error: unknown command '{sub}'\n" if sub else "error: missing command\n")
        return 1

    def server_start(self, args: list[str]) -> int:
        parsed = self._split(args, {"--cors"}, {"--port", "-p", "--bind"})
        if parsed is None:
            return 1
        _, flags, opts = parsed
        knobs = self.state.knobs
        port_text = opts.get("--port") or opts.get("-p")
        port = int(port_text) if port_text else (self.state.lms.config_port or LMS_DEFAULT_PORT)
        if knobs.serve_hangs:
            self.info("Waking up LM Studio service...")
            time.sleep(knobs.hang_seconds)
            self.error("Timed out waiting for LM Studio daemon to start.")
            self.error(_NO_CONNECTION)
            return 1
        if not self._wake():
            return 1
        if "--cors" in flags:
            self.warn(
                "CORS is enabled. This means any website you visit can use the LM Studio server."
            )
        bind = opts.get("--bind", "127.0.0.1")
        if bind not in ("127.0.0.1", "localhost"):
            self.warn(
                "Server will accept connections from the network. Only use this if you "
                "know what you are doing!"
            )
        with edit_state(self.state_path) as st:
            st.lms.config_port = port
        if greeting_ok(port):
            self.info(f"Success! Server is now running on port {port}")
            return 0
        proc = spawn_lms_server(self.state_path, port)
        with edit_state(self.state_path) as st:
            st.lms.server = Server(pid=proc.pid, port=port)
        deadline = time.monotonic() + knobs.lms_verify_attempts * knobs.lms_verify_interval
        while time.monotonic() < deadline:
            if greeting_ok(port):
                self.info(f"Success! Server is now running on port {port}")
                return 0
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        kill_pid(proc.pid)
        with edit_state(self.state_path) as st:
            st.lms.server = None
        self.error("Failed to verify the server is running. Please try to use another port.")
        return 1

    def server_stop(self, args: list[str]) -> int:
        srv = self.state.lms.server
        if srv is None or not greeting_ok(srv.port):
            self.error("The server is not running.")
            return 1
        kill_pid(srv.pid)
        with edit_state(self.state_path) as st:
            st.lms.server = None
        self.info(f"Stopped the server on port {srv.port}.")
        return 0

    def server_status(self, args: list[str]) -> int:
        parsed = self._split(args, {"--json", "--verbose"}, set())
        if parsed is None:
            return 1
        _, flags, _ = parsed
        port = self.state.lms.config_port
        running = port is not None and greeting_ok(port)
        if "--json" in flags:
            obj: dict[str, Any] = {"running": running}
            if port is not None:
                obj["port"] = port
            _out(json.dumps(obj, separators=(",", ":")) + "\n")
            return 0
        self.info(
            f"The server is running on port {port}." if running else "The server is not running."
        )
        return 0

    def status(self, args: list[str]) -> int:
        if not self._wake():
            return 1
        port = self.state.lms.config_port
        running = port is not None and greeting_ok(port)
        if running:
            out = [f"Server: ON (port: {port})", ""]
        else:
            out = [
                "Server:  OFF ",
                "",
                "(i) To start the server, run the following command:",
                "",
                "    lms server start",
                "",
            ]
        loaded = self.state.lms.live_loaded()
        if loaded:
            out.append("Loaded Models")
            out += [f"  · {x.identifier} - {R.lms_bytes(x.size)}" for x in loaded]
        else:
            out.append("No Models Loaded")
        _out("\n".join(out) + "\n")
        return 0

    # --- models --------------------------------------------------------------------------
    def ls(self, args: list[str]) -> int:
        parsed = self._split(args, {"--json", "--llm", "--embedding", "--detailed"}, set())
        if parsed is None:
            return 1
        pos, flags, _ = parsed
        if not self._wake():
            return 1
        models = list(self.state.lms.downloaded)
        if "--llm" in flags:
            models = [m for m in models if m.type == "llm"]
        if "--embedding" in flags:
            models = [m for m in models if m.type == "embedding"]
        if pos:
            models = [m for m in models if m.name == pos[0]]
        loaded = {x.name for x in self.state.lms.live_loaded()}
        if "--json" in flags:
            _out(json.dumps([_model_info(m) for m in models], separators=(",", ":")) + "\n")
            return 0
        _out(R.lms_ls_text(models, loaded))
        return 0

    def ps(self, args: list[str]) -> int:
        parsed = self._split(args, {"--json"}, set())
        if parsed is None:
            return 1
        _, flags, _ = parsed
        if not self._wake():
            return 1
        now = time.time()
        loaded = self.state.lms.live_loaded(now)
        if "--json" in flags:
            infos = []
            for x in loaded:
                m = self.state.lms.find(x.name)
                info: dict[str, Any] = _model_info(m) if m is not None else {"modelKey": x.name}
                info.update(
                    identifier=x.identifier,
                    ttlMs=None if x.ttl_seconds is None else x.ttl_seconds * 1000,
                    lastUsedTime=None,
                    contextLength=x.context_length,
                    status="idle",
                    queued=0,
                    parallel=None if m is not None and m.type == "embedding" else 4,
                )
                infos.append(info)
            _out(json.dumps(infos, separators=(",", ":")) + "\n")
            return 0
        if not loaded:
            self.info(
                "No models are currently loaded.\n\nTo load a model, run:\n\n"
                "    lms load <model path>"
            )
            return 0
        _out(R.lms_ps_text(loaded, now))
        return 0

    def get(self, args: list[str]) -> int:
        parsed = self._split(args, {"-y", "--yes", "--mlx", "--gguf", "--select"}, set())
        if parsed is None:
            return 1
        pos, flags, _ = parsed
        if not pos:
            _err("error: missing required argument 'modelName'\n")
            return 1
        if not self._wake():
            return 1
        raw = pos[0]
        key, _, quant = raw.partition("@")
        registry = {k: v for k, v in self.state.registry.items() if ":" not in k}
        if "/" not in key:
            self.info(f"Searching staff picks with the term {key}")
            term = key.lower()
            exact = [k for k in registry if term in (k.lower(), k.split("/", 1)[-1].lower())]
            match = exact or [k for k in registry if term in k.lower()]
            if not match:
                self.error("No staff picks found with the specified search criteria.")
                return 1
            if len(match) > 1 and flags & {"-y", "--yes"}:
                self.info(
                    "Multiple staff picks found. Automatically selecting the first one due to "
                    "--yes."
                )
            key = match[0]
        entry = registry.get(key)
        if entry is None:
            self.error("No models found with the specified search criteria.")
            return 1
        if quant and quant.lower() != entry.quantization.lower():
            self.error(f"Cannot find variant {quant}.")
            return 1
        _out(f"\x1b[?25l\r\x1b[0K\n\r   ⧗ {key} - Pending...\x1b[0K\n")
        _out(f"\r\x1b[0K\n\r{R.SPINNER[0]} Resolving download plan...\x1b[0K\n")
        display = entry.display_name or " ".join(
            p.capitalize() if not p[:1].isdigit() else p.upper()
            for p in key.split("/")[-1].split("-")
        )
        file = f"{display} {entry.quantization} [GGUF]"
        if self.state.lms.find(key) is not None:
            _out(f"\r\x1b[0K\n\r   ✓ Satisfied {key}\x1b[0K\n\r   └─ ✓ Satisfied {file}\x1b[0K\n")
            _out("\x1b[?25h")
            self.info(f"Model already downloaded. To use, run: lms load {key}")
            self.info(f"If you wish to download a variant, run: lms get {key} --select")
            return 0
        size = R.lms_bytes(entry.size)
        _out(
            f"\r\x1b[0K\n\r   ↓ To download: model {key} - {R.lms_bytes(entry.manifest_size)}"
            f"\x1b[0K\n\r   └─ ↓ To download: {file} - {size}\x1b[0K\n\r\x1b[0K\n"
            f"\rResolution completed. Downloading {size}...\x1b[0K\n\x1b[?25h"
        )
        try:
            return self._download(key, entry)
        except KeyboardInterrupt:
            _out("\x1b[2K\x1b[1G\x1b[?25h")
            self.warn("Download canceled.")
            return 1

    def _download(self, key: str, entry: RegistryEntry) -> int:
        knobs = self.state.knobs
        frames = max(knobs.pull_frames, 1)
        pad, t0, last_clear = 0, time.monotonic(), -1e9
        for k in range(frames + 1):
            done = entry.size * k // frames
            pct = done / entry.size * 100 if entry.size else 100.0
            if knobs.pull_dies_at_percent is not None and pct > knobs.pull_dies_at_percent:
                _out("\x1b[2K\x1b[1G\x1b[?25h")
                self._service_died()
                self.error("Download failed: the connection to LM Studio was lost.")
                return 1
            if knobs.pull_error is not None and pct > 50:
                _out("\x1b[2K\x1b[1G\x1b[?25h")
                self.error(knobs.pull_error)
                return 1
            elapsed = time.monotonic() - t0
            speed = done / elapsed if elapsed > 0 and done else 0.0
            clear = time.monotonic() - last_clear >= 3.0
            if clear:
                last_clear = time.monotonic()
            frame, pad = R.lms_get_frame(k, done, entry.size, speed, pad, clear)
            _out(frame)
            if k < frames:
                time.sleep(knobs.pull_seconds / frames)
        _out("\x1b[2K\x1b[1G\x1b[?25h")
        self.info("Finalizing download...")
        with edit_state(self.state_path) as st:
            st.lms.downloaded = [m for m in st.lms.downloaded if m.name != key]
            st.lms.downloaded.append(make_model(key, entry))
        self.info("Download completed.")
        return 0

    def _service_died(self) -> None:
        with edit_state(self.state_path) as st:
            srv = st.lms.server
            st.lms.server = None
            st.lms.service_running = False
            st.lms.loaded = []
        if srv is not None:
            kill_pid(srv.pid)

    def load(self, args: list[str]) -> int:
        parsed = self._split(
            args,
            {"-y", "--yes", "--exact", "--estimate-only"},
            {"--identifier", "--ttl", "-c", "--context-length", "--gpu", "--parallel"},
        )
        if parsed is None:
            return 1
        pos, flags, opts = parsed
        yes = bool(flags & {"-y", "--yes"})
        if not yes:
            _out("\n")
        if not self._wake():
            return 1
        term = lms_key(pos[0]) if pos else ""
        models = [m for m in self.state.lms.downloaded]
        exact = [m for m in models if m.name == term]
        fuzzy = exact or (
            []
            if "--exact" in flags
            else [m for m in models if term and term.lower() in m.name.lower()]
        )
        if not fuzzy:
            self.titled("Model not found", f'No model found that matches model key "{term}".')
            return 1
        if len(fuzzy) > 1:
            self.warn(
                f"{len(fuzzy)} models match the provided model key on the same device. "
                "Loading the first one."
            )
        model = fuzzy[0]
        ident = opts.get("--identifier") or model.name
        taken = {x.identifier for x in self.state.lms.live_loaded()}
        n = 2
        base = ident
        while ident in taken:
            ident, n = f"{base}:{n}", n + 1
        ctx_text = opts.get("-c") or opts.get("--context-length")
        ttl = int(opts["--ttl"]) if "--ttl" in opts else None
        t0 = time.monotonic()
        steps = 10
        try:
            for k in range(steps + 1):
                spin = R.SPINNER[k % len(R.SPINNER)]
                _out(f"\rLoading {model.name} {k * 100 // steps}% {spin}")
                time.sleep(self.state.knobs.load_seconds / steps)
        except KeyboardInterrupt:
            _out("\r\x1b[K")
            self.warn("Load cancelled.")
            return 1
        _out("\r\x1b[K")
        now = time.time()
        with edit_state(self.state_path) as st:
            st.lms.loaded = st.lms.live_loaded(now)
            st.lms.loaded.append(
                Loaded(
                    name=model.name,
                    identifier=ident,
                    size=model.size,
                    context_length=int(ctx_text) if ctx_text else 4096,
                    loaded_at=now,
                    expires_at=None if ttl is None else now + ttl,
                    ttl_seconds=ttl,
                )
            )
        self.info(
            f"Model loaded successfully in {R.lms_elapsed(time.monotonic() - t0)}.\n"
            f"({R.lms_gib(model.size)})"
        )
        self.info(f'To use the model in the API/SDK, use the identifier "{ident}".')
        return 0

    def unload(self, args: list[str]) -> int:
        parsed = self._split(args, {"--all", "-a"}, set())
        if parsed is None:
            return 1
        pos, flags, _ = parsed
        if not self._wake():
            return 1
        loaded = self.state.lms.live_loaded()
        if flags & {"--all", "-a"}:
            if not loaded:
                self.info("No models to unload.")
                return 0
            for x in loaded:
                self.info(f'Unloading "{x.identifier}"...')
            self._drop({x.identifier for x in loaded})
            n = len(loaded)
            self.info(f"Unloaded {n} model{'s' if n != 1 else ''}.")
            return 0
        if not pos:
            if not loaded:
                self.info('You don\'t have any models loaded. Use "lms load" to load a model.')
                return 1
            if len(loaded) > 1:
                _out("! To unload all models, use the --all flag.\n")
                self.info("? Select a model to unload")
                return 1
            pos = [loaded[0].identifier]
        ident = pos[0]
        if ident not in {x.identifier for x in loaded}:
            self.titled(
                "Model Not Found",
                f'Cannot find a model with the identifier "{ident}".\n\n'
                "To see a list of loaded models, run:\n\n    lms ps",
            )
            return 0
        self._drop({ident})
        self.info(f'Model "{ident}" unloaded.')
        return 0

    def _drop(self, identifiers: set[str]) -> None:
        with edit_state(self.state_path) as st:
            st.lms.loaded = [x for x in st.lms.live_loaded() if x.identifier not in identifiers]

    def version(self, args: list[str]) -> int:
        commit = self.state.knobs.lms_commit
        if "--json" in args:
            _out(json.dumps({"version": commit}, separators=(",", ":")) + "\n")
            return 0
        colours = (63, 99, 135, 171)
        logo = "".join(
            f"\x1b[38;5;{c}m{line}\x1b[0m\n" for c, line in zip(colours, LMS_LOGO, strict=True)
        )
        _out(f"{logo}\n{LMS_TAGLINE}\nCLI commit: {commit}\n")
        return 0


def _model_info(m: Any) -> dict[str, Any]:
    """``lms ls --json`` element (ModelInfo of lms-shared-types)."""
    info: dict[str, Any] = {
        "type": m.type,
        "modelKey": m.name,
        "format": "gguf",
        "displayName": m.name.split("/")[-1],
        "publisher": m.name.split("/", 1)[0] if "/" in m.name else "lmstudio-community",
        "path": m.name if "/" in m.name else f"lmstudio-community/{m.name}",
        "sizeBytes": m.size,
        "indexedModelIdentifier": m.name,
        "deviceIdentifier": None,
        "architecture": m.family,
        "quantization": {"name": m.quantization, "bits": 4},
        "maxContextLength": m.context_length,
    }
    if m.params:
        info["paramsString"] = m.params
    if m.type == "llm":
        info["vision"] = False
        info["trainedForToolUse"] = False
    if "/" in m.name:
        info["variants"] = [f"{m.name}@{m.quantization.lower()}"]
        info["selectedVariant"] = f"{m.name}@{m.quantization.lower()}"
    return info


# ----- entry point ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("ollama", "lms"):
        _err("usage: python -m lmsdrive.testing.fake_cli ollama|lms ARGS...\n")
        return 2
    tool, args = argv[0], argv[1:]
    try:
        state_path = state_path_from_env()
    except RuntimeError as e:
        _err(f"{e}\n")
        return 2
    if not os.environ.get(ENV_NO_SPAWN_LOG):
        log_spawn(state_path, [tool, *args])
    try:
        if tool == "ollama":
            return Ollama(state_path).run(args)
        return Lms(state_path).run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
