"""What the Driver's request paths send, and what they say when a server does not answer:
behaviours that surviving mutants of ``lmsdrive/driver.py`` showed no fast test held
(``make mutate``). Each request is read where it leaves the client (an httpx transport that
records the body, then forwards it to the FAKE runtime's server)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from lmsdrive import (
    Config,
    ConfigError,
    Driver,
    Generation,
    LoadedModel,
    LoadOptions,
    ModelNotFoundError,
    Progress,
    Readiness,
    ServerNotRunningError,
    ServerStartError,
    StartResult,
)
from lmsdrive.backends.lmstudio import LMStudioBackend
from lmsdrive.backends.ollama import OllamaBackend
from lmsdrive.driver import friendly_message
from lmsdrive.errors import PullError
from lmsdrive.http import LMStudioAPI, OllamaAPI
from lmsdrive.runtimes.ollama import OLLAMA
from lmsdrive.testing.runtime import FakeRuntime

Factory = Callable[..., FakeRuntime]

BACKENDS = ["ollama", "lmstudio"]
FAKE = {"ollama": "ollama", "lmstudio": "lms"}
CHAT = {"ollama": "llama3.2:3b", "lmstudio": "qwen/qwen3-4b"}
OTHER = {"ollama": "qwen3:0.6b", "lmstudio": "openai/gpt-oss-20b"}
ANSWER_PATH = {"ollama": ("/api/generate", "/api/chat"), "lmstudio": ("/v1/chat/completions",)}
HI = [{"role": "user", "content": "hi"}]


class Recorder(httpx.HTTPTransport):
    """Forwards every request, keeping its path and JSON body."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        self.sent.append((request.url.path, body))
        return super().handle_request(request)

    def answers(self, backend: str) -> list[dict[str, Any]]:
        """The bodies of the requests that asked for an answer (not capability look-ups)."""
        return [body for path, body in self.sent if path in ANSWER_PATH[backend]]


def recording(fake_runtime: Factory, backend: str) -> tuple[Driver, Recorder]:
    """A Driver on a fake server with both models loaded, its requests recorded."""
    fake_runtime(
        server_running=True, models_loaded={FAKE[backend]: [CHAT[backend], OTHER[backend]]}
    )
    cfg = Config.from_env(backend=backend, model_name=CHAT[backend])
    rec = Recorder()
    url = cfg.backend_url()
    be: OllamaBackend | LMStudioBackend = (
        OllamaBackend(url, api=OllamaAPI(url, transport=rec))
        if backend == "ollama"
        else LMStudioBackend(url, api=LMStudioAPI(url, transport=rec))
    )
    return Driver(cfg, backend=be), rec


def sampling(backend: str, body: dict[str, Any]) -> dict[str, Any]:
    """The sampling keys a request body carries, in lmsdrive's words."""
    if backend == "ollama":
        names = {"temperature": "temperature", "num_predict": "max_tokens"}
        return {names[k]: v for k, v in body.get("options", {}).items() if k in names}
    return {k: body[k] for k in ("temperature", "max_tokens") if k in body}


def keep_alive(backend: str, body: dict[str, Any]) -> object:
    return body.get("keep_alive" if backend == "ollama" else "ttl", "absent")


CALLS: dict[str, Callable[..., object]] = {
    "generate": lambda d, **kw: d.generate("hi", **kw).text,
    "generate_stream": lambda d, **kw: "".join(d.generate_stream("hi", **kw)),
    "chat": lambda d, **kw: d.chat(HI, **kw).text,
    "chat_stream": lambda d, **kw: "".join(str(p) for p in d.chat_stream(HI, **kw)),
}


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_unset_sampling_sends_no_key_and_set_sampling_reaches_the_body(
    fake_runtime: Factory, backend: str, call: str
) -> None:
    """Unset temperature/max_tokens: neither key is in the body (the model's own defaults,
    issue 17); set: both reach it, on every request path."""
    d, rec = recording(fake_runtime, backend)
    with d:
        assert CALLS[call](d)
        assert CALLS[call](d, temperature=0.25, max_tokens=7)
    unset, given = rec.answers(backend)
    assert sampling(backend, unset) == {}
    assert sampling(backend, given) == {"temperature": 0.25, "max_tokens": 7}


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_model_and_keep_alive_given_reach_the_body(
    fake_runtime: Factory, backend: str, call: str
) -> None:
    """``model=`` asks that model, not the configured one; ``keep_alive`` is sent (Ollama
    ``keep_alive``, LM Studio ``ttl``) only when given."""
    d, rec = recording(fake_runtime, backend)
    with d:
        CALLS[call](d)
        CALLS[call](d, model=OTHER[backend], keep_alive=90)
    plain, other = rec.answers(backend)
    assert (plain["model"], keep_alive(backend, plain)) == (CHAT[backend], "absent")
    assert (other["model"], keep_alive(backend, other)) == (OTHER[backend], 90)


@pytest.mark.parametrize("backend", BACKENDS)
def test_generate_stream_sends_the_prompt_and_keeps_the_result(
    fake_runtime: Factory, backend: str
) -> None:
    d, rec = recording(fake_runtime, backend)
    with d:
        stream = d.generate_stream("What colour is the sky?")
        text = "".join(stream)
    (body,) = rec.answers(backend)
    sent = body["prompt"] if backend == "ollama" else body["messages"][-1]["content"]
    assert sent == "What colour is the sky?"
    assert isinstance(stream.result, Generation)
    assert (stream.result.text, stream.result.model) == (text, CHAT[backend])
    assert text and stream.result.finish_reason == "stop"


class PlainStreams(OllamaBackend):
    """A backend whose streams are plain iterators (no ``.result``), as one written
    outside lmsdrive may return."""

    def generate_stream(self, model: str, prompt: str, **kw: Any) -> Iterator[str]:
        return iter(["a", "b"])


def test_generate_stream_of_a_backend_without_a_result_is_an_empty_generation() -> None:
    cfg = Config(backend="ollama", model_name="llama3.2:3b", url="http://127.0.0.1:9")
    with Driver(cfg, backend=PlainStreams(cfg.url)) as d:
        stream = d.generate_stream("hi")
        assert list(stream) == ["a", "b"]
    assert stream.result == Generation(text="", model="llama3.2:3b")


def refusing(handler_error: Exception) -> Driver:
    def handler(request: httpx.Request) -> httpx.Response:
        raise handler_error

    url = "http://127.0.0.1:9"
    cfg = Config(backend="ollama", model_name="llama3.2:3b", url=url)
    api = OllamaAPI(url, transport=httpx.MockTransport(handler))
    return Driver(cfg, backend=OllamaBackend(url, api=api, remote=True))


REFUSED_CALLS: dict[str, Callable[..., object]] = {**CALLS, "embed": lambda d: d.embed("hi")}


@pytest.mark.parametrize("call", REFUSED_CALLS)
def test_a_server_that_refuses_is_said_with_where_and_why(call: str) -> None:
    """The client's error (no URL on it) becomes the backend's message on every request
    path: where the server is, the reason in brackets, what to do."""
    with (
        refusing(httpx.ConnectError("refused here")) as d,
        pytest.raises(ServerNotRunningError) as caught,
    ):
        REFUSED_CALLS[call](d)
    err = caught.value
    assert (err.reason, err.url) == ("refused here", "http://127.0.0.1:9")
    assert "server at http://127.0.0.1:9 does not answer (refused here), and lmsdrive " in str(err)


def test_friendly_message_of_a_catalog_miss_and_of_a_bare_not_running_error() -> None:
    """A catalog miss is said with the runtime's words and the server's detail (``?`` for
    a model not named); a not-running error without a URL gets the runtime's text first."""
    miss = ModelNotFoundError("pull model manifest: file does not exist")
    assert friendly_message("ollama", "nope:1b", miss).startswith(
        "Model 'nope:1b' was not found in the Ollama library (pull model manifest: file "
        "does not exist). "
    )
    assert friendly_message("ollama", None, miss).startswith("Model '?' was not found")
    advised = ModelNotFoundError("no such model: try another", detail="file does not exist")
    assert "nope:1b' was not found in the Ollama library (file does not exist). " in (
        friendly_message("ollama", "nope:1b", advised)
    )
    bare = friendly_message("ollama", None, ServerNotRunningError("refused"))
    assert bare == f"{OLLAMA.not_running} (refused)"


class Gone(OllamaBackend):
    """A backend that raises the bare error a backend written outside lmsdrive may raise."""

    def generate(self, model: str, prompt: str, **kw: Any) -> Generation:
        raise ServerNotRunningError("gone away")


def test_a_bare_not_running_error_gives_its_message_as_the_reason() -> None:
    url = "http://127.0.0.1:9"
    cfg = Config(backend="ollama", model_name="llama3.2:3b", url=url)
    with (
        Driver(cfg, backend=Gone(url, remote=True)) as d,
        pytest.raises(ServerNotRunningError) as caught,
    ):
        d.generate("hi")
    assert caught.value.reason == "gone away"
    assert "does not answer (gone away)" in str(caught.value)


class BrokenPull(OllamaBackend):
    """A pull that reports 40 % overall (90 % of a file), says why it broke off, and
    fails, on a server that then does not answer."""

    def has_model(self, model: str) -> bool:
        return False

    def pull(self, model: str) -> Iterator[Progress]:
        yield Progress(phase="downloading", percent=90.0, overall_percent=40.0)
        yield Progress(phase="error", message="connection reset by peer")
        yield Progress(phase="downloading", message="retrying")
        raise PullError("pull failed")

    def is_running(self) -> bool:
        raise ServerNotRunningError("no answer", reason="refused")


def test_a_pull_broken_off_by_a_server_gone_says_where_it_stopped() -> None:
    """A pull error after progress, the server no longer answering: the error says the
    download stopped at that (overall) percent because the server went away, with the
    download's own words as the reason."""
    url = "http://127.0.0.1:9"
    cfg = Config(backend="ollama", model_name="llama3.2:3b", url=url)
    with (
        Driver(cfg, backend=BrokenPull(url, remote=True)) as d,
        pytest.raises(ServerNotRunningError) as caught,
    ):
        list(d.pull())
    assert str(caught.value).startswith("The download of llama3.2:3b stopped at 40%: ")
    assert caught.value.reason == "connection reset by peer"  # the download's own words


class NotDownloaded(OllamaBackend):
    """A server without the model: nothing loaded, a load refused as not found."""

    def __init__(self, url: str) -> None:
        super().__init__(url, remote=True)
        self.asked: list[str] = []

    def loaded_models(self) -> list[LoadedModel]:
        return []

    def load(self, model: str, options: LoadOptions | None = None) -> LoadedModel:
        raise ModelNotFoundError(f"model '{model}' not found")

    def has_model(self, model: str) -> bool:
        self.asked.append(model)
        return False


def test_a_load_refused_as_not_found_says_not_downloaded_without_asking_again() -> None:
    """A load fails as not found only when the model is not downloaded: the error says so
    (``downloaded`` false) without another request to the server."""
    url = "http://127.0.0.1:9"
    cfg = Config(backend="ollama", model_name="llama3.2:3b", url=url)
    be = NotDownloaded(url)
    with Driver(cfg, backend=be) as d, pytest.raises(ModelNotFoundError) as caught:
        d.load()
    assert (caught.value.downloaded, caught.value.local) == (False, True)
    assert str(caught.value).startswith(
        "Model 'llama3.2:3b' is not downloaded in Ollama (model 'llama3.2:3b' not found): "
    )
    assert be.asked == []


class NeverStarts(OllamaBackend):
    """A local server that is down and whose start fails, keeping the timeout it got."""

    def __init__(self, url: str) -> None:
        super().__init__(url, remote=False)
        self.timeouts: list[float] = []

    def readiness(self, model: str) -> Readiness:
        return Readiness(running=False)

    def is_installed(self) -> bool:
        return True

    def start(self, timeout: float = 60.0) -> StartResult:
        self.timeouts.append(timeout)
        raise ServerStartError("it exited")


def test_ensure_ready_waits_60_s_for_a_server_it_starts_unless_told() -> None:
    url = "http://127.0.0.1:9"
    cfg = Config(backend="ollama", model_name="llama3.2:3b", url=url)
    be = NeverStarts(url)
    with Driver(cfg, backend=be) as d:
        assert not d.ensure_ready().success
        assert not d.ensure_ready(start_timeout=5).success
    assert be.timeouts == [60.0, 5]


TOOL = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.mark.parametrize("call", ["chat", "chat_stream"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_chat_options_think_and_tools_reach_the_body(
    fake_runtime: Factory, backend: str, call: str
) -> None:
    """``options`` (the runtime's own names), ``think`` (Ollama) and ``tools`` are sent as
    given, by ``chat`` and ``chat_stream`` alike."""
    d, rec = recording(fake_runtime, backend)
    with d:
        CALLS[call](d, options={"seed": 3}, think=False, tools=[TOOL])
    (body,) = rec.answers(backend)
    seed = body["options"]["seed"] if backend == "ollama" else body["seed"]
    assert (seed, body["tools"][0]["function"]["name"]) == (3, "weather")
    if backend == "ollama":
        assert body["think"] is False


class Steps(OllamaBackend):
    """A server that is up without the model, then has it downloaded; downloads go
    through its API (a token is configured), loads through the CLI here."""

    def __init__(self, url: str) -> None:
        super().__init__(url, remote=False, api=OllamaAPI(url, api_token="t"))
        self.states = [Readiness(running=True, downloaded=False, loaded=False)]
        self.states.append(Readiness(running=True, downloaded=True, loaded=False))

    def readiness(self, model: str) -> Readiness:
        return self.states.pop(0)

    def is_installed(self) -> bool:
        return True

    def pull(self, model: str) -> Iterator[Progress]:
        yield Progress(phase="done", percent=100.0)

    def load(self, model: str, options: LoadOptions | None = None) -> LoadedModel:
        return LoadedModel(name=model, identifier=model)


def test_ensure_ready_says_which_step_went_through_the_api() -> None:
    url = "http://127.0.0.1:9"
    cfg = Config(backend="ollama", model_name="llama3.2:3b", url=url)
    with Driver(cfg, backend=Steps(url)) as d:
        report = d.ensure_ready()
    assert report.steps_performed == [
        "Downloaded model llama3.2:3b through the server's API",
        "Loaded model llama3.2:3b",
    ]


def test_a_pull_that_fails_before_any_progress_raises_its_own_error() -> None:
    """No progress yet: the download's error as it is (no 'stopped at N%')."""

    class FailsAtOnce(BrokenPull):
        def pull(self, model: str) -> Iterator[Progress]:
            raise PullError("pull failed")
            yield  # a generator

    url = "http://127.0.0.1:9"
    cfg = Config(backend="ollama", model_name="llama3.2:3b", url=url)
    with (
        Driver(cfg, backend=FailsAtOnce(url, remote=True)) as d,
        pytest.raises(PullError, match="pull failed"),
    ):
        list(d.pull())


@pytest.mark.parametrize("call", ["generate", "generate_stream"])
def test_a_keep_alive_that_does_not_read_is_refused_before_any_request(call: str) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    url = "http://127.0.0.1:9"
    cfg = Config(backend="ollama", model_name="llama3.2:3b", url=url)
    api = OllamaAPI(url, transport=httpx.MockTransport(handler))
    with (
        Driver(cfg, backend=OllamaBackend(url, api=api)) as d,
        pytest.raises(ConfigError, match="keep_alive='a while'"),
    ):
        CALLS[call](d, keep_alive="a while")
    assert sent == []


class Pieces(OllamaBackend):
    """A backend whose stream says when it is closed."""

    closed: bool = False

    def generate_stream(self, model: str, prompt: str, **kw: Any) -> Iterator[str]:
        try:
            yield from ["a", "b", "c"]
        finally:
            self.closed = True


def test_closing_a_stream_early_closes_the_backends_stream() -> None:
    """Closing the stream after its first piece closes the backend's (its HTTP response)."""
    cfg = Config(backend="ollama", model_name="llama3.2:3b", url="http://127.0.0.1:9")
    be = Pieces(cfg.url)
    with Driver(cfg, backend=be) as d:
        stream = d.generate_stream("hi")
        assert next(stream) == "a"
        stream.close()
    assert be.closed


class Lacks(NotDownloaded):
    """A server without the model: unload and delete are refused as not found."""

    def unload(self, model: str) -> None:
        raise ModelNotFoundError(f"model '{model}' not found")

    def delete(self, model: str) -> None:
        raise ModelNotFoundError(f"model '{model}' not found")

    def is_loaded(self, model: str) -> bool:
        return True


@pytest.mark.parametrize(("call", "said"), [("unload", "unload"), ("delete", "delete")])
def test_unload_or_delete_of_a_model_the_server_lacks_asks_nothing_more(
    call: str, said: str
) -> None:
    """Nothing to unload or delete: said so, without asking whether it is downloaded."""
    url = "http://127.0.0.1:9"
    cfg = Config(backend="ollama", model_name="llama3.2:3b", url=url)
    be = Lacks(url)
    with Driver(cfg, backend=be) as d, pytest.raises(ModelNotFoundError) as caught:
        getattr(d, call)()
    assert str(caught.value).endswith(f": nothing to {said}.")
    assert (caught.value.downloaded, be.asked) == (None, [])


class PullFails(BrokenPull):
    """The same broken pull on a server that still answers."""

    def is_running(self) -> bool:
        return True


def test_a_pull_that_fails_on_a_server_still_answering_raises_its_own_error() -> None:
    url = "http://127.0.0.1:9"
    cfg = Config(backend="ollama", model_name="llama3.2:3b", url=url)
    with (
        Driver(cfg, backend=PullFails(url, remote=True)) as d,
        pytest.raises(PullError, match="pull failed"),
    ):
        list(d.pull())
