"""The fake HTTP server on loopback and what every fake runtime's routes share.

The routes themselves live with their runtime (:mod:`.fake_ollama`, :mod:`.fake_lmstudio`,
each a :class:`Handler` subclass); ``flavor`` picks them from the registry
(:mod:`.fakes`): a runtime's name, or ``"both"`` (in-process default: every route set on
one port, tried in registry order; ``/`` answers as Ollama; a route nobody has gets the
last runtime's "not found"). ``GET /__fake__/stats`` returns the request counts of this
server (not counted itself); every other request is also appended to ``requests.jsonl``
beside the state file. With ``api_token`` set every route but ``/lmstudio-greeting``
wants ``Authorization: Bearer <token>`` and gets the runtime's 401 without it.

In process::

    with FakeServer(state_path) as srv:
        httpx.get(srv.url + "/api/tags")

As a process: ``python -m lmsdrive.testing.fake_server --state S --flavor lms --port N``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import hashlib
import importlib
import json
import os
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .fake_state import FakeState, Server, edit_state, load_state, log_request
from .fakes import FAKES, FakeSpec, get_fake

FLAVORS = (*FAKES, "both")


class Died(Exception):
    """The fake server was told to die in the middle of a response."""


# ----- answers every runtime gives ----------------------------------------------------------


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
    test sees that the system message reached the model). A set ``generate_text`` is the
    answer even under a schema: a server that does not enforce it sends what the model wrote."""
    if isinstance(fmt, dict) and state.knobs.generate_text is None:
        return json.dumps(schema_sample(fmt), separators=(", ", ": "))
    after_tool = tool_result_answer(model, messages)
    if after_tool is not None:
        return after_tool

    def text_of(role: str) -> list[str]:
        return [
            text_content(m.get("content"))
            for m in messages
            if isinstance(m, dict) and m.get("role") == role
        ]

    users, system = text_of("user"), " ".join(text_of("system"))
    text = answer_text(state, model, users[-1] if users else "")
    if fmt == "json":
        return json.dumps({"reply": text})
    return f"{text} [system: {system}]" if system else text


#: Families the fakes serve as vision models, and those they serve without tool calling
#: (Ollama's library lists gemma3 with completion and vision, no tools).
VISION_FAMILIES = ("gemma3", "llava")
NO_TOOL_FAMILIES = ("gemma3",)


def text_content(content: object) -> str:
    """A message's text: ``content`` as text, or the text parts of an OpenAI parts list."""
    if isinstance(content, list):
        return " ".join(
            str(p.get("text") or "")
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return str(content or "")


def fake_tool_call(messages: list[Any], tools: object) -> tuple[str, dict[str, Any]] | None:
    """The call a fake model makes: when tools are offered and the last message is the
    user's, the first tool with arguments that fit its parameters' schema; ``None`` (answer
    in text) otherwise, e.g. once a ``tool`` message brought the result."""
    if not isinstance(tools, list) or not tools or not messages:
        return None
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user":
        return None
    fn = tools[0].get("function") if isinstance(tools[0], dict) else None
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
        return None
    args = schema_sample(fn.get("parameters") or {"type": "object"})
    return fn["name"], args if isinstance(args, dict) else {}


def tool_result_answer(model: str, messages: list[Any]) -> str | None:
    """The fake's answer after a tool result: it quotes what the tool returned."""
    last = messages[-1] if messages else None
    if isinstance(last, dict) and last.get("role") == "tool":
        return f"Fake {model} read the tool result: {text_content(last.get('content'))}"
    return None


def fake_vector(text: str, dimensions: int = 8) -> list[float]:
    """A deterministic unit vector for ``text``."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(b - 127.5) / 127.5 for b in digest[:dimensions]]
    norm = sum(x * x for x in raw) ** 0.5 or 1.0
    return [round(x / norm, 6) for x in raw]


def rfc3339(t: float, *, nanos: bool = True) -> str:
    """``2025-10-01T12:00:00.123456789Z`` (UTC, trailing zeros of the fraction trimmed)."""
    dt = _dt.datetime.fromtimestamp(t, tz=_dt.timezone.utc)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if nanos:
        frac = f"{dt.microsecond:06d}".rstrip("0")
        if frac:
            base += "." + frac
    return base + "Z"


# ----- the server ---------------------------------------------------------------------------


class HTTPServer(ThreadingHTTPServer):
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
        self.specs: tuple[FakeSpec, ...] = tuple(
            get_fake(name) for name in (FAKES if flavor == "both" else (flavor,))
        )
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._numbers = 0
        #: What a runtime's routes keep in this server process (LM Studio's download jobs).
        self.jobs: dict[str, Any] = {}
        self._thread: threading.Thread | None = None
        self._dead = threading.Event()
        routes = tuple(spec.routes for spec in self.specs)
        handler = routes[0] if len(routes) == 1 else type("Handler", routes, {})
        self.httpd = HTTPServer((host, port), handler)
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

    def next_number(self) -> int:
        """1, 2, 3, ... (ids of chats and jobs)."""
        with self.lock:
            self._numbers += 1
            return self._numbers

    def count(self, method: str, path: str) -> None:
        with self.lock:
            self.counts["total"] += 1
            self.counts[f"{method} {path}"] += 1
        log_request(self.state_path, self.flavor, method, path)


class Handler(BaseHTTPRequestHandler):
    """The plumbing of every fake's routes; a runtime's subclass answers its own routes."""

    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes: without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK add ~40 ms to every keep-alive request (real servers set it).
    disable_nagle_algorithm = True
    server: HTTPServer

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

    def _state(self) -> FakeState:
        return load_state(self.fake.state_path)

    # --- what a runtime's routes define --------------------------------------------------
    #: Paths that never want a token (a liveness probe).
    OPEN_PATHS: tuple[str, ...] = ()

    def route(self, path: str) -> bool:
        """Answer ``path`` and return True, or return False (not a route of this runtime)."""
        return False

    @classmethod
    def claims(cls, path: str) -> bool:
        """The path is this runtime's (its 401 answers it when ``flavor="both"``)."""
        return False

    def not_found(self, path: str) -> None:
        self._send(404, b"Not Found", "text/plain")

    def refuse(self) -> None:
        """The answer to a request without the token."""
        self._send(401, b"Unauthorized", "text/plain")

    def access_line(self, path: str, latency: float) -> str | None:
        """The server's log line for this request (``None``: it logs none)."""
        return None

    def _stream(
        self, ctype: str, chunks: Iterator[bytes], extra: dict[str, str] | None = None
    ) -> None:
        """A chunked response; ``Died`` from ``chunks`` cuts the connection mid-stream."""
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
        except Died:
            self.close_connection = True
            self.wfile.flush()
            self.fake.die()  # dead before the client can see the cut (a loaded machine)
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(b"0\r\n\r\n")

    def _dispatch(self) -> None:
        self._t0 = time.monotonic()
        self._status = 0
        path = self.path.split("?", 1)[0]
        if path == "/__fake__/stats":
            with self.fake.lock:
                body = dict(self.fake.counts)
            self._send(200, json.dumps(body).encode(), "application/json")
            return
        self.fake.count(self.command, path)
        specs = self.fake.specs
        try:
            if not self._refused(path) and not any(s.routes.route(self, path) for s in specs):
                specs[-1].routes.not_found(self, path)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            line = specs[0].routes.access_line(self, path, time.monotonic() - self._t0)
            if self.fake.log is not None and line is not None:
                self.fake.log(line)

    do_GET = do_POST = do_HEAD = do_DELETE = do_PUT = _dispatch

    def _refused(self, path: str) -> bool:
        """Answer 401 when the state asks for a token and the request lacks it (a liveness
        probe of any runtime stays open)."""
        token = self._state().knobs.api_token
        if not token or any(path in get_fake(n).routes.OPEN_PATHS for n in FAKES):
            return False
        if self.headers.get("Authorization", "") == f"Bearer {token}":
            return False
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        specs = self.fake.specs
        owner = next((s for s in specs if s.routes.claims(path)), specs[0])
        owner.routes.refuse(self)
        return True


# ----- as a process -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run one runtime's fake server in the foreground until SIGTERM/SIGINT (the detached
    LM Studio server that the fake ``lms server start`` leaves behind)."""
    from .fake_cli import serve_until, stop_on_signals

    ap = argparse.ArgumentParser(prog="python -m lmsdrive.testing.fake_server")
    ap.add_argument("--state", required=True)
    ap.add_argument("--flavor", choices=tuple(FAKES), default="lms")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    backend = args.flavor

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
    stop = stop_on_signals()
    with edit_state(args.state) as s:  # the port it got (``--port 0``: a free one)
        s.backend(backend).server = Server(pid=os.getpid(), port=srv.port)
    srv.start()
    print(f"listening on {srv.url}", file=sys.stderr, flush=True)
    serve_until(stop)
    srv.stop()
    forget(args.state, backend, os.getpid())
    return 0


def forget(state_path: Path | str, backend: str, pid: int, *, service: bool = False) -> None:
    """Remove a server from the state when its process ends (``service``: the runtime's
    background service went with it, and what it had loaded)."""
    with edit_state(state_path) as s:
        b = s.backend(backend)
        if b.server is not None and b.server.pid == pid:
            b.server = None
        if service:
            b.service_running = False
            b.loaded = []


def __getattr__(name: str) -> Any:
    """A name a runtime's module defines, from here too (``LMS_TOKEN_REQUIRED``)."""
    for module in FAKES.values():
        found = importlib.import_module(module, __package__).__dict__.get(name)
        if found is not None:
            return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    sys.exit(main())
