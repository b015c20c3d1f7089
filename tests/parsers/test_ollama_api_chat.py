"""Tests of lmsdrive.parsers.ollama_api_chat (``POST /api/chat``, one object or NDJSON)."""

from __future__ import annotations

import json

import pytest
from _support import fixture, lenient, parse, parse_as, refused, wrong_type
from _support_ollamastream import chunked

from lmsdrive.errors import ParseError
from lmsdrive.parsers import ollama_api_chat
from lmsdrive.parsers.ollama_api_chat import ChatReader, OllamaApiChatResult
from lmsdrive.transcript import Transcript

CMD = "ollama /api/chat"
THINKING = fixture("ollama/api-chat/synthetic-chat-stream-thinking").stdout


def read(text: str | Transcript) -> OllamaApiChatResult:
    return parse_as(OllamaApiChatResult, CMD, text)


def line(content: str = "", done: bool = False, **more: object) -> str:
    msg = {"role": "assistant", "content": content}
    return json.dumps({"model": "m", "message": msg, "done": done, **more})


def test_docs_structured_output_not_streamed() -> None:
    r = read(fixture("ollama/api-chat/docs-chat-structured-output"))
    assert json.loads(r.content) == {"age": 22, "available": False}
    assert (r.model, r.role, r.done, r.done_reason, r.chunks) == (
        "llama3.1",
        "assistant",
        True,
        "stop",
        1,
    )
    assert (r.prompt_eval_count, r.eval_count, r.eval_duration) == (34, 12, 175000000)
    assert (r.total_duration, r.load_duration) == (2254970291, 574751416)
    assert r.tokens_per_second == 68.57 and r.thinking is None and r.tool_calls == []
    assert r.created_at == "2024-12-06T00:46:58.265747Z" and r.http_status == 200


def test_thinking_stream_joined() -> None:
    r = read(THINKING)
    assert (r.thinking, r.content) == ("The user asks for France's capital.", "Paris.")
    assert (r.done, r.chunks, r.eval_count, r.tokens_per_second) == (True, 5, 6, 60.0)
    assert r.created_at == "2025-06-01T10:00:00.000Z"  # of the first object


@pytest.mark.parametrize("seed", range(8))
def test_any_chunking_reads_like_the_whole(seed: int) -> None:
    whole = read(THINKING).to_dict()
    events = list(ollama_api_chat.stream(chunked(THINKING, seed)))
    assert [(e.thinking, e.response) for e in events] == [
        ("The user", ""),
        (" asks for France's capital.", ""),
        (None, "Paris"),
        (None, "."),
        (None, ""),
    ]
    assert events[-1].done and events[-1].done_reason == "stop"
    reader = ChatReader()
    for piece in chunked(THINKING, seed):
        list(reader.feed(piece))
    list(reader.close())
    assert reader.result().to_dict() == whole


def test_one_character_at_a_time_and_crlf() -> None:
    whole = read(THINKING).to_dict()
    assert [e.response for e in ollama_api_chat.stream(THINKING)][2:4] == ["Paris", "."]
    assert len(list(ollama_api_chat.stream(iter(THINKING)))) == 5
    assert read(THINKING.replace("\n", "\r\n")).to_dict() == whole
    assert read("\n\n" + THINKING.replace("\n", "\n\n")).to_dict() == whole  # blank lines


def test_an_object_is_yielded_as_soon_as_its_line_ends() -> None:
    first, rest = THINKING.split("\n", 1)
    reader = ChatReader()
    assert list(reader.feed(first)) == []  # the line may go on
    (event,) = reader.feed("\n")
    assert event.thinking == "The user" and not event.done
    assert [e.response for e in reader.feed(rest)] == ["", "Paris", ".", ""]
    assert list(reader.close()) == []


def test_tool_calls_kept_in_order() -> None:
    call = {"function": {"name": "get_current_weather", "arguments": {"location": "Paris, FR"}}}
    call2 = {"function": {"name": "get_time", "arguments": {}}}
    text = "\n".join(
        [
            json.dumps(
                {
                    "model": "m",
                    "message": {"role": "assistant", "content": "", "tool_calls": [call]},
                    "done": False,
                }
            ),
            json.dumps(
                {
                    "model": "m",
                    "message": {"role": "assistant", "content": "", "tool_calls": [call2]},
                    "done": False,
                }
            ),
            line(done=True, done_reason="stop"),
        ]
    )
    r = read(text)
    assert r.tool_calls == [call, call2] and r.content == ""


def test_load_with_no_messages() -> None:
    """An empty ``messages`` loads the model: one done object, ``done_reason`` ``load``."""
    r = read(line(done=True, done_reason="load"))
    assert (r.content, r.done, r.done_reason, r.eval_count, r.tokens_per_second) == (
        "",
        True,
        "load",
        None,
        None,
    )


def test_error_bodies() -> None:
    r = read(fixture("ollama/api-chat/synthetic-chat-think-unsupported"))
    assert (r.error, r.http_status, r.done) == (
        '"llama3.2:3b" does not support thinking',
        400,
        False,
    )
    assert r.kind == "usage"
    r = read(Transcript.of('{"error":"model \'nope\' not found"}', http_status=404))
    assert (r.kind, r.content) == ("model_not_found", "")
    r = read(Transcript.of("404 page not found", http_status=404))
    assert (r.error, r.kind) == ("404 page not found", "usage")


def test_error_line_inside_a_stream() -> None:
    text = (
        line("Hel")
        + "\n"
        + line("lo")
        + "\n"
        + '{"error":"an error was encountered while running the model: unexpected EOF"}\n'
    )
    r = read(Transcript.of(text, http_status=200))
    assert (r.content, r.done) == ("Hello", False)
    assert r.error is not None and r.error.endswith("unexpected EOF")
    events = list(ollama_api_chat.stream([text]))
    assert events[-1].error == r.error and events[-1].response == ""


def test_stream_cut_between_objects_is_not_done() -> None:
    r = read(line("Hel") + "\n" + line("lo") + "\n")
    assert (r.content, r.done, r.done_reason, r.chunks) == ("Hello", False, None, 2)


def test_refused() -> None:
    refused(
        CMD,
        "",
        "  \n",
        "hello",
        line("Hel") + "\n" + line("lo")[:20],  # cut inside an object
        '{"model": "m", "response": "hi"}',  # an /api/generate object, no message
        "[1, 2]",
    )


def test_a_line_not_understood_in_a_stream() -> None:
    text = line("Hi") + '\n{"model": "m"}\n' + line(done=True, done_reason="stop")
    with pytest.raises(ParseError) as err:
        parse(CMD, text)
    assert err.value.line_number == 2
    r = lenient(CMD, text)
    assert isinstance(r, OllamaApiChatResult)
    assert [(s.line, s.text) for s in r.skipped] == [(2, "{'model': 'm'}")]
    assert (r.content, r.done, r.chunks) == ("Hi", True, 3)


@pytest.mark.parametrize(
    ("shown", "field", "read_as"),
    [
        ('"eval_count": "12"', "eval_count", None),
        ('"eval_duration": 1.5', "eval_duration", None),
        ('"done_reason": 5', "done_reason", None),
        ('"model": ["m"]', "model", None),
        ('"created_at": 1733446018', "created_at", None),
        ('"message": "Paris"', "content", ""),
    ],
)
def test_field_of_the_wrong_type(shown: str, field: str, read_as: object) -> None:
    d = wrong_type(CMD, '{"done": true, FIELD}', shown).to_dict()
    assert d[field] == read_as and d["done"] is True


def test_a_counter_of_the_wrong_type_gives_no_rate() -> None:
    """A lenient read once crashed (TypeError) computing tokens_per_second from a string."""
    template = '{"message": {"content": "x"}, "done": true, "eval_duration": 175000000, FIELD}'
    d = wrong_type(CMD, template, '"eval_count": "12"').to_dict()
    assert (d["eval_count"], d["tokens_per_second"], d["content"]) == (None, None, "x")


def test_message_fields_of_the_wrong_type() -> None:
    d = wrong_type(CMD, '{"message": {FIELD, "content": "x"}, "done": true}', '"role": 1').to_dict()
    assert (d["role"], d["content"]) == (None, "x")
    d = wrong_type(CMD, '{"message": {FIELD}, "done": true}', '"content": ["x"]').to_dict()
    assert d["content"] == ""
    d = wrong_type(
        CMD, '{"message": {"content": "x", FIELD}, "done": true}', '"tool_calls": ["f"]'
    ).to_dict()
    assert (d["tool_calls"], d["content"]) == ([], "x")
