"""JSON in captures and bodies, read one way by every parser (private).

* :class:`Brackets`: the one bracket scanner. It follows JSON nesting over pieces of text
  fed in order (strings and escapes respected, across pieces), so a value is known to be
  complete without parsing it, and nesting deeper than :data:`MAX_DEPTH` is refused
  before ``json`` recurses into it;
* :func:`load_json`: one JSON text with that bound, failures as :class:`ParseError`;
* :class:`JsonValues` / :func:`json_values`: a body split into values as they complete —
  NDJSON (one object per line), one object, or a pretty-printed object across lines;
* :func:`find_json`: the JSON payload among the lines of a CLI's ``--json`` output
  (log lines and warnings around it are the caller's);
* :func:`split_http`: a ``curl -i`` status line and headers split off a body;
* :func:`json_field`: the one typed field reader.

**The wrong-type policy** (every JSON parser, one place). A key that is missing, or whose
value is ``null``, reads as ``None``: a field the runtime did not send. A value of the
wrong type (a string where a number belongs; ``true`` is never a number) is not
understood: through :func:`~._policy.not_understood`, a :class:`ParseError` in strict mode,
and in lenient mode recorded in the result's ``skipped`` (the line the JSON value starts
on, the key and the value) and read as ``None``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import ParseError
from ._policy import not_understood

__all__ = [
    "MAX_DEPTH",
    "MAX_VALUE",
    "Brackets",
    "HttpBody",
    "JsonValues",
    "find_json",
    "json_field",
    "json_values",
    "load_json",
    "split_http",
]

#: Deepest nesting of arrays/objects accepted (a hostile server cannot blow the stack).
MAX_DEPTH = 64
#: Largest single JSON value accepted, in characters (64 MiB); a longer one is refused.
MAX_VALUE = 64 << 20

_TOKEN_RE = re.compile(r'"|[\[\]{}]')
_STRING_REST_RE = re.compile(r'(?:[^"\\]+|\\.)*(")?', re.DOTALL)
_HTTP_STATUS_RE = re.compile(r"^HTTP/\d(?:\.\d)?\s+(?P<code>\d{3})\b")

T = TypeVar("T")


class Brackets:
    """Track JSON nesting over pieces of text fed in order.

    ``depth`` is the current nesting; ``complete`` is true when at least one value opened
    and every bracket has closed again; ``in_string`` when a piece ended inside a string.
    """

    def __init__(self, command: str, line_number: int | None = None) -> None:
        self._command = command
        self.line_number = line_number
        self.depth = 0
        self.opened = False
        self.in_string = False
        self._escape = False

    def _refuse(self, reason: str, text: str) -> ParseError:
        return ParseError(self._command, reason, self.line_number, text[:200] or None)

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
                    raise self._refuse(f"JSON nested deeper than {MAX_DEPTH} levels", text)
            else:
                self.depth -= 1
                if self.depth < 0:
                    raise self._refuse("unbalanced JSON brackets", text)

    @property
    def complete(self) -> bool:
        return self.opened and self.depth == 0 and not self.in_string


def load_json(command: str, text: str, first_line: int = 1) -> Any:
    """One JSON value from ``text``, nesting bounded by :data:`MAX_DEPTH`."""
    if len(text) > MAX_VALUE:
        raise ParseError(command, f"JSON value larger than {MAX_VALUE} characters", first_line)
    Brackets(command, first_line).feed(text)
    try:
        return json.loads(text)
    except RecursionError as exc:  # pragma: no cover - the depth bound comes first
        raise ParseError(command, "JSON nested too deeply", first_line) from exc
    except ValueError as exc:
        lineno = getattr(exc, "lineno", 1)
        lines = text.splitlines() or [""]
        shown = lines[min(lineno, len(lines)) - 1][:200]
        raise ParseError(command, f"not JSON ({exc})", first_line + lineno - 1, shown) from exc


class JsonValues:
    """Feed text chunks; get ``(line_number, value)`` for every complete JSON value.

    A JSON string cannot hold a raw newline, so a line that ends inside one is refused at
    once instead of buffering the rest of the body.
    """

    def __init__(self, command: str) -> None:
        self.command = command
        self._partial = ""
        self._pending: list[str] = []
        self._pending_chars = 0
        self._brackets = Brackets(command)
        self._line_number = 0
        self._start = 0

    def feed(self, chunk: str) -> Iterator[tuple[int, Any]]:
        text = self._partial + chunk if self._partial else chunk
        lines = text.split("\n")
        self._partial = lines.pop()
        if len(self._partial) > MAX_VALUE:
            raise ParseError(self.command, "line longer than the limit", self._line_number + 1)
        for line in lines:
            self._line_number += 1
            yield from self._line(line.removesuffix("\r"))

    def close(self) -> Iterator[tuple[int, Any]]:
        if self._partial:
            self._line_number += 1
            line, self._partial = self._partial, ""
            yield from self._line(line.removesuffix("\r"))
        if self._pending:
            raise ParseError(
                self.command,
                "truncated JSON: the body ends inside a value",
                self._start,
                self._pending[0][:200],
            )

    def _line(self, line: str) -> Iterator[tuple[int, Any]]:
        if not self._pending and not line.strip():
            return
        if not self._pending:
            self._start = self._line_number
        brackets = self._brackets
        brackets.line_number = self._line_number
        brackets.feed(line)
        if brackets.in_string:
            raise ParseError(
                self.command, "unterminated JSON string", self._line_number, line[:200]
            )
        self._pending.append(line)
        self._pending_chars += len(line)
        if self._pending_chars > MAX_VALUE:
            raise ParseError(self.command, "JSON value longer than the limit", self._start)
        if brackets.depth:
            return
        text = "\n".join(self._pending)
        self._pending = []
        self._pending_chars = 0
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ParseError(
                self.command, f"not JSON ({exc})", self._start, text.split("\n", 1)[0][:200]
            ) from None
        yield self._start, value


def json_values(command: str, text: str) -> list[tuple[int, Any]]:
    """Every JSON value of a whole body."""
    reader = JsonValues(command)
    out = list(reader.feed(text))
    out.extend(reader.close())
    return out


def find_json(lines: Sequence[str], command: str) -> tuple[Any, int, int] | None:
    """The JSON payload among lines as (value, first line, line after it), 0-based; None
    when no line starts a JSON value. Lines around it (merged stderr) are the caller's."""
    for i, line in enumerate(lines):
        if line.strip()[:1] not in ("[", "{"):
            continue
        brackets = Brackets(command, i + 1)
        end = len(lines)
        for j in range(i, len(lines)):
            brackets.line_number = j + 1
            brackets.feed(lines[j])
            if brackets.depth <= 0 and not brackets.in_string:
                end = j + 1
                break
        try:
            value = json.loads("\n".join(lines[i:end]))
        except json.JSONDecodeError as e:
            raise ParseError(command, f"invalid JSON: {e.msg}", i + 1, line) from None
        return value, i, end
    return None


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
        again = _HTTP_STATUS_RE.match(lines[i]) if i < len(lines) else None
        if again is not None:  # 100 Continue, redirects
            status = int(again.group("code"))
            i += 1
    return HttpBody("\n".join(lines[i + 1 :]), status, skipped + i + 2, headers)


def json_field(
    obj: Mapping[str, Any], key: str, kind: type[T], command: str, line: int = 1
) -> T | None:
    """``obj[key]`` when it is a ``kind`` (``bool`` is not an ``int``); ``None`` when the
    key is missing or ``null``; a value of another type is not understood (the module's
    wrong-type policy). ``line``: where the JSON value starts in the text read."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool):
        return value
    shown = f"{json.dumps(key)}: {json.dumps(value, default=str)}"[:200]
    not_understood(command, f"{key!r} should be {kind.__name__}", line, shown, part=True)
    return None
