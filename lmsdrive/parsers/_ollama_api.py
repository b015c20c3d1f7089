"""Shared pieces of the Ollama HTTP body parsers (private).

* :func:`single_body`: a non-streamed body's status, JSON value (read by :mod:`._json`)
  and the error it reports;
* :func:`error_of` / :func:`plain_error`: the error a body reports (``{"error": "…"}``,
  the OpenAI-route ``{"error": {"message": …}}``, a ``{"status": "error: …"}`` of the
  v0.6.0 – v0.6.5 ``client2`` puller, a plain-text ``404 page not found``) and its kind;
* :func:`details_of` / :func:`models_of`: the model lists of ``/api/tags`` and ``/api/ps``.

Fields are read with :func:`._json.field` (its one wrong-type policy); ``get_str`` … are
its per-type spellings, kept for the body parsers written against them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError
from ..transcript import Transcript
from ._json import MAX_DEPTH, MAX_VALUE, JsonValues, json_values
from ._json import json_field as read_field
from .ollama_error import classify

#: The name this module gave :data:`._json.MAX_VALUE`.
MAX_VALUE_CHARS = MAX_VALUE
__all__ = [
    "MAX_DEPTH",
    "MAX_VALUE_CHARS",
    "BodyError",
    "JsonValues",
    "ModelDetails",
    "details_of",
    "error_of",
    "get_bool",
    "get_dict",
    "get_int",
    "get_list",
    "get_str",
    "is_plain_text",
    "json_values",
    "kind_of",
    "models_of",
    "plain_error",
    "single_body",
]

_PLAIN_STATUS_RE = re.compile(r"^(?P<code>[1-5]\d\d) [A-Za-z][^\n]*$")


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


# The typed getters of the Ollama body parsers: :func:`._json.field` (missing or null →
# None, a wrong type → not understood), spelt per type.


def get_str(obj: Mapping[str, Any], key: str, command: str, line: int = 1) -> str | None:
    return read_field(obj, key, str, command, line)


def get_int(obj: Mapping[str, Any], key: str, command: str, line: int = 1) -> int | None:
    return read_field(obj, key, int, command, line)


def get_bool(obj: Mapping[str, Any], key: str, command: str, line: int = 1) -> bool | None:
    return read_field(obj, key, bool, command, line)


def get_list(obj: Mapping[str, Any], key: str, command: str, line: int = 1) -> list[Any] | None:
    return read_field(obj, key, list, command, line)


def get_dict(
    obj: Mapping[str, Any], key: str, command: str, line: int = 1
) -> dict[str, Any] | None:
    return read_field(obj, key, dict, command, line)


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
