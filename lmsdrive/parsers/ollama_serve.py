"""Parser of ``ollama serve`` (streaming): is the server up, where, which version, or why not.

Reads the server log of every era (docs/reference/ollama-cli.md §4):

* Go ``log`` (v0.0.1 – v0.1.20): ``2023/11/19 20:55:16 routes.go:777: Listening on
  127.0.0.1:11434 (version 0.1.10)`` (no ``(version …)`` before v0.1.4);
* Go ``log`` with a level (v0.1.21 – v0.1.22, and the first ``server config`` line of
  v0.1.34 – v0.6.8): ``2024/01/25 10:00:00 routes.go:NNN: INFO Listening on …``;
* slog text (v0.1.23+): ``time=… level=INFO source=routes.go:1019 msg="Listening on
  127.0.0.1:11434 (version 0.1.27)"`` (quoted values unescaped);
* reduced by a person to the ``msg=`` part of each slog line (``msg="Listening on …"``,
  with or without ``level=``/``source=``), or to the messages alone (the readiness message
  is read; other messages are ``unknown`` output lines);
* wrapped by a supervisor: journald (``Aug 19 22:32:14 host ollama[PID]: ``, also the
  ISO form), ``docker compose`` (``ollama-1  | ``), ``docker logs -t`` (RFC 3339 prefix),
  ``kubectl logs --prefix`` (``[pod/…/…] ``); prefixes are removed before reading, line by
  line, by the pre-pass's :func:`._session.unwrap`.

The readiness line is the log message ``Listening on <addr>[ (version <v>)]``; ``<addr>`` is
``Listener.Addr()`` (``127.0.0.1:11434``, ``[::]:11434`` …). A startup failure is the CLI's
``Error: …`` report: ``Error: listen tcp 127.0.0.1:11434: bind: address already in use``
(``bind_failed``; the OS text after ``bind:`` is localized on Windows), or another error
classified like :mod:`ollama_error`. A Go panic before the server is ready is a failure of
kind ``crash``.

Usage::

    from lmsdrive.parsers.ollama_serve import stream, ServeReady, ServeFailed
    for event in stream(process_stderr_chunks):
        if isinstance(event, ServeReady): ...   # up: event.listen_address, event.version
        if isinstance(event, ServeFailed): ...  # event.error, event.kind

    from lmsdrive.parsers import parse
    parse("ollama serve", log_text).to_dict()

Events yielded by ``stream`` as soon as each line completes (``\\n``; at the end of the
stream a last line without one):

* ``ServeReady(listen_address, version, line_number)`` — the readiness line;
* ``ServeFailed(error, kind, line_number)`` — an ``Error: …`` report (first line of the
  message) or a panic before readiness;
* ``ServeLog(line_number, time, level, source, message)`` — any other ollama log line
  (Go log or slog text; ``level`` null for level-less Go log lines);
* ``ServeOutput(line_number, category, text)`` — a line that is not an ollama log line:
  ``gin`` (``[GIN]`` access log, ``[GIN-debug]`` route list and its banner), ``key``
  (first-start key-generation notice), ``library`` (llama.cpp/ggml/CUDA output such as
  ``llama_model_loader: …``, ``ggml_cuda_init: …``, dotted progress, ``Device 0: …``,
  ``{"function":…}`` JSON logs), ``supervisor`` (journald lines of other processes such as
  ``systemd[1]: Started Ollama Service.``), ``command`` (a pasted command line:
  ``docker logs …``, ``$ ollama serve``), ``panic`` (a Go panic and its stack after
  readiness), ``unknown`` (anything else).

Rule for unknown lines: a server log legitimately carries arbitrary output of the
libraries and runner processes it hosts, so a line of unknown shape is not an error once the
text has shown itself to be a server log; it is passed on as ``ServeOutput(category=
"unknown")`` and counted in ``other_lines`` — never dropped silently. Text holding *no*
line of a known shape at all (no log line, no error report, no Gin/key/library line) is not
``ollama serve`` output: ``ParseError`` at its first non-blank line, raised when the stream
ends. Blank lines are skipped. Empty output means the server has printed nothing yet (or was
killed first): ``ready: false`` and no error.

Memory stays flat: only the current incomplete line is buffered (at most 1 MiB of it; the
rest of an overlong line is dropped), plus a bounded continuation of the error message
(64 KiB).

Schema (``OllamaServeResult.to_dict()``)::

    {
      "ready":          boolean,        # a readiness line was seen
      "listen_address": string | null,  # "127.0.0.1:11434", "[::]:11434"
      "version":        string | null,  # server version in the readiness line ("0.5.7")
      "error":          string | null,  # startup error, "Error: " removed; continuation
                                        # lines joined by "\\n"
      "kind":           string | null,  # one of ERROR_KINDS ("bind_failed", "crash", …)
      "public_key":     string | null,  # "ssh-ed25519 AAAA…" of the key-generation notice
      "log_lines":      integer,        # ollama log lines read
      "other_lines":    integer         # non-log lines (ServeOutput events)
    }

Example::

    time=2024-04-05T07:13:53.852-05:00 level=INFO source=routes.go:1118 msg="Listening on 127.0.0.1:11434 (version 0.1.30)"

    {"ready": true, "listen_address": "127.0.0.1:11434", "version": "0.1.30", "error": null,
     "kind": null, "public_key": null, "log_lines": 1, "other_lines": 0}
"""  # noqa: E501

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .._text import clean_lines
from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._session import is_command_line, unwrap
from .ollama_error import classify, is_stop_line

__all__ = [
    "OllamaServeResult",
    "ServeEvent",
    "ServeFailed",
    "ServeLog",
    "ServeOutput",
    "ServeReady",
    "parse",
    "stream",
]

COMMAND = "ollama serve"
_MAX_LINE = 1 << 20
_MAX_ERROR = 64 << 10


@dataclass(frozen=True)
class ServeReady:
    """The server logged its readiness line."""

    listen_address: str
    version: str | None
    line_number: int = 0


@dataclass(frozen=True)
class ServeFailed:
    """The server failed to start (``Error: …``) or panicked before readiness."""

    error: str
    kind: str
    line_number: int = 0


@dataclass(frozen=True)
class ServeLog:
    """One ollama log line (Go log or slog text)."""

    line_number: int
    time: str | None
    level: str | None
    source: str | None
    message: str


@dataclass(frozen=True)
class ServeOutput:
    """A line that is not an ollama log line (see the module docstring for categories)."""

    line_number: int
    category: str
    text: str


ServeEvent = ServeReady | ServeFailed | ServeLog | ServeOutput


@dataclass(frozen=True, kw_only=True)
class OllamaServeResult(Result):
    """What an ``ollama serve`` log says about the server's start."""

    ready: bool = False
    listen_address: str | None = None
    version: str | None = None
    public_key: str | None = None
    log_lines: int = 0
    other_lines: int = 0

    def unread(self) -> int:
        return self.other_lines


# --- log lines ------------------------------------------------------------------------

_GOLOG_RE = re.compile(
    r"^(?P<time>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)?) "
    r"(?:(?P<source>\S+\.go:\d+): )?"
    r"(?:(?P<level>TRACE|DEBUG|INFO|WARN|WARNING|ERROR) )?(?P<msg>.*)$"
)
_SLOG_RE = re.compile(r"^time=(?P<time>\S+) level=(?P<level>[\w+-]+)(?P<rest>.*)$")
_ATTR_RE = re.compile(r'\s(?P<key>[\w.-]+)=(?P<value>"(?:[^"\\]|\\.)*"?|\S*)')
#: A slog line its author reduced to its attributes or its message (``msg="…"``,
#: ``level=INFO source=routes.go:1 msg="…"``).
_MSG_RE = re.compile(
    r"^(?:level=(?P<level>[\w+-]+) )?(?:source=(?P<source>\S+) )?"
    r'msg=(?P<msg>"(?:[^"\\]|\\.)*"?|\S.*)'
)
_READY_RE = re.compile(r"^Listening on (?P<addr>[^\s\"]+)(?: \(version (?P<version>[^)]+)\))?$")

# --- other shapes ---------------------------------------------------------------------

_ERROR_RE = re.compile(r"^\s*Error: ?(?P<msg>.*)$")
_PANIC_RE = re.compile(r"^(?:panic: |fatal error: |goroutine \d+ \[\w[^\]]*\]:)")
_GIN_RE = re.compile(r"^\[GIN(?:-debug)?\]|^\s+- using (?:env|code):")
_KEY_RE = re.compile(
    r"^Couldn't find '.*'\. Generating new private key\.$|^Your new public key is:\s*$"
)
_PUBKEY_RE = re.compile(r"^(?:ssh-ed25519|ssh-rsa|ecdsa-sha2-\S+) [A-Za-z0-9+/=]+(?: \S+)?$")
_LIBRARY_RE = re.compile(
    r"^\s*[a-z][a-z0-9]*_[a-z0-9_]*(?:\(\))?:"  # llama_model_loader:, ggml_cuda_init:
    r"|^\s*(?:main|system_info|build|print_info|load|load_tensors|clip|ggml|llama|llm)\s*:"
    r"|^\s*\.{3,}\s*$"  # load progress dots
    r"|^\s+Device \d+: "  # CUDA/ROCm device list
    r"|^\s*\{\"(?:function|timestamp|level|tid)\""  # old llama.cpp server JSON logs
)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _log(line: str, number: int) -> ServeLog | None:
    m = _SLOG_RE.match(line)
    if m:
        attrs = {a.group("key"): a.group("value") for a in _ATTR_RE.finditer(m.group("rest"))}
        source = attrs.get("source")
        return ServeLog(
            number,
            m.group("time"),
            m.group("level"),
            _unquote(source) if source is not None else None,
            _unquote(attrs.get("msg", "")),
        )
    m = _GOLOG_RE.match(line)
    if m:
        return ServeLog(
            number, m.group("time"), m.group("level"), m.group("source"), m.group("msg")
        )
    m = _MSG_RE.match(line)
    if m:
        msg = m.group("msg")
        value = _unquote(msg) if msg.startswith('"') else msg.split(" ", 1)[0]
        return ServeLog(number, None, m.group("level"), m.group("source"), value)
    if _READY_RE.match(line.strip()):  # a log reduced to its messages: the readiness one
        return ServeLog(number, None, None, None, line.strip())
    return None


class _State:
    """What ``stream`` has learned so far (small, fixed size)."""

    def __init__(self) -> None:
        self.ready = False
        self.address: str | None = None
        self.version: str | None = None
        self.error: str | None = None
        self.kind: str | None = None
        self.in_error = False
        self.in_panic = False
        self.key_next = False
        self.public_key: str | None = None
        self.log_lines = 0
        self.other_lines = 0
        self.known = False
        self.first_unknown: tuple[int, str] | None = None
        self.number = 0


def _events(state: _State, raw: str) -> Iterator[ServeEvent]:
    state.number += 1
    number = state.number
    cleaned = clean_lines(raw)
    line = cleaned[0] if cleaned else ""
    if not line.strip():
        return
    line, unit = unwrap(line)  # the pre-pass, line by line (a stream has no whole paste)
    if unit is not None and "ollama" not in unit.lower():
        state.known = True
        state.other_lines += 1
        yield ServeOutput(number, "supervisor", line)
        return
    if not line.strip():
        return
    log = _log(line, number)
    if log is not None:
        state.known = True
        state.in_error = state.in_panic = False
        state.log_lines += 1
        ready = _READY_RE.match(log.message.strip())
        if ready:
            state.ready = True
            state.address = ready.group("addr")
            state.version = ready.group("version")
            yield ServeReady(state.address, state.version, number)
        else:
            yield log
        return
    m = _ERROR_RE.match(line)
    if m:
        state.known = True
        state.in_error, state.in_panic = True, False
        message = m.group("msg").rstrip()
        kind = classify(message)
        if state.error is None:
            state.error, state.kind = message, kind
        yield ServeFailed(message, kind, number)
        return
    if _PANIC_RE.match(line):
        state.known = True
        state.in_error = False
        if not state.ready and not state.in_panic and state.error is None:
            state.error, state.kind = line.strip(), "crash"
            state.in_panic = True
            yield ServeFailed(line.strip(), "crash", number)
            return
        state.in_panic = True
        state.other_lines += 1
        yield ServeOutput(number, "panic", line)
        return
    category = _category(state, line)
    state.other_lines += 1
    if category != "unknown":
        state.known = True
    elif state.in_error and not is_stop_line(line) and state.error is not None:
        if len(state.error) < _MAX_ERROR:
            state.error = (state.error + "\n" + line.rstrip())[:_MAX_ERROR]
    elif state.in_panic:
        category = "panic"
    elif state.first_unknown is None:
        state.first_unknown = (number, line)
    yield ServeOutput(number, category, line)


def _category(state: _State, line: str) -> str:
    if _GIN_RE.match(line):
        return "gin"
    if _KEY_RE.match(line):
        state.key_next = line.startswith("Your new public key")
        return "key"
    if state.key_next and _PUBKEY_RE.match(line.strip()):
        state.key_next = False
        state.public_key = line.strip()
        return "key"
    if _LIBRARY_RE.match(line):
        return "library"
    if is_command_line(line):
        return "command"
    return "unknown"


def _lines(chunks: Iterable[str]) -> Iterator[str]:
    """Complete lines of a chunked stream (the last one may lack its newline)."""
    pending: list[str] = []
    size = 0
    for chunk in chunks:
        start = 0
        while True:
            end = chunk.find("\n", start)
            if end < 0:
                piece = chunk[start:]
                if piece and size < _MAX_LINE:
                    piece = piece[: _MAX_LINE - size]
                    pending.append(piece)
                    size += len(piece)
                break
            piece = chunk[start:end]
            if size < _MAX_LINE:
                pending.append(piece[: _MAX_LINE - size])
            yield "".join(pending)
            pending, size = [], 0
            start = end + 1
    if pending:
        yield "".join(pending)


def _stream(chunks: Iterable[str], state: _State) -> Iterator[ServeEvent]:
    for raw in _lines(chunks):
        yield from _events(state, raw)
    if not state.known and state.first_unknown is not None:
        number, line = state.first_unknown
        raise ParseError(
            COMMAND, "not an ollama server log (no line of a known shape)", number, line
        )


def stream(chunks: Iterable[str]) -> Iterator[ServeEvent]:
    """Typed events of an ``ollama serve`` output, as each line completes.

    Raises ``ParseError`` at the end of the stream if no line had a known shape.
    """
    return _stream(chunks, _State())


def parse(transcript: Transcript) -> OllamaServeResult:
    """The start-up outcome of an ``ollama serve`` log (see :func:`stream`)."""
    state = _State()
    for _ in _stream([transcript.text], state):
        pass
    return OllamaServeResult(
        ready=state.ready,
        listen_address=state.address,
        version=state.version,
        error=state.error,
        kind=state.kind,
        public_key=state.public_key,
        log_lines=state.log_lines,
        other_lines=state.other_lines,
    )
