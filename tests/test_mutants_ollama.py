"""The Ollama backend's own rules, each held by a fast test: the probe's two requests, the
one-token answer that leaves a model's expiry as it was, how long ``/api/ps``'s
``expires_at`` leaves, where a model's registry is, unload and delete. Written for the
mutants ``make mutate`` showed no fast test held; the server is an httpx ``MockTransport``
answering in Ollama's documented shapes (no server one can install here speaks them)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from lmsdrive import Config, LoadedModel, LoadOptions, LocalModel, Readiness, StartResult
from lmsdrive.backends._started import process_identity, recorded
from lmsdrive.backends.ollama import (
    OllamaBackend,
    _registry_cause,
    _tail,
    _unix_time,
    keep_alive_left,
)
from lmsdrive.errors import (
    AuthenticationError,
    CommandTimeoutError,
    ConfigError,
    InvalidModelNameError,
    LmsdriveError,
    ServerNotRunningError,
)
from lmsdrive.http import OllamaAPI
from lmsdrive.parsers import ollama_pull
from lmsdrive.testing.fake_state import FakeState
from lmsdrive.testing.runtime import FakeRuntime
from lmsdrive.transcript import Transcript

URL = "http://127.0.0.1:11434"


def tag(name: str, digest: str = "a80c4f17acd5") -> dict[str, Any]:
    return {"name": name, "model": name, "size": 2019393189, "digest": digest}


class Server:
    """Answers ``/api/tags``, ``/api/ps``, ``/api/generate`` and ``/api/delete`` from what it
    holds, keeping each request's method, path and body."""

    def __init__(self, tags: list[str], loaded: dict[str, str | None]) -> None:
        self.tags = tags
        self.loaded = loaded  # name -> expires_at
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        path = request.url.path
        self.sent.append((request.method, path, body))
        if path == "/api/tags":
            return httpx.Response(200, json={"models": [tag(n) for n in self.tags]})
        if path == "/api/ps":
            ps = [
                {**tag(n), "expires_at": e, "context_length": 8192} for n, e in self.loaded.items()
            ]
            return httpx.Response(200, json={"models": ps})
        if path == "/api/generate":
            answer = {"model": body["model"], "response": "Hi", "done": True}
            return httpx.Response(200, json={**answer, "done_reason": "stop"})
        if path == "/api/delete":
            return httpx.Response(200)
        return httpx.Response(404, json={"error": "not found"})

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.sent]


def backend(server: Server | httpx.MockTransport) -> OllamaBackend:
    transport = server if isinstance(server, httpx.MockTransport) else httpx.MockTransport(server)
    return OllamaBackend(URL, api=OllamaAPI(URL, transport=transport))


def in_seconds(seconds: float) -> str:
    return dt.datetime.fromtimestamp(time.time() + seconds, tz=dt.timezone.utc).isoformat()


def test_probe_reads_every_model_in_two_requests() -> None:
    server = Server(["llama3.2:3b", "gemma3:latest"], {"gemma3:latest": None})
    got = backend(server).probe(["llama3.2:3b", "gemma3", "qwen3:0.6b"])
    assert got == [
        Readiness(running=True, downloaded=True, loaded=False),
        Readiness(running=True, downloaded=True, loaded=True),
        Readiness(running=True, downloaded=False, loaded=False),
    ]
    assert server.paths() == ["/api/tags", "/api/ps"]


def test_probe_asks_no_ps_when_no_model_is_downloaded() -> None:
    server = Server(["llama3.2:3b"], {"llama3.2:3b": None})
    got = backend(server).probe(["qwen3:0.6b"])
    assert got == [Readiness(running=True, downloaded=False, loaded=False)]
    assert server.paths() == ["/api/tags"]


def test_probe_of_a_server_down_and_of_a_bad_name() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    down = backend(httpx.MockTransport(refuse))
    assert down.probe(["llama3.2:3b", "gemma3"]) == [Readiness(running=False)] * 2
    server = Server([], {})
    with pytest.raises(InvalidModelNameError):
        backend(server).probe(["llama3.2:3b", "--rm"])
    assert [
        (m, p, {k: b[k] for k in b if k != "stream"}) for m, p, b in server.sent
    ] == []  # refused before any request


def test_probe_answer_keeps_the_expiry_the_model_had() -> None:
    """One token at temperature 0, with the ``keep_alive`` the model has left (a request
    without one would reset it to the server's default)."""
    server = Server(["llama3.2:3b"], {"llama3.2:3b": in_seconds(300.5)})
    answer = backend(server).probe_answer("llama3.2:3b")
    assert answer.text == "Hi"
    ((_, path, body),) = [s for s in server.sent if s[1] == "/api/generate"]
    assert body["keep_alive"] in (299, 300)
    assert (path, body["model"], body["prompt"]) == ("/api/generate", "llama3.2:3b", "Hi")
    assert body["options"] == {"temperature": 0.0, "num_predict": 1}


def test_probe_answer_of_a_model_not_loaded_sends_no_keep_alive() -> None:
    server = Server(["llama3.2:3b"], {"gemma3:latest": in_seconds(300)})
    backend(server).probe_answer("llama3.2:3b")
    ((_, _, body),) = [s for s in server.sent if s[1] == "/api/generate"]
    assert "keep_alive" not in body


def test_keep_alive_left() -> None:
    now = 1767225600.0  # 2026-01-01T00:00:00Z
    assert keep_alive_left("2026-01-01T00:05:00.9Z", now=now) == 300
    assert keep_alive_left("2026-01-01T00:00:00.2Z", now=now) == 1  # at least one second
    assert keep_alive_left("2025-12-31T23:00:00Z", now=now) == 1  # already past
    assert keep_alive_left("2318-01-01T00:00:00+01:00", now=now) == -1  # forever
    assert keep_alive_left("2126-02-01T00:00:00Z", now=now) == -1  # beyond 100 years
    assert (
        keep_alive_left("2125-12-01T00:00:00Z", now=now) == 3152995200
    )  # 99.98 years: a real expiry
    assert keep_alive_left(None, now=now) is None
    assert keep_alive_left("soon", now=now) is None
    assert keep_alive_left(in_seconds(1000)) in (999, 1000)  # now: the clock's


def test_unix_time_reads_ollama_nanoseconds_and_zones() -> None:
    assert _unix_time("2025-08-08T00:07:26.817827822+02:00") == 1754604446.817827
    assert _unix_time(" 2026-01-01T00:00:00.123456789Z ") == 1767225600.123456
    assert _unix_time("2026-01-01T00:00:00Z") == 1767225600.0
    assert _unix_time("") is None
    assert _unix_time(None) is None
    assert _unix_time("2026-13-01T00:00:00Z") is None


@pytest.mark.parametrize(
    ("name", "registry"),
    [
        ("llama3.2:3b", "https://registry.ollama.ai"),
        ("library/llama3.2:3b", "https://registry.ollama.ai"),
        ("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "https://hf.co"),
        ("myhost/team/model", "https://registry.ollama.ai"),  # no dot: not a host
        ("a.b/c/d/e", "https://registry.ollama.ai"),
    ],
)
def test_registry_for(name: str, registry: str) -> None:
    assert OllamaBackend(URL)._registry_for(name) == registry


@pytest.mark.parametrize(
    ("exc", "cause"),
    [
        (
            ServerNotRunningError("start ollama serve", reason="[Errno 111] refused"),
            "[Errno 111] refused",
        ),
        (ServerNotRunningError("no route"), "no route"),
        (CommandTimeoutError("slow"), "no answer in time"),
        (AuthenticationError("token", status_code=401), "HTTP 401: it refused the request"),
        (LmsdriveError("bad manifest"), "bad manifest"),
    ],
)
def test_registry_cause(exc: LmsdriveError, cause: str) -> None:
    assert _registry_cause(exc) == cause


def test_fingerprint_is_the_listed_digest() -> None:
    server = Server(["gemma3:latest", "llama3.2:3b"], {})
    server.tags = ["gemma3:latest"]
    be = backend(server)
    assert be.fingerprint("gemma3") == "a80c4f17acd5"
    assert be.fingerprint("llama3.2:3b") is None


def test_unload_sends_keep_alive_0() -> None:
    server = Server(["llama3.2:3b"], {"llama3.2:3b": None})
    backend(server).unload("llama3.2:3b")
    ((method, path, body),) = server.sent
    assert (method, path, body["model"], body["keep_alive"]) == (
        "POST",
        "/api/generate",
        "llama3.2:3b",
        0,
    )


@pytest.mark.parametrize("loaded", [True, False])
def test_delete_unloads_a_loaded_model_first(loaded: bool) -> None:
    server = Server(["llama3.2:3b"], {"llama3.2:3b": None} if loaded else {})
    backend(server).delete("llama3.2:3b")
    asks = [(m, p) for m, p, _ in server.sent if p != "/api/ps"]
    unload = [("POST", "/api/generate")] if loaded else []
    assert asks == [*unload, ("DELETE", "/api/delete")]
    assert {b["model"] for _, p, b in server.sent if p != "/api/ps"} == {"llama3.2:3b"}


def test_version_asks_the_server_unless_told_not_to() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/version"
        return httpx.Response(200, json={"version": "0.13.0"})

    assert backend(httpx.MockTransport(handler)).version() == "0.13.0"  # no CLI installed here


def test_version_without_the_server_is_the_clis(fake_runtime: Callable[..., FakeRuntime]) -> None:
    fake_runtime(server_running=False)
    assert (
        OllamaBackend(Config.from_env(backend="ollama").backend_url()).version(server=False)
        == FakeState().knobs.ollama_version
    )


def test_loaded_models_are_read_from_ps() -> None:
    server = Server([], {"gemma3:latest": None, "llama3.2:3b": None})
    assert backend(server).loaded_models() == [
        LoadedModel("gemma3:latest", "gemma3:latest", size_bytes=2019393189, context_length=8192),
        LoadedModel("llama3.2:3b", "llama3.2:3b", size_bytes=2019393189, context_length=8192),
    ]


def test_a_server_it_started_is_recorded_for_stop(
    fake_runtime: Callable[..., FakeRuntime], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``start`` binds ``ollama serve`` where the backend's URL points (whatever this
    process's ``OLLAMA_HOST``), logs per port, and records the server it started (backend,
    URL, PID, process identity), which is how ``stop`` later knows it is lmsdrive's; the
    version is read from serve's readiness line; a second start finds it running."""
    fake_runtime(server_running=False)
    url = Config.from_env(backend="ollama").backend_url()
    monkeypatch.setenv("OLLAMA_HOST", "192.0.2.1:11434")  # an address not on this machine
    be = OllamaBackend(url)
    started = be.start(timeout=30)
    try:
        assert (started.url, started.already_running) == (url, False)
        assert started.version == FakeState().knobs.ollama_version  # from its readiness line
        assert str(started.log_path).endswith(f"ollama-serve-{httpx.URL(url).port}.log")
        rec = recorded("ollama", be.url)
        assert rec is not None and started.pid is not None
        assert (rec.backend, rec.url, rec.pid) == ("ollama", be.url, started.pid)
        assert rec.identity is not None and rec.identity == process_identity(started.pid)
        assert be.start() == StartResult(url=url, already_running=True)
    finally:
        be.stop()


def test_start_holds_the_ports_lock_60_s_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two starts of one port wait for each other (a lock named after the port), at most
    the start's timeout (60 s unless told)."""
    asked: list[tuple[str, float]] = []

    def lock(name: str, timeout: float) -> Any:
        asked.append((name, timeout))
        raise TimeoutError("held")

    monkeypatch.setattr("lmsdrive.backends.ollama.machine_lock", lock)
    for timeout in (None, 5.0):
        with pytest.raises(TimeoutError):
            be = OllamaBackend("http://127.0.0.1:11500")
            be.start() if timeout is None else be.start(timeout=timeout)
    assert asked == [("ollama-11500", 60.0), ("ollama-11500", 5.0)]


def test_tail_of_the_serve_log_is_its_last_20_lines_whatever_the_bytes(tmp_path: Path) -> None:
    """What a start failure quotes of ``ollama serve``'s log: the last 20 lines, a byte
    that is not UTF-8 replaced rather than failing the report."""
    log = tmp_path / "serve.log"
    log.write_bytes(b"".join(b"line %d\n" % i for i in range(25)) + b"bad \xff byte\n")
    assert _tail(log) == [f"line {i}" for i in range(6, 25)] + ["bad \ufffd byte"]


def test_start_failure_quotes_the_last_10_lines_and_says_what_to_do() -> None:
    be = OllamaBackend(URL)
    tail = [f"line {i}" for i in range(12)]
    assert be._start_failure("ollama serve exited with status 1", tail) == (
        "Could not start the Ollama server: ollama serve exited with status 1.\nLast output:\n"
        + "\n".join(f"    line {i}" for i in range(2, 12))
    )
    assert be._start_failure("it stopped", []).endswith(".\nLast output:\n    (no output)")
    hint = " Another program holds 127.0.0.1:11434: stop it, or set OLLAMA_HOST to a free port.\n"
    for why in ("listen tcp: bind: permission denied", "address already in use"):
        assert f": {why}.{hint}" in be._start_failure(why, [])
    assert be._start_failure("it stopped", []).startswith(
        "Could not start the Ollama server: it stopped.\nLast"
    )


def test_list_models_reads_names_and_sizes_from_tags() -> None:
    assert backend(Server(["llama3.2:3b", "gemma3:latest"], {})).list_models() == [
        LocalModel(name="llama3.2:3b", size_bytes=2019393189),
        LocalModel(name="gemma3:latest", size_bytes=2019393189),
    ]


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://0.0.0.0:8080", "0.0.0.0:8080"),
        ("http://localhost", "localhost:11434"),
        ("http://[::1]:11500", "[::1]:11500"),
        ("http://:11500", "127.0.0.1:11500"),
    ],
)
def test_serve_env_binds_ollama_serve_where_the_url_points(url: str, host: str) -> None:
    assert OllamaBackend(url)._serve_env() == {"OLLAMA_HOST": host}


CPU_8K = {"num_ctx": 8192, "num_gpu": 0}


@pytest.mark.parametrize(
    ("options", "keep_alive", "model_options"),
    [
        (None, "5m", None),  # the backend's keep_alive, the model's own options
        (
            LoadOptions(context_length=8192, gpu="off", ttl=600),
            "600s",
            {"num_ctx": 8192, "num_gpu": 0},
        ),
        (LoadOptions(gpu="max", ttl=-1), -1, None),  # never unload; max is Ollama's default
        (LoadOptions(ttl=1), "1s", None),
    ],
)
def test_load_sends_keep_alive_and_the_model_options(
    options: LoadOptions | None, keep_alive: str | int, model_options: dict[str, int] | None
) -> None:
    server = Server(["llama3.2:3b"], {})
    loaded = backend(server).load("llama3.2:3b", options)
    ((_, path, body),) = server.sent
    assert (path, body["model"], body["prompt"]) == ("/api/generate", "llama3.2:3b", "")
    assert (body["keep_alive"], body.get("options")) == (keep_alive, model_options)
    context = options.context_length if options else None
    assert loaded == LoadedModel("llama3.2:3b", "llama3.2:3b", context_length=context)


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (
            LoadOptions(identifier="mine"),
            "Ollama has no instance identifiers: a model is addressed by its name ('mine' "
            "cannot be given); leave --identifier out",
        ),
        (
            LoadOptions(gpu=0.5),
            "Ollama takes no GPU offload ratio (gpu=0.5): use 'off' (CPU only) or 'max' "
            "(Ollama's default, as many layers as fit)",
        ),
    ],
)
def test_load_options_ollama_cannot_honour_are_refused_before_any_request(
    options: LoadOptions, says: str
) -> None:
    server = Server(["llama3.2:3b"], {})
    with pytest.raises(ConfigError) as caught:
        backend(server).load("llama3.2:3b", options)
    assert (str(caught.value), server.sent) == (says, [])
    for fine in ("off", "max", None):
        OllamaBackend(URL).check_load_options(LoadOptions(gpu=fine))


def test_readiness_of_each_state() -> None:
    later = in_seconds(600)
    server = Server(["llama3.2:3b", "gemma3:latest"], {"gemma3:latest": later})
    be = backend(server)
    assert be.readiness("qwen3:0.6b") == Readiness(running=True, downloaded=False, loaded=False)
    assert be.readiness("llama3.2:3b") == Readiness(running=True, downloaded=True, loaded=False)
    got = be.readiness("gemma3")
    assert (got.running, got.downloaded, got.loaded) == (True, True, True)
    assert got.expires_at is not None and abs(got.expires_at - (time.time() + 600)) < 5
    server.loaded = {"gemma3:latest": None}
    assert be.readiness("gemma3").expires_at is None  # kept for ever: no expiry


def test_readiness_of_a_server_down_or_of_another_program_on_the_port() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    def stranger(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="nothing here")

    for answer in (refuse, stranger):
        got = backend(httpx.MockTransport(answer)).readiness("llama3.2:3b")
        assert got == Readiness(running=False) and got.running is False


def test_the_backend_passes_its_token_binary_and_remote_on(tmp_path: Path) -> None:
    binary = tmp_path / "ollama"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    be = OllamaBackend(URL, binary=binary, api_token="sk-test", remote=True)
    assert (be.api.has_token, be.binary(), be.remote) == (True, binary, True)
    assert OllamaBackend(URL).api.has_token is False


def test_capabilities_of_a_server_that_lists_none_are_unknown() -> None:
    def show(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"details": {"format": "gguf"}})  # before v0.6.4

    assert backend(httpx.MockTransport(show)).capabilities("llama3.2:3b") is None


@pytest.mark.parametrize(
    ("capture", "pulled"),
    [("pingcap102-success-colon", True), ("gh1002-oldbar-wsl", False), (None, False)],
)
def test_an_ollama_pull_succeeded_only_when_its_output_says_success(
    capture: str | None, pulled: bool
) -> None:
    """Read from the real ``ollama pull`` captures (the fixtures): ``success`` is the only
    outcome that counts as pulled; no output read at all is not one."""
    result = None
    if capture is not None:
        path = Path(__file__).parent.parent / "fixtures/ollama/pull" / f"{capture}.txt"
        result = ollama_pull.parse(Transcript.of(path.read_text(encoding="utf-8")))
    assert OllamaBackend._pulled(result) is pulled
