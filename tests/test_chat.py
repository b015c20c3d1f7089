"""Chat, structured output, reasoning, embeddings and the capability check, through the
Driver, on both backends, against the FAKE runtimes of lmsdrive.testing (the LM Studio side
also runs against a real llama.cpp server: tests/test_lmstudio_real_server.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from lmsdrive import (
    CapabilityError,
    ChatReply,
    Config,
    Driver,
    InvalidMessageError,
    ModelNotFoundError,
    StructuredOutputError,
)
from lmsdrive.backends.lmstudio import LMStudioBackend
from lmsdrive.backends.ollama import OllamaBackend
from lmsdrive.http import LMStudioAPI, OllamaAPI
from lmsdrive.testing.runtime import FakeRuntime

Factory = Callable[..., FakeRuntime]

CHAT = {"ollama": "llama3.2:3b", "lmstudio": "qwen/qwen3-4b"}
EMBED = {"ollama": "nomic-embed-text", "lmstudio": "text-embedding-nomic-embed-text-v1.5"}
THINKER = {"ollama": "qwen3:0.6b", "lmstudio": "openai/gpt-oss-20b"}
FAKE = {"ollama": "ollama", "lmstudio": "lms"}
BACKENDS = ["ollama", "lmstudio"]
SCHEMA = {
    "type": "object",
    "properties": {"age": {"type": "integer"}, "available": {"type": "boolean"}},
    "required": ["age", "available"],
}
CONVERSATION = [
    {"role": "system", "content": "Answer in one word."},
    {"role": "user", "content": "What colour is the sky?"},
    {"role": "assistant", "content": "Blue."},
    {"role": "user", "content": "And grass?"},
]


def loaded(fake_runtime: Factory, backend: str, *models: str) -> FakeRuntime:
    return fake_runtime(server_running=True, models_loaded={FAKE[backend]: list(models)})


def driver(backend: str, model: str | None = None) -> Driver:
    return Driver(Config.from_env(backend=backend, model_name=model or CHAT[backend]))


def paths(rt: FakeRuntime, path: str) -> int:
    return sum(r["path"] == path for r in rt.requests())


@pytest.mark.parametrize("backend", BACKENDS)
def test_chat_conversation_with_system_prompt(fake_runtime: Factory, backend: str) -> None:
    loaded(fake_runtime, backend, CHAT[backend])
    with driver(backend) as d:
        reply = d.chat(CONVERSATION, temperature=0.0, max_tokens=50)
    assert isinstance(reply, ChatReply)
    # the fake answers the last user message and quotes the system prompt it received
    assert reply.text.endswith("reply to: And grass? [system: Answer in one word.]")
    assert reply.finish_reason == "stop"
    assert reply.completion_tokens == len(reply.text.split())
    assert reply.prompt_tokens == 2
    assert reply.thinking is None
    if backend == "ollama":  # Ollama reports its timings; the OpenAI-compatible API none
        assert reply.total_seconds is not None and reply.total_seconds > 0
        assert reply.eval_seconds is not None and reply.tokens_per_second is not None
    else:
        assert reply.total_seconds is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_chat_max_tokens_cuts_with_length(fake_runtime: Factory, backend: str) -> None:
    loaded(fake_runtime, backend, CHAT[backend])
    with driver(backend) as d:
        reply = d.chat([{"role": "user", "content": "hi"}], max_tokens=2)
    assert reply.finish_reason == "length"
    assert reply.completion_tokens == 2
    assert len(reply.text.split()) == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_chat_stream_pieces_and_result(fake_runtime: Factory, backend: str) -> None:
    loaded(fake_runtime, backend, CHAT[backend])
    with driver(backend) as d, d.chat_stream(CONVERSATION, max_tokens=50) as stream:
        pieces = list(stream)
    assert len(pieces) > 3
    assert stream.result is not None
    assert "".join(pieces) == stream.result.text
    assert stream.result.text.endswith("[system: Answer in one word.]")
    assert stream.result.finish_reason == "stop"


@pytest.mark.parametrize("backend", BACKENDS)
def test_chat_stream_closed_early_has_no_result(fake_runtime: Factory, backend: str) -> None:
    loaded(fake_runtime, backend, CHAT[backend])
    with driver(backend) as d:
        stream = d.chat_stream(CONVERSATION, max_tokens=50)
        assert next(stream)
        stream.close()
        assert stream.result is None
        again = d.chat([{"role": "user", "content": "again"}]).text  # the pool still works
        assert again == f"Fake {CHAT[backend]} reply to: again"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("streamed", [False, True])
def test_structured_output(fake_runtime: Factory, backend: str, streamed: bool) -> None:
    loaded(fake_runtime, backend, CHAT[backend])
    messages = [{"role": "user", "content": "Ollama is 22 years old and busy."}]
    with driver(backend) as d:
        if streamed:
            stream = d.chat_stream(messages, format=SCHEMA, max_tokens=50)
            reply = stream.drain()
        else:
            reply = d.chat(messages, format=SCHEMA, max_tokens=50)
    assert reply.json() == {"age": 22, "available": True}
    assert reply.format == SCHEMA


@pytest.mark.parametrize("backend", BACKENDS)
def test_json_mode_without_schema(fake_runtime: Factory, backend: str) -> None:
    loaded(fake_runtime, backend, CHAT[backend])
    with driver(backend) as d:
        reply = d.chat([{"role": "user", "content": "hi"}], format="json", max_tokens=50)
    assert reply.json() == {"reply": reply.json()["reply"]}
    assert "hi" in reply.json()["reply"]


def test_json_errors_show_the_text() -> None:
    cut = ChatReply(text='{"age": 2', model="m", finish_reason="length", format=SCHEMA)
    with pytest.raises(StructuredOutputError, match=r"cut by max_tokens.*\{\"age\": 2") as e:
        cut.json()
    assert e.value.text == '{"age": 2'
    assert isinstance(e.value, ValueError)
    wrong = ChatReply(text='{"age": "old", "x": 1}', model="m", format=SCHEMA)
    with pytest.raises(StructuredOutputError, match="does not match the schema") as e:
        wrong.json()
    assert e.value.problems == [
        "$: 'available' is required",
        "$.age: expected integer, got string ('old')",
    ]
    assert ChatReply(text="[1, 2]", model="m").json() == [1, 2]  # no schema: JSON only


@pytest.mark.parametrize("backend", BACKENDS)
def test_reasoning_kept_apart(fake_runtime: Factory, backend: str) -> None:
    loaded(fake_runtime, backend, THINKER[backend])
    question = [{"role": "user", "content": "Capital of France?"}]
    with driver(backend, THINKER[backend]) as d:
        think = True if backend == "ollama" else None
        reply = d.chat(question, max_tokens=50, think=think)
        stream = d.chat_stream(question, max_tokens=50, think=think)
        pieces = list(stream)
    assert reply.thinking == "The user asks: Capital of France?"
    assert "The user asks" not in reply.text
    assert reply.text.endswith("reply to: Capital of France?")
    assert stream.result is not None
    assert stream.result.thinking == reply.thinking
    assert "".join(pieces) == reply.text  # the stream yields the answer only


def test_ollama_think_off(fake_runtime: Factory) -> None:
    loaded(fake_runtime, "ollama", THINKER["ollama"])
    with driver("ollama", THINKER["ollama"]) as d:
        reply = d.chat([{"role": "user", "content": "hi"}], think=False)
    assert reply.thinking is None


def test_ollama_think_on_a_model_without_it_is_refused_before_the_request(
    fake_runtime: Factory,
) -> None:
    rt = loaded(fake_runtime, "ollama", CHAT["ollama"])
    with (
        driver("ollama") as d,
        pytest.raises(CapabilityError, match=r"cannot think.*\[completion, tools\]"),
    ):
        d.chat([{"role": "user", "content": "hi"}], think=True)
    assert paths(rt, "/api/show") == 1
    assert paths(rt, "/api/chat") == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_embed(fake_runtime: Factory, backend: str) -> None:
    loaded(fake_runtime, backend, EMBED[backend])
    with driver(backend, EMBED[backend]) as d:
        vectors = d.embed(["Why is the sky blue?", "Why is grass green?"])
        one = d.embed("Why is the sky blue?")
    assert len(vectors) == 2
    assert all(len(v) == 8 for v in vectors)
    assert vectors[0] != vectors[1]
    assert one == [vectors[0]]
    assert abs(sum(x * x for x in vectors[0]) - 1.0) < 1e-4


@pytest.mark.parametrize("backend", BACKENDS)
def test_embed_with_another_model_than_the_configured_one(
    fake_runtime: Factory, backend: str
) -> None:
    loaded(fake_runtime, backend, CHAT[backend], EMBED[backend])
    with driver(backend) as d:
        assert len(d.embed(["x"], model=EMBED[backend])[0]) == 8
        assert (
            d.chat([{"role": "user", "content": "x"}]).text == f"Fake {CHAT[backend]} reply to: x"
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_chat_model_asked_to_embed_is_refused(fake_runtime: Factory, backend: str) -> None:
    rt = loaded(fake_runtime, backend, CHAT[backend])
    with driver(backend) as d, pytest.raises(CapabilityError, match=r"cannot embed.*embedding"):
        d.embed(["hi"])
    assert paths(rt, "/api/embed") + paths(rt, "/v1/embeddings") == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_embedding_model_asked_to_chat_is_refused(fake_runtime: Factory, backend: str) -> None:
    rt = loaded(fake_runtime, backend, EMBED[backend])
    with (
        driver(backend, EMBED[backend]) as d,
        pytest.raises(CapabilityError, match=r"cannot chat: .*\[embedding\].*use embed\(\)"),
    ):
        d.chat([{"role": "user", "content": "hi"}])
    assert paths(rt, "/api/chat") + paths(rt, "/v1/chat/completions") == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_capabilities_asked_once_per_model(fake_runtime: Factory, backend: str) -> None:
    rt = loaded(fake_runtime, backend, CHAT[backend])
    probe = {"ollama": "/api/show", "lmstudio": "/api/v0/models"}[backend]
    with driver(backend) as d:
        rt.reset_counts()
        for _ in range(3):
            d.chat([{"role": "user", "content": "hi"}], max_tokens=3)
        # (the LM Studio fake answers as 0.3.16+: its v0 list carries "tool_use")
        assert d.backend.capabilities(CHAT[backend]) == frozenset({"completion", "tools"})
    assert paths(rt, probe) == 1


def test_lmstudio_json_schema_falls_back_to_json_object_once() -> None:
    """llama-cpp-python's server refuses ``json_schema`` (only ``text``/``json_object``):
    the client sends ``json_object`` + ``schema`` instead, and keeps doing so."""
    sent: list[Any] = []
    refusal = {
        "error": {
            "message": "1 validation error: Input should be 'text' or 'json_object', "
            "'input': 'json_schema'",
            "type": "internal_server_error",
        }
    }
    answer = {
        "object": "chat.completion",
        "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"content": '{"ok": true}'}}],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sent.append(body["response_format"])
        if body["response_format"]["type"] == "json_schema":
            return httpx.Response(500, json=refusal)
        return httpx.Response(200, json=answer)

    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    with LMStudioAPI("http://x", transport=httpx.MockTransport(handler)) as api:
        assert api.chat("m", [{"role": "user", "content": "?"}], format=schema).json() == {
            "ok": True
        }
        assert (
            api.chat("m", [{"role": "user", "content": "?"}], format=schema).text == '{"ok": true}'
        )
    assert [f["type"] for f in sent] == ["json_schema", "json_object", "json_object"]
    assert sent[0]["json_schema"] == {"name": "response", "strict": True, "schema": schema}
    assert sent[1] == {"type": "json_object", "schema": schema}


# -- faces: CLI, MCP, AsyncDriver ----------------------------------------------------------


def test_cli_chat_piped_and_json_schema(
    fake_runtime: Factory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> None:
    import io

    from lmsdrive.cli import main

    loaded(fake_runtime, "ollama", CHAT["ollama"])
    monkeypatch.setattr("sys.stdin", io.StringIO("What colour is the sky?\n"))
    argv = ["chat", "--backend", "ollama", "--model", CHAT["ollama"], "--system", "Be brief."]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.endswith("reply to: What colour is the sky? [system: Be brief.]\n")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    monkeypatch.setattr("sys.stdin", io.StringIO("How old?"))
    assert main([*argv, "--json-schema", str(schema), "--json"]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert json.loads(reply["text"]) == {"age": 22, "available": True}
    assert reply["finish_reason"] == "stop" and "format" not in reply
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(argv) == 2
    assert "stdin is empty" in capsys.readouterr().err


def test_cli_chat_repl_keeps_the_conversation(
    fake_runtime: Factory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lmsdrive.cli import main

    rt = loaded(fake_runtime, "lmstudio", CHAT["lmstudio"])
    lines = iter(["Hello", "", "And again", "/exit"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert main(["chat", "--backend", "lmstudio", "--model", CHAT["lmstudio"]]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"Fake {CHAT['lmstudio']} reply to: Hello",
        f"Fake {CHAT['lmstudio']} reply to: And again",
    ]
    assert "Ctrl-D or /bye leaves" in captured.err
    assert paths(rt, "/v1/chat/completions") == 2


def test_cli_embed_and_capability_error(
    fake_runtime: Factory, capsys: pytest.CaptureFixture[str]
) -> None:
    from lmsdrive.cli import main

    loaded(fake_runtime, "ollama", EMBED["ollama"], CHAT["ollama"])
    assert main(["embed", "--backend", "ollama", "--model", EMBED["ollama"], "a", "b"]) == 0
    lines = capsys.readouterr().out.splitlines()  # one JSON array per text, one line each
    assert len(lines) == 2
    vectors = [json.loads(line) for line in lines]
    assert all(len(v) == 8 and all(isinstance(x, float) for x in v) for v in vectors)
    assert vectors[0] != vectors[1]
    assert main(["embed", "--backend", "ollama", "--model", CHAT["ollama"], "a"]) == 1
    assert "cannot embed" in capsys.readouterr().err


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_mcp_chat_and_embed(
    fake_runtime: Factory, monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    from mcp import Client

    from lmsdrive.mcp_server import create_server

    loaded(fake_runtime, "ollama", CHAT["ollama"], EMBED["ollama"])
    monkeypatch.setenv("BACKEND", "ollama")
    monkeypatch.setenv("MODEL_NAME", CHAT["ollama"])
    monkeypatch.delenv("MODEL_SOURCE", raising=False)
    async with Client(create_server(), raise_exceptions=True) as client:
        result = await client.call_tool("chat", {"messages": CONVERSATION})
        assert not result.is_error
        data = result.structured_content
        assert data is not None and data["text"].endswith("[system: Answer in one word.]")
        assert data["json"] is None
        result = await client.call_tool(
            "chat", {"messages": CONVERSATION[1:2], "json_schema": SCHEMA}
        )
        assert result.structured_content is not None
        assert result.structured_content["json"] == {"age": 22, "available": True}
        result = await client.call_tool("embed", {"texts": ["a", "b"], "model": EMBED["ollama"]})
        assert result.structured_content is not None
        assert len(result.structured_content["embeddings"]) == 2
        refused = await client.call_tool("embed", {"texts": ["a"]})
        assert refused.is_error


@pytest.mark.parametrize("backend", BACKENDS)
def test_async_driver_chat_stream_embed(fake_runtime: Factory, backend: str) -> None:
    import asyncio

    from lmsdrive import AsyncDriver

    loaded(fake_runtime, backend, CHAT[backend], EMBED[backend])
    config = Config.from_env(backend=backend, model_name=CHAT[backend])

    async def main() -> tuple[ChatReply, list[str], list[list[float]]]:
        async with AsyncDriver(config) as d:
            reply = await d.chat(CONVERSATION, format=SCHEMA)
            pieces = [p async for p in d.chat_stream(CONVERSATION)]
            vectors = await d.embed(["x"], model=EMBED[backend])
            with pytest.raises(CapabilityError):
                await d.embed(["x"])
            with pytest.raises(CapabilityError):
                async for _ in d.chat_stream(CONVERSATION, model=EMBED[backend]):
                    pass
        return reply, pieces, vectors

    reply, pieces, vectors = asyncio.run(main())
    assert reply.json() == {"age": 22, "available": True}
    assert "".join(pieces).endswith("[system: Answer in one word.]")
    assert len(vectors) == 1 and len(vectors[0]) == 8


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("messages", "why"),
    [
        ([], "non-empty list"),
        ("hello", "non-empty list"),
        ([{"role": "bogus", "content": "hi"}], "role 'bogus'"),
        ([{"role": "user", "content": "hi"}, {"role": "user"}], "message 2: 'content'"),
        ([["user", "hi"]], "expected a dict"),
    ],
)
def test_chat_refuses_a_malformed_conversation_before_any_request(
    fake_runtime: Factory, backend: str, messages: Any, why: str
) -> None:
    rt = loaded(fake_runtime, backend, CHAT[backend])
    before = len(rt.requests())
    with driver(backend) as d, pytest.raises(InvalidMessageError, match=why):
        d.chat(messages)
    with driver(backend) as d, pytest.raises(ValueError, match=why):  # a ValueError too
        d.chat_stream(messages)
    assert len(rt.requests()) == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_generate_sends_its_sampling_and_the_defaults(backend: str) -> None:
    """Driver.generate's temperature and max_tokens reach the request; unset, neither is sent
    (the model's own defaults)."""
    sent: list[dict[str, Any]] = []
    answer: dict[str, Any] = (
        {"model": "m", "response": "hi", "done": True, "done_reason": "stop"}
        if backend == "ollama"
        else {
            "object": "chat.completion",
            "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"content": "hi"}}],
        }
    )

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json=answer)

    url = "http://127.0.0.1:9"
    transport = httpx.MockTransport(handler)
    cfg = Config(backend=backend, model_name=CHAT[backend], url=url)
    be: OllamaBackend | LMStudioBackend = (
        OllamaBackend(url, api=OllamaAPI(url, transport=transport))
        if backend == "ollama"
        else LMStudioBackend(url, api=LMStudioAPI(url, transport=transport))
    )
    with Driver(cfg, backend=be) as d:
        assert d.generate("p").text == "hi"
        assert d.generate("p", temperature=0.7, max_tokens=5).text == "hi"
    if backend == "ollama":
        options = [b.get("options", {}) for b in sent]
        got = [(o.get("temperature"), o.get("num_predict")) for o in options]
    else:
        got = [(b.get("temperature"), b.get("max_tokens")) for b in sent]
    assert got == [(None, None), (0.7, 5)]


RUNTIME = {"ollama": "Ollama", "lmstudio": "LM Studio"}
CALLS = ("generate", "generate_stream", "chat", "chat_stream", "embed")


def request(call: str, backend: str) -> Callable[[Driver], object]:
    """One request path of the Driver (``embed`` with the backend's embedding model)."""
    hi = [{"role": "user", "content": "hi"}]
    calls: dict[str, Callable[[Driver], object]] = {
        "generate": lambda d: d.generate("hi"),
        "generate_stream": lambda d: list(d.generate_stream("hi")),
        "chat": lambda d: d.chat(hi),
        "chat_stream": lambda d: list(d.chat_stream(hi)),
        "embed": lambda d: d.embed(["x"], model=EMBED[backend]),
    }
    return calls[call]


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_model_the_server_lacks_is_missing_there(
    fake_runtime: Factory, backend: str, call: str
) -> None:
    """Every request path: a model the running server does not have is a ModelNotFoundError
    saying it is not downloaded in the runtime (not a catalog miss), naming the model."""
    loaded(fake_runtime, backend)
    model = EMBED[backend] if call == "embed" else CHAT[backend]
    with driver(backend) as d, pytest.raises(ModelNotFoundError) as info:
        request(call, backend)(d)
    said = str(info.value)
    assert said.startswith(f"Model '{model}' is not downloaded in {RUNTIME[backend]} ("), said
    assert said.endswith("download it first, or check the name against the downloaded models."), (
        said
    )
    assert (info.value.local, info.value.model, info.value.downloaded) == (True, model, False)


@pytest.mark.parametrize("call", CALLS)
def test_lmstudio_a_model_downloaded_not_loaded_says_load_it(
    fake_runtime: Factory, call: str
) -> None:
    """LM Studio without JIT: every request path, embed too, of a model downloaded but not
    loaded is a ModelNotFoundError(downloaded=True) saying to load it. Failed before for
    embed: LM Studio's 'Model "text-embedding-nomic-embed-text-v1.5" is not loaded.' (a dot
    in the name) was read as kind usage and raised as APIError."""
    model = EMBED["lmstudio"] if call == "embed" else CHAT["lmstudio"]
    fake_runtime(server_running=True, models_downloaded={"lms": [model]}, lms_jit=False)
    with driver("lmstudio") as d, pytest.raises(ModelNotFoundError) as info:
        request(call, "lmstudio")(d)
    said = str(info.value)
    assert said.startswith(f"Model '{model}' is downloaded but not loaded in LM Studio ("), said
    assert said.endswith("): load it first."), said
    assert (info.value.local, info.value.model, info.value.downloaded) == (True, model, True)


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
def test_embed_of_a_model_downloaded_not_loaded_loads_it_where_the_server_does(
    fake_runtime: Factory, backend: str
) -> None:
    """Ollama (always) and LM Studio with JIT (its default) load an embedding model on its
    first request: the vectors come back, no error (the other side of the test above)."""
    fake_runtime(server_running=True, models_downloaded={FAKE[backend]: [EMBED[backend]]})
    with driver(backend) as d:
        vectors = d.embed(["x", "y"], model=EMBED[backend])
        assert d.backend.is_loaded(EMBED[backend])  # the request loaded it
    assert len(vectors) == 2 and vectors[0] != vectors[1]


def test_cli_embed_of_a_model_downloaded_not_loaded_says_run_load(
    fake_runtime: Factory, capsys: pytest.CaptureFixture[str]
) -> None:
    """``lmsdrive embed`` on LM Studio without JIT: the model-missing exit status (5) and the
    command that fixes it, not an API error."""
    from lmsdrive.cli import main

    model = EMBED["lmstudio"]
    fake_runtime(server_running=True, models_downloaded={"lms": [model]}, lms_jit=False)
    assert main(["--backend", "lmstudio", "embed", "--model", model, "x"]) == 5
    err = capsys.readouterr().err
    assert f"Model '{model}' is downloaded but not loaded in LM Studio (" in err, err
    assert f"Run `lmsdrive load {model}` to load it." in err, err
