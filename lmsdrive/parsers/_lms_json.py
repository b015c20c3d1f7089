"""Helpers of the LM Studio HTTP body parsers (private to the lmsstream group).

* :func:`split_http` separates an optional ``curl -i`` status line and headers from the body.
* :class:`DepthScanner` follows JSON nesting across lines/chunks (strings and escapes
  respected), so a streamed JSON value is known to be complete without parsing it, and a body
  nested deeper than :data:`MAX_DEPTH` is refused before ``json`` recurses into it.
* :func:`load_json` parses one JSON text with that bound, mapping failures to ParseError.
* :func:`api_error` reads an error body: ``{"error": "text"}`` (LM Studio's HTTP 200 for an
  unknown route) or ``{"error": {"message", "type", "param", "code"}}`` (OpenAI style).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import ParseError

#: Deepest nesting accepted in a body (a hostile server cannot blow up the parser).
MAX_DEPTH = 64
#: Largest single JSON value accepted (64 MiB).
MAX_VALUE = 64 << 20

_TOKEN_RE = re.compile(r'"|[\[\]{}]')
_STRING_REST_RE = re.compile(r'(?:[^"\\]+|\\.)*(")?', re.DOTALL)
_HTTP_STATUS_RE = re.compile(r"^HTTP/\d(?:\.\d)?\s+(?P<code>\d{3})\b")


class DepthScanner:
    """Track JSON nesting over pieces of text fed in order.

    ``depth`` is the current nesting, ``max_depth`` the deepest seen; ``complete`` is true
    when at least one value opened and every bracket has closed again.
    """

    def __init__(self, command: str, line_number: int | None = None) -> None:
        self._command = command
        self.line_number = line_number
        self.depth = 0
        self.opened = False
        self.in_string = False
        self._escape = False

    def feed(self, text: str) -> None:
        pos = 0
        n = len(text)
        while pos < n:
            if self.in_string:
                if self._escape:
                    self._escape = False
                    pos += 1
                    continue
                m = _STRING_REST_RE.match(text, pos)
                assert m is not None  # the pattern matches the empty string
                if m.group(1) is not None:
                    self.in_string = False
                    pos = m.end()
                    continue
                if m.end() == n - 1 and text[-1] == "\\":
                    self._escape = True  # a backslash split from what it escapes
                pos = n
                continue
            t = _TOKEN_RE.search(text, pos)
            if t is None:
                return
            ch = t.group()
            pos = t.end()
            if ch == '"':
                self.in_string = True
            elif ch in "[{":
                self.depth += 1
                self.opened = True
                if self.depth > MAX_DEPTH:
                    raise ParseError(
                        self._command,
                        f"JSON nested deeper than {MAX_DEPTH} levels",
                        self.line_number,
                    )
            else:
                self.depth -= 1
                if self.depth < 0:
                    raise ParseError(self._command, "unbalanced JSON brackets", self.line_number)

    @property
    def complete(self) -> bool:
        return self.opened and self.depth == 0 and not self.in_string


def load_json(command: str, text: str, first_line: int = 1) -> Any:
    """One JSON value from ``text``, nesting bounded by :data:`MAX_DEPTH`."""
    if len(text) > MAX_VALUE:
        raise ParseError(command, f"JSON body larger than {MAX_VALUE} characters", first_line)
    scanner = DepthScanner(command, first_line)
    scanner.feed(text)
    try:
        return json.loads(text)
    except RecursionError as exc:  # pragma: no cover - the depth bound comes first
        raise ParseError(command, "JSON nested too deeply", first_line) from exc
    except ValueError as exc:
        lineno = getattr(exc, "lineno", 1)
        lines = text.splitlines() or [""]
        shown = lines[min(lineno, len(lines)) - 1][:200]
        raise ParseError(command, f"not JSON ({exc})", first_line + lineno - 1, shown) from exc


@dataclass(frozen=True)
class HttpBody:
    """A body with the status and headers of a ``curl -i`` paste split off."""

    body: str
    status: int | None
    first_line: int
    headers: dict[str, str]


def split_http(text: str) -> HttpBody:
    """Split ``HTTP/1.1 400 Bad Request`` + headers + blank line from the body, if present."""
    stripped = text.lstrip("\ufeff")
    lead = stripped.lstrip()
    m = _HTTP_STATUS_RE.match(lead)
    if m is None:
        return HttpBody(stripped, None, 1, {})
    skipped = stripped[: len(stripped) - len(lead)].count("\n")
    lines = lead.replace("\r\n", "\n").split("\n")
    headers: dict[str, str] = {}
    status = int(m.group("code"))
    i = 1
    while i < len(lines) and lines[i].strip():
        name, sep, value = lines[i].partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
        i += 1
        if i < len(lines) and _HTTP_STATUS_RE.match(lines[i]):  # 100 Continue, redirects
            status = int(_HTTP_STATUS_RE.match(lines[i]).group("code"))  # type: ignore[union-attr]
            i += 1
    return HttpBody("\n".join(lines[i + 1 :]), status, skipped + i + 2, headers)


@dataclass(frozen=True)
class ApiError:
    """An error body, read."""

    message: str
    is_string: bool
    type: str | None
    param: str | None
    code: str | None
    kind: str


_MODEL_RE = re.compile(
    r"no models? (?:is |are )?loaded|model[^.]*not found|not found[^.]*model|"
    r"no model (?:found|matches)|model does not exist|unknown model|invalid model",
    re.IGNORECASE,
)
_NOT_RUNNING_RE = re.compile(r"server is not running|not running", re.IGNORECASE)
#: LM Studio's runner failures ("The model has crashed without additional information.
#: (Exit code: …)", HTTP 400): the model process died, not the request that was wrong.
_CRASH_RE = re.compile(r"model has crashed|exit code:|segmentation fault", re.IGNORECASE)


def classify_api_error(
    message: str, etype: str | None, code: str | None, status: int | None
) -> str:
    """The ERROR_KINDS kind of an HTTP error body."""
    if _MODEL_RE.search(message) or (code or "").startswith("model_not_found"):
        return "model_not_found"
    if _CRASH_RE.search(message):
        return "crash"
    if status is not None and status >= 500:
        return "server_error"
    if _NOT_RUNNING_RE.search(message):
        return "server_not_running"
    if "server" in (etype or "") or "internal" in (etype or ""):
        return "server_error"
    if (
        (status is not None and 400 <= status < 500)
        or "invalid_request" in (etype or "")
        or "unexpected endpoint" in message.lower()
    ):
        return "usage"
    return "unknown"


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def api_error(obj: object, status: int | None) -> ApiError | None:
    """The error an API body reports, or ``None`` when it is not an error body."""
    if not isinstance(obj, dict) or "error" not in obj:
        return None
    err = obj["error"]
    if isinstance(err, str):
        return ApiError(err, True, None, None, None, classify_api_error(err, None, None, status))
    if isinstance(err, dict):
        message = _text(err.get("message")) or _text(err.get("error")) or json.dumps(err)
        etype, param, code = _text(err.get("type")), _text(err.get("param")), _text(err.get("code"))
        return ApiError(
            message, False, etype, param, code, classify_api_error(message, etype, code, status)
        )
    if err is None or err is False:
        return None
    message = json.dumps(err)
    return ApiError(
        message, False, None, None, None, classify_api_error(message, None, None, status)
    )


def parse_body(command: str, text: str, http_status: int | None) -> tuple[Any, int | None]:
    """The JSON value of a body (after any ``curl -i`` headers) and the HTTP status."""
    http = split_http(text)
    status = http.status if http.status is not None else http_status
    if not http.body.strip():
        raise ParseError(command, "empty body: an LM Studio response body is JSON")
    return load_json(command, http.body, http.first_line), status
