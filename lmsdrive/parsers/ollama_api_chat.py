"""Parser of the body of ``POST /api/chat`` (one object, or an NDJSON stream).

Shapes (docs/reference/runtimes-2026.md §5.8; ollama ``docs/api.md``, ``api/types.go``
``ChatResponse``): the objects of ``/api/generate`` with ``"message": {"role", "content",
"thinking", "tool_calls"}`` in place of ``"response"``/``"thinking"``:

* ``"stream": false``: one object ``{"model", "created_at", "message", "done": true,
  "done_reason", "total_duration", "load_duration", "prompt_eval_count",
  "prompt_eval_duration", "eval_count", "eval_duration"}`` (durations in nanoseconds);
* streaming (the default): ``{"model", "created_at", "message": {"role": "assistant",
  "content": "<token>"}, "done": false}`` per token (thinking models send
  ``message.thinking`` pieces first), then the final ``done: true`` object with an empty
  content and the counters;
* structured output (``"format": <schema>``): the JSON text arrives in ``message.content``;
* errors: ``{"error": "…"}`` (404 ``model 'x' not found``, 400 ``"x" does not support
  thinking``), or a last ``{"error": "…"}`` line inside a stream.

Usage::

    from lmsdrive.parsers import parse
    parse("ollama /api/chat", body).to_dict()

    from lmsdrive.parsers.ollama_api_chat import stream
    for chunk in stream(response.iter_text()):     # GenerateChunk: .response is the content
        print(chunk.response, end="")

Schema (``OllamaApiChatResult.to_dict()``)::

    {
      "http_status":          integer | null,
      "error":                string | null,   # {"error": …} (body or last stream line)
      "kind":                 string | null,   # one of ERROR_KINDS
      "model":                string | null,
      "created_at":           string | null,   # of the first object
      "role":                 string | null,   # message.role ("assistant")
      "content":              string,          # every message.content piece joined
      "thinking":             string | null,   # every message.thinking piece joined
      "tool_calls":           [object],        # message.tool_calls, as sent, in order
      "done":                 boolean,
      "done_reason":          string | null,   # stop | length | …
      "total_duration":       integer | null,  # nanoseconds
      "load_duration":        integer | null,
      "prompt_eval_count":    integer | null,
      "prompt_eval_duration": integer | null,
      "eval_count":           integer | null,
      "eval_duration":        integer | null,
      "tokens_per_second":    number | null,   # eval_count / eval_duration, 2 decimals
      "chunks":               integer,
      "extra":                object           # unknown keys of the final object
    }

Noise: blank lines between objects. Empty body, not-JSON text (other than an HTTP error text),
non-object values, an object with neither ``message`` nor ``done``, a ``message`` that is not
an object, nesting deeper than 64 levels and a body cut inside an object raise ``ParseError``.

Example::

    {"model":"llama3.1","created_at":"2024-12-06T00:46:58.265747Z","message":{"role":
    "assistant","content":"{\\"age\\": 22, \\"available\\": false}"},"done_reason":"stop",
    "done":true,"eval_count":12,"eval_duration":175000000}

    {"model": "llama3.1", "role": "assistant", "content": "{\\"age\\": 22, \\"available\\":
     false}", "done": true, "done_reason": "stop", "tokens_per_second": 68.57, ...}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._ollama_api import get_dict, get_list, get_str, is_plain_text, plain_error
from ._policy import not_understood
from ._stream import drive, read_all
from .ollama_api_generate import _COUNTERS, GenerateChunk, GenerateReader

__all__ = ["ChatReader", "GenerateChunk", "OllamaApiChatResult", "parse", "stream"]

COMMAND = "ollama /api/chat"

_KNOWN = ("model", "created_at", "message", "done", "done_reason", *_COUNTERS)


@dataclass(frozen=True, kw_only=True)
class OllamaApiChatResult(Result):
    """A whole ``/api/chat`` answer."""

    http_status: int | None = None
    model: str | None = None
    created_at: str | None = None
    role: str | None = None
    content: str = ""
    thinking: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False
    done_reason: str | None = None
    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_count: int | None = None
    prompt_eval_duration: int | None = None
    eval_count: int | None = None
    eval_duration: int | None = None
    tokens_per_second: float | None = None
    chunks: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class ChatReader(GenerateReader):
    """Incremental reader of an ``/api/chat`` body (chunks are :class:`GenerateChunk`, the
    content piece in ``response``)."""

    command = COMMAND

    def __init__(self, http_status: int | None = None, keep_text: bool = True) -> None:
        super().__init__(http_status, keep_text)
        self._role: str | None = None
        self._tool_calls: list[dict[str, Any]] = []
        self._taken = 0

    def _pieces(self, value: dict[str, Any], line_number: int) -> tuple[str, str | None] | None:
        if "message" not in value and "done" not in value:
            not_understood(
                COMMAND, "an object without 'message' or 'done'", line_number, str(value)[:200]
            )
            return None
        message = get_dict(value, "message", COMMAND, line_number) or {}
        role = get_str(message, "role", COMMAND, line_number)
        if role and self._role is None:
            self._role = role
        calls = get_list(message, "tool_calls", COMMAND, line_number)
        if calls:
            if not all(isinstance(c, dict) for c in calls):
                shown = f'"tool_calls": {json.dumps(calls)}'[:200]
                reason = "'tool_calls' should be a list of objects"
                not_understood(COMMAND, reason, line_number, shown, part=True)
            else:
                self._tool_calls.extend(calls)
        content = get_str(message, "content", COMMAND, line_number) or ""
        return content, get_str(message, "thinking", COMMAND, line_number)

    def take_tool_calls(self) -> list[dict[str, Any]]:
        """The tool calls read since the last call (a stream yields each once)."""
        new = self._tool_calls[self._taken :]
        self._taken = len(self._tool_calls)
        return new

    def result(self) -> OllamaApiChatResult:  # type: ignore[override]
        return OllamaApiChatResult(
            role=self._role,
            content="".join(self._response),
            tool_calls=list(self._tool_calls),
            **self._common(_KNOWN),
        )


def stream(chunks: Iterable[str], http_status: int | None = None) -> Iterator[GenerateChunk]:
    """A :class:`GenerateChunk` per object, as soon as its line is complete."""
    yield from drive(ChatReader(http_status, keep_text=False), chunks)


def parse(transcript: Transcript) -> OllamaApiChatResult:
    """The whole answer (or error) of an ``/api/chat`` body."""
    text, status = transcript.text, transcript.http_status
    if not text.strip():
        raise ParseError(COMMAND, "empty body")
    if is_plain_text(text):
        perr = plain_error(text, status)
        if perr is None:
            raise ParseError(COMMAND, "not a JSON body", 1, text.strip().split("\n", 1)[0])
        return OllamaApiChatResult(http_status=status, error=perr.error, kind=perr.kind)
    return read_all(ChatReader(status), text)
