"""LM Studio HTTP error bodies (any endpoint, OpenAI-compatible and REST).

See docs/reference/lms-cli.md §7.1/§7.3. Two shapes:

* ``{"error": "Unexpected endpoint or method. (POST /chat/completions)"}`` — a plain string,
  which LM Studio sends with **HTTP 200** for an unknown route or method;
* ``{"error": {"message": "No models loaded. …", "type": "invalid_request_error",
  "param": "model", "code": …}}`` — OpenAI style, HTTP 400 (or 4xx/5xx); the REST API v1
  uses the same shape (``"type": "invalid_request"``, ``"code": "missing_required_parameter"``).

Usage::

    from lmsdrive.parsers import parse
    parse("lms /error", Transcript.of(body, http_status=400)).to_dict()

JSON Schema::

    {
      "http_status":     integer|null,  # transcript.http_status, or a `curl -i` status line
      "error_message":   string,        # the server's message
      "error_is_string": boolean,       # true for {"error": "text"}
      "error_type":      string|null,   # "invalid_request_error" …
      "error_param":     string|null,   # "model" …
      "error_code":      string|null,   # as sent (numbers as their JSON text)
      "error":           string,        # = error_message
      "kind":            string         # model_not_found (no models loaded, model not
                                        # found or not loaded), server_error (5xx,
                                        # server/internal types), usage (other 4xx,
                                        # invalid_request*, unexpected endpoint),
                                        # server_not_running, unknown
    }

Empty body, non-JSON text, JSON without an ``error`` member, or nesting deeper than 64
levels raise ParseError.

Example::

    {"error":"Unexpected endpoint or method. (POST /chat/completions)"}    (HTTP 200)

    {"http_status": 200, "error_message": "Unexpected endpoint or method. (POST
     /chat/completions)", "error_is_string": true, "error_type": null, "kind": "usage", ...}
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._lms_json import api_error, parse_body

__all__ = ["LmsApiErrorResult", "parse"]

COMMAND = "lms /error"


@dataclass(frozen=True, kw_only=True)
class LmsApiErrorResult(Result):
    """An LM Studio HTTP error body, read."""

    http_status: int | None = None
    error_message: str = ""
    error_is_string: bool = False
    error_type: str | None = None
    error_param: str | None = None
    error_code: str | None = None


def parse(transcript: Transcript) -> LmsApiErrorResult:
    """The error an LM Studio HTTP body reports."""
    obj, status = parse_body(COMMAND, transcript.text, transcript.http_status)
    err = api_error(obj, status)
    if err is None:
        raise ParseError(COMMAND, 'not an error body: expected {"error": ...}')
    return LmsApiErrorResult(
        http_status=status,
        error_message=err.message,
        error_is_string=err.is_string,
        error_type=err.type,
        error_param=err.param,
        error_code=err.code,
        error=err.message,
        kind=err.kind,
    )
