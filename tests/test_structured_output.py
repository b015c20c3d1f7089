"""Structured output as a user meets it (issue 20 item 6): what an answer that is not the
JSON asked for says, and ``chat --json-schema … --json`` giving the parsed answer."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from lmsdrive import ChatReply, StructuredOutputError
from lmsdrive.cli import main
from lmsdrive.http import LMStudioAPI, OllamaAPI
from lmsdrive.testing.runtime import FakeRuntime

Factory = Callable[..., FakeRuntime]
SCHEMA = {
    "type": "object",
    "properties": {"age": {"type": "integer"}, "available": {"type": "boolean"}},
    "required": ["age", "available"],
}
PROSE = "Sure! Ollama is 22 years old."


def test_a_schema_was_asked_for_so_the_hint_is_not_to_ask_for_one() -> None:
    with pytest.raises(StructuredOutputError) as e:
        ChatReply(text=PROSE, model="m", finish_reason="stop", format=SCHEMA).json()
    message = str(e.value)
    assert "format=" not in message
    assert "not valid JSON" in message and "the schema was asked for" in message
    assert "the server did not hold the answer to it" in message and PROSE in message
    with pytest.raises(StructuredOutputError, match="JSON was asked for, the server did not"):
        ChatReply(text=PROSE, model="m", format="json").json()
    with pytest.raises(StructuredOutputError, match=r"does not match the schema.*did not hold"):
        ChatReply(text='{"age": "old"}', model="m", format=SCHEMA).json()
    # no format given: asking for one is the right advice
    with pytest.raises(StructuredOutputError, match=r"ask for it with format="):
        ChatReply(text=PROSE, model="m").json()


def _prose_server(request: httpx.Request) -> httpx.Response:
    """A server that ignores the schema it is sent and answers in prose."""
    if request.url.path == "/api/chat":
        body = {"model": "m", "message": {"role": "assistant", "content": PROSE}, "done": True}
        return httpx.Response(200, json={**body, "done_reason": "stop"})
    choice = {"index": 0, "finish_reason": "stop", "message": {"content": PROSE}}
    return httpx.Response(200, json={"object": "chat.completion", "choices": [choice]})


@pytest.mark.parametrize("api_class", [OllamaAPI, LMStudioAPI])
def test_a_server_that_ignores_the_schema_gets_the_right_hint(api_class: Any) -> None:
    with api_class("http://x", transport=httpx.MockTransport(_prose_server)) as api:
        reply = api.chat("m", [{"role": "user", "content": "How old?"}], format=SCHEMA)
    with pytest.raises(StructuredOutputError, match="the schema was asked for") as e:
        reply.json()
    assert "ask for it with format=" not in str(e.value)


@pytest.mark.parametrize(
    ("backend", "fake", "model"),
    [("ollama", "ollama", "llama3.2:3b"), ("lmstudio", "lms", "qwen/qwen3-4b")],
)
def test_cli_chat_json_schema_json_gives_the_parsed_answer(
    fake_runtime: Factory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    backend: str,
    fake: str,
    model: str,
) -> None:
    fake_runtime(server_running=True, models_loaded={fake: [model]})
    schema = tmp_path / "person.json"
    schema.write_text(json.dumps(SCHEMA))
    argv = ["--backend", backend, "--model", model, "chat", "--json"]
    monkeypatch.setattr("sys.stdin", io.StringIO("Ollama is 22 and available. JSON please."))
    assert main([*argv, "--json-schema", str(schema)]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["json"] == {"age": 22, "available": True}
    assert json.loads(reply["text"]) == reply["json"]
    monkeypatch.setattr("sys.stdin", io.StringIO("Hello"))
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["json"] is None  # no schema: nothing parsed
