"""Shared pieces of the Ollama HTTP body parsers (private).

* :class:`JsonValues`: splits a body into JSON values as they complete — NDJSON (one object
  per line), one object, or a pretty-printed object across lines — with bounded nesting
  (:data:`MAX_DEPTH`) checked before ``json`` sees the text, so deep input cannot blow the
  stack;
* :func:`error_of` / :func:`plain_error`: the error a body reports (``{"error": "…"}``,
  the OpenAI-route ``{"error": {"message": …}}``, a ``{"status": "error: …"}`` of the
  v0.6.0 – v0.6.5 ``client2`` puller, a plain-text ``404 page not found``) and its kind;
* typed getters that raise :class:`ParseError` on a value of the wrong type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError
from ..transcript import Transcript
from .ollama_error import classify

#: Deepest nesting of arrays/objects accepted in a body.
MAX_DEPTH = 64
#: Longest JSON value (characters) accepted; a longer one is refused, not buffered.
MAX_VALUE_CHARS = 32 * 1024 * 1024

# Strings cannot hold a raw newline in JSON, so each line can be scanned on its own.
_TOKEN_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"|[\[\]{}]|"')
_PLAIN_STATUS_RE = re.compile(r"^(?P<code>[1-5]\d\d) [A-Za-z][^\n]*$")


class JsonValues:
    """Feed text chunks; get ``(line_number, value)`` for every complete JSON value."""

    def __init__(self, command: str) -> None:
        self.command = command
        self._partial = ""
        self._pending: list[str] = []
        self._pending_chars = 0
        self._depth = 0
        self._line_number = 0
        self._start = 0

    def feed(self, chunk: str) -> Iterator[tuple[int, Any]]:
        text = self._partial + chunk if self._partial else chunk
        lines = text.split("\n")
        self._partial = lines.pop()
        if len(self._partial) > MAX_VALUE_CHARS:
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
        depth = self._depth
        for m in _TOKEN_RE.finditer(line):
            tok = m.group()
            if tok in "{[":
                depth += 1
                if depth > MAX_DEPTH:
                    raise ParseError(
                        self.command,
                        f"JSON nested deeper than {MAX_DEPTH} levels",
                        self._line_number,
                        line[:200],
                    )
            elif tok in "}]":
                depth -= 1
                if depth < 0:
                    raise ParseError(self.command, "unbalanced JSON", self._line_number, line[:200])
            elif tok == '"':
                raise ParseError(
                    self.command, "unterminated JSON string", self._line_number, line[:200]
                )
        self._depth = depth
        self._pending.append(line)
        self._pending_chars += len(line)
        if self._pending_chars > MAX_VALUE_CHARS:
            raise ParseError(self.command, "JSON value longer than the limit", self._start)
        if depth:
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


def is_plain_text(text: str) -> bool:
    """Whether a body is not JSON at all (``404 page not found``, ``Ollama is running``)."""
    head = text.lstrip()
    return bool(head) and head[0] not in "{["


def kind_of(message: str, http_status: int | None) -> str:
    """The kind (ERROR_KINDS) of an API error message, the HTTP status breaking ties."""
    kind = classify(message)
    if kind != "unknown":
        return kind
    if http_status is not None and http_status >= 500:
        return "server_error"
    if http_status in (400, 404, 405, 422) or "page not found" in message.lower():
        return "usage"
    return "unknown"


@dataclass(frozen=True)
class BodyError:
    """An error reported by a body."""

    error: str
    kind: str
    error_type: str | None = None
    code: str | None = None


def error_of(value: object, http_status: int | None) -> BodyError | None:
    """The error an (already decoded) JSON body reports, or ``None``."""
    if not isinstance(value, Mapping):
        return None
    err = value.get("error")
    if isinstance(err, str):
        return BodyError(err, kind_of(err, http_status))
    if isinstance(err, Mapping):
        message = err.get("message")
        text = message if isinstance(message, str) else json.dumps(err, sort_keys=True)
        etype = err.get("type")
        code = err.get("code")
        return BodyError(
            text,
            kind_of(text, http_status),
            etype if isinstance(etype, str) else None,
            None if code is None else str(code),
        )
    if err is not None:
        text = json.dumps(err)
        return BodyError(text, kind_of(text, http_status))
    status = value.get("status")
    if isinstance(status, str) and status.startswith("error: "):
        msg = status.removeprefix("error: ")
        return BodyError(msg, kind_of(msg, http_status))
    return None


def plain_error(text: str, http_status: int | None) -> BodyError | None:
    """The error of a plain-text body (``404 page not found``), or ``None``.

    Any non-JSON body counts when the HTTP status says error (≥ 400); without a status only
    the ``<code> <words>`` shape of Go's ``http.Error`` does.
    """
    body = text.strip()
    if not body:
        return None
    first = body.split("\n", 1)[0].strip()
    if _PLAIN_STATUS_RE.match(first) or (http_status is not None and http_status >= 400):
        return BodyError(body, kind_of(body, http_status))
    return None


# -- typed getters ---------------------------------------------------------------------------


def single_body(command: str, transcript: Transcript) -> tuple[int | None, Any, BodyError | None]:
    """A non-streamed body: its HTTP status, its one JSON value, and the error it reports
    (plain-text bodies such as ``404 page not found`` included). Garbage raises ParseError."""
    text, status = transcript.text, transcript.http_status
    if is_plain_text(text):
        perr = plain_error(text, status)
        if perr is None:
            raise ParseError(command, "not a JSON body", 1, text.strip().split("\n", 1)[0])
        return status, None, perr
    values = json_values(command, text)
    if len(values) != 1:
        raise ParseError(command, f"expected one JSON object, got {len(values)}")
    value = values[0][1]
    return status, value, error_of(value, status)


def _get(obj: Mapping[str, Any], key: str, types: tuple[type, ...], command: str) -> Any:
    v = obj.get(key)
    if v is None:
        return None
    if isinstance(v, bool) and bool not in types:
        raise ParseError(command, f"{key!r} should be {types[0].__name__}, got {v!r}")
    if not isinstance(v, types):
        raise ParseError(command, f"{key!r} should be {types[0].__name__}, got {v!r:.80}")
    return v


def get_str(obj: Mapping[str, Any], key: str, command: str) -> str | None:
    return _get(obj, key, (str,), command)  # type: ignore[no-any-return]


def get_int(obj: Mapping[str, Any], key: str, command: str) -> int | None:
    return _get(obj, key, (int,), command)  # type: ignore[no-any-return]


def get_bool(obj: Mapping[str, Any], key: str, command: str) -> bool | None:
    return _get(obj, key, (bool,), command)  # type: ignore[no-any-return]


def get_list(obj: Mapping[str, Any], key: str, command: str) -> list[Any] | None:
    return _get(obj, key, (list,), command)  # type: ignore[no-any-return]


def get_dict(obj: Mapping[str, Any], key: str, command: str) -> dict[str, Any] | None:
    return _get(obj, key, (dict,), command)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ModelDetails:
    """``details`` of a model in ``/api/tags`` and ``/api/ps``."""

    parent_model: str | None = None
    format: str | None = None
    family: str | None = None
    families: list[str] | None = None
    parameter_size: str | None = None
    quantization_level: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_DETAIL_KEYS = ("parent_model", "format", "family", "parameter_size", "quantization_level")


def details_of(obj: Mapping[str, Any] | None, command: str) -> ModelDetails | None:
    if obj is None:
        return None
    families = get_list(obj, "families", command)
    if families is not None and not all(isinstance(f, str) for f in families):
        raise ParseError(command, "'families' should be a list of strings")
    values = {k: get_str(obj, k, command) for k in _DETAIL_KEYS}
    extra = {k: v for k, v in obj.items() if k not in _DETAIL_KEYS and k != "families"}
    return ModelDetails(families=families, extra=extra, **values)


def models_of(value: object, command: str) -> list[dict[str, Any]]:
    """The ``models`` list of a ``{"models": […]}`` body (``null`` reads as empty)."""
    if not isinstance(value, dict):
        raise ParseError(command, "expected a JSON object with 'models'")
    if "models" not in value:
        raise ParseError(command, "no 'models' key in the body")
    models = value["models"]
    if models is None:
        return []
    if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
        raise ParseError(command, "'models' should be a list of objects")
    return models
