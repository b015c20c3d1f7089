"""Tests of lmsdrive.parsers.lms_api_chat."""

from __future__ import annotations

import pytest
from _support_lmsstream import _chunk, _drain

from lmsdrive.errors import ParseError
from lmsdrive.parsers import (
    lms_api_chat,
)
from lmsdrive.transcript import Transcript


def test_sse_events_lazily_and_split_anywhere() -> None:
    text = (
        ": keep-alive\n\n"
        + _chunk({"role": "assistant", "reasoning": "hm"})
        + _chunk({"content": "Hé"})
        + _chunk({"content": "llo"}, "stop")
        + "data: [DONE]\n\n"
    )
    parser = lms_api_chat.ChatReader()
    second = _chunk({"content": "Hé"})
    cut = text.index(second) + len(second) - 1  # up to the newline ending its data line
    first = list(parser.feed(text[:cut]))
    assert [type(e).__name__ for e in first] == ["ChatDelta", "ChatDelta"]
    whole = lms_api_chat.parse(Transcript.of(text)).to_dict()
    for size in (1, 3, 17):
        events, result = _drain(
            lms_api_chat.stream([text[i : i + size] for i in range(0, len(text), size)])
        )
        assert result.to_dict() == whole
        assert isinstance(events[-1], lms_api_chat.ChatDone)
    assert (whole["content_text"], whole["reasoning_text"], whole["finish_reason"]) == (
        "Héllo",
        "hm",
        "stop",
    )
    assert whole["outcome"] == "complete" and whole["chunks"] == 3


def test_sse_truncated_and_midstream_error() -> None:
    r = lms_api_chat.parse(Transcript.of(_chunk({"content": "a"})))
    assert (r.outcome, r.complete, r.content_text) == ("incomplete", False, "a")
    text = _chunk({"content": "a"}) + 'event: error\ndata: {"message": "oops"}\n\n'
    r = lms_api_chat.parse(Transcript.of(text))
    assert (r.outcome, r.error) == ("error", "oops")
    with pytest.raises(ParseError):
        lms_api_chat.parse(Transcript.of('data: {"id": "c1", "choices": [\n\n'))
    with pytest.raises(ParseError):
        lms_api_chat.parse(Transcript.of('{\n  "id": "c1",\n  "choices": ['))


def test_sse_tool_call_arguments_concatenate() -> None:
    call1 = {
        "tool_calls": [
            {
                "index": 0,
                "id": "t1",
                "type": "function",
                "function": {"name": "f", "arguments": '{"a"'},
            }
        ]
    }
    call2 = {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}
    r = lms_api_chat.parse(
        Transcript.of(_chunk(call1) + _chunk(call2, "tool_calls") + "data: [DONE]\n")
    )
    assert [(t.id, t.name, t.arguments) for t in r.tool_calls] == [("t1", "f", '{"a": 1}')]
    assert r.content is None and r.finish_reason == "tool_calls"


def test_chat_rejects_other_json() -> None:
    with pytest.raises(ParseError):
        lms_api_chat.parse(Transcript.of('{"data": [], "object": "list"}'))


def test_model_crash_body_is_a_crash() -> None:
    from lmsdrive.parsers import parse

    body = '{"error":"The model has crashed without additional information. (Exit code: 11)"}'
    result = parse("lms /v1/chat/completions", Transcript.of(body, http_status=400)).to_dict()
    assert result["kind"] == "crash"
