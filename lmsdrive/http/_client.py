"""What both HTTP clients share: one pooled ``httpx.Client`` with connect and read
timeouts set apart, transport errors mapped to lmsdrive's error tree (always naming the
URL tried and what to do next), capped line iteration for NDJSON and SSE bodies, and
:class:`GenerationStream`, the iterator of text chunks that also ends with a typed
:class:`~lmsdrive.backends.base.Generation`.

Error mapping (every request):

=====================================  =============================================
connection refused, DNS failure        :class:`~lmsdrive.errors.ServerNotRunningError`
connect/read/write/pool timeout        :class:`~lmsdrive.errors.CommandTimeoutError`
connection dropped mid-response        :class:`~lmsdrive.errors.ServerNotRunningError`
unusable URL (scheme, syntax)          :class:`~lmsdrive.errors.ConfigError`
HTTP error or error body               :class:`~lmsdrive.errors.APIError` (status, message)
error body that names a missing model  :class:`~lmsdrive.errors.ModelNotFoundError`
body over ``max_body``, line over       :class:`~lmsdrive.errors.APIError` (nothing more is
``max_line``                           read: memory stays bounded)
=====================================  =============================================

Bodies are read by the parsers in :mod:`lmsdrive.parsers` (``lms_api_*``, ``ollama_api_*``);
the clients never interpret JSON beyond what those parsers return.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar

import httpx

from .._types import ChatReply, Generation, ToolCall
from ..errors import (
    APIError,
    AuthenticationError,
    CommandTimeoutError,
    ConfigError,
    LmsdriveError,
    ModelNotFoundError,
    ParseError,
    ServerNotRunningError,
    error_for,
)
from ..parsers._base import Result
from ..transcript import Transcript

__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_LINE",
    "BaseAPI",
    "ChatReply",
    "ChatStream",
    "Generation",
    "GenerationStream",
    "ResultStream",
    "api_error",
    "server_failed_hint",
]

#: Longest NDJSON/SSE line accepted (bytes); a longer one is an :class:`APIError`.
DEFAULT_MAX_LINE = 1 << 20
#: Largest whole (not streamed) response body read (bytes); a larger one, or one that never
#: ends, is an :class:`APIError` once that much has arrived: memory stays bounded.
DEFAULT_MAX_BODY = 16 << 20

E = TypeVar("E")
R = TypeVar("R")
#: A parse result (read by :meth:`BaseAPI._read`).
P = TypeVar("P", bound=Result)
_API = TypeVar("_API", bound="BaseAPI")
_S = TypeVar("_S", bound="ResultStream[Any, Any]")


def api_error(
    message: str, status_code: int | None, kind: str | None, url: str
) -> APIError | ModelNotFoundError | AuthenticationError:
    """The typed error for a server's error report (``kind`` as the error parsers set it)."""
    hint = "" if kind == "model_not_found" else server_failed_hint(status_code, kind)
    error = error_for(kind, f"{message} ({url}){hint}", api=True, status_code=status_code)
    assert isinstance(error, (APIError, ModelNotFoundError, AuthenticationError))
    return error


def server_failed_hint(status_code: int | None, kind: str | None = None) -> str:
    """What to do after a server-side failure (HTTP 5xx, or a body reporting a server error
    or crash), to append to the message; empty otherwise."""
    if (status_code is not None and status_code >= 500) or kind in ("server_error", "crash"):
        return (
            ": the server failed while answering; check its log, then retry "
            "(reload the model if it crashed)"
        )
    return ""


#: Characters never valid in a URL (RFC 3986); with whitespace and control characters they
#: are refused before any request, whatever path the URL came by.
_NOT_IN_URLS = frozenset('<>"`{}|\\^')


def _check_url(url: str, backend: str, variable: str) -> None:
    """Refuse a server address holding whitespace, control or non-URL characters, or a host
    that starts with ``-`` (:class:`ConfigError` naming ``variable``)."""
    bad = next(
        (c for c in url if c.isspace() or ord(c) < 32 or ord(c) == 127 or c in _NOT_IN_URLS),
        None,
    )
    why = f"it contains {bad!r}" if bad is not None else ""
    if not why:
        host = url.partition("://")[2].lstrip("[")
        if host.startswith("-"):
            why = "its host starts with '-'"
    if why:
        raise ConfigError(
            f"{backend} URL {url!r} is not usable: {why}. Set {variable} to the server's "
            "address, e.g. http://127.0.0.1:PORT"
        )


class BaseAPI:
    """One pooled HTTP client for one server. Subclasses name the backend and its hints."""

    #: The runtime's name for people (``"Ollama"``, ``"LM Studio"``).
    backend: ClassVar[str] = "server"
    #: What to do when the server does not answer.
    start_hint: ClassVar[str] = "start the server"
    #: Where users set the server's address (named when the address is refused).
    url_variable: ClassVar[str] = "the server URL"
    #: What a body that cannot be read suggests ("is this … ?").
    expected_server: ClassVar[str] = "the right server"
    #: The variables that hold this runtime's API token (named when the server refuses one).
    token_variables: ClassVar[tuple[str, ...]] = ()

    def _error_report(self, transcript: Transcript) -> tuple[str, str | None]:
        """(message, kind) of an error body, by the backend's error-body parser; raises
        ParseError when the body is not one."""
        raise NotImplementedError

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 2.0,
        read_timeout: float = 300.0,
        probe_timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        headers: dict[str, str] | None = None,
        max_line: int = DEFAULT_MAX_LINE,
        max_body: int = DEFAULT_MAX_BODY,
        api_token: str | None = None,
    ) -> None:
        _check_url(base_url, self.backend, self.url_variable)
        headers = dict(headers or {})
        if api_token:  # in the pooled client's headers only: never in a repr, log or message
            headers["Authorization"] = f"Bearer {api_token.strip()}"
        #: Whether a token is sent (the token itself is not kept anywhere else).
        self.has_token = bool(api_token)
        self.base_url = base_url.rstrip("/")
        #: Requests go to ``base_url + path`` as one absolute URL (httpx then parses it once
        #: instead of merging a relative path into its base, the same URL); a base holding a
        #: query or fragment is left to httpx's merge.
        self._join = not any(c in self.base_url for c in "?#")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        #: Read timeout of the quick metadata requests (health, lists, version): a server that
        #: accepts connections but never answers is reported in seconds, not minutes.
        self.probe_timeout = quick = min(probe_timeout, read_timeout)
        self._probe = httpx.Timeout(
            connect=connect_timeout, read=quick, write=quick, pool=connect_timeout
        )
        self.max_line = max_line
        self.max_body = max_body
        #: Requests sent so far (benchmarks count them).
        self.requests = 0
        timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )
        try:
            self._client = httpx.Client(
                base_url=self.base_url,
                timeout=timeout,
                transport=transport,
                headers=headers or None,
                follow_redirects=False,
                trust_env=False,
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as e:
            raise ConfigError(f"{self.backend} URL {base_url!r} is not usable: {e}") from e

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()

    def __enter__(self: _API) -> _API:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    @contextlib.contextmanager
    def time_limit(self, seconds: float) -> Iterator[None]:
        """Inside the block every request waits at most ``seconds`` for each of its steps
        (connect, send, read): a health check's deadline."""
        saved = self._client.timeout, self._probe, self.read_timeout
        limit = httpx.Timeout(seconds, connect=min(seconds, self.connect_timeout))
        self._client.timeout, self._probe, self.read_timeout = limit, limit, seconds
        try:
            yield
        finally:
            self._client.timeout, self._probe, self.read_timeout = saved

    # -- requests --------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + path

    def _transport_error(
        self,
        e: httpx.TransportError,
        method: str,
        path: str,
        timeout: httpx.Timeout | None = None,
    ) -> LmsdriveError:
        url = self.url(path)
        read_limit = timeout.read if timeout is not None and timeout.read else self.read_timeout
        if isinstance(e, httpx.ConnectTimeout):
            return CommandTimeoutError(
                f"{self.backend} at {url} did not accept a connection within "
                f"{self.connect_timeout:g} s: check the host and port, or {self.start_hint}"
            )
        if isinstance(e, httpx.TimeoutException):
            what = "answer" if isinstance(e, httpx.ReadTimeout) else "take the request"
            return CommandTimeoutError(
                f"{self.backend} at {url} did not {what} within {read_limit:g} s "
                f"({method} {path}): the server is busy or stuck; retry with a longer "
                "read_timeout, or check its log"
            )
        if isinstance(e, httpx.ConnectError):
            return ServerNotRunningError(
                f"{self.backend} is not running at {url} ({e}): {self.start_hint}",
                reason=str(e) or type(e).__name__,
            )
        if isinstance(e, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
            return ConfigError(f"{self.backend} URL {url!r} is not usable: {e}")
        return ServerNotRunningError(
            f"the connection to {self.backend} at {url} dropped ({type(e).__name__}: {e}): "
            f"check that the server is still running ({self.start_hint})",
            reason=f"the connection dropped: {type(e).__name__}: {e}",
        )

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        timeout: httpx.Timeout | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request and read the whole body (at most :attr:`max_body` bytes);
        transport errors become typed errors."""
        self.requests += 1
        try:
            request = self._client.build_request(
                method,
                self.base_url + path if self._join else path,
                json=json,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
                headers=headers,
            )
            response = self._client.send(request, stream=True)
            try:
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) <= self.max_body:
                    response.read()  # the common case: a declared, bounded body
                    return response
                body = self._read_body(response, path)
            finally:
                response.close()
        except httpx.TransportError as e:
            raise self._transport_error(e, method, path, timeout) from e
        except httpx.InvalidURL as e:
            raise ConfigError(f"{self.backend} URL {self.url(path)!r} is not usable: {e}") from e
        # A chunked (or over-declared) body, read with the cap; already decoded from any
        # Content-Encoding, so the new response carries it without those headers.
        kept = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            response.status_code,
            headers=kept,
            content=body,
            request=response.request,
            extensions=response.extensions,
        )

    def _read_body(self, response: httpx.Response, path: str) -> bytes:
        """A response's whole body, refused (:class:`APIError`) as soon as it passes
        :attr:`max_body` bytes: a huge or endless body never fills memory."""
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            raise self._body_too_large(path, response.status_code)
        pieces: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_body:
                raise self._body_too_large(path, response.status_code)
            pieces.append(chunk)
        return b"".join(pieces)

    def _read_text(self, response: httpx.Response, path: str) -> str:
        """:meth:`_read_body` of a streamed response (an error report), decoded."""
        return self._read_body(response, path).decode("utf-8", "replace")

    def _body_too_large(self, path: str, status: int) -> APIError:
        return APIError(
            f"{self.backend} at {self.url(path)} sent a body larger than {self.max_body} bytes: "
            "not an answer this client can read; check that the URL points at the "
            f"{self.backend} server (max_body raises the limit)",
            status,
        )

    def _get_quick(self, path: str, timeout: float | None = None) -> httpx.Response:
        """A metadata GET with the short :attr:`probe_timeout` (or ``timeout`` seconds)."""
        if timeout is None:
            return self._send("GET", path, timeout=self._probe)
        t = httpx.Timeout(timeout, connect=min(timeout, self.connect_timeout))
        return self._send("GET", path, timeout=t)

    @contextlib.contextmanager
    def _open_stream(self, method: str, path: str, *, json: Any = None) -> Iterator[httpx.Response]:
        """A streamed response (body not yet read); transport errors become typed errors,
        also those raised while the caller iterates the body."""
        self.requests += 1
        try:
            target = self.base_url + path if self._join else path
            with self._client.stream(method, target, json=json) as response:
                yield response
        except httpx.TransportError as e:
            raise self._transport_error(e, method, path) from e
        except httpx.InvalidURL as e:
            raise ConfigError(f"{self.backend} URL {self.url(path)!r} is not usable: {e}") from e

    def _iter_lines(self, response: httpx.Response, path: str) -> Iterator[str]:
        """The body's lines (``\\n`` or ``\\r\\n`` ended, without the ending), each at most
        :attr:`max_line` bytes, decoded as UTF-8 line by line (a character split across
        network chunks stays whole). Memory stays flat on arbitrarily long bodies."""
        buf = bytearray()
        for chunk in response.iter_bytes():
            buf += chunk
            while True:
                nl = buf.find(b"\n")
                if nl < 0:
                    break
                line = bytes(buf[:nl])
                del buf[: nl + 1]
                if len(line) > self.max_line:
                    raise self._line_too_long(path)
                yield line.rstrip(b"\r").decode("utf-8", "replace")
            if len(buf) > self.max_line:
                raise self._line_too_long(path)
        if buf:
            yield bytes(buf).rstrip(b"\r").decode("utf-8", "replace")

    def _line_too_long(self, path: str) -> APIError:
        return APIError(
            f"{self.backend} at {self.url(path)} sent a line longer than {self.max_line} bytes: "
            "not an NDJSON/SSE stream this client can read"
        )

    def _error(self, response: httpx.Response, text: str | None = None) -> LmsdriveError:
        """The typed error of an error response (``text``: its body when already read)."""
        url = str(response.request.url)
        status = response.status_code
        if self._is_auth_failure(status, response.text if text is None else text):
            return self._auth_error(url, status)
        try:
            message, kind = self._error_report(self._transcript(response, text))
        except ParseError:
            body = (response.text if text is None else text).strip()
            shown = f": {body[:300]}" if body else ""
            reason = response.reason_phrase or "error"
            hint = server_failed_hint(status)
            return APIError(f"{self.backend} answered {reason}{shown} ({url}){hint}", status)
        return api_error(message, status, kind, url)

    # -- tokens ----------------------------------------------------------------------

    @staticmethod
    def _is_auth_failure(status: int, body: str) -> bool:
        """HTTP 401/403, or LM Studio's ``invalid_api_key`` error body (any status)."""
        return status in (401, 403) or '"invalid_api_key"' in body[:4096]

    def _auth_error(self, url: str, status: int) -> AuthenticationError:
        """The error for a refused token: names the variable(s) to set, never the token (a
        face with another way to give it says so: the CLI's ``--token-file``)."""
        names = " or ".join(self.token_variables) or "the API token"
        if self.has_token:
            what = f"refused the API token lmsdrive sent ({url}, HTTP {status})"
            todo = f"check the token in {names}: it may be wrong or revoked"
        else:
            what = f"requires an API token ({url}, HTTP {status})"
            todo = f"set {names} to a token the server accepts"
        return AuthenticationError(f"{self.backend} {what}: {todo}", status)

    def _answers_with_auth(self, response: httpx.Response) -> bool:
        """A probe answered 401/403: a server is there and wants a token (the next real
        request raises :class:`AuthenticationError`)."""
        return response.status_code in (401, 403)

    def _unreadable(self, url: str, e: ParseError, status: int) -> APIError:
        return APIError(
            f"{self.backend} at {url} sent a body lmsdrive cannot read ({e}): is this "
            f"{self.expected_server}?",
            status,
        )

    def _read(self, response: httpx.Response, parser: Callable[[Transcript], P]) -> P:
        """Parse a whole response with ``parser``; error statuses and error bodies raise."""
        if response.status_code >= 400:
            raise self._error(response)
        try:
            result = parser(self._transcript(response))
        except ParseError as e:
            raise self._unreadable(str(response.request.url), e, response.status_code) from e
        if result.error is not None:
            url = str(response.request.url)
            if self._is_auth_failure(response.status_code, response.text):
                raise self._auth_error(url, response.status_code)
            raise api_error(result.error, response.status_code, result.kind, url)
        return result

    @staticmethod
    def _transcript(response: httpx.Response, text: str | None = None) -> Transcript:
        body = _text_of(response) if text is None else text
        return Transcript(
            stdout=body,
            argv=(response.request.method, str(response.request.url)),
            http_status=response.status_code,
        )


def _text_of(response: httpx.Response) -> str:
    """``response.text`` (a read body), without httpx's charset lookup (``email.message``)
    when the ``Content-Type`` names no charset or only ``charset=utf-8``: then it is UTF-8
    (our clients set no other default), bad bytes replaced, exactly as ``.text`` decodes it."""
    kind = response.headers.get("content-type", "").lower()
    if "charset" not in kind or (
        kind.count("charset") == 1 and kind.replace(" ", "").endswith(";charset=utf-8")
    ):
        return response.content.decode("utf-8", "replace")
    return response.text


class ResultStream(Iterator[E], Generic[E, R]):
    """Events of a streamed response as the server sends them; once the stream is
    exhausted, :attr:`result` holds the typed outcome (``None`` until then, and when the
    stream was closed early). Closing it (``close()``, leaving the ``with`` block) closes the
    HTTP response; errors inside the stream raise from ``next()``."""

    def __init__(self, events: Generator[E, None, R]) -> None:
        self._events = events
        self.result: R | None = None

    def __iter__(self: _S) -> _S:
        return self

    def __next__(self) -> E:
        try:
            return next(self._events)
        except StopIteration as stop:
            self.result = stop.value
            raise

    def drain(self) -> R:
        """Read the rest of the stream and return its result."""
        for _ in self:
            pass
        assert self.result is not None
        return self.result

    def close(self) -> None:
        self._events.close()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class GenerationStream(ResultStream[str, Generation]):
    """Text chunks of a streamed generation; :attr:`result` is the whole
    :class:`Generation` (text joined, finish reason, token counts) once exhausted."""

    def text(self) -> str:
        """Read the rest of the stream and return the whole text."""
        return self.drain().text


class ChatStream(ResultStream[str, ChatReply]):
    """The answer's text pieces of a streamed chat; :attr:`result` is the whole
    :class:`ChatReply` (text, thinking, tool calls, finish reason, counts, timings) once
    exhausted. :meth:`with_tool_calls` yields the :class:`ToolCall` objects too, each as
    soon as the server has sent it whole; iterating the stream itself yields text only
    (the calls are kept in :attr:`tool_calls`)."""

    def __init__(self, events: Generator[str | ToolCall, None, ChatReply]) -> None:
        self._items = events
        self.result: ChatReply | None = None
        #: The tool calls met so far.
        self.tool_calls: list[ToolCall] = []

    def _next_item(self) -> str | ToolCall:
        try:
            item = next(self._items)
        except StopIteration as stop:
            self.result = stop.value
            raise
        if isinstance(item, ToolCall):
            self.tool_calls.append(item)
        return item

    def __next__(self) -> str:
        while True:
            item = self._next_item()
            if isinstance(item, str):
                return item

    def with_tool_calls(self) -> Generator[str | ToolCall, None, ChatReply | None]:
        """Text pieces and :class:`ToolCall` objects as they arrive; returns the result.
        Closing it closes the stream."""
        try:
            while True:
                try:
                    yield self._next_item()
                except StopIteration:
                    return self.result
        finally:
            if self.result is None:
                self.close()

    def close(self) -> None:
        self._items.close()

    def text(self) -> str:
        """Read the rest of the stream and return the whole answer."""
        return self.drain().text
