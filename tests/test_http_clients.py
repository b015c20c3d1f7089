"""The HTTP clients against ``httpx.MockTransport`` (bodies in the shapes the reference and
the fixtures record), plus real sockets for connection refused and read timeouts.

No installable server speaks Ollama's native API, so the Ollama client is tested here and
against the fake runtime; the LM Studio client also runs against a real llama.cpp server
(tests/test_lmstudio_real_server.py).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmsdrive.errors import (
    APIError,
    CommandTimeoutError,
    ConfigError,
    LmsdriveError,
    ModelNotFoundError,
    PullError,
    ServerNotRunningError,
)
from lmsdrive.http import GenerationStream, LMStudioAPI, OllamaAPI

Handler = Callable[[httpx.Request], httpx.Response]
OLLAMA = "http://ollama.test:11434"
LMS = "http://lmstudio.test:1234"


def ollama(handler: Handler, **kw: Any) -> OllamaAPI:
    return OllamaAPI(OLLAMA, transport=httpx.MockTransport(handler), **kw)


def lmstudio(handler: Handler, **kw: Any) -> LMStudioAPI:
    return LMStudioAPI(LMS, transport=httpx.MockTransport(handler), **kw)


class Pieces(httpx.SyncByteStream):
    """A response body sent in the given pieces; records whether it was closed."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.sent = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for piece in self.pieces:
            self.sent += 1
            yield piece

    def close(self) -> None:
        self.closed = True


def split_every(data: bytes, n: int) -> list[bytes]:
    return [data[i : i + n] for i in range(0, len(data), n)]


def ndjson(*objs: object) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


def sse(*objs: object, done: bool = True) -> bytes:
    out = b"".join(b"data: " + json.dumps(o).encode() + b"\n\n" for o in objs)
    return out + (b"data: [DONE]\n\n" if done else b"")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --------------------------------------------------------------------------- transport


def test_connection_refused_names_url_and_next_step() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with OllamaAPI(url) as api:
        assert api.is_running() is False
        with pytest.raises(ServerNotRunningError) as info:
            api.tags()
    msg = str(info.value)
    assert f"{url}/api/tags" in msg and "ollama serve" in msg
    assert isinstance(info.value, ConnectionError)
    with LMStudioAPI(url) as lms, pytest.raises(ServerNotRunningError, match="lms server start"):
        lms.models()


def test_dns_failure_is_server_not_running() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    with ollama(fail) as api, pytest.raises(ServerNotRunningError, match="Name or service"):
        api.version()


def test_real_read_timeout() -> None:
    # A listening socket that never answers: connect succeeds, the read times out.
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        url = f"http://127.0.0.1:{srv.getsockname()[1]}"
        with OllamaAPI(url, read_timeout=0.2) as api:
            with pytest.raises(CommandTimeoutError, match=r"did not answer within 0\.2 s"):
                api.tags()
            assert api.is_running() is False


def test_connect_timeout_is_timeout_error() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    with lmstudio(slow, connect_timeout=0.5) as api:
        with pytest.raises(CommandTimeoutError, match=r"connection within 0\.5 s") as info:
            api.models()
        assert isinstance(info.value, TimeoutError)
        assert api.is_running() is False


def test_dropped_connection_mid_stream() -> None:
    class Dropping(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield ndjson({"model": "m", "response": "Hi", "done": False})
            raise httpx.RemoteProtocolError("peer closed connection")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Dropping())

    with ollama(handler) as api:
        stream = api.generate_stream("m", "x")
        assert next(stream) == "Hi"
        with pytest.raises(ServerNotRunningError, match="dropped"):
            next(stream)


def test_invalid_url_is_config_error() -> None:
    with pytest.raises(ConfigError):
        OllamaAPI("ftp://nowhere:11434").tags()


def test_timeouts_set_apart_and_one_pooled_client() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/generate":
            return httpx.Response(200, json={"model": "m", "response": "x", "done": True})
        return httpx.Response(200, json={"models": []})

    with ollama(handler, connect_timeout=1.5, read_timeout=42.0) as api:
        api.tags()
        api.ps()
        api.generate("m", "p")
        assert api.requests == 3
        t = api._client.timeout
        assert (t.connect, t.read, t.pool) == (1.5, 42.0, 1.5)
    assert [r.url.path for r in seen] == ["/api/tags", "/api/ps", "/api/generate"]
    # metadata reads get the short probe timeout; generation gets the long read timeout
    assert [r.extensions["timeout"]["read"] for r in seen] == [10.0, 10.0, 42.0]
    assert all(r.extensions["timeout"]["connect"] == 1.5 for r in seen)


def test_line_cap() -> None:
    body = b'{"status":"' + b"x" * 5000  # no newline, ever

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Pieces(split_every(body, 100)))

    with OllamaAPI(OLLAMA, transport=httpx.MockTransport(handler)) as api:
        api.max_line = 1000
        with pytest.raises(APIError, match="longer than 1000 bytes"):
            list(api.pull("m"))


# --------------------------------------------------------------------------- Ollama


def test_ollama_is_running_version_tags_ps() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return {
            "/": httpx.Response(200, text="Ollama is running"),
            "/api/version": httpx.Response(200, json={"version": "0.5.7"}),
            "/api/tags": httpx.Response(
                200,
                json={
                    "models": [
                        {
                            "name": "llama3.2:1b",
                            "model": "llama3.2:1b",
                            "size": 1321098329,
                            "digest": "baf6a787fdffd633537aa2eb51cfd54c"
                            + "b93ff08e28040095462bb63daf552878",
                            "details": {"format": "gguf", "parameter_size": "1.2B"},
                        }
                    ]
                },
            ),
            "/api/ps": httpx.Response(200, json={"models": []}),
        }[request.url.path]

    with ollama(handler) as api:
        assert api.is_running() is True
        assert api.version() == "0.5.7"
        tags = api.tags()
        assert [m.name for m in tags.models] == ["llama3.2:1b"]
        assert tags.models[0].size == 1321098329
        assert api.ps().models == []


def test_ollama_http_error_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": "error starting llama-server: exit status 2"})

    with ollama(handler) as api, pytest.raises(APIError) as info:
        api.tags()
    assert info.value.status_code == 500
    assert "error starting llama-server" in info.value.message
    assert f"{OLLAMA}/api/tags" in str(info.value)


def test_ollama_plain_text_404() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="404 page not found")

    with ollama(handler) as api, pytest.raises(APIError) as info:
        api.version()
    assert info.value.status_code == 404


def test_ollama_unreadable_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>proxy login</html>")

    with ollama(handler) as api, pytest.raises(APIError, match="cannot read"):
        api.tags()


def test_ollama_generate_request_and_result() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(
            200,
            json={
                "model": "llama3.2:1b",
                "created_at": "2025-01-01T10:00:00Z",
                "response": "Paris.",
                "done": True,
                "done_reason": "stop",
                "prompt_eval_count": 31,
                "eval_count": 3,
                "eval_duration": 60000000,
            },
        )

    with ollama(handler) as api:
        gen = api.generate("llama3.2:1b", "Capital of France?", temperature=0.2, max_tokens=7)
    assert bodies == [
        {
            "model": "llama3.2:1b",
            "prompt": "Capital of France?",
            "stream": False,
            "options": {"temperature": 0.2, "num_predict": 7},
        }
    ]
    assert (gen.text, gen.model, gen.finish_reason) == ("Paris.", "llama3.2:1b", "stop")
    assert (gen.prompt_tokens, gen.completion_tokens) == (31, 3)


@pytest.mark.parametrize(
    "message",
    [
        "model 'mistral' not found, try pulling it first",
        'model "mistral" not found, try pulling it first',
        "model 'mistral' not found",
    ],
)
def test_ollama_missing_model(message: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": message})

    with ollama(handler) as api:
        with pytest.raises(ModelNotFoundError, match="mistral"):
            api.generate("mistral", "hi")
        with pytest.raises(ModelNotFoundError):
            api.load("mistral")
        with pytest.raises(ModelNotFoundError):
            list(api.generate_stream("mistral", "hi"))


def test_ollama_load_unload_bodies() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        reason = "unload" if body["keep_alive"] == 0 else "load"
        return httpx.Response(
            200, json={"model": body["model"], "response": "", "done": True, "done_reason": reason}
        )

    with ollama(handler) as api:
        assert api.load("m", keep_alive="1h").done_reason == "load"
        assert api.unload("m").done_reason == "unload"
    assert bodies == [
        {"model": "m", "prompt": "", "keep_alive": "1h", "stream": False},
        {"model": "m", "prompt": "", "keep_alive": 0, "stream": False},
    ]


GEN_STREAM = ndjson(
    {"model": "m", "created_at": "t", "response": "Hé", "done": False},
    {"model": "m", "created_at": "t", "response": "llo", "done": False},
    {"model": "m", "created_at": "t", "response": " wörld", "done": False},
    {
        "model": "m",
        "created_at": "t",
        "response": "",
        "done": True,
        "done_reason": "length",
        "prompt_eval_count": 5,
        "eval_count": 3,
    },
)


@pytest.mark.parametrize("piece", [1, 3, 7, 1000])
def test_ollama_generate_stream(piece: int) -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, stream=Pieces(split_every(GEN_STREAM, piece)))

    with ollama(handler) as api:
        stream = api.generate_stream("m", "hi", max_tokens=3)
        assert isinstance(stream, GenerationStream)
        assert list(stream) == ["Hé", "llo", " wörld"]
        assert stream.result is not None
        assert stream.result.text == "Héllo wörld"
        assert stream.result.finish_reason == "length"
        assert stream.result.completion_tokens == 3
        # generate(stream=True) reads the same stream to the end
        assert api.generate("m", "hi", stream=True).text == "Héllo wörld"
    assert bodies[0]["stream"] is True and bodies[0]["options"]["num_predict"] == 3


def test_ollama_generate_stream_error_line_with_200() -> None:
    body = ndjson({"model": "m", "response": "a", "done": False}) + ndjson(
        {"error": "llama runner process has terminated: signal: killed"}
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    with ollama(handler) as api:
        stream = api.generate_stream("m", "hi")
        assert next(stream) == "a"
        with pytest.raises(APIError, match="runner process") as info:
            next(stream)
        assert info.value.status_code == 200


def test_ollama_generate_stream_cut_before_done() -> None:
    body = ndjson({"model": "m", "response": "a", "done": False})

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    with ollama(handler) as api, pytest.raises(APIError, match="before its last"):
        api.generate_stream("m", "hi").text()


def test_ollama_generate_stream_closed_early_closes_response() -> None:
    pieces = Pieces([ndjson({"model": "m", "response": str(i), "done": False}) for i in range(50)])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=pieces)

    with ollama(handler) as api, api.generate_stream("m", "hi") as stream:
        assert next(stream) == "0"
    assert pieces.closed
    assert pieces.sent < 50
    assert stream.result is None


PULL = [
    {"status": "pulling manifest"},
    {"status": "pulling 74701a8c35f6", "digest": "sha256:74701a8c35f6", "total": 1000},
    {
        "status": "pulling 74701a8c35f6",
        "digest": "sha256:74701a8c35f6",
        "total": 1000,
        "completed": 400,
    },
    {
        "status": "pulling 966de95ca8a6",
        "digest": "sha256:966de95ca8a6",
        "total": 1000,
        "completed": 1000,
    },
    {
        "status": "pulling 74701a8c35f6",
        "digest": "sha256:74701a8c35f6",
        "total": 1000,
        "completed": 1000,
    },
    {"status": "verifying sha256 digest"},
    {"status": "writing manifest"},
    {"status": "success"},
]


def test_ollama_pull_progress_streamed() -> None:
    pieces = Pieces([ndjson(o) for o in PULL])
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, stream=pieces)

    with ollama(handler) as api:
        stream = api.pull("llama3.2:1b")
        events = []
        for event in stream:
            events.append(event)
            # each event arrives before the rest of the body has been sent
            assert pieces.sent == len(events)
    assert bodies == [{"model": "llama3.2:1b", "name": "llama3.2:1b", "stream": True}]
    assert [e.phase for e in events] == [
        "manifest",
        "downloading",
        "downloading",
        "downloading",
        "downloading",
        "verifying",
        "writing",
        "done",
    ]
    overall = [e.overall_percent for e in events if e.overall_percent is not None]
    assert overall == sorted(overall) and overall[-1] == 100.0
    assert stream.result is not None and stream.result.outcome == "success"


def test_ollama_pull_unknown_model() -> None:
    body = ndjson(
        {"status": "pulling manifest"}, {"error": "pull model manifest: file does not exist"}
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    with ollama(handler) as api:
        events = []
        with pytest.raises(ModelNotFoundError, match="nosuch:1b is not in the registry"):
            for e in api.pull("nosuch:1b"):
                events.append(e)
    assert [e.phase for e in events] == ["manifest", "error"]


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (
            ndjson({"status": "pulling manifest"}, {"error": "max retries exceeded: EOF"}),
            "max retries exceeded: EOF",
        ),
        (ndjson(*PULL[:3]), "ended before it finished"),
    ],
)
def test_ollama_pull_failure_and_cut(body: bytes, match: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    with ollama(handler) as api, pytest.raises(PullError, match=match):
        list(api.pull("m"))


def test_ollama_pull_http_error_status() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "invalid model name"})

    with ollama(handler) as api, pytest.raises(PullError, match="invalid model name"):
        list(api.pull("Bad Name"))


# --------------------------------------------------------------------------- LM Studio


@pytest.mark.parametrize(
    ("greeting", "models", "running"),
    [(200, 500, True), (404, 200, True), (404, 404, False), (500, 503, False)],
)
def test_lmstudio_is_running(greeting: int, models: int, running: bool) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/lmstudio-greeting":
            return httpx.Response(greeting, json={"lmstudio": True})
        return httpx.Response(models, json={"data": [], "object": "list"})

    with lmstudio(handler) as api:
        assert api.is_running() is running


def test_lmstudio_models_and_v0() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            return httpx.Response(
                200,
                text=json.dumps(
                    {
                        "data": [
                            {
                                "id": "qwen/qwen3-4b",
                                "object": "model",
                                "owned_by": "organization_owner",
                            }
                        ],
                        "object": "list",
                    },
                    indent=2,
                ),
            )
        return httpx.Response(
            200,
            json={
                "object": "list",
                "data": [
                    {
                        "id": "qwen/qwen3-4b",
                        "object": "model",
                        "type": "llm",
                        "state": "loaded",
                        "max_context_length": 32768,
                        "loaded_context_length": 4096,
                    }
                ],
            },
        )

    with lmstudio(handler) as api:
        assert api.model_ids() == ["qwen/qwen3-4b"]
        v0 = api.models_v0()
        assert v0.models[0].state == "loaded"
        assert v0.models[0].loaded_context_length == 4096


def test_lmstudio_http_200_carrying_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"error": "Unexpected endpoint or method. (GET /v1/models)"}
        )

    with lmstudio(handler) as api, pytest.raises(APIError) as info:
        api.models()
    assert info.value.status_code == 200
    assert info.value.message.startswith("Unexpected endpoint or method.")
    assert f"{LMS}/v1/models" in info.value.message


def test_lmstudio_no_models_loaded_is_model_not_found() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400,
            json={
                "error": {
                    "message": "No models loaded. Please load a model in the developer page "
                    "or use the `lms load` command.",
                    "type": "invalid_request_error",
                    "param": "model",
                    "code": "model_not_found",
                }
            },
        )

    with lmstudio(handler) as api:
        with pytest.raises(ModelNotFoundError, match="No models loaded"):
            api.generate("m", "hi")
        with pytest.raises(ModelNotFoundError):
            list(api.chat_stream("m", [{"role": "user", "content": "hi"}]))


def test_lmstudio_error_without_error_member() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "Not Found"})

    with lmstudio(handler) as api, pytest.raises(APIError) as info:
        api.models_v0()
    assert info.value.status_code == 404
    assert "Not Found" in str(info.value)


def test_lmstudio_chat_request_shape_and_result() -> None:
    bodies: list[dict[str, Any]] = []
    headers: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        headers.append(request.headers.get("authorization"))
        return httpx.Response(
            200,
            json={
                "id": "chatcmpl-abc",
                "object": "chat.completion",
                "created": 1,
                "model": "qwen/qwen3-4b",
                "choices": [
                    {
                        "index": 0,
                        "logprobs": None,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": "Paris."},
                    }
                ],
                "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
                "stats": {},
                "system_fingerprint": "qwen/qwen3-4b",
            },
        )

    with lmstudio(handler, api_key="sk-test") as api:
        gen = api.generate("qwen/qwen3-4b", "Capital of France?", temperature=0.3, max_tokens=9)
    assert bodies == [
        {
            "model": "qwen/qwen3-4b",
            "messages": [{"role": "user", "content": "Capital of France?"}],
            "temperature": 0.3,
            "max_tokens": 9,
            "stream": False,
        }
    ]
    assert headers == ["Bearer sk-test"]
    assert (gen.text, gen.finish_reason, gen.prompt_tokens, gen.completion_tokens) == (
        "Paris.",
        "stop",
        12,
        2,
    )


def chunk(content: str | None, finish: str | None = None) -> dict[str, Any]:
    delta: dict[str, Any] = {"role": "assistant"}
    if content is not None:
        delta["content"] = content
    return {
        "id": "chatcmpl-x",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "system_fingerprint": "m",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


CHAT_SSE = sse(chunk("Ça"), chunk(" va"), chunk(" 😀"), chunk(None, "stop"))


@pytest.mark.parametrize("piece", [1, 2, 5, 4096])
def test_lmstudio_chat_stream_sse(piece: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["stream"] is True
        return httpx.Response(
            200,
            stream=Pieces(split_every(CHAT_SSE.replace(b"\n", b"\r\n"), piece)),
            headers={"content-type": "text/event-stream"},
        )

    with lmstudio(handler) as api, api.chat_stream("m", [{"role": "user", "content": "x"}]) as s:
        assert list(s) == ["Ça", " va", " 😀"]
    assert s.result is not None
    assert (s.result.text, s.result.finish_reason, s.result.model) == ("Ça va 😀", "stop", "m")


def test_lmstudio_chat_stream_error_event() -> None:
    error = {"error": {"message": "Model unloaded.", "type": "server_error"}}
    body = sse(chunk("a"), error, done=False)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    with lmstudio(handler) as api:
        stream = api.generate_stream("m", "hi")
        assert next(stream) == "a"
        with pytest.raises(APIError, match="Model unloaded"):
            next(stream)


def test_lmstudio_chat_stream_without_done() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=sse(chunk("a"), done=False))

    with lmstudio(handler) as api, pytest.raises(APIError, match=r"before its end \(\[DONE\]\)"):
        api.generate_stream("m", "hi").text()


def test_lmstudio_chat_stream_garbage() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>oops</html>\n")

    with lmstudio(handler) as api, pytest.raises(APIError, match="cannot read"):
        api.generate_stream("m", "hi").text()


# --------------------------------------------------------------------------- properties


@settings(max_examples=150)
@given(
    status=st.sampled_from([200, 400, 404, 500]),
    body=st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
            max_leaves=10,
        ).map(lambda v: json.dumps(v).encode()),
    ),
)
def test_any_body_gives_result_or_typed_error(status: int, body: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body)

    calls: list[Callable[[], object]]
    with ollama(handler) as o, lmstudio(handler) as lms:
        calls = [
            o.tags,
            o.ps,
            o.version,
            lambda: o.generate("m", "p"),
            lambda: list(o.pull("m")),
            lambda: o.generate_stream("m", "p").text(),
            lms.models,
            lms.models_v0,
            lambda: lms.generate("m", "p"),
            lambda: lms.generate_stream("m", "p").text(),
        ]
        for call in calls:
            with contextlib.suppress(LmsdriveError):
                call()


def test_threads_share_one_client() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"version": "0.9.0"})

    results: list[str | None] = []
    with ollama(handler) as api:
        threads = [threading.Thread(target=lambda: results.append(api.version())) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == ["0.9.0"] * 8


def test_llama_server_lookup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from lmsdrive.testing.llama_server import NOT_BUILT, find_llama_python

    assert "make llama-server" in NOT_BUILT
    monkeypatch.setenv("LMSDRIVE_LLAMA_PYTHON", str(tmp_path / "missing"))
    assert find_llama_python() is None
    monkeypatch.delenv("LMSDRIVE_LLAMA_PYTHON")
    monkeypatch.setenv("LMSDRIVE_CACHE", str(tmp_path))
    assert find_llama_python() is None
    python = tmp_path / "llama-venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    assert find_llama_python() == python


def test_tiny_model_is_deterministic(tmp_path: Path) -> None:
    from lmsdrive.testing.tiny_model import write_tiny_llama

    a = write_tiny_llama(tmp_path / "a.gguf").read_bytes()
    b = write_tiny_llama(tmp_path / "b.gguf").read_bytes()
    assert a == b and a[:4] == b"GGUF"
    assert write_tiny_llama(tmp_path / "c.gguf", forced_token="bye").read_bytes() != a
    with pytest.raises(ValueError):
        write_tiny_llama(tmp_path / "d.gguf", forced_token="two words")
