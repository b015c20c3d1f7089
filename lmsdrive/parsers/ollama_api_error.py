"""Parser of an Ollama HTTP error body, from any endpoint.

Shapes read:

* ``{"error": "…"}`` — every native endpoint (400 bad request, 404 ``model 'x' not
  found`` in its three wordings, 499 ``request canceled``, 500 runner failures, 503 queue
  full), and the last line of a stream that failed after it started (HTTP 200);
* ``{"error": {"message": "…", "type": "api_error", "param": null, "code": null}}`` —
  the OpenAI-compatible ``/v1/…`` routes;
* plain text, e.g. ``404 page not found`` (an endpoint the server does not have).

Usage::

    from lmsdrive.parsers import parse
    from lmsdrive.transcript import Transcript
    parse("ollama /error", Transcript.of('{"error":"model \\'x\\' not found"}',
                                          http_status=404)).to_dict()

Schema (``OllamaApiErrorResult.to_dict()``)::

    {
      "http_status": integer | null,  # from the transcript, when known
      "error":       string,          # the message (the whole text of a plain-text body)
      "kind":        string,          # one of ERROR_KINDS: the message's kind (see
                                      # ollama_error), else by status: 5xx server_error,
                                      # 400/404/405/422 usage, else unknown
      "error_type":  string | null,   # OpenAI shape: "type"
      "code":        string | null    # OpenAI shape: "code", as text
    }

A stream (NDJSON) that ended with an error line reads as that error (earlier lines are
progress, skipped on purpose). Empty body, JSON without any ``error``, deep nesting (> 64) and
a non-error plain text (``Ollama is running`` without an error status) raise
``ParseError``. Nothing is skipped.

Example::

    {"error":"model 'mistral' not found, try pulling it first"}      (HTTP 404)

    {"http_status": 404, "error": "model 'mistral' not found, try pulling it first",
     "kind": "model_not_found", "error_type": null, "code": null}
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._ollama_api import error_of, is_plain_text, json_values, plain_error

__all__ = ["OllamaApiErrorResult", "parse"]

COMMAND = "ollama /error"


@dataclass(frozen=True, kw_only=True)
class OllamaApiErrorResult(Result):
    """The error an HTTP body reports."""

    http_status: int | None = None
    error_type: str | None = None
    code: str | None = None


def parse(transcript: Transcript) -> OllamaApiErrorResult:
    """The error of an Ollama HTTP error body."""
    text = transcript.text
    status = transcript.http_status
    if not text.strip():
        raise ParseError(COMMAND, "empty body: no error message")
    if is_plain_text(text):
        perr = plain_error(text, status)
        if perr is None:
            raise ParseError(
                COMMAND, "plain text that is not an error", 1, text.strip().split("\n", 1)[0]
            )
        return OllamaApiErrorResult(http_status=status, error=perr.error, kind=perr.kind)
    values = json_values(COMMAND, text)
    errors = [e for e in (error_of(v, status) for _, v in values) if e is not None]
    if not errors:
        raise ParseError(COMMAND, "a JSON body without 'error'", values[0][0] if values else 1)
    err = errors[-1]
    return OllamaApiErrorResult(
        http_status=status,
        error=err.error,
        kind=err.kind,
        error_type=err.error_type,
        code=err.code,
    )
