"""What the LM Studio HTTP body parsers share beyond JSON itself (private).

* :func:`parse_body`: the JSON value of a body (after any ``curl -i`` headers) and its
  HTTP status; the JSON reading itself is :mod:`._json`'s;
* :func:`api_error`: an error body, ``{"error": "text"}`` (LM Studio's HTTP 200 for an
  unknown route) or ``{"error": {"message", "type", "param", "code"}}`` (OpenAI style),
  and its kind.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import ParseError
from ._json import MAX_DEPTH, MAX_VALUE, Brackets, HttpBody, load_json, split_http

#: Names other body parsers imported from here before :mod:`._json` held them.
DepthScanner = Brackets
__all__ = [
    "MAX_DEPTH",
    "MAX_VALUE",
    "DepthScanner",
    "HttpBody",
    "LmsErrorBody",
    "api_error",
    "classify_api_error",
    "load_json",
    "parse_body",
    "split_http",
]


@dataclass(frozen=True)
class LmsErrorBody:
    """An error body, read."""

    message: str
    is_string: bool
    type: str | None
    param: str | None
    code: str | None
    kind: str


#: Within one sentence: a dot ends it unless a non-space follows (``v1.5``, ``qwen2.5``
#: in a model's name).
_SENTENCE = r"(?:[^.]|\.(?=\S))*"
_MODEL_RE = re.compile(
    rf"no models? (?:is |are )?loaded|model{_SENTENCE}not found|not found{_SENTENCE}model|"
    rf"model\b{_SENTENCE} is not loaded|"
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


def api_error(obj: object, status: int | None) -> LmsErrorBody | None:
    """The error an API body reports, or ``None`` when it is not an error body."""
    if not isinstance(obj, dict) or "error" not in obj:
        return None
    err = obj["error"]
    if isinstance(err, str):
        return LmsErrorBody(
            err, True, None, None, None, classify_api_error(err, None, None, status)
        )
    if isinstance(err, dict):
        message = _text(err.get("message")) or _text(err.get("error")) or json.dumps(err)
        etype, param, code = _text(err.get("type")), _text(err.get("param")), _text(err.get("code"))
        return LmsErrorBody(
            message, False, etype, param, code, classify_api_error(message, etype, code, status)
        )
    if err is None or err is False:
        return None
    message = json.dumps(err)
    return LmsErrorBody(
        message, False, None, None, None, classify_api_error(message, None, None, status)
    )


def parse_body(command: str, text: str, http_status: int | None) -> tuple[Any, int | None]:
    """The JSON value of a body (after any ``curl -i`` headers) and the HTTP status."""
    http = split_http(text)
    status = http.status if http.status is not None else http_status
    if not http.body.strip():
        raise ParseError(command, "empty body: an LM Studio response body is JSON")
    return load_json(command, http.body, http.first_line), status
