"""The model's defaults, tools, images and keep-alive (issue 17 items 1, 2, 3, 6), through the
Driver on both backends: against the FAKE runtimes of lmsdrive.testing, and the request bodies
each API gets (``httpx.MockTransport``). Tool calls in the OpenAI shape also run against the
real llama.cpp server (tests/test_lmstudio_real_server.py)."""

from __future__ import annotations

import base64
import json
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from lmsdrive import CapabilityError, ChatReply, Config, ConfigError, Driver, InvalidMessageError
from lmsdrive._types import LoadOptions, ToolCall
from lmsdrive.backends.lmstudio import LMStudioBackend
from lmsdrive.backends.ollama import OllamaBackend
from lmsdrive.cli import main
from lmsdrive.http import LMStudioAPI, OllamaAPI
from lmsdrive.testing.runtime import FakeRuntime
from lmsdrive.tools import ToolLoopError, run_tools, tool_message, tool_schema, tool_specs

Factory = Callable[..., FakeRuntime]
BACKENDS = ["ollama", "lmstudio"]
FAKE = {"ollama": "ollama", "lmstudio": "lms"}
CHAT = {"ollama": "llama3.2:3b", "lmstudio": "qwen/qwen3-4b"}
#: Vision models without tool calling (gemma3, as Ollama's library lists it).
VISION = {"ollama": "gemma3:4b", "lmstudio": "google/gemma-3-4b"}
CHAT_PATH = {"ollama": "/api/chat", "lmstudio": "/v1/chat/completions"}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """Get the current weather of a city.

    Args:
        city: the city's name
        unit: the temperature unit
    """
    return f"Sunny, 21 degrees {unit} in {city}"


def tiny_png() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def loaded(fake_runtime: Factory, backend: str, *models: str) -> FakeRuntime:
    return fake_runtime(server_running=True, models_loaded={FAKE[backend]: list(models)})


def driver(backend: str, model: str | None = None) -> Driver:
    return Driver(Config.from_env(backend=backend, model_name=model or CHAT[backend]))


def count(rt: FakeRuntime, path: str) -> int:
    return sum(r["path"] == path for r in rt.requests())


# -- the bodies each API gets (MockTransport) --------------------------------------------------
class Recorder:
    """An Ollama or LM Studio server in memory that records every JSON body it gets."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.bodies: dict[str, list[dict[str, Any]]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        self.bodies.setdefault(request.url.path, []).append(body)
        path = request.url.path
        if path == "/api/show":
            return httpx.Response(200, json={"capabilities": ["completion", "tools", "vision"]})
        if path == "/api/v0/models":
            entry = {"id": "m", "type": "vlm", "state": "loaded", "capabilities": ["tool_use"]}
            return httpx.Response(200, json={"object": "list", "data": [entry]})
        if path in ("/api/generate", "/api/chat"):
            key = "response" if path == "/api/generate" else "message"
            value: Any = "hi" if key == "response" else {"role": "assistant", "content": "hi"}
            return httpx.Response(
                200, json={"model": "m", key: value, "done": True, "done_reason": "stop"}
            )
        message = {"role": "assistant", "content": "hi"}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        return httpx.Response(200, json={"object": "chat.completion", "choices": [choice]})

    def driver(self) -> Driver:
        transport = httpx.MockTransport(self)
        if self.backend == "ollama":
            url = "http://ollama.test:11434"
            backend: Any = OllamaBackend(url, api=OllamaAPI(url, transport=transport))
        else:
            url = "http://lmstudio.test:1234"
            backend = LMStudioBackend(url, api=LMStudioAPI(url, transport=transport))
        config = Config.from_env(backend=self.backend, model_name="m", url=url)
        return Driver(config, backend=backend)

    def last(self, path: str) -> dict[str, Any]:
        return self.bodies[path][-1]


SAMPLING_KEYS = {"temperature", "max_tokens", "num_predict", "options"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_temperature_or_token_limit_is_sent_unless_given(backend: str) -> None:
    # before: 0.1 and 100 (generate) / 100 (chat) were sent on every request
    rec = Recorder(backend)
    path = CHAT_PATH[backend]
    gen_path = "/api/generate" if backend == "ollama" else path
    with rec.driver() as d:
        d.generate("hi")
        assert SAMPLING_KEYS.isdisjoint(rec.last(gen_path))
        d.chat(ASK)
        assert SAMPLING_KEYS.isdisjoint(rec.last(path))
        list(d.generate_stream("hi"))
        d.chat(ASK, temperature=0.0, max_tokens=7)
    sent = rec.last(path)
    if backend == "ollama":
        assert sent["options"] == {"temperature": 0.0, "num_predict": 7}
    else:
        assert (sent["temperature"], sent["max_tokens"]) == (0.0, 7)


@pytest.mark.parametrize("backend", BACKENDS)
def test_tools_images_and_tool_results_in_each_apis_own_form(backend: str, tmp_path: Path) -> None:
    png = tiny_png()
    (tmp_path / "dot.png").write_bytes(png)
    b64 = base64.b64encode(png).decode()
    call = ToolCall("get_weather", {"city": "Paris"}, "call_7")
    conversation = [
        {"role": "user", "content": "What is this?", "images": [tmp_path / "dot.png", png, b64]},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        tool_message(call, {"sky": "clear"}),
    ]
    rec = Recorder(backend)
    with rec.driver() as d:
        d.chat(conversation, tools=[get_weather], keep_alive="10m")
    sent = rec.last(CHAT_PATH[backend])
    assert sent["tools"] == [tool_schema(get_weather)]
    user, assistant, tool = sent["messages"]
    if backend == "ollama":
        assert user == {"role": "user", "content": "What is this?", "images": [b64] * 3}
        assert assistant["tool_calls"] == [
            {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}, "id": "call_7"}
        ]
        assert tool == {
            "role": "tool",
            "content": '{"sky": "clear"}',
            "tool_name": "get_weather",
            "tool_call_id": "call_7",
        }
        assert sent["keep_alive"] == "10m"
    else:
        url = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64}"}}
        assert user == {
            "role": "user",
            "content": [{"type": "text", "text": "What is this?"}, url, url, url],
        }
        assert assistant["tool_calls"] == [
            {
                "id": "call_7",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ]
        assert tool == {"role": "tool", "content": '{"sky": "clear"}', "tool_call_id": "call_7"}
        assert sent["ttl"] == 600


@pytest.mark.parametrize(
    ("image", "why"),
    [
        ("not base64 and not a file!", "not a file, nor base64"),
        (b"", "empty"),
        (42, "expected a file path, bytes or base64"),
    ],
)
def test_an_unreadable_image_is_refused_before_any_request(image: object, why: str) -> None:
    rec = Recorder("ollama")
    with rec.driver() as d, pytest.raises(InvalidMessageError, match=why):
        d.chat([{"role": "user", "content": "look", "images": [image]}])
    assert "/api/chat" not in rec.bodies


# -- model defaults: a cut answer says so ------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cut_answer_says_length_and_the_cli_warns(
    fake_runtime: Factory, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    loaded(fake_runtime, backend, CHAT[backend])
    with driver(backend) as d:
        whole = d.generate("Why is the sky blue?")
        assert whole.finish_reason == "stop"
        assert whole.text.endswith("Why is the sky blue?")  # nothing cut by a default
        cut = d.generate("Why is the sky blue?", max_tokens=2)
        assert cut.finish_reason == "length" and cut.completion_tokens == 2
        stream = d.generate_stream("Why is the sky blue?", max_tokens=2)
        assert "".join(stream) == cut.text
        assert stream.result is not None and stream.result.finish_reason == "length"
    flags = ["--backend", backend, "--model", CHAT[backend]]
    assert main(["generate", *flags, "Why is the sky blue?"]) == 0
    done = capsys.readouterr()
    assert done.out.strip() == whole.text.strip() and "cut" not in done.err
    assert main(["generate", *flags, "--max-tokens", "2", "Why is the sky blue?"]) == 0
    shown = capsys.readouterr()
    assert shown.out.strip() == cut.text.strip()
    assert "the answer was cut by the token limit: raise --max-tokens" in shown.err


@pytest.mark.parametrize("backend", BACKENDS)
def test_generate_takes_a_model_like_chat(fake_runtime: Factory, backend: str) -> None:
    other = {"ollama": "qwen2.5:0.5b", "lmstudio": "qwen/qwen3-8b"}[backend]
    loaded(fake_runtime, backend, CHAT[backend], other)
    with driver(backend) as d:
        assert d.generate("hi", model=other).model == other
        assert d.generate("hi").model == CHAT[backend]


# -- tools -------------------------------------------------------------------------------------
def test_a_function_becomes_its_schema() -> None:
    assert tool_schema(get_weather) == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather of a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "the city's name"},
                    "unit": {
                        "enum": ["celsius", "fahrenheit"],
                        "description": "the temperature unit",
                    },
                },
                "required": ["city"],
            },
        },
    }


def test_tools_that_cannot_be_described_are_refused() -> None:
    def untyped(x):  # type: ignore[no-untyped-def]
        """Does things."""

    def undocumented(x: int) -> int:
        return x

    with pytest.raises(ConfigError, match="type hint"):
        tool_specs([untyped])
    with pytest.raises(ConfigError, match="docstring"):
        tool_specs([undocumented])
    with pytest.raises(ConfigError, match="expected a function, or a schema"):
        tool_specs([{"name": "x"}])
    with pytest.raises(ConfigError, match="same name"):
        tool_specs([get_weather, tool_schema(get_weather)])


@pytest.mark.parametrize("backend", BACKENDS)
def test_tool_calls_come_back_typed(fake_runtime: Factory, backend: str) -> None:
    loaded(fake_runtime, backend, CHAT[backend])
    with driver(backend) as d:
        reply = d.chat(ASK, tools=[tool_schema(get_weather)])
    (call,) = reply.tool_calls
    assert (call.name, call.arguments, call.invalid_arguments) == (
        "get_weather",
        {"city": "fake", "unit": "celsius"},
        None,
    )
    if backend == "lmstudio":  # OpenAI's shape: an id, and finish_reason tool_calls
        assert call.id and reply.finish_reason == "tool_calls"
    else:  # Ollama's documented shape has no id
        assert call.id is None and reply.finish_reason == "stop"
    assert reply.message == {"role": "assistant", "content": "", "tool_calls": [call]}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_stream_yields_the_tool_calls(fake_runtime: Factory, backend: str) -> None:
    loaded(fake_runtime, backend, CHAT[backend])
    with driver(backend) as d, d.chat_stream(ASK, tools=[get_weather]) as stream:
        items = list(stream.with_tool_calls())
    calls = [i for i in items if isinstance(i, ToolCall)]
    assert [c.name for c in calls] == ["get_weather"]
    assert calls[0].arguments == {"city": "fake", "unit": "celsius"}
    assert stream.result is not None and stream.result.tool_calls == calls
    assert stream.tool_calls == calls


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_tools_runs_the_loop(fake_runtime: Factory, backend: str) -> None:
    loaded(fake_runtime, backend, CHAT[backend])
    with driver(backend) as d:
        reply, conversation = d.run_tools(ASK, [get_weather])
    assert [m["role"] for m in conversation] == ["user", "assistant", "tool", "assistant"]
    assert conversation[2]["content"] == "Sunny, 21 degrees celsius in fake"
    assert reply.text.endswith("read the tool result: Sunny, 21 degrees celsius in fake")
    assert not reply.tool_calls


def test_the_tool_loop_is_bounded_and_keeps_the_conversation() -> None:
    calls: list[int] = []

    def always_a_tool(conversation: list[dict[str, Any]]) -> ChatReply:
        calls.append(len(conversation))
        return ChatReply(text="", model="m", tool_calls=[ToolCall("get_weather", {"x": 1})])

    with pytest.raises(ToolLoopError, match="after 2 rounds") as e:
        run_tools(always_a_tool, ASK, {"get_weather": get_weather}, max_rounds=2)
    assert calls == [1, 3]
    roles = [m["role"] for m in e.value.messages]
    assert roles == ["user", "assistant", "tool", "assistant", "tool"]
    # a bad call is told to the model, not raised
    assert "TypeError" in e.value.messages[2]["content"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_model_without_tools_is_refused_before_the_request(
    fake_runtime: Factory, backend: str
) -> None:
    rt = loaded(fake_runtime, backend, VISION[backend])
    with (
        driver(backend, VISION[backend]) as d,
        pytest.raises(CapabilityError, match=r"cannot call tools: .*Leave tools out"),
    ):
        d.chat(ASK, tools=[get_weather])
    assert count(rt, CHAT_PATH[backend]) == 0


# -- images ------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_vision_model_reads_images(fake_runtime: Factory, backend: str, tmp_path: Path) -> None:
    loaded(fake_runtime, backend, VISION[backend], CHAT[backend])
    path = tmp_path / "dot.png"
    path.write_bytes(tiny_png())
    look = [{"role": "user", "content": "What is this?", "images": [str(path), tiny_png()]}]
    with driver(backend, VISION[backend]) as d:
        assert d.chat(look).text.endswith("[saw 2 images]")
        with pytest.raises(CapabilityError, match=r"cannot read images: .*vision model"):
            d.chat(look, model=CHAT[backend])


# -- keep-alive / TTL per call -----------------------------------------------------------------
def test_ollama_keep_alive_per_call(fake_runtime: Factory) -> None:
    loaded(fake_runtime, "ollama", CHAT["ollama"])
    with driver("ollama") as d:
        d.chat(ASK, keep_alive="1h")
        expires = d.backend.readiness(CHAT["ollama"]).expires_at
        assert expires is not None and 3500 < expires - time.time() <= 3600
        d.generate("hi", keep_alive=-1)
        forever = d.backend.readiness(CHAT["ollama"]).expires_at
        assert forever is not None and forever - time.time() > 100 * 365 * 86400
        d.load(options=LoadOptions(ttl=120))
        expires = d.backend.readiness(CHAT["ollama"]).expires_at
        assert expires is not None and 100 < expires - time.time() <= 120


def test_lmstudio_keep_alive_is_the_ttl_of_a_jit_load(fake_runtime: Factory) -> None:
    rt = fake_runtime(server_running=True, models_downloaded={"lms": [CHAT["lmstudio"]]})
    with driver("lmstudio") as d:
        d.chat(ASK, keep_alive="2m")
    (instance,) = rt.state().lms.loaded
    assert instance.ttl_seconds == 120


@pytest.mark.parametrize(
    ("backend", "keep_alive", "why"),
    [
        ("ollama", "10", "expected seconds"),
        ("ollama", True, "expected seconds"),
        ("lmstudio", -1, "cannot keep a model loaded for ever per request"),
        ("lmstudio", 0, "TTL is at least 1 second"),
    ],
)
def test_a_keep_alive_the_runtime_cannot_take_is_refused_before_any_request(
    backend: str, keep_alive: Any, why: str
) -> None:
    rec = Recorder(backend)
    with rec.driver() as d, pytest.raises(ConfigError, match=why):
        d.chat(ASK, keep_alive=keep_alive)
    assert CHAT_PATH[backend] not in rec.bodies


def test_load_ttl_minus_one_never_unloads() -> None:
    assert LMStudioBackend.load_args(LoadOptions(ttl=-1)) == []
    assert OllamaBackend()._load_request(LoadOptions(ttl=-1))[0] == -1
    with pytest.raises(ConfigError, match="or -1, never unload"):
        LoadOptions(ttl=0)


# -- the recorded / documented bodies through the clients --------------------------------------
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_ollama_streamed_tool_call_is_yielded_before_the_stream_ends() -> None:
    body = (FIXTURES / "ollama/api-chat/synthetic-chat-stream-tool-call.txt").read_bytes()
    first, rest = body.split(b"\n", 1)
    seen: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Pieces([first + b"\n", rest], seen))

    api = OllamaAPI("http://ollama.test:11434", transport=httpx.MockTransport(handler))
    with api, api.chat_stream("llama3.2", ASK, tools=[tool_schema(get_weather)]) as stream:
        items = stream.with_tool_calls()
        call = next(items)
        assert seen == ["sent 1"]  # the call came with the first chunk, before the rest
        assert call == ToolCall(
            "get_current_weather", {"format": "celsius", "location": "Paris, FR"}
        )
        assert list(items) == []
    assert stream.result is not None and stream.result.tool_calls == [call]


def test_lmstudio_recorded_tool_call_reads_typed() -> None:
    for name, ok in (("llamacpp-tiny-tool-call", False), ("llamacpp-tiny-tool-call-sse", True)):
        body = (FIXTURES / f"lms/api-chat/{name}.txt").read_bytes()
        api = LMStudioAPI(
            "http://lmstudio.test:1234",
            transport=httpx.MockTransport(lambda r, b=body: httpx.Response(200, content=b)),
        )
        with api:
            reply = (
                api.chat_stream("tiny-llama", ASK).drain() if ok else api.chat("tiny-llama", ASK)
            )
        (call,) = reply.tool_calls
        assert (call.name, call.arguments, reply.finish_reason) == (
            "set_ok",
            {"ok": ok},
            "tool_calls",
        )
        assert call.id is not None and call.id.startswith("call__0_set_ok_")


class Pieces(httpx.SyncByteStream):
    """A body sent in pieces, noting each one sent in ``seen``."""

    def __init__(self, pieces: list[bytes], seen: list[object]) -> None:
        self.pieces, self.seen = pieces, seen

    def __iter__(self) -> Iterator[bytes]:
        for n, piece in enumerate(self.pieces, 1):
            self.seen.append(f"sent {n}")
            yield piece


def test_async_driver_has_the_same_calls(fake_runtime: Factory) -> None:
    import asyncio

    from lmsdrive import AsyncDriver, Memory

    loaded(fake_runtime, "ollama", CHAT["ollama"])

    async def session() -> tuple[ChatReply, Any, Any, str]:
        config = Config.from_env(backend="ollama", model_name=CHAT["ollama"])
        async with AsyncDriver(config) as d:
            reply, _ = await d.run_tools(ASK, [get_weather], max_rounds=2)
            est = await d.estimate(memory=Memory(ram_bytes=64 << 30))
            report = await d.update()
            text = (await d.generate("hi", max_tokens=2, keep_alive="5m")).finish_reason or ""
        return reply, est, report, text

    reply, est, report, finish = asyncio.run(session())
    assert reply.text.endswith("read the tool result: Sunny, 21 degrees celsius in fake")
    assert (est.verdict, report.changed, finish) == ("fits", False, "length")


def test_cli_chat_sends_an_image_with_the_piped_message(
    fake_runtime: Factory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import io
    import sys

    loaded(fake_runtime, "ollama", VISION["ollama"], CHAT["ollama"])
    (tmp_path / "dot.png").write_bytes(tiny_png())

    def pipe(text: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))

    pipe("What is this?")
    image = ["--image", str(tmp_path / "dot.png")]
    assert main(["chat", "--model", VISION["ollama"], *image]) == 0
    assert capsys.readouterr().out.strip().endswith("[saw 1 image]")
    pipe("What is this?")
    assert main(["chat", "--model", CHAT["ollama"], *image]) == 1  # not a vision model
    assert "cannot read images" in capsys.readouterr().err
    pipe("What is this?")
    assert main(["chat", "--model", VISION["ollama"], "--image", "missing.png"]) == 2
    assert "cannot read the image missing.png (No such file" in capsys.readouterr().err
