"""The MCP ``chat`` tool as an agent host uses it: images for a vision model, and tool calls
it runs itself and answers in the next call, through the SDK's client against the fake
runtimes (both backends). The fakes take an image only in their API's own form (Ollama: a
base64 ``images`` list; LM Studio: ``image_url`` content parts) and say how many they saw."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_helpers import http_server, http_transport
from test_mcp import text_of
from test_model_life import BACKENDS, CHAT, CHAT_PATH, FAKE, VISION, get_weather, tiny_png

from lmsdrive.mcp_server import create_server
from lmsdrive.testing.runtime import FakeRuntime
from lmsdrive.tools import tool_schema

MakeRuntime = Callable[..., FakeRuntime]
ASK = {"role": "user", "content": "What is the weather in Paris?"}
PNG = tiny_png()
PNG_B64 = base64.b64encode(PNG).decode("ascii")
WEATHER = tool_schema(get_weather)
#: What the fake models call it with (the schema's sample values).
ARGUMENTS = {"city": "fake", "unit": "celsius"}

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def serve(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch, backend: str, model: str
) -> FakeRuntime:
    """The fakes with ``model`` loaded on ``backend``, which the environment configures."""
    rt = fake_runtime(server_running=True, models_loaded={FAKE[backend]: [model]})
    monkeypatch.setenv("BACKEND", backend)
    monkeypatch.setenv("MODEL_NAME", model)
    monkeypatch.delenv("MODEL_SOURCE", raising=False)
    return rt


def chats(rt: FakeRuntime, backend: str) -> int:
    return sum(r["path"] == CHAT_PATH[backend] for r in rt.requests())


def look(*images: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "What is this?", "images": list(images)}]}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_images_reach_a_vision_model_in_its_apis_form(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch, backend: str, tmp_path: Path
) -> None:
    serve(fake_runtime, monkeypatch, backend, VISION[backend])
    path = tmp_path / "dot.png"
    path.write_bytes(PNG)
    data_url = f"data:image/png;base64,{PNG_B64}"
    async with Client(create_server(), raise_exceptions=True) as client:
        one = await client.call_tool("chat", look(PNG_B64))
        three = await client.call_tool("chat", look(PNG_B64, data_url, str(path)))
    assert not one.is_error, text_of(one)
    assert text_of(one).endswith("[saw 1 image]")
    assert one.structured_content is not None
    assert one.structured_content["model"] == VISION[backend]
    assert one.structured_content["tool_calls"] == []
    assert not three.is_error, text_of(three)
    assert text_of(three).endswith("[saw 3 images]")


@pytest.mark.parametrize("image_paths", [True, False])
@pytest.mark.parametrize("backend", BACKENDS)
async def test_an_image_that_is_not_base64_is_a_tool_error_saying_what_to_send(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch, backend: str, image_paths: bool
) -> None:
    rt = serve(fake_runtime, monkeypatch, backend, VISION[backend])
    async with Client(create_server(image_paths=image_paths), raise_exceptions=True) as client:
        result = await client.call_tool("chat", look(PNG_B64, "@@ no image @@"))
    assert result.is_error
    assert result.structured_content == {"kind": "invalid_message", "message": text_of(result)}
    said = text_of(result)
    assert said.startswith("message 1, image 2: '@@ no image @@' is not "), said
    assert "base64" in said.partition("is not ")[2], said
    assert chats(rt, backend) == 0


async def test_over_http_an_image_path_is_not_read(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # over HTTP the host is elsewhere: the server reads none of its own files for it
    rt = serve(fake_runtime, monkeypatch, "ollama", VISION["ollama"])
    path = tmp_path / "dot.png"
    path.write_bytes(PNG)
    async with (
        http_server(tmp_path / "server.log") as url,
        Client(http_transport(url)) as client,
    ):
        by_path = await client.call_tool("chat", look(str(path)))
        by_data = await client.call_tool("chat", look(PNG_B64, f"data:image/png;base64,{PNG_B64}"))
    assert by_path.is_error
    assert by_path.structured_content is not None
    assert by_path.structured_content["kind"] == "invalid_message"
    assert "is not base64 text: give the image's base64 encoding" in text_of(by_path)
    assert not by_data.is_error, text_of(by_data)
    assert text_of(by_data).endswith("[saw 2 images]")
    assert chats(rt, "ollama") == 1


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_tool_call_round_trip_through_two_chat_calls(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    serve(fake_runtime, monkeypatch, backend, CHAT[backend])
    # the SDK's client checks each result against the published output schema; so does this
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (the MCP SDK's client)")
    async with Client(create_server(), raise_exceptions=True) as client:
        schema = {t.name: t for t in (await client.list_tools()).tools}["chat"].output_schema
        # a schema for the answer: a reply of tool calls is no answer yet, nothing to parse
        ask = {"messages": [ASK], "tools": [WEATHER], "json_schema": {"type": "object"}}
        first = await client.call_tool("chat", ask)
        assert not first.is_error, text_of(first)
        data = first.structured_content
        assert data is not None
        jsonschema.validate(data, schema)  # the output schema the SDK publishes
        assert json.loads(text_of(first)) == data  # a host reading only text sees the calls
        (call,) = data["tool_calls"]
        assert (call["name"], call["arguments"]) == ("get_weather", ARGUMENTS)
        assert call["invalid_arguments"] is None and data["json"] is None
        if backend == "lmstudio":  # OpenAI's shape: an id, finish_reason tool_calls
            assert call["id"] and data["finish_reason"] == "tool_calls"
        else:  # Ollama's documented shape has no id
            assert call["id"] is None
        result = get_weather(**call["arguments"])
        answer = {
            "role": "tool",
            "content": result,
            "tool_call_id": call["id"],
            "name": "get_weather",
        }
        conversation = [
            ASK,
            {"role": "assistant", "content": data["text"], "tool_calls": data["tool_calls"]},
            answer,
        ]
        second = await client.call_tool("chat", {"messages": conversation, "tools": [WEATHER]})
    assert not second.is_error, text_of(second)
    assert second.structured_content is not None
    jsonschema.validate(second.structured_content, schema)
    assert second.structured_content["tool_calls"] == []
    assert text_of(second).endswith("read the tool result: Sunny, 21 degrees celsius in fake")


async def test_an_mcp_tool_definition_is_offered_as_a_function(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(fake_runtime, monkeypatch, "ollama", CHAT["ollama"])
    fn = WEATHER["function"]
    mcp_tool = {
        "name": fn["name"],
        "description": fn["description"],
        "inputSchema": fn["parameters"],
    }
    async with Client(create_server(), raise_exceptions=True) as client:
        result = await client.call_tool("chat", {"messages": [ASK], "tools": [mcp_tool]})
    assert result.structured_content is not None, text_of(result)
    calls = result.structured_content["tool_calls"]
    assert [(c["name"], c["arguments"]) for c in calls] == [("get_weather", ARGUMENTS)]


@pytest.mark.parametrize(
    ("ask", "why"),
    [
        ({"messages": [ASK], "tools": [WEATHER]}, r"cannot call tools: .*Leave tools out"),
        (look(PNG_B64), r"cannot read images: .*pick a vision model"),
    ],
    ids=["tools", "images"],
)
@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_model_without_the_capability_is_a_tool_error_saying_what_to_do(
    fake_runtime: MakeRuntime,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    ask: dict[str, Any],
    why: str,
) -> None:
    # the vision models call no tools; the tool-calling models read no images
    model = VISION[backend] if "tools" in ask else CHAT[backend]
    rt = serve(fake_runtime, monkeypatch, backend, model)
    async with Client(create_server(), raise_exceptions=True) as client:
        result = await client.call_tool("chat", ask)
    assert result.is_error
    assert result.structured_content == {"kind": "capability", "message": text_of(result)}
    assert model in text_of(result)
    assert re.search(why, text_of(result)), text_of(result)
    assert chats(rt, backend) == 0


async def test_a_message_the_schema_does_not_know_is_refused(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = serve(fake_runtime, monkeypatch, "ollama", CHAT["ollama"])
    openai_call = {"id": "c1", "type": "function", "function": {"name": "get_weather"}}
    bad = [ASK, {"role": "assistant", "content": "", "tool_calls": [openai_call]}]
    async with Client(create_server(), raise_exceptions=True) as client:
        result = await client.call_tool("chat", {"messages": bad})
    assert result.is_error
    assert "tool_calls" in text_of(result)
    assert chats(rt, "ollama") == 0


async def test_a_tool_result_that_names_no_call_is_refused_on_lmstudio(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an OpenAI-compatible server needs the id of the call a tool result answers (a real one
    # refuses it with an HTTP 500 and no reason): said before any request
    rt = serve(fake_runtime, monkeypatch, "lmstudio", CHAT["lmstudio"])
    conversation = [ASK, {"role": "tool", "content": "Sunny"}]
    async with Client(create_server(), raise_exceptions=True) as client:
        result = await client.call_tool("chat", {"messages": conversation})
    assert result.is_error
    assert result.structured_content == {"kind": "invalid_message", "message": text_of(result)}
    assert text_of(result).startswith("message 2: a tool message answers a call: give the call")
    assert chats(rt, "lmstudio") == 0


async def test_the_chat_schemas_show_images_and_the_tool_round_trip(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(fake_runtime, monkeypatch, "ollama", CHAT["ollama"])
    async with Client(create_server(), raise_exceptions=True) as client:
        chat = {t.name: t for t in (await client.list_tools()).tools}["chat"]
    inputs = chat.input_schema
    assert {"messages", "tools", "json_schema", "model"} <= set(inputs["properties"])
    message = inputs["$defs"]["ChatMessage"]
    assert set(message["properties"]) == {
        "role",
        "content",
        "images",
        "tool_calls",
        "tool_call_id",
        "name",
    }
    assert message["properties"]["role"]["enum"] == ["system", "user", "assistant", "tool"]
    assert message["required"] == ["role"] and message["additionalProperties"] is False
    assert chat.output_schema is not None
    assert "tool_calls" in chat.output_schema["required"]
    call = chat.output_schema["$defs"]["ToolCallInfo"]
    assert set(call["required"]) == {"name", "arguments", "id", "invalid_arguments"}
