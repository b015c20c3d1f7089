"""Remote servers, tokens and load options (issue 9, §1, §2, §4), end to end against the fake
runtimes of :mod:`lmsdrive.testing`, on both backends where it applies.

What is simulated: a server "on another host" is the fake server on loopback, reached with
the fake ``ollama``/``lms`` left off ``PATH`` (``FakeRuntime(remote=True)``: no CLI on this
machine) and the backend told that its URL is remote (``remote=True``), since no
non-loopback name can reach a server from a test. The remote-or-local decision itself
(:func:`lmsdrive.backends.base.is_local_url`) is tested on real URLs below and in its doctest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lmsdrive import Config, Driver, LoadOptions
from lmsdrive._types import Progress
from lmsdrive.backends.base import is_local_url
from lmsdrive.backends.lmstudio import LMStudioBackend
from lmsdrive.backends.ollama import OllamaBackend
from lmsdrive.cli import EXIT_AUTH, main
from lmsdrive.errors import (
    AuthenticationError,
    ConfigError,
    ServerNotRunningError,
    ServerTooOldError,
)
from lmsdrive.runtimes import RUNTIMES
from lmsdrive.testing.runtime import FakeRuntime, free_port

MODEL = {"ollama": "llama3.2:3b", "lmstudio": "qwen/qwen3-4b"}
FAKE = {"ollama": "ollama", "lmstudio": "lms"}
BACKENDS = ["ollama", "lmstudio"]
#: Every backend, LM Studio with Just-In-Time loading off and on (its default).
BACKENDS_JIT = [
    pytest.param("ollama", False, id="ollama"),
    pytest.param("lmstudio", False, id="lmstudio-jit-off"),
    pytest.param("lmstudio", True, id="lmstudio-jit-on"),
]
TOKEN = "sk-lm-Abcd1234:Zyxw9876Vuts5432Rqpo"
VIA_API = " through the server's API"

Factory = Callable[..., FakeRuntime]


def make_driver(
    backend: str, *, token: str | None = None, url: str | None = None, remote: bool = True
) -> Driver:
    """A driver whose backend treats its (loopback) URL as remote (see the module doc)."""
    cfg = Config.from_env(backend=backend, model_name=MODEL[backend], api_token=token, url=url)
    extra: dict[str, Any] = {"poll_interval": 0.05} if backend == "lmstudio" else {}
    cls: Any = OllamaBackend if backend == "ollama" else LMStudioBackend
    b = cls(cfg.backend_url(), api_token=cfg.api_token, remote=remote, **extra)
    return Driver(cfg, backend=b)


def test_remote_is_any_host_but_this_machine() -> None:
    assert is_local_url("http://localhost:1234")
    assert is_local_url("http://127.0.0.1:11434")
    assert is_local_url("http://[::1]:11434")
    assert not is_local_url("http://gpu-box:11434")
    assert not is_local_url("https://ollama.com:443")
    assert not is_local_url("http://10.0.0.5:1234")
    b = OllamaBackend("http://gpu-box:11434")
    assert b.remote and b.via_api
    assert not OllamaBackend("http://127.0.0.1:11434").remote


@pytest.mark.parametrize(("backend", "lms_jit"), BACKENDS_JIT)
def test_remote_ready_needs_no_cli(fake_runtime: Factory, backend: str, lms_jit: bool) -> None:
    m = MODEL[backend]
    rt = fake_runtime(
        remote=True, server_running=True, models_loaded={FAKE[backend]: [m]}, lms_jit=lms_jit
    )
    d = make_driver(backend)
    assert not d.backend.is_installed()
    rt.reset_counts()
    report = d.ensure_ready()
    assert report.success, report.message
    assert report.steps_performed == []
    assert rt.spawn_count() == 0
    assert len(rt.requests()) <= 2


@pytest.mark.parametrize(("backend", "lms_jit"), BACKENDS_JIT)
def test_remote_download_and_load_through_the_api(
    fake_runtime: Factory, backend: str, lms_jit: bool
) -> None:
    m = MODEL[backend]
    rt = fake_runtime(
        remote=True, server_running=True, pull_seconds=0.4, pull_frames=4, lms_jit=lms_jit
    )
    d = make_driver(backend)
    events: list[Progress] = []
    steps: list[str] = []
    report = d.ensure_ready(on_progress=events.append, on_step=steps.append)
    assert report.success, report.message
    assert report.steps_performed == [
        f"Downloaded model {m}{VIA_API}",
        f"Loaded model {m}{VIA_API}",
    ]
    assert rt.spawn_count() == 0
    overall = [e.overall_percent for e in events if e.overall_percent is not None]
    assert overall == sorted(overall) and overall[-1] == 100.0
    assert len(overall) >= 3  # progress between start and end, not just the two ends
    assert any(e.total for e in events)
    paths = {f"{r['method']} {r['path']}" for r in rt.requests()}
    if backend == "ollama":
        assert "POST /api/pull" in paths
    else:
        assert "POST /api/v1/models/download" in paths
        assert any(p.startswith("GET /api/v1/models/download/status/job_") for p in paths)
        assert "POST /api/v1/models/load" in paths
        assert any(e.speed_bytes_per_s for e in events)
    loaded = d.loaded_models()
    assert [x.name for x in loaded] == [m]
    d.unload()
    assert d.loaded_models() == []


@pytest.mark.parametrize("lms_jit", [False, True], ids=["jit-off", "jit-on"])
def test_no_cli_but_local_server_answers_goes_through_the_api(
    fake_runtime: Factory, lms_jit: bool
) -> None:
    """Not remote, but no ``lms`` installed here: the API path, and the report says so."""
    rt = fake_runtime(
        remote=True, server_running=True, models_downloaded=[MODEL["lmstudio"]], lms_jit=lms_jit
    )
    d = make_driver("lmstudio", remote=False)
    report = d.ensure_ready()
    assert report.success, report.message
    assert report.steps_performed == [f"Loaded model {MODEL['lmstudio']}{VIA_API}"]
    assert rt.spawn_count() == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_remote_not_answering_names_the_url(fake_runtime: Factory, backend: str) -> None:
    rt = fake_runtime(remote=True)
    url = f"http://127.0.0.1:{free_port()}"
    report = make_driver(backend, url=url).ensure_ready()
    assert not report.success
    assert isinstance(report.error, ServerNotRunningError)
    text = str(report.error)
    assert url in text and "only on this machine" in text
    assert RUNTIMES[backend].url_variable in text
    assert rt.spawn_count() == 0


def test_old_lmstudio_remote_gets_a_clear_error(fake_runtime: Factory) -> None:
    rt = fake_runtime(
        remote=True, server_running=True, lms_rest_v1=False, models_downloaded=[MODEL["lmstudio"]]
    )
    report = make_driver("lmstudio").ensure_ready()
    assert not report.success
    assert isinstance(report.error, ServerTooOldError)
    assert "older than 0.4" in report.message and "lms get" in report.message
    assert rt.spawn_count() == 0


# ----- tokens ---------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_token_required(
    fake_runtime: Factory, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    m = MODEL[backend]
    fake_runtime(
        remote=True, server_running=True, api_token=TOKEN, models_loaded={FAKE[backend]: [m]}
    )
    names = RUNTIMES[backend].token_variables

    without = make_driver(backend).ensure_ready()
    assert not without.success
    assert isinstance(without.error, AuthenticationError)
    assert isinstance(without.error, PermissionError)
    assert all(n in without.message for n in names)

    wrong = make_driver(backend, token="sk-lm-Wrong123:Wrong456Wrong789Wrong0")
    refused = wrong.ensure_ready()
    assert isinstance(refused.error, AuthenticationError)
    assert "refused" in refused.message

    with make_driver(backend, token=TOKEN) as d:
        report = d.ensure_ready()
        assert report.success, report.message
        assert d.generate("hi").text == f"Fake {MODEL[backend]} reply to: hi"
        shown = [
            report.message,
            repr(report),
            repr(d.config),
            repr(d.backend.api),  # type: ignore[attr-defined]
            str(d.status().to_dict()),
        ]
    shown += [without.message, str(without.error), refused.message, str(refused.error)]
    shown.append(caplog.text)
    assert not [s for s in shown if TOKEN in s or "Wrong123" in s]


@pytest.mark.parametrize("backend", BACKENDS)
def test_token_from_the_environment(
    fake_runtime: Factory, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = MODEL[backend]
    fake_runtime(server_running=True, api_token=TOKEN, models_loaded={FAKE[backend]: [m]})
    monkeypatch.setenv(RUNTIMES[backend].token_variables[-1], TOKEN)
    report = Driver(Config.from_env(backend=backend, model_name=m)).ensure_ready()
    assert report.success, report.message


# ----- load options ---------------------------------------------------------------------------


def test_ollama_load_options_reach_the_request(fake_runtime: Factory) -> None:
    m = MODEL["ollama"]
    rt = fake_runtime(server_running=True, models_downloaded=[m])
    d = Driver(Config.from_env(backend="ollama", model_name=m))
    t0 = time.time()
    report = d.ensure_ready(load_options=LoadOptions(context_length=8192, ttl=600))
    assert report.success, report.message
    (inst,) = rt.state().ollama.loaded
    assert inst.context_length == 8192
    assert inst.expires_at is not None and 590 < inst.expires_at - t0 < 660
    with pytest.raises(ConfigError, match="identifier"):
        d.load(options=LoadOptions(identifier="mine"))
    d.unload()
    assert rt.state().ollama.live_loaded() == []


def test_lms_load_options_reach_the_argv(fake_runtime: Factory) -> None:
    m = MODEL["lmstudio"]
    rt = fake_runtime(server_running=True, models_downloaded=[m])
    d = Driver(Config.from_env(backend="lmstudio", model_name=m))
    opts = LoadOptions(context_length=8192, gpu="max", ttl=600, identifier="mine")
    assert d.ensure_ready(load_options=opts).success
    (argv,) = [s["argv"] for s in rt.spawns() if s["argv"][1:2] == ["load"]]
    assert argv[-8:] == [
        "--context-length",
        "8192",
        "--gpu",
        "max",
        "--ttl",
        "600",
        "--identifier",
        "mine",
    ]
    (inst,) = rt.state().lms.loaded
    assert (inst.identifier, inst.context_length, inst.ttl_seconds) == ("mine", 8192, 600)
    d.unload("mine")
    assert rt.state().lms.live_loaded() == []


def test_lms_rest_v1_load_options(fake_runtime: Factory) -> None:
    m = MODEL["lmstudio"]
    rt = fake_runtime(remote=True, server_running=True, models_downloaded=[m])
    d = make_driver("lmstudio")
    loaded = d.load(options=LoadOptions(context_length=8192))
    assert loaded.identifier == m
    (inst,) = rt.state().lms.loaded
    assert inst.context_length == 8192
    with pytest.raises(ConfigError, match="ttl"):
        d.load(options=LoadOptions(ttl=60))


def test_lms_server_start_bind_and_cors(fake_runtime: Factory) -> None:
    rt = fake_runtime()
    b = LMStudioBackend(Config.from_env(backend="lmstudio").backend_url())
    started = b.start(timeout=30, bind="127.0.0.1", cors=True)
    assert not started.already_running
    (argv,) = [s["argv"] for s in rt.spawns() if s["argv"][1:3] == ["server", "start"]]
    assert argv[3:] == ["--port", str(rt.lms_port), "--bind", "127.0.0.1", "--cors"]


def test_load_options_are_checked() -> None:
    with pytest.raises(ConfigError):
        LoadOptions(gpu=1.5)
    with pytest.raises(ConfigError):
        LoadOptions(identifier="--evil")
    with pytest.raises(ConfigError):
        LoadOptions(ttl=0)
    assert LoadOptions(gpu="0.25").gpu == 0.25
    assert LoadOptions().empty


# ----- the CLI and the MCP shim ---------------------------------------------------------------


def test_cli_token_file_and_auth_exit_status(
    fake_runtime: Factory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    m = MODEL["lmstudio"]
    fake_runtime(server_running=True, api_token=TOKEN, models_loaded={"lms": [m]})
    for name in RUNTIMES["lmstudio"].token_variables:
        monkeypatch.delenv(name, raising=False)
    base = ["--backend", "lmstudio", "--model", m]
    assert main([*base, "init", "--json"]) == EXIT_AUTH
    out, err = capsys.readouterr()
    assert "LM_API_TOKEN" in out + err
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    assert main([*base, "--token-file", str(token_file), "init", "--json"]) == 0
    assert main([*base, "status", "--json", "--token-file", str(token_file)]) == 0
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    assert main([*base, "--token-file", str(tmp_path / "missing"), "init"]) == 2
    assert "--token-file" in capsys.readouterr().err


def test_cli_load_flags(fake_runtime: Factory, capsys: pytest.CaptureFixture[str]) -> None:
    m = MODEL["lmstudio"]
    rt = fake_runtime(server_running=True, models_downloaded=[m])
    argv = ["--backend", "lmstudio", "load", m, "--context-length", "2048", "--ttl", "30"]
    assert main([*argv, "--gpu", "0.5", "--identifier", "cli-id"]) == 0
    (inst,) = rt.state().lms.loaded
    assert (inst.identifier, inst.context_length, inst.ttl_seconds) == ("cli-id", 2048, 30)
    assert main(["--backend", "lmstudio", "load", m, "--gpu", "lots"]) == 2
    assert "gpu" in capsys.readouterr().err


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_mcp_init_llm_load_options(
    fake_runtime: Factory, monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    from mcp import Client

    from lmsdrive.mcp_server import create_server

    m = MODEL["ollama"]
    rt = fake_runtime(server_running=True, models_downloaded=[m])
    monkeypatch.setenv("BACKEND", "ollama")
    monkeypatch.setenv("MODEL_NAME", m)
    async with Client(create_server(), raise_exceptions=True) as client:
        result = await client.call_tool("init_llm", {"context_length": 4321, "ttl": 120})
        assert not result.is_error
        bad = await client.call_tool("init_llm", {"gpu": "lots"})
        assert bad.is_error
    (inst,) = rt.state().ollama.loaded
    assert inst.context_length == 4321


# ----- the HTTP clients -----------------------------------------------------------------------


def test_clients_send_the_token_on_every_request_and_never_show_it() -> None:
    import httpx

    from lmsdrive.http import LMStudioAPI, OllamaAPI

    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization"))
        if request.url.path == "/api/tags":
            return httpx.Response(200, json={"models": []})
        return httpx.Response(401, json={"error": "unauthorized"})

    api = OllamaAPI("http://gpu-box:11434", api_token=TOKEN, transport=httpx.MockTransport(answer))
    assert api.tags().models == []
    with pytest.raises(AuthenticationError) as info:
        api.ps()
    assert seen == [f"Bearer {TOKEN}"] * 2
    assert "OLLAMA_API_KEY" in str(info.value) and "refused" in str(info.value)
    assert TOKEN not in str(info.value) + repr(api) + repr(info.value)

    def lms(request: httpx.Request) -> httpx.Response:  # the observed body, with HTTP 200
        from lmsdrive.testing.fake_server import LMS_TOKEN_REQUIRED

        return httpx.Response(200, json=LMS_TOKEN_REQUIRED)

    client = LMStudioAPI("http://gpu-box:1234", transport=httpx.MockTransport(lms))
    with pytest.raises(AuthenticationError, match="LM_API_TOKEN or LMSTUDIO_API_TOKEN"):
        client.models_v1()


def test_load_options_a_runtime_cannot_honour_are_refused_before_any_work(
    fake_runtime: Callable[..., FakeRuntime],
) -> None:
    """Ollama has no instance identifiers: `init --identifier` is refused at once, before the
    server is started or the model downloaded (it used to fail only after the download)."""
    rt = fake_runtime()
    with Driver(Config.from_env(backend="ollama", model_name="llama3.2:3b")) as d:
        report = d.ensure_ready(load_options=LoadOptions(identifier="mine"))
    assert not report.success and isinstance(report.error, ConfigError)
    assert "identifier" in report.message and report.steps_performed == []
    assert rt.spawn_count() == 0 and rt.state().ollama.downloaded == []


# ----- a local Ollama that wants a token: downloads go through the API with it ---------------


def test_ollama_pull_with_a_token_goes_through_the_api(
    fake_runtime: Factory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `ollama pull` sends no token: with one configured, POST /api/pull carries it (never argv).
    rt = fake_runtime(server_running=True, api_token=TOKEN)
    monkeypatch.setenv("OLLAMA_API_KEY", TOKEN)
    assert main(["pull", "--backend", "ollama", "--model", MODEL["ollama"]]) == 0
    with Driver(Config.from_env(backend="ollama", model_name="qwen2.5:0.5b")) as d:
        report = d.ensure_ready()
    assert report.steps_performed[0] == f"Downloaded model qwen2.5:0.5b{VIA_API}"
    assert MODEL["ollama"] in [m.name for m in rt.state().ollama.downloaded]
    assert [r for r in rt.requests() if r["path"] == "/api/pull"]
    assert not [s for s in rt.spawns() if "pull" in s["argv"]]
    assert not [s for s in rt.spawns() if any(TOKEN in a for a in s["argv"])]
    with Driver(Config.from_env(backend="ollama", model_name="smollm2:135m")) as d:
        assert list(d.pull())[-1].phase == "done"
    assert TOKEN not in capsys.readouterr().err


def test_ollama_pull_refused_for_want_of_a_token_is_an_auth_error(
    fake_runtime: Factory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # No token configured: `ollama pull` gets "401 Unauthorized" from the server (exit 8).
    fake_runtime(server_running=True, api_token=TOKEN)
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    with (
        Driver(Config.from_env(backend="ollama", model_name=MODEL["ollama"])) as d,
        pytest.raises(AuthenticationError, match="OLLAMA_API_KEY") as caught,
    ):
        list(d.pull())
    assert "401" in str(caught.value) and "disk space" not in str(caught.value)
    assert main(["pull", "--backend", "ollama", "--model", MODEL["ollama"]]) == EXIT_AUTH
    assert "OLLAMA_API_KEY" in capsys.readouterr().err
