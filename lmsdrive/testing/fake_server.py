"""A fake Ollama / LM Studio HTTP server on loopback, answering in the recorded shapes.

Ollama (reference ollama-cli.md §6, Go/gin: compact JSON, ``application/json;
charset=utf-8``, chunked NDJSON streams): ``GET/HEAD /`` (``Ollama is running``),
``/api/version``, ``/api/tags``, ``/api/ps``, ``POST /api/pull`` (NDJSON progress with
timing, or one object with ``"stream": false``), ``POST /api/generate`` (load with an empty
prompt, unload with ``keep_alive: 0``, plain or NDJSON generation, ``{"error":"model 'x' not
found"}`` 404), ``POST /api/chat`` (plain or NDJSON; ``format`` answered with JSON that fits
the schema; ``thinking`` pieces first on a thinking model, 400 ``does not support thinking``
otherwise; the system prompt quoted in the answer), ``POST /api/embed`` (a deterministic unit
vector per input), ``POST /api/show`` (``capabilities``: ``embedding`` for embedding models,
``completion``/``tools`` (+``thinking``) otherwise); other routes: gin's ``404 page not found``.

LM Studio (reference lms-cli.md §7, Express): ``/lmstudio-greeting``, ``/v1/models`` and
``/api/v0/models`` (pretty-printed), ``POST /v1/chat/completions`` (plain, or SSE ending with
``data: [DONE]``; HTTP 400 error object when the model is not loaded; ``response_format``
``json_schema``/``json_object`` answered with JSON that fits; ``reasoning`` apart for the
gpt-oss family), ``POST /v1/embeddings`` (embedding models only); any other route or
method: HTTP **200** ``{"error":"Unexpected endpoint or method. (POST /x)"}``.

``flavor`` picks the API: ``"ollama"``, ``"lms"`` or ``"both"`` (in-process default: both
route sets on one port; ``/`` answers as Ollama). ``GET /__fake__/stats`` returns the request
counts of this server (not counted itself); every other request is also appended to
``requests.jsonl`` beside the state file.

In process::

    with FakeServer(state_path) as srv:
        httpx.get(srv.url + "/api/tags")

As a process: ``python -m lmsdrive.testing.fake_server --state S --flavor lms --port N``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import socket
import string
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from . import _fake_render as R
from .fake_state import (
    FakeState,
    Loaded,
    Model,
    RegistryEntry,
    edit_state,
    lms_key,
    load_state,
    log_request,
    make_model,
    ollama_name,
)

FLAVORS = ("ollama", "lms", "both")
DEFAULT_KEEP_ALIVE = 300.0
#: LM Studio 0.4.18's answer to a request without a token (reference runtimes-2026.md §3.3).
LMS_TOKEN_REQUIRED = {
    "error": {
        "type": "invalid_request",
        "code": "invalid_api_key",
        "message": (
            "An LM Studio API token is required to make requests to this server, but none was "
            "provided using the Authorization header using the 'Bearer' scheme (i.e., "
            "'Authorization: Bearer $LM_API_TOKEN'). Learn more at: "
            "https://lmstudio.ai/docs/developer/core/authentication."
        ),
    }
}
_LMS_PATHS = ("/lmstudio-greeting", "/v1/", "/api/v0/", "/api/v1/")
LMS_NOT_LOADED = (
    "No models loaded. Please load a model in the developer page or use the `lms load` command."
)


class _Died(Exception):
    """The fake server was told to die in the middle of a response."""


# ----- events shared with the fake CLI ------------------------------------------------------


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


def tokens_of(text: str) -> list[str]:
    """Split an answer into "tokens" (words with their trailing space)."""
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def answer_text(state: FakeState, model: str, prompt: str) -> str:
    if state.knobs.generate_text is not None:
        return state.knobs.generate_text
    return f"Fake {model} reply to: {prompt}"


def schema_sample(schema: object) -> Any:
    """A value that fits a JSON schema (what a grammar-constrained model would send)."""
    if not isinstance(schema, dict):
        return {}
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    props = schema.get("properties")
    if kind == "object" or isinstance(props, dict):
        return {k: schema_sample(v) for k, v in (props or {}).items()}
    samples = {"string": "fake", "integer": 22, "number": 1.5, "boolean": True, "null": None}
    if kind == "array":
        return [schema_sample(schema.get("items"))]
    return samples.get(str(kind), "fake")


def chat_answer(state: FakeState, model: str, messages: list[Any], fmt: object) -> str:
    """The answer of a fake chat: JSON for a ``format`` / ``response_format``; otherwise
    :func:`answer_text` of the last user message, naming the system prompt it got (so a
    test sees that the system message reached the model)."""
    if isinstance(fmt, dict):
        return json.dumps(schema_sample(fmt), separators=(", ", ": "))

    def text_of(role: str) -> list[str]:
        return [
            str(m.get("content") or "")
            for m in messages
            if isinstance(m, dict) and m.get("role") == role
        ]

    users, system = text_of("user"), " ".join(text_of("system"))
    text = answer_text(state, model, users[-1] if users else "")
    if fmt == "json":
        return json.dumps({"reply": text})
    return f"{text} [system: {system}]" if system else text


def fake_vector(text: str, dimensions: int = 8) -> list[float]:
    """A deterministic unit vector for ``text``."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(b - 127.5) / 127.5 for b in digest[:dimensions]]
    norm = sum(x * x for x in raw) ** 0.5 or 1.0
    return [round(x / norm, 6) for x in raw]


def ollama_capabilities(model: Model) -> list[str]:
    """What the fake's ``/api/show`` reports: ``embedding`` for an embedding model;
    ``thinking`` too for the families that think (qwen3, deepseek-r1, gpt-oss)."""
    if model.type == "embedding":
        return ["embedding"]
    caps = ["completion", "tools"]
    if model.family in THINKING_FAMILIES:
        caps.append("thinking")
    return caps


#: Model families whose fakes think (Ollama ``thinking``, LM Studio ``reasoning``).
THINKING_FAMILIES = ("qwen3", "deepseek2", "gptoss")


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


def _chat_id(n: int) -> str:
    alphabet = string.ascii_lowercase + string.digits
    seed, out = n * 2654435761 + 12345, []
    for _ in range(21):
        seed, r = divmod(seed * 6364136223846793005 + 1442695040888963407, 36)
        seed %= 2**64
        out.append(alphabet[r])
    return "chatcmpl-" + "".join(out)


# ----- the server ---------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # The listen backlog of the real servers (Node's default, LM Studio; Go uses somaxconn),
    # not socketserver's 5: 50 clients connecting at once must not overflow the accept queue
    # (dropped SYNs stall a connect by 1 s; with SYN cookies a connection can be reset).
    request_queue_size = 511
    fake: FakeServer


class FakeServer:
    """The fake HTTP server; binds in the constructor (``OSError`` when the port is taken)."""

    def __init__(
        self,
        state_path: Path | str,
        *,
        flavor: str = "both",
        host: str = "127.0.0.1",
        port: int = 0,
        log: Callable[[str], None] | None = None,
        on_die: Callable[[], None] | None = None,
    ) -> None:
        if flavor not in FLAVORS:
            raise ValueError(f"flavor must be one of {FLAVORS}, not {flavor!r}")
        self.state_path = Path(state_path)
        self.flavor = flavor
        self.log = log
        self.on_die = on_die
        self.counts: Counter[str] = Counter()
        self._count_lock = threading.Lock()
        self._chat_n = 0
        self._jobs: dict[str, tuple[str, int, float]] = {}
        self._thread: threading.Thread | None = None
        self._dead = threading.Event()
        self.httpd = _HTTPServer((host, port), _Handler)
        self.httpd.fake = self

    @property
    def host(self) -> str:
        return str(self.httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.05)

    def start(self) -> FakeServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def dead(self) -> bool:
        return self._dead.is_set()

    def die(self) -> None:
        """Simulate the server process dying: ``on_die`` (a process exits there), else stop
        accepting connections."""
        self._dead.set()
        if self.on_die is not None:
            self.on_die()

        def close() -> None:
            self.httpd.shutdown()
            self.httpd.server_close()

        threading.Thread(target=close, daemon=True).start()

    # --- REST v1 download jobs (in this server process) -----------------------------------
    def v1_start_job(self, key: str, total: int) -> dict[str, Any]:
        """Start a download job of ``key``: it progresses over ``pull_seconds`` in
        ``pull_frames`` steps (or fails half way with ``pull_error``)."""
        with self._count_lock:
            self._jobs_n = getattr(self, "_jobs_n", 0) + 1
            job_id = f"job_{hashlib.sha256(f'{key}#{self._jobs_n}'.encode()).hexdigest()[:10]}"
            self._jobs[job_id] = (key, total, time.time())
        return self.v1_job(job_id) or {}

    def v1_job(self, job_id: str) -> dict[str, Any] | None:
        """The job's status now, as ``GET .../download/status/{job_id}`` answers it; a
        finished job records the model as downloaded (once)."""
        with self._count_lock:
            job = self._jobs.get(job_id)
        if job is None:
            return None
        key, total, started = job
        knobs = load_state(self.state_path).knobs
        frames = max(knobs.pull_frames, 1)
        share = min(1.0, (time.time() - started) / max(knobs.pull_seconds, 1e-6))
        step = int(share * frames)  # progress moves in whole frames, as a real poll sees it
        done = total * step // frames
        base = {
            "job_id": job_id,
            "total_size_bytes": total,
            "started_at": R.rfc3339(started),
        }
        if knobs.pull_error is not None and step * 2 > frames:
            return {**base, "status": "failed", "downloaded_bytes": total // 2}
        if step < frames:
            speed = int(total / max(knobs.pull_seconds, 1e-6))
            left = knobs.pull_seconds * (1 - share)
            return {
                **base,
                "status": "downloading",
                "downloaded_bytes": done,
                "bytes_per_second": speed,
                "estimated_completion": R.rfc3339(time.time() + left),
            }
        with edit_state(self.state_path) as s:
            if s.lms.find(key) is None:
                s.lms.downloaded.append(make_model(key, s.registry.get(key)))
        return {
            **base,
            "status": "completed",
            "downloaded_bytes": total,
            "completed_at": R.rfc3339(started + knobs.pull_seconds),
        }

    def count(self, method: str, path: str) -> None:
        with self._count_lock:
            self.counts["total"] += 1
            self.counts[f"{method} {path}"] += 1
        log_request(self.state_path, self.flavor, method, path)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes: without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK add ~40 ms to every keep-alive request (real servers set it).
    disable_nagle_algorithm = True
    server: _HTTPServer

    # --- plumbing --------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_response(self, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())
        self._status = code

    @property
    def fake(self) -> FakeServer:
        return self.server.fake

    def _body(self) -> tuple[dict[str, Any] | None, str | None]:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not raw.strip():
            return None, "missing request body"
        try:
            data = json.loads(raw)
        except ValueError as e:
            return None, f"invalid character: {e}"
        if not isinstance(data, dict):
            return None, "json: cannot unmarshal into Go value"
        return data, None

    def _send(
        self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _ollama_json(self, status: int, obj: object) -> None:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        self._send(status, text.encode(), "application/json; charset=utf-8")

    def _lms_json(self, status: int, obj: object, *, pretty: bool = True) -> None:
        text = json.dumps(obj, indent=2) if pretty else json.dumps(obj, separators=(",", ":"))
        self._send(
            status, text.encode(), "application/json; charset=utf-8", {"X-Powered-By": "Express"}
        )

    def _stream(
        self, ctype: str, chunks: Iterator[bytes], extra: dict[str, str] | None = None
    ) -> None:
        """A chunked response; ``_Died`` from ``chunks`` cuts the connection mid-stream."""
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
        except _Died:
            self.close_connection = True
            self.wfile.flush()
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            self.fake.die()
            return
        self.wfile.write(b"0\r\n\r\n")

    def _dispatch(self) -> None:
        self._t0 = time.monotonic()
        self._status = 0
        path = self.path.split("?", 1)[0]
        if path == "/__fake__/stats":
            with self.fake._count_lock:
                body = dict(self.fake.counts)
            self._send(200, json.dumps(body).encode(), "application/json")
            return
        self.fake.count(self.command, path)
        flavor = self.fake.flavor
        try:
            if (
                self._refused(path)
                or (flavor != "lms" and self._ollama_route(path))
                or (flavor != "ollama" and self._lms_route(path))
            ):
                pass
            elif flavor == "ollama":
                self._send(404, b"404 page not found", "text/plain")
            else:
                msg = f"Unexpected endpoint or method. ({self.command} {path})"
                self._lms_json(200, {"error": msg}, pretty=False)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            if self.fake.log is not None and flavor != "lms":
                latency = time.monotonic() - self._t0
                self.fake.log(
                    R.gin_line(self._status, latency, self.client_address[0], self.command, path)
                )

    do_GET = do_POST = do_HEAD = do_DELETE = do_PUT = _dispatch

    # --- tokens ----------------------------------------------------------------------------
    def _refused(self, path: str) -> bool:
        """Answer 401 when the state asks for a token and the request lacks it (the greeting,
        LM Studio's liveness probe, stays open)."""
        token = self._state().knobs.api_token
        if not token or path == "/lmstudio-greeting":
            return False
        if self.headers.get("Authorization", "") == f"Bearer {token}":
            return False
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        lms = self.fake.flavor == "lms" or (
            self.fake.flavor == "both" and path.startswith(_LMS_PATHS)
        )
        if lms:
            self._lms_json(401, LMS_TOKEN_REQUIRED)
        else:
            self._ollama_json(401, {"error": "unauthorized"})
        return True

    # --- Ollama ----------------------------------------------------------------------------
    def _ollama_route(self, path: str) -> bool:
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
        else:
            return False
        return True

    def _state(self) -> FakeState:
        return load_state(self.fake.state_path)

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
            "modified_at": R.rfc3339(x.modified_at),
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
                    "expires_at": R.rfc3339(expires),
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
                        raise _Died
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
        except _Died:
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
        now_iso = R.rfc3339(time.time())
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
    ) -> None:
        """An ``/api/generate`` (``chat=False``) or ``/api/chat`` answer: one object, or
        NDJSON pieces (thinking first) and the final object with the counters."""
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
            final["created_at"] = R.rfc3339(time.time())
            total = int((time.monotonic() - t0) * 1e9)
            final["total_duration"] = max(total, 1)
            final["eval_duration"] = max(total - int(final["load_duration"]), 1)
            return final

        if body.get("stream", True) is False:
            time.sleep(pause * len(toks))
            whole = piece("".join(toks), "".join(thinking) if thinking else None)
            self._ollama_json(200, {**finish(), **whole})
            return

        def chunks() -> Iterator[bytes]:
            pieces = [piece("", t) for t in thinking] + [piece(t) for t in toks]
            for p in pieces:
                time.sleep(pause)
                obj = {"model": raw, "created_at": R.rfc3339(time.time()), **p, "done": False}
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
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        prompt = str(users[-1].get("content") or "") if users else ""
        thinks = think not in (None, False) or (think is None and "thinking" in caps)
        thinking = tokens_of(f"The user asks: {prompt}") if thinks else []
        toks = tokens_of(text)
        self._ollama_answer(st, raw, toks, thinking, prompt, options, body, t0, load_s, chat=True)

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
                },
                "capabilities": ollama_capabilities(model),
                "modified_at": R.rfc3339(model.modified_at),
            },
        )

    # --- LM Studio -------------------------------------------------------------------------
    def _lms_route(self, path: str) -> bool:
        m = self.command
        if path == "/lmstudio-greeting" and m == "GET":
            self._lms_json(200, {"lmstudio": True}, pretty=False)
        elif path == "/v1/models" and m == "GET":
            st = self._state()
            ids = self._lms_visible(st)
            data = [{"id": i, "object": "model", "owned_by": "organization_owner"} for i in ids]
            self._lms_json(200, {"data": data, "object": "list"})
        elif path == "/api/v0/models" and m == "GET":
            self._lms_json(200, {"data": self._v0_models(self._state()), "object": "list"})
        elif path == "/v1/chat/completions" and m == "POST":
            self._chat()
        elif path == "/v1/embeddings" and m == "POST":
            self._lms_embeddings()
        elif path.startswith("/api/v1/") and self._state().knobs.lms_rest_v1:
            return self._v1_route(path)
        else:
            return False
        return True

    # --- LM Studio REST API v1 (0.4+; reference runtimes-2026.md §2.1-2.5) ---------------
    def _v1_route(self, path: str) -> bool:
        m = self.command
        status_prefix = "/api/v1/models/download/status/"
        if path == "/api/v1/models" and m == "GET":
            self._lms_json(200, {"models": self._v1_models(self._state())})
        elif path == "/api/v1/models/download" and m == "POST":
            self._v1_download()
        elif path.startswith(status_prefix) and m == "GET":
            job = self.fake.v1_job(path[len(status_prefix) :])
            if job is None:
                self._v1_error(404, "job_not_found", "Download job not found")
            else:
                self._lms_json(200, job)
        elif path == "/api/v1/models/load" and m == "POST":
            self._v1_load()
        elif path == "/api/v1/models/unload" and m == "POST":
            self._v1_unload()
        else:
            return False
        return True

    def _v1_error(self, status: int, etype: str, message: str) -> None:
        self._lms_json(status, {"error": {"type": etype, "message": message}})

    @staticmethod
    def _v1_models(st: FakeState) -> list[dict[str, Any]]:
        live = st.lms.live_loaded()
        out = []
        for x in st.lms.downloaded:
            out.append(
                {
                    "type": x.type,
                    "publisher": x.name.split("/", 1)[0] if "/" in x.name else "lmstudio-community",
                    "key": x.name,
                    "display_name": x.name.rsplit("/", 1)[-1],
                    "architecture": x.family,
                    "quantization": {"name": x.quantization, "bits_per_weight": 4},
                    "size_bytes": x.size,
                    "params_string": x.params or None,
                    "loaded_instances": [
                        {"id": i.identifier, "config": {"context_length": i.context_length}}
                        for i in live
                        if i.name == x.name
                    ],
                    "max_context_length": x.context_length,
                    "format": "gguf",
                }
            )
        return out

    def _v1_download(self) -> None:
        body, err = self._body()
        key = lms_key(str((body or {}).get("model") or ""))
        if not key:
            self._v1_error(
                400, "invalid_request", f'"model" is required{f" ({err})" if err else ""}'
            )
            return
        st = self._state()
        if st.lms.find(key) is not None:
            self._lms_json(200, {"status": "already_downloaded"})
            return
        entry = st.registry.get(key)
        if entry is None:
            self._v1_error(404, "model_not_found", f"Model not found: {key}")
            return
        job = self.fake.v1_start_job(key, entry.size)
        self._lms_json(200, job)

    def _v1_load(self) -> None:
        body, err = self._body()
        key = lms_key(str((body or {}).get("model") or ""))
        st = self._state()
        model = st.lms.find(key) if key else None
        if model is None:
            self._v1_error(404, "model_not_found", f"Model not found: {key or err}")
            return
        ctx = (body or {}).get("context_length")
        time.sleep(st.knobs.load_seconds)
        now = time.time()
        with edit_state(self.fake.state_path) as s:
            taken = {x.identifier for x in s.lms.live_loaded(now)}
            ident, n = key, 2
            while ident in taken:
                ident, n = f"{key}:{n}", n + 1
            context = int(ctx) if isinstance(ctx, int) else 4096
            s.lms.loaded = s.lms.live_loaded(now)
            s.lms.loaded.append(
                Loaded(
                    name=key,
                    identifier=ident,
                    size=model.size,
                    context_length=context,
                    loaded_at=now,
                )
            )
        answer: dict[str, Any] = {
            "type": model.type,
            "instance_id": ident,
            "load_time_seconds": st.knobs.load_seconds,
            "status": "loaded",
        }
        if (body or {}).get("echo_load_config"):
            answer["load_config"] = {"context_length": context}
        self._lms_json(200, answer)

    def _v1_unload(self) -> None:
        body, _ = self._body()
        ident = str((body or {}).get("instance_id") or "")
        with edit_state(self.fake.state_path) as s:
            found = any(x.identifier == ident for x in s.lms.live_loaded())
            s.lms.loaded = [x for x in s.lms.live_loaded() if x.identifier != ident]
        if not found:
            self._v1_error(404, "model_not_found", f"No loaded model instance: {ident}")
            return
        self._lms_json(200, {"instance_id": ident})

    @staticmethod
    def _lms_visible(st: FakeState) -> list[str]:
        if st.knobs.lms_jit:
            return [x.name for x in st.lms.downloaded]
        return [x.identifier for x in st.lms.live_loaded()]

    @staticmethod
    def _v0_models(st: FakeState) -> list[dict[str, Any]]:
        loaded = {x.name: x for x in st.lms.live_loaded()}
        out = []
        for x in st.lms.downloaded:
            inst = loaded.get(x.name)
            if inst is None and not st.knobs.lms_jit:
                continue
            obj: dict[str, Any] = {
                "id": x.name,
                "object": "model",
                "type": "embeddings" if x.type == "embedding" else "llm",
                "publisher": x.name.split("/", 1)[0] if "/" in x.name else "lmstudio-community",
                "arch": x.family,
                "compatibility_type": "gguf",
                "quantization": x.quantization,
                "state": "loaded" if inst else "not-loaded",
                "max_context_length": x.context_length,
            }
            if inst is not None:
                obj["loaded_context_length"] = inst.context_length
            out.append(obj)
        return out

    def _lms_error(self, message: str, *, param: str | None = "model") -> None:
        err: dict[str, Any] = {"message": message, "type": "invalid_request_error"}
        if param is not None:
            err["param"] = param
        self._lms_json(400, {"error": err})

    def _chat(self) -> None:
        body, err = self._body()
        if body is None:
            self._lms_error(f"'messages' field is required ({err})", param="messages")
            return
        st = self._state()
        want = str(body.get("model") or "")
        live = st.lms.live_loaded()
        inst = next((x for x in live if want in (x.identifier, x.name)), None)
        if inst is None and not want and len(live) == 1:
            inst = live[0]
        if inst is None and st.knobs.lms_jit and st.lms.find(lms_key(want)) is not None:
            time.sleep(st.knobs.load_seconds)
            key = lms_key(want)
            m = st.lms.find(key)
            assert m is not None
            inst = Loaded(
                name=key,
                identifier=key,
                size=m.size,
                loaded_at=time.time(),
                expires_at=time.time() + 3600,
                ttl_seconds=3600,
            )
            with edit_state(self.fake.state_path) as s:
                s.lms.loaded.append(inst)
        if inst is None:
            if not live:
                self._lms_error(LMS_NOT_LOADED)
            else:
                self._lms_error(f'Model "{want}" is not loaded. Load it with `lms load {want}`.')
            return
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            self._lms_error("'messages' field is required", param="messages")
            return
        if st.knobs.generate_dies:
            with edit_state(self.fake.state_path) as s:
                s.lms.loaded = [x for x in s.lms.loaded if x.identifier != inst.identifier]
            self._lms_error("The model has crashed without additional information. (Exit code: 6)")
            return
        prompt = ""
        for msg in messages:
            if isinstance(msg, dict) and msg.get("role") == "user":
                prompt = str(msg.get("content") or "")
        listed = st.lms.find(inst.name)
        if listed is not None and listed.type == "embedding":
            self._lms_error(f'Model "{want}" is an embedding model: it cannot chat.')
            return
        fmt = self._response_format(body.get("response_format"))
        toks = tokens_of(chat_answer(st, inst.identifier, messages, fmt))
        # LM Studio 0.3.23+ sends gpt-oss reasoning apart (``reasoning``); other thinking
        # models keep it in the content unless a setting says otherwise: not faked.
        thinks = listed is not None and listed.family == "gptoss"
        reasoning = tokens_of(f"The user asks: {prompt}") if thinks else []
        limit = body.get("max_tokens")
        reason = "stop"
        if isinstance(limit, int) and 0 <= limit < len(toks):
            toks, reason = toks[:limit], "length"
        self.fake._chat_n += 1
        cid, created = _chat_id(self.fake._chat_n), int(time.time())
        ident = inst.identifier
        pause = st.knobs.token_seconds
        usage = {
            "prompt_tokens": len(tokens_of(prompt)),
            "completion_tokens": len(toks),
            "total_tokens": len(tokens_of(prompt)) + len(toks),
        }
        if not body.get("stream"):
            time.sleep(pause * len(toks))
            self._lms_json(
                200,
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": ident,
                    "choices": [
                        {
                            "index": 0,
                            "logprobs": None,
                            "finish_reason": reason,
                            "message": {
                                "role": "assistant",
                                "content": "".join(toks),
                                **({"reasoning": "".join(reasoning)} if reasoning else {}),
                            },
                        }
                    ],
                    "usage": usage,
                    "stats": {},
                    "system_fingerprint": ident,
                },
            )
            return

        def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
            obj = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": ident,
                "system_fingerprint": ident,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"

        def chunks() -> Iterator[bytes]:
            for t in reasoning:
                yield chunk({"role": "assistant", "reasoning": t}, None)
            for t in toks:
                time.sleep(pause)
                yield chunk({"role": "assistant", "content": t}, None)
            yield chunk({}, reason)
            yield b"data: [DONE]\n\n"

        self._stream(
            "text/event-stream",
            chunks(),
            {"Cache-Control": "no-cache", "Connection": "keep-alive", "X-Powered-By": "Express"},
        )

    # --- LM Studio structured output and embeddings ----------------------------------------
    @staticmethod
    def _response_format(value: object) -> object:
        """The schema (or ``"json"``) a ``response_format`` asks for; ``None`` for text."""
        if not isinstance(value, dict):
            return None
        if value.get("type") == "json_schema":
            spec = value.get("json_schema")
            return spec.get("schema") if isinstance(spec, dict) else {}
        if value.get("type") == "json_object":
            return value.get("schema") or "json"
        return None

    def _lms_embeddings(self) -> None:
        body, err = self._body()
        if body is None:
            self._lms_error(f"'input' field is required ({err})", param="input")
            return
        st = self._state()
        want = str(body.get("model") or "")
        inst = next((x for x in st.lms.live_loaded() if want in (x.identifier, x.name)), None)
        model = st.lms.find(inst.name if inst else lms_key(want))
        if model is None or (inst is None and not st.knobs.lms_jit):
            self._lms_error(f'Model "{want}" is not loaded. Load it with `lms load {want}`.')
            return
        if model.type != "embedding":
            self._lms_error(f'Model "{want}" is not an embedding model.')
            return
        texts = body.get("input")
        items = [texts] if isinstance(texts, str) else texts
        if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
            self._lms_error("'input' must be a string or an array of strings", param="input")
            return
        n = sum(len(tokens_of(t)) for t in items)
        data = [
            {"object": "embedding", "embedding": fake_vector(t), "index": i}
            for i, t in enumerate(items)
        ]
        self._lms_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": model.name,
                "usage": {"prompt_tokens": n, "total_tokens": n},
            },
        )


# ----- as a process -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run one fake server in the foreground until SIGTERM/SIGINT (the detached LM Studio
    server that the fake ``lms server start`` leaves behind)."""
    import signal

    ap = argparse.ArgumentParser(prog="python -m lmsdrive.testing.fake_server")
    ap.add_argument("--state", required=True)
    ap.add_argument("--flavor", choices=FLAVORS, default="lms")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    backend = "ollama" if args.flavor == "ollama" else "lms"

    def on_die() -> None:
        forget(args.state, backend, os.getpid(), service=True)
        os._exit(2)

    try:
        srv = FakeServer(
            args.state, flavor=args.flavor, host=args.host, port=args.port, on_die=on_die
        )
    except OSError as e:
        print(f"listen tcp {args.host}:{args.port}: bind: {e.strerror}", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    srv.start()
    print(f"listening on {srv.url}", file=sys.stderr, flush=True)
    while not stop.wait(0.1):
        pass
    srv.stop()
    forget(args.state, backend, os.getpid())
    return 0


def forget(state_path: Path | str, backend: str, pid: int, *, service: bool = False) -> None:
    """Remove a server from the state when its process ends."""
    with edit_state(state_path) as s:
        b = s.backend(backend)
        if b.server is not None and b.server.pid == pid:
            b.server = None
        if service and backend == "lms":
            b.service_running = False
            b.loaded = []


if __name__ == "__main__":
    sys.exit(main())
