"""The fake Ollama (0.12.3 by default): the ``ollama`` executable and its HTTP API.

``ollama`` (see the shared reference notes on the Ollama CLI): ``serve`` runs
:class:`~lmsdrive.testing.fake_server.FakeServer` in the foreground on ``OLLAMA_HOST``
(parsed like Ollama), logs slog lines and the readiness line ``msg="Listening on
127.0.0.1:PORT (version 0.12.3)"`` on stderr, a Gin line per request, serves until
SIGTERM/SIGINT (exit 0); a taken port gives ``Error: listen tcp ADDR: bind: address already
in use`` (exit 1). ``list``/``ls``, ``ps``, ``pull``, ``--version``/``-v`` talk HTTP to the
server as the real client does (``HEAD /`` first): no server gives ``Error: ollama server not
responding - could not connect to ollama server, run 'ollama serve' to start it`` (v0.7.1 –
v0.15.4 wording; without the prefix from v0.15.5). ``pull`` renders ``/api/pull`` as the
v0.5.12+ progress animation on stderr (redrawn every 100 ms).

The API (Go/gin: compact JSON, ``application/json; charset=utf-8``, chunked NDJSON streams):
``GET/HEAD /`` (``Ollama is running``), ``/api/version``, ``/api/tags``, ``/api/ps``,
``POST /api/pull`` (NDJSON progress with timing, or one object with ``"stream": false``),
``POST /api/generate`` (load with an empty prompt, unload with ``keep_alive: 0``, plain or
NDJSON generation, ``{"error":"model 'x' not found"}`` 404), ``POST /api/chat`` (plain or
NDJSON; ``format`` answered with JSON that fits the schema; ``thinking`` pieces first on a
thinking model, 400 ``does not support thinking`` otherwise; the system prompt quoted in the
answer), ``POST /api/embed`` (a deterministic unit vector per input), ``POST /api/show``
(``capabilities``: ``embedding`` for embedding models, ``completion``/``tools``
(+``thinking``) otherwise), ``DELETE /api/delete`` (200, empty body; 404 ``model 'x' not
found``; like the real server it leaves unloading to the client); other routes: gin's
``404 page not found``; without the token: 401 ``{"error":"unauthorized"}`` (as a proxy in
front of Ollama answers).
"""

from __future__ import annotations

import base64
import datetime as _dt
import http.client
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from . import _ollama_format as R
from .fake_cli import CliError, Conn, err, out, serve_until, stop_on_signals
from .fake_server import (
    NO_TOOL_FAMILIES,
    VISION_FAMILIES,
    Died,
    FakeServer,
    Handler,
    answer_text,
    chat_answer,
    fake_tool_call,
    fake_vector,
    forget,
    rfc3339,
    tokens_of,
)
from .fake_state import (
    FakeState,
    Loaded,
    Model,
    RegistryEntry,
    Server,
    edit_state,
    load_state,
    make_model,
)
from .fakes import FakeSpec

DEFAULT_PORT = 11434
DEFAULT_KEEP_ALIVE = 300.0
#: Model families whose fakes think (Ollama ``thinking``, LM Studio ``reasoning``).
THINKING_FAMILIES = ("qwen3", "deepseek2", "gptoss")


def ollama_name(name: str) -> str:
    """Ollama's display form: the tag is always present (``llama3.2`` → ``llama3.2:latest``)."""
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else name + ":latest"


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in v.split("-")[0].split("."))


# ----- the executable -------------------------------------------------------------------------


def parse_ollama_host(value: str | None) -> tuple[str, str, int]:
    """``OLLAMA_HOST`` as Ollama reads it: ``(scheme, host, port)``; ``host`` may be ``""``
    (every interface). ``http://h`` means port 80, ``https://h`` 443, otherwise 11434."""
    v = (value or "").strip().strip("\"'").strip()
    scheme, default = "http", DEFAULT_PORT
    if "://" in v:
        scheme, v = v.split("://", 1)
        default = {"http": 80, "https": 443}.get(scheme, DEFAULT_PORT)
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
            err("Warning: invalid port, using default\n")
    return scheme, host, port


class Ollama:
    def __init__(self, state_path: Path) -> None:
        self.state_path = state_path
        self.state = load_state(state_path)
        self.version = self.state.knobs.ollama_version
        _, host, port = parse_ollama_host(os.environ.get("OLLAMA_HOST"))
        self.host, self.port = host, port
        client_host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        self.http = Conn(client_host, port)

    def run(self, args: list[str]) -> int:
        if not args:
            out(self._usage())
            return 0
        cmd, rest = args[0], args[1:]
        if cmd in ("-v", "--version", "version"):
            return self.version_cmd()
        if cmd in ("-h", "--help", "help"):
            out(self._usage())
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
            err(f'Error: unknown command "{cmd}" for "ollama"\n')
            return 1
        for a in rest:
            if a in ("-h", "--help"):
                out(f"Usage:\n  ollama {cmd} [flags]\n\nFlags:\n  -h, --help   help for {cmd}\n")
                return 0
            if a.startswith("-") and a != "--insecure":
                err(
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
        bind = self.host or "0.0.0.0"
        shown = f"[::]:{self.port}" if self.host in ("", "0.0.0.0", "::") else None

        def log(line: str) -> None:
            err(line + "\n")

        def on_die() -> None:
            forget(self.state_path, "ollama", os.getpid())
            os._exit(2)

        try:
            srv = FakeServer(
                self.state_path, flavor="ollama", host=bind, port=self.port, log=log, on_die=on_die
            )
        except OSError as e:
            reason = (e.strerror or str(e))[:1].lower() + (e.strerror or str(e))[1:]
            err(f"Error: listen tcp {self.host}:{self.port}: bind: {reason}\n")
            return 1
        stop = stop_on_signals()
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
        serve_until(stop)
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
            err(self._not_running())
            return False
        except OSError as e:
            err(f'Error: Head "http://{self.http.host}:{self.port}/": {e}\n')
            return False
        if resp.status >= 400:
            err(f"Error: {resp.status} {resp.reason}\n")
            return False
        return True

    def _fetch(self, path: str) -> Any:
        """The server's JSON at ``path`` after the heartbeat; ``None`` once the error is
        printed."""
        if not self._heartbeat():
            return None
        status, data = self.http.json("GET", path)
        if status >= 400:
            msg = data.get("error") if isinstance(data, dict) else None
            reason = http.client.responses.get(status, "")
            err(f"Error: {msg or f'{status} {reason}'}\n")
            return None
        return data

    def version_cmd(self) -> int:
        try:
            status, data = self.http.json("GET", "/api/version")
            server = data.get("version") if status == 200 and isinstance(data, dict) else None
        except OSError:
            server = None
        if server is None:
            out("Warning: could not connect to a running Ollama instance\n")
            out(f"Warning: client version is {self.version}\n")
            return 0
        out(f"ollama version is {server}\n")
        if server != self.version:
            out(f"Warning: client version is {self.version}\n")
        return 0

    def list_cmd(self, args: list[str]) -> int:
        data = self._fetch("/api/tags")
        if data is None:
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
        out(R.ollama_table(["NAME", "ID", "SIZE", "MODIFIED"], rows))
        return 0

    def ps_cmd(self, args: list[str]) -> int:
        data = self._fetch("/api/ps")
        if data is None:
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
        out(R.ollama_table(["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"], rows))
        return 0

    def pull(self, args: list[str]) -> int:
        if len(args) != 1:
            err(f"Error: accepts 1 arg(s), received {len(args)}\n")
            return 1
        # Go installs no SIGINT handler here: Ctrl-C kills the client outright (shell: 130)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if not self._heartbeat():
            return 1
        try:
            width, height = os.get_terminal_size(2)
        except OSError:
            width, height = 80, 24
        display = R.PullDisplay(err, width=width, height=height)
        error: str | None = None
        try:
            for event in self._pull_events(args[0]):
                if "error" in event:
                    error = str(event["error"])
                    break
                display.update(event)
        except CliError as e:
            error = str(e)
        finally:
            display.stop()
        if error is not None:
            err(f"Error: {error}\n")
            return 1
        return 0

    def _pull_events(self, name: str) -> Iterator[dict[str, Any]]:
        try:
            conn, resp = self.http.request("POST", "/api/pull", {"model": name, "stream": True})
        except OSError as e:
            raise CliError(f'Post "http://{self.http.host}:{self.port}/api/pull": {e}') from e
        try:
            if resp.status >= 400:
                raw = resp.read()
                try:
                    msg = json.loads(raw).get("error")
                except ValueError:
                    msg = None
                raise CliError(msg or f"{resp.status} {resp.reason}")
            while True:
                try:
                    line = resp.readline()
                except (http.client.HTTPException, OSError, ValueError) as e:
                    raise CliError("unexpected EOF") from e
                if not line:
                    break
                if line.strip():
                    yield json.loads(line)
            if resp.chunked and resp.chunk_left is not None:
                # http.client ends a cut chunked body quietly; Go's reader says this
                raise CliError("unexpected EOF")
        finally:
            conn.close()


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


# ----- the API --------------------------------------------------------------------------------


def pull_plan(
    name: str, entry: RegistryEntry, frames: int, *, present: bool = False
) -> list[dict[str, Any]]:
    """The NDJSON objects of a successful ``/api/pull`` (reference §3.1, v0.3.7+). Layers
    already on disk (``present``) are reported once, with ``completed`` = ``total``."""
    events: list[dict[str, Any]] = [{"status": "pulling manifest"}]
    for size, digest in zip(entry.layers, entry.layer_digests(name), strict=True):
        status = "pulling " + digest.removeprefix("sha256:")[:12]
        if present:
            events.append({"status": status, "digest": digest, "total": size, "completed": size})
            continue
        events.append({"status": status, "digest": digest, "total": size})
        steps = max(frames, 1) if size >= 1_000_000 else 1
        for k in range(1, steps + 1):
            events.append(
                {"status": status, "digest": digest, "total": size, "completed": size * k // steps}
            )
    events += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"}]
    events.append({"status": "success"})
    return events


def ollama_capabilities(model: Model) -> list[str]:
    """What the fake's ``/api/show`` reports: ``embedding`` for an embedding model;
    ``thinking`` too for the families that think (qwen3, deepseek-r1, gpt-oss)."""
    if model.type == "embedding":
        return ["embedding"]
    caps = ["completion"] if model.family in NO_TOOL_FAMILIES else ["completion", "tools"]
    if model.family in THINKING_FAMILIES:
        caps.append("thinking")
    if model.family in VISION_FAMILIES:
        caps.append("vision")
    return caps


def parse_keep_alive(value: object) -> float | None:
    """Seconds, or ``None`` for forever (negative); Go duration strings or numbers."""
    if value is None:
        return DEFAULT_KEEP_ALIVE
    if isinstance(value, (int, float)):
        return None if value < 0 else float(value)
    text = str(value).strip()
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(-?\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise ValueError(f'time: invalid duration "{text}"')
    total = sum(float(a) * units[b] for a, b in parts)
    return None if total < 0 else total


class OllamaRoutes(Handler):
    """Ollama's API (see the module docstring)."""

    def _ollama_json(self, status: int, obj: object) -> None:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        self._send(status, text.encode(), "application/json; charset=utf-8")

    def not_found(self, path: str) -> None:
        self._send(404, b"404 page not found", "text/plain")

    def refuse(self) -> None:
        self._ollama_json(401, {"error": "unauthorized"})

    def access_line(self, path: str, latency: float) -> str | None:
        return R.gin_line(self._status, latency, self.client_address[0], self.command, path)

    def route(self, path: str) -> bool:
        m = self.command
        if path == "/" and m in ("GET", "HEAD"):
            self._send(200, b"Ollama is running", "text/plain; charset=utf-8")
        elif path == "/api/version" and m in ("GET", "HEAD"):
            self._ollama_json(200, {"version": self._state().knobs.ollama_version})
        elif path == "/api/tags" and m in ("GET", "HEAD"):
            st = self._state()
            models = sorted(st.ollama.downloaded, key=lambda x: -x.modified_at)
            self._ollama_json(200, {"models": [self._tag(x) for x in models]})
        elif path == "/api/ps" and m == "GET":
            self._ollama_json(200, {"models": self._ps(self._state())})
        elif path == "/api/pull" and m == "POST":
            self._pull()
        elif path == "/api/generate" and m == "POST":
            self._generate()
        elif path == "/api/chat" and m == "POST":
            self._ollama_chat()
        elif path == "/api/embed" and m == "POST":
            self._ollama_embed()
        elif path == "/api/show" and m == "POST":
            self._ollama_show()
        elif path == "/api/delete" and m == "DELETE":
            self._ollama_delete()
        elif path.startswith("/v2/") and "/manifests/" in path and m == "GET":
            self._registry_manifest(path)
        else:
            return False
        return True

    @staticmethod
    def _details(family: str, params: str, quant: str) -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": family,
            "families": [family],
            "parameter_size": params,
            "quantization_level": quant,
        }

    def _tag(self, x: Any) -> dict[str, Any]:
        return {
            "name": x.name,
            "model": x.name,
            "modified_at": rfc3339(x.modified_at),
            "size": x.size,
            "digest": x.digest,
            "details": self._details(x.family, x.params, x.quantization),
        }

    def _ps(self, st: FakeState) -> list[dict[str, Any]]:
        out = []
        live = sorted(st.ollama.live_loaded(), key=lambda x: -(x.expires_at or float("inf")))
        for x in live:
            m = st.ollama.find(x.name)
            if m is None:
                continue
            expires = x.expires_at if x.expires_at is not None else 10852365600.0  # year 2313
            out.append(
                {
                    "name": x.name,
                    "model": x.name,
                    "size": x.size,
                    "digest": m.digest,
                    "details": self._details(m.family, m.params, m.quantization),
                    "expires_at": rfc3339(expires),
                    "size_vram": 0,
                    "context_length": x.context_length,
                }
            )
        return out

    def _pull(self) -> None:
        body, err = self._body()
        if body is None:
            self._ollama_json(400, {"error": err})
            return
        raw = str(body.get("model") or body.get("name") or "")
        if not raw:
            self._ollama_json(400, {"error": "invalid model name"})
            return
        name = ollama_name(raw)
        st = self._state()
        entry = st.registry.get(name)
        knobs = st.knobs
        stream = body.get("stream", True) is not False

        def events() -> Iterator[dict[str, Any]]:
            yield {"status": "pulling manifest"}
            if entry is None:
                yield {"error": "pull model manifest: file does not exist"}
                return
            present = st.ollama.find(name) is not None
            plan = pull_plan(name, entry, knobs.pull_frames, present=present)[1:]
            steps = sum(1 for e in plan if "completed" in e) or 1
            delay = 0.0 if present else knobs.pull_seconds / steps
            done: dict[str, int] = {}
            for e in plan:
                if "completed" in e:
                    done[e["digest"]] = e["completed"]
                    pct = sum(done.values()) / entry.size * 100
                    dies = knobs.pull_dies_at_percent
                    if dies is not None and pct > dies:
                        raise Died
                    if knobs.pull_error is not None and pct > 50:
                        yield {"error": knobs.pull_error}
                        return
                    time.sleep(delay)
                if e["status"] == "success":
                    with edit_state(self.fake.state_path) as s:
                        s.ollama.downloaded = [x for x in s.ollama.downloaded if x.name != name]
                        s.ollama.downloaded.append(make_model(name, entry))
                yield e

        if stream:
            self._stream(
                "application/x-ndjson",
                (json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in events()),
            )
            return
        last: dict[str, Any] = {}
        try:
            for e in events():
                last = e
        except Died:
            self.close_connection = True
            self.fake.die()
            return
        self._ollama_json(500 if "error" in last else 200, last)

    def _generate(self) -> None:
        body, err = self._body()
        if body is None:
            self._ollama_json(400, {"error": err})
            return
        raw = str(body.get("model") or "")
        if not raw:
            self._ollama_json(400, {"error": "model is required"})
            return
        name = ollama_name(raw)
        try:
            keep = parse_keep_alive(body.get("keep_alive"))
        except ValueError as e:
            self._ollama_json(400, {"error": str(e)})
            return
        st = self._state()
        model = st.ollama.find(name)
        if model is None:
            self._ollama_json(404, {"error": f"model '{raw}' not found"})
            return
        prompt = str(body.get("prompt") or "")
        now_iso = rfc3339(time.time())
        if not prompt and keep == 0:
            with edit_state(self.fake.state_path) as s:
                s.ollama.loaded = [x for x in s.ollama.loaded if x.name != name]
            self._ollama_json(
                200,
                {
                    "model": raw,
                    "created_at": now_iso,
                    "response": "",
                    "done": True,
                    "done_reason": "unload",
                },
            )
            return
        options = body.get("options") if isinstance(body.get("options"), dict) else {}
        assert isinstance(options, dict)
        t0 = time.monotonic()
        load_s = self._ensure_loaded(st, name, model.size, keep, options)
        if not prompt:
            self._ollama_json(
                200,
                {
                    "model": raw,
                    "created_at": now_iso,
                    "response": "",
                    "done": True,
                    "done_reason": "load",
                },
            )
            return
        if st.knobs.generate_dies:
            with edit_state(self.fake.state_path) as s:
                s.ollama.loaded = [x for x in s.ollama.loaded if x.name != name]
            self._ollama_json(500, {"error": "llama runner process has terminated: exit status 2"})
            return
        toks = tokens_of(answer_text(st, raw, prompt))
        self._ollama_answer(st, raw, toks, [], prompt, options, body, t0, load_s, chat=False)

    def _ollama_answer(
        self,
        st: FakeState,
        raw: str,
        toks: list[str],
        thinking: list[str],
        prompt: str,
        options: dict[str, Any],
        body: dict[str, Any],
        t0: float,
        load_s: float,
        *,
        chat: bool,
        calls: list[dict[str, Any]] | None = None,
    ) -> None:
        """An ``/api/generate`` (``chat=False``) or ``/api/chat`` answer: one object, or
        NDJSON pieces (thinking first) and the final object with the counters; ``calls``:
        the message's ``tool_calls`` (streamed in one piece before the final object, as
        Ollama sends them)."""
        limit = options.get("num_predict")
        reason = "stop"
        if isinstance(limit, int) and 0 <= limit < len(toks):
            toks, reason = toks[:limit], "length"

        def piece(text: str, think: str | None = None) -> dict[str, Any]:
            if not chat:
                return {"response": text}
            message = {"role": "assistant", "content": text}
            if think is not None:
                message["thinking"] = think
            return {"message": message}

        final: dict[str, Any] = {
            "model": raw,
            "created_at": "",
            **piece(""),
            "done": True,
            "done_reason": reason,
            "total_duration": 0,
            "load_duration": max(int(load_s * 1e9), 1),
            "prompt_eval_count": len(tokens_of(prompt)),
            "prompt_eval_duration": 1_000_000,
            "eval_count": len(toks),
            "eval_duration": 0,
        }
        if not chat:
            final["context"] = list(range(1, len(toks) + 8))
        pause = st.knobs.token_seconds

        def finish() -> dict[str, Any]:
            final["created_at"] = rfc3339(time.time())
            total = int((time.monotonic() - t0) * 1e9)
            final["total_duration"] = max(total, 1)
            final["eval_duration"] = max(total - int(final["load_duration"]), 1)
            return final

        if body.get("stream", True) is False:
            time.sleep(pause * len(toks))
            whole = piece("".join(toks), "".join(thinking) if thinking else None)
            if calls:
                whole["message"]["tool_calls"] = calls
            self._ollama_json(200, {**finish(), **whole})
            return

        def chunks() -> Iterator[bytes]:
            pieces = [piece("", t) for t in thinking] + [piece(t) for t in toks]
            if calls:
                call = piece("")
                call["message"]["tool_calls"] = calls
                pieces.append(call)
            for p in pieces:
                time.sleep(pause)
                obj = {"model": raw, "created_at": rfc3339(time.time()), **p, "done": False}
                yield json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
            yield json.dumps(finish(), separators=(",", ":")).encode() + b"\n"

        self._stream("application/x-ndjson", chunks())

    def _ensure_loaded(
        self, st: FakeState, name: str, size: int, keep: float | None, options: dict[str, Any]
    ) -> float:
        """Load (or refresh the keep-alive of) an Ollama model; returns the load time."""
        already = any(x.name == name for x in st.ollama.live_loaded())
        if not already:
            time.sleep(st.knobs.load_seconds)
        ctx = options.get("num_ctx")
        now = time.time()
        with edit_state(self.fake.state_path) as s:
            old = [x for x in s.ollama.live_loaded(now) if x.name == name]
            s.ollama.loaded = [x for x in s.ollama.live_loaded(now) if x.name != name]
            context = int(ctx) if isinstance(ctx, int) else (old[0].context_length if old else 4096)
            s.ollama.loaded.append(
                Loaded(
                    name=name,
                    identifier=name,
                    size=int(size * 1.1) + context * 1024 * 28,
                    context_length=context,
                    loaded_at=old[0].loaded_at if old else now,
                    expires_at=None if keep is None else now + keep,
                )
            )
        return 0.0 if already else st.knobs.load_seconds

    # --- Ollama chat, embeddings, show -----------------------------------------------------
    def _ollama_model(self) -> tuple[dict[str, Any], str, FakeState, Model] | None:
        """The request body, the model as named, the state and the downloaded model; or
        ``None`` once the error answer was sent."""
        body, err = self._body()
        if body is None:
            self._ollama_json(400, {"error": err})
            return None
        raw = str(body.get("model") or body.get("name") or "")
        if not raw:
            self._ollama_json(400, {"error": "model is required"})
            return None
        st = self._state()
        model = st.ollama.find(ollama_name(raw))
        if model is None:
            self._ollama_json(404, {"error": f"model '{raw}' not found"})
            return None
        return body, raw, st, model

    def _ollama_chat(self) -> None:
        found = self._ollama_model()
        if found is None:
            return
        body, raw, st, model = found
        caps = ollama_capabilities(model)
        think = body.get("think")
        if "completion" not in caps:
            self._ollama_json(400, {"error": f'"{raw}" does not support chat'})
            return
        if think not in (None, False) and "thinking" not in caps:
            self._ollama_json(400, {"error": f'"{raw}" does not support thinking'})
            return
        messages = body.get("messages")
        if not isinstance(messages, list):
            self._ollama_json(400, {"error": "messages is required"})
            return
        if body.get("tools") and "tools" not in caps:
            self._ollama_json(400, {"error": f'"{raw}" does not support tools'})
            return
        images = [i for m in messages if isinstance(m, dict) for i in m.get("images") or []]
        if images and "vision" not in caps:
            self._ollama_json(400, {"error": f'"{raw}" does not support vision'})
            return
        for image in images:
            try:
                base64.b64decode(str(image), validate=True)
            except ValueError:
                self._ollama_json(400, {"error": "illegal base64 data at input byte 0"})
                return
        options = body.get("options") if isinstance(body.get("options"), dict) else {}
        assert isinstance(options, dict)
        try:
            keep = parse_keep_alive(body.get("keep_alive"))
        except ValueError as e:
            self._ollama_json(400, {"error": str(e)})
            return
        t0 = time.monotonic()
        load_s = self._ensure_loaded(st, model.name, model.size, keep, options)
        text = chat_answer(st, raw, messages, body.get("format"))
        if images:
            text = f"{text} [saw {len(images)} image{'s' if len(images) > 1 else ''}]"
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        prompt = str(users[-1].get("content") or "") if users else ""
        thinks = think not in (None, False) or (think is None and "thinking" in caps)
        thinking = tokens_of(f"The user asks: {prompt}") if thinks else []
        toks = tokens_of(text)
        call = fake_tool_call(messages, body.get("tools"))
        calls = None
        if call is not None:  # the documented shape: function name and an arguments object
            toks, calls = [], [{"function": {"index": 0, "name": call[0], "arguments": call[1]}}]
        self._ollama_answer(
            st, raw, toks, thinking, prompt, options, body, t0, load_s, chat=True, calls=calls
        )

    def _ollama_embed(self) -> None:
        found = self._ollama_model()
        if found is None:
            return
        body, raw, st, model = found
        texts = body.get("input")
        items = [texts] if isinstance(texts, str) else texts
        if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
            self._ollama_json(400, {"error": "invalid input type"})
            return
        t0 = time.monotonic()
        load_s = self._ensure_loaded(st, model.name, model.size, DEFAULT_KEEP_ALIVE, {})
        self._ollama_json(
            200,
            {
                "model": raw,
                "embeddings": [fake_vector(t) for t in items],
                "total_duration": max(int((time.monotonic() - t0) * 1e9), 1),
                "load_duration": max(int(load_s * 1e9), 1),
                "prompt_eval_count": sum(len(tokens_of(t)) for t in items),
            },
        )

    def _ollama_delete(self) -> None:
        found = self._ollama_model()
        if found is None:
            return
        name = found[3].name
        with edit_state(self.fake.state_path) as s:
            s.ollama.downloaded = [x for x in s.ollama.downloaded if x.name != name]
        self._send(200, b"", "text/plain; charset=utf-8")

    def _registry_manifest(self, path: str) -> None:
        """The registry's ``/v2/<ns>/<model>/manifests/<tag>`` (the fake server serves as
        the registry too): the registry entry's layers, the weights first."""
        repo, _, tag = path.removeprefix("/v2/").partition("/manifests/")
        ns, _, model = repo.rpartition("/")
        name = f"{model}:{tag}" if ns in ("", "library") else f"{ns}/{model}:{tag}"
        entry = self._state().registry.get(name)
        if entry is None:
            unknown = {"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}
            self._ollama_json(404, {"errors": [unknown]})
            return
        kinds = ["model", "template", "license", "license", "params", "system"]
        layers = [
            {
                "mediaType": f"application/vnd.ollama.image.{kinds[min(i, 5)]}",
                "digest": d,
                "size": n,
            }
            for i, (n, d) in enumerate(zip(entry.layers, entry.layer_digests(name), strict=True))
        ]
        config = {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 561}
        self._ollama_json(
            200,
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {**config, "digest": "sha256:" + "0" * 64},
                "layers": layers,
            },
        )

    def _ollama_show(self) -> None:
        found = self._ollama_model()
        if found is None:
            return
        _, raw, _, model = found
        arch = model.family
        self._ollama_json(
            200,
            {
                "license": "",
                "modelfile": f'# Modelfile generated by "ollama show"\nFROM {raw}\n',
                "parameters": 'stop                           "<|eot_id|>"',
                "template": "{{ .Prompt }}",
                "details": self._details(model.family, model.params, model.quantization),
                "model_info": {
                    "general.architecture": arch,
                    f"{arch}.context_length": model.context_length,
                    f"{arch}.embedding_length": 768 if model.type == "embedding" else 3072,
                    f"{arch}.block_count": 28,
                    f"{arch}.attention.head_count": 24,
                    f"{arch}.attention.head_count_kv": 8,
                },
                "capabilities": ollama_capabilities(model),
                "modified_at": rfc3339(model.modified_at),
            },
        )


# ----- the registry's entry -------------------------------------------------------------------


def _loaded(model: Model, now: float) -> Loaded:
    # what /api/ps reports for a 4096-token context, kept alive 5 minutes
    size = int(model.size * 1.1) + 4096 * 28672
    return Loaded(model.name, model.name, size, loaded_at=now, expires_at=now + 300)


def _start_server(
    state_path: Path, bin_dir: Path, env: dict[str, str], port: int
) -> tuple[subprocess.Popen[bytes], str]:
    with open(state_path.with_name("ollama-server.log"), "ab") as log:
        proc = subprocess.Popen(
            [str(bin_dir / "ollama"), "serve"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            start_new_session=True,
        )
    return proc, "/"


FAKE = FakeSpec(
    name="ollama",
    cli=Ollama,
    routes=OllamaRoutes,
    env=lambda port: {"OLLAMA_HOST": f"127.0.0.1:{port}"},
    normalize=ollama_name,
    loaded=_loaded,
    start_server=_start_server,
)
