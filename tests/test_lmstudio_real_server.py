"""The LM Studio HTTP client against a REAL server: llama.cpp's OpenAI-compatible server
(``llama-cpp-python[server]``, the API LM Studio also serves on ``/v1``), serving a tiny
model written by the test (:mod:`lmsdrive.testing.tiny_model`) whose weights force every
token to be ``" hello"``, so the generated text is exact and snapshot-able.

Chat, a system prompt, ``json_schema`` output (llama-cpp-python takes it as ``json_object`` +
``schema``, enforced by a grammar) and embeddings (the tiny model written with mean pooling,
the server started with ``--embedding True``) run here too.

Skipped, with the reason, where the server is not built (``make llama-server``); ``.ci/run``
builds it, so CI runs these. No installable server speaks Ollama's native API: the Ollama
HTTP client is tested against ``httpx.MockTransport`` and the fake runtime instead.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from syrupy.assertion import SnapshotAssertion

from lmsdrive.errors import APIError, CommandTimeoutError, ServerNotRunningError
from lmsdrive.http import LMStudioAPI
from lmsdrive.testing.llama_server import NOT_BUILT, LlamaServer, find_llama_python
from lmsdrive.testing.tiny_model import write_tiny_llama

pytestmark = pytest.mark.llama_server

MODEL = "tiny-llama"
HI = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    python = find_llama_python()
    if python is None:
        pytest.skip(NOT_BUILT)
    model = write_tiny_llama(tmp_path_factory.mktemp("tiny") / "tiny-llama.gguf")
    with LlamaServer(model, python=python, alias=MODEL, n_ctx=256) as server:
        yield server


@pytest.fixture
def api(llama_server: LlamaServer) -> Iterator[LMStudioAPI]:
    with LMStudioAPI(llama_server.base_url, connect_timeout=2.0, read_timeout=30.0) as client:
        yield client


def test_server_starts_quickly(llama_server: LlamaServer) -> None:
    assert llama_server.startup_s is not None
    assert llama_server.startup_s < 30


def test_is_running_falls_back_to_v1_models(api: LMStudioAPI) -> None:
    # llama.cpp has no /lmstudio-greeting (404): the probe falls back to /v1/models.
    assert api.is_running() is True


def test_models(api: LMStudioAPI) -> None:
    assert api.model_ids() == [MODEL]


def test_chat_plain_exact(api: LMStudioAPI, snapshot_json: SnapshotAssertion) -> None:
    gen = api.chat(MODEL, HI, temperature=0.1, max_tokens=5)
    assert gen.text == " hello" * 5
    assert gen.finish_reason == "length"
    assert gen.completion_tokens == 5
    assert gen.model == MODEL
    assert gen.prompt_tokens is not None and gen.prompt_tokens > 0
    assert snapshot_json == {
        "text": gen.text,
        "model": gen.model,
        "finish_reason": gen.finish_reason,
        "prompt_tokens": gen.prompt_tokens,
        "completion_tokens": gen.completion_tokens,
    }


def test_generate_is_one_user_message(api: LMStudioAPI) -> None:
    gen = api.generate(MODEL, "Say hello.", max_tokens=3)
    assert gen.text == " hello hello hello"


def test_chat_stream_exact(api: LMStudioAPI, snapshot_json: SnapshotAssertion) -> None:
    with api.chat_stream(MODEL, HI, temperature=0.1, max_tokens=4) as stream:
        chunks = list(stream)
    assert chunks == [" hello"] * 4
    assert stream.result is not None
    assert stream.result.text == " hello" * 4
    assert stream.result.finish_reason == "length"
    assert snapshot_json == {
        "chunks": chunks,
        "text": stream.result.text,
        "model": stream.result.model,
        "finish_reason": stream.result.finish_reason,
    }


def test_chat_stream_closed_early(api: LMStudioAPI) -> None:
    stream = api.chat_stream(MODEL, HI, max_tokens=50)
    assert next(stream) == " hello"
    stream.close()
    assert stream.result is None
    # the pooled client still works after an abandoned stream
    assert api.generate(MODEL, "again", max_tokens=1).text == " hello"


def test_bad_request_is_typed_error(api: LMStudioAPI) -> None:
    # llama.cpp rejects a negative n (OpenAI-style error object, HTTP 4xx/5xx)
    with pytest.raises(APIError) as info:
        api.chat(MODEL, [{"role": "nobody", "content": 3}], max_tokens=2)
    assert info.value.status_code is not None and info.value.status_code >= 400
    assert api.base_url in str(info.value)


def test_unknown_route_is_typed_error(api: LMStudioAPI) -> None:
    with pytest.raises(APIError) as info:
        api.models_v0()  # llama.cpp has no /api/v0
    assert info.value.status_code == 404
    assert "/api/v0/models" in str(info.value)


def test_read_timeout_against_real_server(llama_server: LlamaServer) -> None:
    """The real server, paused (SIGSTOP): the kernel still accepts the connection, no answer
    comes, and the read timeout ends the wait with the typed error (the tiny model answers
    in about a millisecond, so a short timeout alone would race it)."""
    assert llama_server.pid is not None
    os.kill(llama_server.pid, signal.SIGSTOP)
    try:
        with (
            LMStudioAPI(llama_server.base_url, read_timeout=0.3) as api,
            pytest.raises(CommandTimeoutError, match=r"did not answer"),
        ):
            api.chat(MODEL, HI, max_tokens=100)
    finally:
        os.kill(llama_server.pid, signal.SIGCONT)
    with LMStudioAPI(llama_server.base_url) as api:
        assert api.chat(MODEL, HI, max_tokens=2).text  # and it answers again


def test_stopped_server_is_not_running(tmp_path: Path) -> None:
    python = find_llama_python()
    if python is None:
        pytest.skip(NOT_BUILT)
    server = LlamaServer(write_tiny_llama(tmp_path / "m.gguf"), python=python).start()
    url = server.base_url
    with LMStudioAPI(url) as api:
        assert api.is_running()
        server.stop()
        assert not api.is_running()
        with pytest.raises(ServerNotRunningError, match=url.replace(".", r"\.")):
            api.models()
    with httpx.Client() as raw, pytest.raises(httpx.ConnectError):
        raw.get(url + "/v1/models")


def test_driver_generate_against_real_server(
    llama_server: LlamaServer, snapshot_json: SnapshotAssertion
) -> None:
    from lmsdrive.config import Config
    from lmsdrive.driver import Driver

    config = Config(backend="lmstudio", model_name=MODEL, url=llama_server.base_url)
    with Driver(config) as driver:
        assert driver.backend.is_running()
        gen = driver.generate("Say hello.", temperature=0.1, max_tokens=3)
    assert gen.text == " hello hello hello"
    assert snapshot_json == {"text": gen.text, "finish_reason": gen.finish_reason}


# -- chat, structured output, embeddings (issue 11) ----------------------------------------

SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}


def test_system_prompt_reaches_the_model(api: LMStudioAPI) -> None:
    # The tiny model says " hello" whatever it is told, so the proof is the prompt the server
    # tokenised: the system message is rendered into it by the chat template.
    plain = api.chat(MODEL, HI, max_tokens=1)
    system = api.chat(
        MODEL, [{"role": "system", "content": "Be brief and kind."}, *HI], max_tokens=1
    )
    assert plain.prompt_tokens is not None and system.prompt_tokens is not None
    assert system.prompt_tokens - plain.prompt_tokens >= len("Be brief and kind.") // 2


def test_json_schema_output_parses(api: LMStudioAPI) -> None:
    # llama-cpp-python refuses response_format json_schema; the client falls back to
    # json_object + schema, which it enforces with a grammar: the output must fit.
    reply = api.chat(MODEL, HI, max_tokens=30, format=SCHEMA)
    assert api.schema_style == "json_object"
    value = reply.json()
    assert isinstance(value, dict) and isinstance(value["ok"], bool)
    assert reply.finish_reason == "stop"


def test_json_schema_output_streamed(api: LMStudioAPI) -> None:
    with api.chat_stream(MODEL, HI, max_tokens=30, format=SCHEMA) as stream:
        pieces = list(stream)
    assert stream.result is not None
    assert "".join(pieces) == stream.result.text
    assert set(stream.result.json()) == {"ok"}


def test_driver_chat_and_stream_against_real_server(llama_server: LlamaServer) -> None:
    from lmsdrive.config import Config
    from lmsdrive.driver import Driver

    config = Config(backend="lmstudio", model_name=MODEL, url=llama_server.base_url)
    messages = [{"role": "system", "content": "You greet."}, *HI]
    with Driver(config) as driver:
        reply = driver.chat(messages, max_tokens=3)
        # llama.cpp has no /api/v0/models: capabilities unknown, nothing refused up front
        assert driver.backend.capabilities(MODEL) is None
        with driver.chat_stream(messages, max_tokens=3) as stream:
            pieces = list(stream)
        structured = driver.chat(messages, max_tokens=30, format=SCHEMA)
    assert reply.text == " hello hello hello"
    assert reply.thinking is None
    assert pieces == [" hello"] * 3
    assert stream.result is not None and stream.result.finish_reason == "length"
    assert isinstance(structured.json()["ok"], bool)


# -- tool calls (issue 17): the OpenAI shape LM Studio also serves --------------------------


def set_ok(ok: bool) -> str:
    """Say whether all is well.

    Args:
        ok: whether all is well
    """
    return "noted: all is well" if ok else "noted: something is wrong"


FORCE_SET_OK = {"tool_choice": {"type": "function", "function": {"name": "set_ok"}}}


def test_tool_calls_against_real_server(llama_server: LlamaServer) -> None:
    # llama.cpp forces the named tool's arguments with a grammar (tool_choice, passed through
    # options): the call comes back typed, its arguments parsed from the JSON text.
    from lmsdrive import ToolCall
    from lmsdrive.config import Config
    from lmsdrive.driver import Driver

    config = Config(backend="lmstudio", model_name=MODEL, url=llama_server.base_url)
    with Driver(config) as driver:
        reply = driver.chat(HI, tools=[set_ok], options=FORCE_SET_OK, max_tokens=30)
        with driver.chat_stream(HI, tools=[set_ok], options=FORCE_SET_OK, max_tokens=30) as s:
            items = list(s.with_tool_calls())
    (call,) = reply.tool_calls
    assert reply.finish_reason == "tool_calls"
    assert call.name == "set_ok" and set(call.arguments) == {"ok"}
    assert isinstance(call.arguments["ok"], bool) and call.id
    streamed = [i for i in items if isinstance(i, ToolCall)]
    assert [c.name for c in streamed] == ["set_ok"]
    assert isinstance(streamed[0].arguments["ok"], bool)
    assert s.result is not None and s.result.tool_calls == streamed


def test_tool_results_go_back_in_the_openai_shape(llama_server: LlamaServer) -> None:
    # The whole loop against the real server: the call, its result sent back as a tool
    # message with the call's id, and the model's next answer (forced to call again here,
    # so the loop stops at its bound with the conversation kept).
    from lmsdrive.config import Config
    from lmsdrive.driver import Driver
    from lmsdrive.tools import ToolLoopError

    config = Config(backend="lmstudio", model_name=MODEL, url=llama_server.base_url)
    with Driver(config) as driver, pytest.raises(ToolLoopError) as e:
        driver.run_tools(HI, [set_ok], max_rounds=2, options=FORCE_SET_OK, max_tokens=30)
    roles = [m["role"] for m in e.value.messages]
    assert roles == ["user", "assistant", "tool", "assistant", "tool"]
    assert e.value.messages[2]["content"].startswith("noted: ")


def test_an_mcp_hosts_tool_round_trip_is_taken_by_the_real_server(
    llama_server: LlamaServer,
) -> None:
    # The second chat call of an MCP host's round trip: the assistant message with the
    # tool_calls as the chat tool returned them, the tool message answering by id. The real
    # server validates the OpenAI shape (arguments as JSON text, tool_call_id) and answers.
    import anyio
    from mcp import Client

    from lmsdrive.config import Config
    from lmsdrive.mcp_server import create_server
    from lmsdrive.tools import tool_schema

    call = {"name": "set_ok", "arguments": {"ok": True}, "id": "call_7", "invalid_arguments": None}
    answer = {"role": "tool", "content": "noted: all is well", "tool_call_id": "call_7"}
    conversation = [
        *HI,
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {**answer, "name": "set_ok"},
    ]
    ask = {"messages": conversation, "tools": [tool_schema(set_ok)], "max_tokens": 3}
    config = Config(backend="lmstudio", model_name=MODEL, url=llama_server.base_url)

    async def second_call() -> tuple[bool, Any]:
        async with Client(create_server(config), raise_exceptions=True) as client:
            result = await client.call_tool("chat", ask)
        return bool(result.is_error), result.structured_content

    is_error, data = anyio.run(second_call)
    assert not is_error, data
    assert (data["text"], data["tool_calls"]) == (" hello" * 3, [])


@pytest.fixture(scope="module")
def embedding_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    python = find_llama_python()
    if python is None:
        pytest.skip(NOT_BUILT)
    path = tmp_path_factory.mktemp("tiny-embed") / "tiny-llama-mean.gguf"
    model = write_tiny_llama(path, pooling="mean")
    with LlamaServer(model, python=python, alias=MODEL, n_ctx=256, embedding=True) as server:
        yield server


def test_embeddings_against_real_server(embedding_server: LlamaServer) -> None:
    # The tiny model can embed once it names a pooling type (mean): one 64-dim vector per
    # input (N_EMBD), deterministic, different for different texts.
    from lmsdrive.config import Config
    from lmsdrive.driver import Driver

    config = Config(backend="lmstudio", model_name=MODEL, url=embedding_server.base_url)
    with Driver(config) as driver:
        vectors = driver.embed(["hello", "world", "hello"])
        again = driver.embed("hello")
    assert [len(v) for v in vectors] == [64, 64, 64]
    # the same text, the same vector (up to float noise between batch sizes)
    assert max(abs(a - b) for a, b in zip(vectors[0], vectors[2], strict=True)) < 1e-4
    assert max(abs(a - b) for a, b in zip(vectors[0], again[0], strict=True)) < 1e-4
    assert max(abs(a - b) for a, b in zip(vectors[0], vectors[1], strict=True)) > 1e-3


# -- the health check (issue 14) -----------------------------------------------------------


def test_check_against_real_server(llama_server: LlamaServer) -> None:
    """A server without LM Studio's REST API serves what its ``/v1/models`` lists: the
    check passes for that model, answers one token, and fails for another."""
    import subprocess
    import sys

    from lmsdrive.cli import EXIT_MODEL_NOT_FOUND, EXIT_OK
    from lmsdrive.config import Config
    from lmsdrive.driver import Driver

    config = Config(backend="lmstudio", model_name=MODEL, url=llama_server.base_url)
    with Driver(config) as driver:
        result = driver.check(answer=True, timeout=30)
        assert result.ok, result.message
        assert result.models[0].loaded and result.models[0].answered
        assert driver.check(["other-model"]).problem == "model_missing"
    base = [sys.executable, "-m", "lmsdrive", "--backend", "lmstudio"]
    base += ["--url", llama_server.base_url, "check"]
    env = {k: v for k, v in os.environ.items() if k not in ("MODEL_NAME", "BACKEND")}
    ok = subprocess.run([*base, "--model", MODEL, "--answer", "--timeout", "30"], env=env)
    assert ok.returncode == EXIT_OK
    missing = subprocess.run([*base, "--model", "other-model"], env=env, capture_output=True)
    assert missing.returncode == EXIT_MODEL_NOT_FOUND
