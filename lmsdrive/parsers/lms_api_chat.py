"""LM Studio ``POST /v1/chat/completions``: the plain JSON response and the SSE stream.

See docs/reference/lms-cli.md §7.1. The form is detected from the body itself:

* plain response ``{"id": "chatcmpl-…", "object": "chat.completion", "model", "choices":
  [{"index", "finish_reason", "message": {"role", "content", "reasoning_content" (0.3.9,
  DeepSeek R1) | "reasoning" (0.3.23+, gpt-oss), "tool_calls"}}], "usage": {…}, "stats": {},
  "system_fingerprint"}``, compact or pretty-printed;
* SSE stream: ``data: {chunk}`` + blank line per event, ``data: [DONE]`` at the end; chunks
  ``{"object": "chat.completion.chunk", "choices": [{"delta": {"role", "content" |
  "reasoning_content" | "reasoning" | "tool_calls"}, "finish_reason"}]}`` (LM Studio repeats
  ``role`` in every delta), optional final ``usage`` (``stream_options.include_usage``);
  also read without the ``data: `` prefixes (one JSON chunk a line, as pasted) and with
  ``event:``/``id:``/``retry:``/``:comment`` lines;
* an error body instead (``{"error": "…"}`` with HTTP 200, ``{"error": {"message", "type",
  "param", "code"}}`` with HTTP 400), also in the middle of a stream (``data: {"error":…}``,
  or ``event: error``).

A ``curl -i`` status line and headers before the body are read (``http_status``).

Usage::

    from lmsdrive.parsers import lms_api_chat
    result = lms_api_chat.parse(transcript)
    for event in lms_api_chat.stream(chunks):   # ChatDelta / ChatUsage / ChatError / ChatDone
        ...

``stream`` yields typed events as soon as each SSE event (or bare JSON value) is complete —
:class:`ChatDelta` (``index``, ``role``, ``content``, ``reasoning``, ``tool_calls``,
``finish_reason``; one per choice of a chunk, or one per choice with the whole message of a
plain response), :class:`ChatUsage`, :class:`ChatError`, :class:`ChatDone` (``[DONE]``) —
and *returns* (generator return value) the final :class:`LmsApiChatResult`.

JSON Schema::

    {
      "outcome":  string,          # complete | incomplete (stream without [DONE]) | error
      "streamed": boolean,         # chunks (SSE) rather than one response
      "complete": boolean,         # plain response read, or [DONE] seen
      "id": string|null, "model": string|null, "created": integer|null,
      "system_fingerprint": string|null,
      "object": string|null,       # chat.completion | chat.completion.chunk
      "role": string|null,
      "content": string|null,      # assistant text of choice 0; null if none was sent
      "content_text": string,      # the same, "" when none
      "reasoning_text": string,    # reasoning_content / reasoning of choice 0, "" when none
      "finish_reason": string|null,  # stop | length | tool_calls …; null while streaming
      "tool_calls": [{"index": integer, "id": string|null, "type": string|null,
                      "name": string|null, "arguments": string}],
      "chunks": integer,           # chat.completion.chunk events read (0 for plain)
      "choices": [{"index", "role", "content_text", "reasoning_text", "finish_reason",
                   "tool_calls"}],  # every choice (LM Studio sends one)
      "prompt_tokens": integer|null, "completion_tokens": integer|null,
      "total_tokens": integer|null,
      "stats": object|null,        # LM Studio's non-OpenAI "stats"
      "http_status": integer|null,
      "error": string|null, "kind": string|null   # error body, or error event mid-stream
    }

Noise skipped: blank lines (event separators), SSE ``event:``/``id:``/``retry:`` fields and
``:`` comments, HTTP headers of a ``curl -i`` paste. Empty body, any other text (non-JSON
garbage), JSON that is not a chat completion, an SSE ``data:`` event that is not complete
JSON at its blank line, or nesting deeper than 64 levels raise ParseError.

Example::

    data: {"id":"chatcmpl-x","object":"chat.completion.chunk","model":"m","choices":[{"index":0,
    "delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}

    data: [DONE]

    {"outcome": "complete", "streamed": true, "id": "chatcmpl-x", "model": "m",
     "content_text": "Hi", "chunks": 1, "finish_reason": null, ...}
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError
from ..transcript import Transcript
from ._base import JSONValue, Result, to_jsonable
from ._json import MAX_VALUE, Brackets, json_field, load_json
from ._lms_json import api_error
from ._stream import drive, read_all

__all__ = [
    "ChatChoice",
    "ChatDelta",
    "ChatDone",
    "ChatError",
    "ChatReader",
    "ChatUsage",
    "LmsApiChatResult",
    "ToolCall",
    "parse",
    "stream",
]

COMMAND = "lms /v1/chat/completions"

_HTTP_STATUS_RE = re.compile(r"^HTTP/\d(?:\.\d)?\s+(?P<code>\d{3})\b")


class _Event:
    def to_dict(self) -> dict[str, JSONValue]:
        out = to_jsonable(self)
        assert isinstance(out, dict)
        return out


@dataclass(frozen=True, kw_only=True)
class ToolCall:
    """A tool call of the assistant (arguments concatenated across deltas)."""

    index: int
    id: str | None = None
    type: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, kw_only=True)
class ChatDelta(_Event):
    """New text of one choice: a chunk's delta, or a plain response's whole message."""

    index: int = 0
    role: str | None = None
    content: str | None = None
    reasoning: str | None = None
    tool_calls: list[ToolCall] | None = None
    finish_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class ChatUsage(_Event):
    """Token counts (plain response, or the last chunk with ``include_usage``)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


@dataclass(frozen=True, kw_only=True)
class ChatError(_Event):
    """An error object in place of (or in the middle of) the response."""

    message: str
    kind: str


@dataclass(frozen=True, kw_only=True)
class ChatDone(_Event):
    """``data: [DONE]``: the stream ended normally."""


ChatEvent = ChatDelta | ChatUsage | ChatError | ChatDone


@dataclass(frozen=True, kw_only=True)
class ChatChoice:
    """One choice, accumulated."""

    index: int
    role: str | None = None
    content_text: str = ""
    reasoning_text: str = ""
    finish_reason: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class LmsApiChatResult(Result):
    """A chat completion (see the module docstring for every field)."""

    outcome: str
    streamed: bool = False
    complete: bool = False
    id: str | None = None
    model: str | None = None
    created: int | None = None
    system_fingerprint: str | None = None
    object: str | None = None
    role: str | None = None
    content: str | None = None
    content_text: str = ""
    reasoning_text: str = ""
    finish_reason: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    chunks: int = 0
    choices: list[ChatChoice] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    stats: dict[str, Any] | None = None
    http_status: int | None = None


class _Choice:
    def __init__(self, index: int) -> None:
        self.index = index
        self.role: str | None = None
        self.content: list[str] = []
        self.has_content = False
        self.reasoning: list[str] = []
        self.finish_reason: str | None = None
        self.tools: dict[int, dict[str, Any]] = {}

    def tool_calls(self) -> list[ToolCall]:
        return [
            ToolCall(
                index=i,
                id=t.get("id"),
                type=t.get("type"),
                name=t.get("name"),
                arguments="".join(t["arguments"]),
            )
            for i, t in sorted(self.tools.items())
        ]

    def freeze(self) -> ChatChoice:
        return ChatChoice(
            index=self.index,
            role=self.role,
            content_text="".join(self.content),
            reasoning_text="".join(self.reasoning),
            finish_reason=self.finish_reason,
            tool_calls=self.tool_calls(),
        )


class ChatReader:
    """Incremental reader of a chat-completion body: :meth:`feed` chunks, :meth:`close`,
    then :meth:`result`."""

    def __init__(self, http_status: int | None = None) -> None:
        self._final: LmsApiChatResult | None = None
        self.http_status = http_status
        self._pending = ""
        self._line = 0
        self._started = False
        self._headers = False
        self._data: list[str] = []
        self._data_len = 0
        self._data_scan: Brackets | None = None
        self._data_line = 0
        self._bare: list[str] = []
        self._bare_len = 0
        self._bare_scan: Brackets | None = None
        self._bare_line = 0
        self._event_name: str | None = None
        self.meta: dict[str, Any] = {}
        self.choices: dict[int, _Choice] = {}
        self.usage: dict[str, int | None] = {}
        self.stats: dict[str, Any] | None = None
        self.chunks = 0
        self.plain = False
        self.done = False
        self.error: str | None = None
        self.kind: str | None = None

    # -- text to lines -------------------------------------------------------------------
    def feed(self, chunk: str) -> Iterator[ChatEvent]:
        text = self._pending + chunk
        lines = text.split("\n")
        self._pending = lines.pop()
        if len(self._pending) > MAX_VALUE:
            raise ParseError(COMMAND, f"a line longer than {MAX_VALUE} characters", self._line + 1)
        for line in lines:
            yield from self._feed_line(line)

    def close(self) -> Iterator[ChatEvent]:
        """Read what is left (the last, unterminated frame); then :meth:`result` is ready."""
        events, self._final = self._finish()
        return iter(events)

    def result(self) -> LmsApiChatResult:
        """The whole result; call after :meth:`close`."""
        if self._final is None:
            raise RuntimeError("ChatReader.result() before close()")
        return self._final

    def _finish(self) -> tuple[list[ChatEvent], LmsApiChatResult]:
        events: list[ChatEvent] = []
        if self._pending:
            pending, self._pending = self._pending, ""
            events.extend(self._feed_line(pending))
        if self._data:
            events.extend(self._dispatch_data(final=True))
        if self._bare:
            assert self._bare_scan is not None
            raise ParseError(
                COMMAND, "JSON body ends before its value is complete", self._bare_line
            )
        if not self._started:
            raise ParseError(COMMAND, "empty body: a chat completion is JSON or SSE")
        if not (self.plain or self.chunks or self.error is not None or self.done):
            raise ParseError(COMMAND, "no chat completion in this body")
        return events, self._result()

    def _feed_line(self, raw: str) -> Iterator[ChatEvent]:
        self._line += 1
        line = raw[:-1] if raw.endswith("\r") else raw
        if self._bare_scan is not None:
            yield from self._bare_add(line)
            return
        s = line.strip().lstrip("\ufeff")
        if self._headers:
            if not s:
                self._headers = False
            elif m := _HTTP_STATUS_RE.match(s):
                self.http_status = int(m.group("code"))
            return
        if not s:
            if self._data:
                yield from self._dispatch_data(final=True)
            self._event_name = None
            return
        if not self._started and (m := _HTTP_STATUS_RE.match(s)):
            self._started = True
            self._headers = True
            self.http_status = int(m.group("code"))
            return
        self._started = True
        field_name, sep, value = s.partition(":")
        if sep and field_name == "data":
            payload = value[1:] if value.startswith(" ") else value
            if payload.strip() == "[DONE]" and not self._data:
                self.done = True
                yield ChatDone()
                return
            yield from self._data_add(payload)
            return
        if self._data:
            raise ParseError(COMMAND, "SSE event cut by a line that is not data:", self._line, s)
        if s.startswith(":") or (sep and field_name in ("event", "id", "retry")):
            if field_name == "event":
                self._event_name = value.strip()
            return
        if s[0] in "{[":
            self._bare_scan = Brackets(COMMAND, self._line)
            self._bare_line = self._line
            yield from self._bare_add(line)
            return
        if s == "[DONE]":
            self.done = True
            yield ChatDone()
            return
        raise ParseError(COMMAND, "not JSON or SSE", self._line, s[:200])

    def _data_add(self, payload: str) -> Iterator[ChatEvent]:
        if self._data_scan is None:
            self._data_scan = Brackets(COMMAND, self._line)
            self._data_line = self._line
        else:
            self._data_scan.feed("\n")
        self._data.append(payload)
        self._data_len += len(payload) + 1
        if self._data_len > MAX_VALUE:
            raise ParseError(COMMAND, f"SSE event larger than {MAX_VALUE} characters", self._line)
        self._data_scan.feed(payload)
        if self._data_scan.complete:
            yield from self._dispatch_data(final=False)

    def _dispatch_data(self, final: bool) -> Iterator[ChatEvent]:
        text = "\n".join(self._data)
        line = self._data_line
        self._data, self._data_len, self._data_scan = [], 0, None
        if not text.strip():
            return
        obj = load_json(COMMAND, text, line)
        yield from self._value(obj, line)

    def _bare_add(self, line: str) -> Iterator[ChatEvent]:
        assert self._bare_scan is not None
        if self._bare:
            self._bare_scan.feed("\n")
        self._bare.append(line)
        self._bare_len += len(line) + 1
        if self._bare_len > MAX_VALUE:
            raise ParseError(COMMAND, f"JSON value larger than {MAX_VALUE} characters", self._line)
        self._bare_scan.feed(line)
        if self._bare_scan.complete:
            text = "\n".join(self._bare)
            first = self._bare_line
            self._bare, self._bare_len, self._bare_scan = [], 0, None
            yield from self._value(load_json(COMMAND, text, first), first)

    def read_object(self, obj: object) -> list[ChatEvent]:
        """Read a whole body already decoded as one JSON value (a plain response)."""
        self._started = True
        return list(self._value(obj, 1))

    # -- values --------------------------------------------------------------------------
    def _value(self, obj: object, line: int) -> Iterator[ChatEvent]:
        err = api_error(obj, self.http_status)
        if err is None and self._event_name == "error" and isinstance(obj, dict):
            err = api_error({"error": obj}, self.http_status)
        if err is not None:
            if self.error is None:
                self.error, self.kind = err.message, err.kind
            yield ChatError(message=err.message, kind=err.kind)
            return
        if not isinstance(obj, dict) or not isinstance(obj.get("choices", []), list):
            raise ParseError(COMMAND, "not a chat completion object", line)
        choices = obj.get("choices", [])
        is_chunk = obj.get("object") == "chat.completion.chunk" or any(
            isinstance(c, dict) and "delta" in c for c in choices
        )
        is_plain = obj.get("object") == "chat.completion" or any(
            isinstance(c, dict) and "message" in c for c in choices
        )
        if not (is_chunk or is_plain or ("usage" in obj and "choices" in obj)):
            raise ParseError(COMMAND, "not a chat completion object", line)
        for key, types in (
            ("id", str),
            ("model", str),
            ("created", int),
            ("system_fingerprint", str),
            ("object", str),
        ):
            value = json_field(obj, key, types, COMMAND, line)
            if value is not None:
                self.meta.setdefault(key, value)
        if is_chunk:
            self.chunks += 1
        else:
            self.plain = True
        for c in choices:
            yield self._choice(c, "delta" if is_chunk else "message", line)
        usage = obj.get("usage")
        if isinstance(usage, dict):
            for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
                self.usage[key] = json_field(usage, key, int, COMMAND, line)
            yield ChatUsage(**self.usage)
        elif usage is not None:
            raise ParseError(COMMAND, "usage is not an object", line)
        stats = obj.get("stats")
        if isinstance(stats, dict):
            self.stats = stats

    def _choice(self, c: object, key: str, line: int) -> ChatDelta:
        if not isinstance(c, dict):
            raise ParseError(COMMAND, "a choice is not an object", line)
        index = json_field(c, "index", int, COMMAND, line) or 0
        choice = self.choices.get(index)
        if choice is None:
            if len(self.choices) >= 128:
                raise ParseError(COMMAND, "more than 128 choices", line)
            choice = self.choices[index] = _Choice(index)
        body = c.get(key) or {}
        if not isinstance(body, dict):
            raise ParseError(COMMAND, f"choice {key} is not an object", line)
        role = json_field(body, "role", str, COMMAND, line)
        content = json_field(body, "content", str, COMMAND, line)
        reasoning = json_field(body, "reasoning_content", str, COMMAND, line)
        if reasoning is None:
            reasoning = json_field(body, "reasoning", str, COMMAND, line)
        finish = json_field(c, "finish_reason", str, COMMAND, line)
        if role is not None:
            choice.role = role
        if content is not None:
            choice.content.append(content)
            choice.has_content = True
        if reasoning is not None:
            choice.reasoning.append(reasoning)
        if finish is not None:
            choice.finish_reason = finish
        calls = self._tool_calls(choice, body.get("tool_calls"), line)
        return ChatDelta(
            index=index,
            role=role,
            content=content,
            reasoning=reasoning,
            tool_calls=calls,
            finish_reason=finish,
        )

    def _tool_calls(self, choice: _Choice, calls: object, line: int) -> list[ToolCall] | None:
        if calls is None:
            return None
        if not isinstance(calls, list):
            raise ParseError(COMMAND, "tool_calls is not a list", line)
        out = []
        for pos, call in enumerate(calls):
            if not isinstance(call, dict):
                raise ParseError(COMMAND, "a tool call is not an object", line)
            i = json_field(call, "index", int, COMMAND, line)
            i = pos if i is None else i
            fn = call.get("function") or {}
            if not isinstance(fn, dict):
                raise ParseError(COMMAND, "tool call function is not an object", line)
            args = fn.get("arguments")
            if args is not None and not isinstance(args, str):
                args = json.dumps(to_jsonable(args))
            slot = choice.tools.setdefault(i, {"arguments": []})
            for k in ("id", "type"):
                if (v := json_field(call, k, str, COMMAND, line)) is not None:
                    slot[k] = v
            name = json_field(fn, "name", str, COMMAND, line)
            if name is not None:
                slot["name"] = name
            if args:
                slot["arguments"].append(args)
            out.append(
                ToolCall(
                    index=i,
                    id=call.get("id"),
                    type=call.get("type"),
                    name=name,
                    arguments=args or "",
                )
            )
        return out

    # -- result --------------------------------------------------------------------------
    def _result(self) -> LmsApiChatResult:
        frozen = [c.freeze() for _, c in sorted(self.choices.items())]
        first = self.choices[min(self.choices)] if self.choices else None
        complete = self.plain or self.done
        outcome = "complete" if complete else "incomplete"
        if self.error is not None:
            outcome = "error"
        m = self.meta
        return LmsApiChatResult(
            outcome=outcome,
            streamed=self.chunks > 0,
            complete=complete,
            id=m.get("id"),
            model=m.get("model"),
            created=m.get("created"),
            system_fingerprint=m.get("system_fingerprint"),
            object=m.get("object"),
            role=first.role if first else None,
            content="".join(first.content) if first and first.has_content else None,
            content_text="".join(first.content) if first else "",
            reasoning_text="".join(first.reasoning) if first else "",
            finish_reason=first.finish_reason if first else None,
            tool_calls=first.tool_calls() if first else [],
            chunks=self.chunks,
            choices=frozen,
            prompt_tokens=self.usage.get("prompt_tokens"),
            completion_tokens=self.usage.get("completion_tokens"),
            total_tokens=self.usage.get("total_tokens"),
            stats=self.stats,
            http_status=self.http_status,
            error=self.error,
            kind=self.kind,
        )


def stream(chunks: Iterable[str]) -> Generator[ChatEvent, None, LmsApiChatResult]:
    """Typed events of a chat-completion body as each completes; returns the result."""
    return (yield from drive(ChatReader(), chunks))


def parse(transcript: Transcript) -> LmsApiChatResult:
    """A chat completion: plain response, SSE stream or error body (auto-detected)."""
    parser = ChatReader(transcript.http_status)
    body = transcript.text.strip()
    if body.startswith("{") and body.endswith("}"):
        # The common case, one plain JSON object: read it in one go. Anything else (SSE,
        # one chunk per line, curl -i headers) goes through the incremental reader.
        try:
            obj = load_json(COMMAND, body, 1)
        except ParseError:
            pass
        else:
            parser.read_object(obj)
            return read_all(parser, "")
    return read_all(parser, transcript.text)
