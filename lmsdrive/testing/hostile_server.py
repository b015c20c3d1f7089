"""A loopback HTTP server that misbehaves on purpose, for robustness tests of HTTP clients.

Each connection is read up to the end of one request (request line, headers, and a body of
``Content-Length`` bytes); then the route's *behaviour* writes raw bytes to the socket, and
the connection is closed. Behaviours are generators of byte strings, so a response can be
cut anywhere, stall, or never end (an endless generator stops when the client goes away)::

    with HostileServer({"/api/tags": status(500, b'{"error":"boom"}')}) as srv:
        OllamaAPI(srv.url).tags()           # -> APIError (HTTP 500)

Ready-made behaviours: :func:`status` (a whole response), :func:`hang_up` (close without a
byte), :func:`truncated` (fewer body bytes than ``Content-Length`` says), :func:`chunked`
(a chunked body, optionally cut before its end), :func:`endless` (the same chunk for ever),
:func:`stall` (headers, then silence), :func:`huge` (a body of N bytes produced on the fly,
never held in memory). A route not in the table answers 404.

:attr:`HostileServer.connections` counts accepted connections and :attr:`open_connections`
those whose handler has not finished yet: a client that leaks a socket leaves one open.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType

__all__ = [
    "TICK",
    "Behaviour",
    "HostileServer",
    "Request",
    "chunked",
    "endless",
    "hang_up",
    "huge",
    "stall",
    "status",
    "truncated",
]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Behaviour = Callable[[Request], Iterable[bytes]]
#: Yielded by a behaviour that waits: nothing is sent, but the server checks that the client
#: is still connected and ends the connection if it is gone.
TICK = b""

_REASONS = {200: "OK", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"}


def _head(code: int, headers: Mapping[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {code} {_REASONS.get(code, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def status(code: int, body: bytes, content_type: str = "application/json") -> Behaviour:
    """A complete response with ``Content-Length``."""

    def behave(_: Request) -> Iterator[bytes]:
        yield _head(code, {"Content-Type": content_type, "Content-Length": str(len(body))})
        yield body

    return behave


def hang_up(_: Request) -> Iterator[bytes]:
    """Close the connection without answering."""
    return iter(())


def truncated(body: bytes, declared: int, content_type: str = "application/json") -> Behaviour:
    """``Content-Length: declared`` but only ``body`` is sent before the connection closes."""

    def behave(_: Request) -> Iterator[bytes]:
        yield _head(200, {"Content-Type": content_type, "Content-Length": str(declared)})
        yield body

    return behave


def chunked(
    pieces: Iterable[bytes],
    *,
    complete: bool = True,
    content_type: str = "application/x-ndjson",
    code: int = 200,
) -> Behaviour:
    """A chunked body of ``pieces``; ``complete=False`` closes the connection without the
    terminating zero-length chunk (the server died mid-stream)."""

    def behave(_: Request) -> Iterator[bytes]:
        yield _head(code, {"Content-Type": content_type, "Transfer-Encoding": "chunked"})
        for piece in pieces:
            if piece:
                yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        if complete:
            yield b"0\r\n\r\n"

    return behave


def endless(
    piece: bytes, content_type: str = "application/x-ndjson", *, max_bytes: int | None = None
) -> Behaviour:
    """A chunked body repeating ``piece`` until the client closes the connection (or, with
    ``max_bytes``, until that much was sent: a test that fails then fails without eating
    the machine's memory)."""

    def behave(_: Request) -> Iterator[bytes]:
        yield _head(200, {"Content-Type": content_type, "Transfer-Encoding": "chunked"})
        frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        sent = 0
        while max_bytes is None or sent < max_bytes:
            yield frame
            sent += len(piece)
        yield b"0\r\n\r\n"

    return behave


def stall(seconds: float, content_type: str = "application/x-ndjson") -> Behaviour:
    """Headers of a chunked response, then nothing for ``seconds`` (or until the client
    goes away or the server stops), then the connection closes."""

    def behave(_: Request) -> Iterator[bytes]:
        yield _head(200, {"Content-Type": content_type, "Transfer-Encoding": "chunked"})
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.02)
            yield TICK

    return behave


def huge(size: int, *, prefix: bytes = b"", fill: bytes = b" ", suffix: bytes = b"") -> Behaviour:
    """A 200 response whose ``Content-Length`` body is ``prefix``, ``fill`` repeated up to
    ``size`` bytes in all, then ``suffix``; produced in 64 KiB pieces, never held whole."""

    def behave(_: Request) -> Iterator[bytes]:
        yield _head(200, {"Content-Type": "application/json", "Content-Length": str(size)})
        yield prefix
        left = size - len(prefix) - len(suffix)
        block = (fill * (65536 // len(fill) + 1))[:65536]
        while left > 0:
            piece = block[: min(left, len(block))]
            left -= len(piece)
            yield piece
        yield suffix

    return behave


class HostileServer:
    """Serve ``routes`` (path → behaviour; ``"*"`` for any path) on 127.0.0.1."""

    def __init__(self, routes: Mapping[str, Behaviour]) -> None:
        self.routes = dict(routes)
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self._port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.connections = 0
        self.open_connections = 0
        self.requests: list[Request] = []
        self._acceptor: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HostileServer:
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._acceptor is not None:
            self._acceptor.join(5)
        for t in list(self._threads):
            t.join(5)
        self._sock.close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until every connection's handler finished (the client closed or was served)."""
        deadline = threading.Event()
        for _ in range(int(timeout / 0.02)):
            with self._lock:
                if self.open_connections == 0:
                    return True
            deadline.wait(0.02)
        return False

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self.open_connections += 1
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                conn.settimeout(5)
                req = _read_request(conn)
                if req is None:
                    return
                self.requests.append(req)
                behave = self.routes.get(req.path) or self.routes.get("*") or _not_found
                with contextlib.suppress(OSError):
                    for data in behave(req):
                        if self._stop.is_set():
                            break
                        if data:
                            conn.sendall(data)
                        elif _peer_gone(conn):
                            break
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        finally:
            with self._lock:
                self.open_connections -= 1


def _peer_gone(conn: socket.socket) -> bool:
    readable, _, _ = select.select([conn], [], [], 0)
    if not readable:
        return False
    try:
        return conn.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _not_found(_: Request) -> Iterable[bytes]:
    return status(404, b"404 page not found", "text/plain")(_)


def _read_request(conn: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            more = conn.recv(65536)
        except OSError:
            return None
        if not more:
            return None
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = [*lines[0].split(" "), "", ""][:3]
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    want = int(headers.get("content-length") or 0)
    while len(body) < want:
        try:
            more = conn.recv(65536)
        except OSError:
            return None
        if not more:
            break
        body += more
    return Request(method, path.split("?", 1)[0], headers, body)
