"""Parser of the body of ``POST /api/generate`` (one object, or an NDJSON stream).

Shapes (docs/reference/ollama-cli.md §6):

* ``"stream": false``: one object ``{"model", "created_at", "response", "done": true,
  "done_reason", "context", "total_duration", "load_duration", "prompt_eval_count",
  "prompt_eval_duration", "eval_count", "eval_duration"}`` (durations in nanoseconds, zero
  values omitted; ``done_reason`` since v0.1.35);
* streaming (the default): ``{"model", "created_at", "response": "<token>", "done": false}``
  per token, then the final ``done: true`` object with the counters and an empty response;
  thinking models also send ``"thinking"`` text;
* load (empty prompt): one object with ``"response": ""``, ``"done": true``,
  ``"done_reason": "load"``; unload (``"keep_alive": 0``): ``"done_reason": "unload"``
  (v0.3.11+);
* errors: ``{"error": "…"}`` (404 ``model 'x' not found`` in three wordings, 400, 500), or
  a last ``{"error": "…"}`` line inside a stream (HTTP 200).

Usage::

    from lmsdrive.parsers import parse
    parse("ollama /api/generate", body).to_dict()

    from lmsdrive.parsers.ollama_api_generate import stream
    for chunk in stream(response.iter_text()):
        print(chunk.response, end="")

Schema (``OllamaApiGenerateResult.to_dict()``)::

    {
      "http_status":          integer | null,  # from the transcript, when known
      "error":                string | null,   # {"error": …} (body or last stream line)
      "kind":                 string | null,   # one of ERROR_KINDS
      "model":                string | null,
      "created_at":           string | null,   # of the first object, RFC 3339 as sent
      "response":             string,          # all "response" pieces joined
      "thinking":             string | null,   # all "thinking" pieces joined (think models)
      "done":                 boolean,         # a done:true object was received
      "done_reason":          string | null,   # stop | length | load | unload | …
      "context":              [integer] | null,
      "total_duration":       integer | null,  # nanoseconds
      "load_duration":        integer | null,
      "prompt_eval_count":    integer | null,
      "prompt_eval_duration": integer | null,
      "eval_count":           integer | null,
      "eval_duration":        integer | null,
      "tokens_per_second":    number | null,   # eval_count / eval_duration, 2 decimals
      "chunks":               integer,         # objects received
      "extra":                object           # unknown keys of the final object (kept)
    }

Events (``stream``): a :class:`GenerateChunk` per object (``response``, ``thinking``,
``done``, ``done_reason``, ``error``), yielded as soon as its line is complete; the stream
holds no text of its own.

Noise: blank lines between objects. Empty body: ``ParseError`` (the server always answers).
Not-JSON text (other than an HTTP error text such as ``404 page not found``), non-object
values, JSON nested deeper than 64 levels and a body cut inside an object raise
``ParseError``. A stream cut between objects reads with ``done`` false.

Example::

    {"model":"llama3.2","created_at":"2025-01-01T10:00:00Z","response":"Hi","done":false}
    {"model":"llama3.2","created_at":"2025-01-01T10:00:01Z","response":"","done":true,
     "done_reason":"stop","eval_count":1,"eval_duration":50000000}

    {"http_status": null, "error": null, "kind": null, "model": "llama3.2",
     "created_at": "2025-01-01T10:00:00Z", "response": "Hi", "thinking": null, "done": true,
     "done_reason": "stop", "context": null, "total_duration": null, "load_duration": null,
     "prompt_eval_count": null, "prompt_eval_duration": null, "eval_count": 1,
     "eval_duration": 50000000, "tokens_per_second": 20.0, "chunks": 2, "extra": {}}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._ollama_api import (
    JsonValues,
    error_of,
    get_bool,
    get_int,
    get_list,
    get_str,
    is_plain_text,
    plain_error,
)
from ._policy import not_understood
from ._stream import drive, read_all

__all__ = ["GenerateChunk", "GenerateReader", "OllamaApiGenerateResult", "parse", "stream"]

COMMAND = "ollama /api/generate"

_COUNTERS = (
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
)
_KNOWN = (
    "model",
    "created_at",
    "response",
    "thinking",
    "done",
    "done_reason",
    "context",
    *_COUNTERS,
)


@dataclass(frozen=True)
class GenerateChunk:
    """One object of a generate stream."""

    response: str = ""
    thinking: str | None = None
    done: bool = False
    done_reason: str | None = None
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class OllamaApiGenerateResult(Result):
    """A whole ``/api/generate`` answer."""

    http_status: int | None = None
    model: str | None = None
    created_at: str | None = None
    response: str = ""
    thinking: str | None = None
    done: bool = False
    done_reason: str | None = None
    context: list[int] | None = None
    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_count: int | None = None
    prompt_eval_duration: int | None = None
    eval_count: int | None = None
    eval_duration: int | None = None
    tokens_per_second: float | None = None
    chunks: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class GenerateReader:
    """Incremental reader; ``keep_text`` joins the pieces for :meth:`result`.

    Subclasses (``/api/chat``) name their ``command`` and read an object's text in
    :meth:`_pieces`."""

    command = COMMAND

    def __init__(self, http_status: int | None = None, keep_text: bool = True) -> None:
        self._json = JsonValues(self.command)
        self._status = http_status
        self._keep = keep_text
        self._response: list[str] = []
        self._thinking: list[str] = []
        self._first: dict[str, Any] = {}
        self._final: dict[str, Any] = {}
        self._error: tuple[str, str] | None = None
        self._chunks = 0

    def feed(self, chunk: str) -> Iterator[GenerateChunk]:
        for line_number, value in self._json.feed(chunk):
            read = self._value(line_number, value)
            if read is not None:
                yield read

    def close(self) -> Iterator[GenerateChunk]:
        for line_number, value in self._json.close():
            read = self._value(line_number, value)
            if read is not None:
                yield read

    def _value(self, line_number: int, value: Any) -> GenerateChunk | None:
        command = self.command
        if not isinstance(value, dict):
            not_understood(command, "not a JSON object", line_number, repr(value)[:200])
            return None
        self._chunks += 1
        err = error_of(value, self._status)
        if err is not None:
            if self._error is None:
                self._error = (err.error, err.kind)
            return GenerateChunk(error=err.error)
        pieces = self._pieces(value, line_number)
        if pieces is None:
            return None
        response, thinking = pieces
        done = bool(get_bool(value, "done", command, line_number))
        done_reason = get_str(value, "done_reason", command, line_number)
        context = get_list(value, "context", command, line_number)
        if context is not None and not all(
            isinstance(t, int) and not isinstance(t, bool) for t in context
        ):
            shown = f'"context": {json.dumps(context)}'[:200]
            not_understood(
                command, "'context' should be a list of integers", line_number, shown, part=True
            )
            context = None
        # The object as read: a field not understood reads as None (the wrong-type policy).
        value = {
            **value,
            **{key: get_int(value, key, command, line_number) for key in _COUNTERS},
            "model": get_str(value, "model", command, line_number),
            "created_at": get_str(value, "created_at", command, line_number),
            "done_reason": done_reason,
            **({"context": context} if "context" in value else {}),
        }
        if not self._first:
            self._first = value
        if self._keep:
            if response:
                self._response.append(response)
            if thinking:
                self._thinking.append(thinking)
        if done:
            self._final = value
        return GenerateChunk(response, thinking, done, done_reason)

    def _pieces(self, value: dict[str, Any], line_number: int) -> tuple[str, str | None] | None:
        """(answer text, thinking text) of one object; ``None`` when it is not one."""
        if "response" not in value and "done" not in value:
            not_understood(
                self.command,
                "an object without 'response' or 'done'",
                line_number,
                str(value)[:200],
            )
            return None
        response = get_str(value, "response", self.command, line_number) or ""
        return response, get_str(value, "thinking", self.command, line_number)

    def _common(self, known: tuple[str, ...]) -> dict[str, Any]:
        """The result fields every Ollama generation body shares (``known``: the final
        object's keys not kept in ``extra``)."""
        error, kind = self._error if self._error else (None, None)
        final, first = self._final, self._first
        eval_count, eval_duration = final.get("eval_count"), final.get("eval_duration")
        rate = round(eval_count * 1e9 / eval_duration, 2) if eval_count and eval_duration else None
        return {
            "http_status": self._status,
            "error": error,
            "kind": kind,
            "model": first.get("model") or final.get("model"),
            "created_at": first.get("created_at"),
            "thinking": "".join(self._thinking) if self._thinking else None,
            "done": bool(final),
            "done_reason": final.get("done_reason"),
            "tokens_per_second": rate,
            "chunks": self._chunks,
            "extra": {k: v for k, v in final.items() if k not in known},
            **{k: final.get(k) for k in _COUNTERS},
        }

    def result(self) -> OllamaApiGenerateResult:
        return OllamaApiGenerateResult(
            response="".join(self._response),
            context=self._final.get("context"),
            **self._common(_KNOWN),
        )


def stream(chunks: Iterable[str], http_status: int | None = None) -> Iterator[GenerateChunk]:
    """A :class:`GenerateChunk` per object, as soon as its line is complete."""
    yield from drive(GenerateReader(http_status, keep_text=False), chunks)


def parse(transcript: Transcript) -> OllamaApiGenerateResult:
    """The whole answer (or error) of a ``/api/generate`` body."""
    text = transcript.text
    status = transcript.http_status
    if not text.strip():
        raise ParseError(COMMAND, "empty body")
    if is_plain_text(text):
        perr = plain_error(text, status)
        if perr is None:
            raise ParseError(COMMAND, "not a JSON body", 1, text.strip().split("\n", 1)[0])
        return OllamaApiGenerateResult(http_status=status, error=perr.error, kind=perr.kind)
    return read_all(GenerateReader(status), text)
