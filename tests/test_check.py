"""The read-only health check (issue 14 item 1): ``Driver.check()`` and ``lmsdrive check``
against the fake runtimes, both backends, local and remote (the fake ``ollama``/``lms`` off
PATH and the backend told its URL is remote, as in test_remote)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from lmsdrive import AsyncDriver, CheckResult, Config, Driver
from lmsdrive.backends.lmstudio import LMStudioBackend
from lmsdrive.backends.ollama import OllamaBackend
from lmsdrive.cli import (
    EXIT_AUTH,
    EXIT_MODEL_NOT_FOUND,
    EXIT_NOT_LOADED,
    EXIT_NOT_RUNNING,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    main,
)
from lmsdrive.runtimes import RUNTIMES
from lmsdrive.testing.runtime import FakeRuntime

Factory = Callable[..., FakeRuntime]
MODEL = {"ollama": "llama3.2:1b", "lmstudio": "qwen/qwen3-8b"}
OTHER = {"ollama": "qwen3:0.6b", "lmstudio": "qwen/qwen3-4b"}
FAKE = {"ollama": "ollama", "lmstudio": "lms"}
BACKENDS = ["ollama", "lmstudio"]
TOKEN = "sk-lm-Abcd1234:Zyxw9876Vuts5432Rqpo"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("BACKEND", "MODEL_NAME", "MODEL_SOURCE", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    for spec in RUNTIMES.values():
        for var in spec.token_variables:
            monkeypatch.delenv(var, raising=False)


def driver(backend: str, *, remote: bool, token: str | None = None, models: str = "") -> Driver:
    cfg = Config.from_env(backend=backend, model_name=models or MODEL[backend], api_token=token)
    cls: Any = OllamaBackend if backend == "ollama" else LMStudioBackend
    return Driver(cfg, backend=cls(cfg.backend_url(), api_token=token, remote=remote))


def checked(rt: FakeRuntime, d: Driver, **kw: Any) -> CheckResult:
    """``d.check(**kw)``, asserting it spawned nothing and made at most two requests
    (without ``answer``)."""
    rt.reset_counts()  # (requests and spawns)
    result = d.check(**kw)
    assert rt.spawn_count() == 0, "a check spawned a process"
    if not kw.get("answer"):
        assert len(rt.requests()) <= 2, rt.requests()
    return result


@pytest.mark.parametrize("remote", [False, True], ids=["local", "remote"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_check_each_state_read_only(fake_runtime: Factory, backend: str, remote: bool) -> None:
    m = MODEL[backend]
    rt = fake_runtime(remote=remote, models_downloaded={FAKE[backend]: [m]})
    d = driver(backend, remote=remote)
    down = checked(rt, d)
    assert (down.ok, down.problem, down.server_up) == (False, "server_down", False)
    # the message every face shows: where, and what to do (never circular advice)
    assert down.message.startswith(f"{d.backend.display_name} server at {d.backend.url} ")
    tail = "lmsdrive starts servers only on this machine" if remote else d.config.runtime.start_hint
    assert tail in down.message, down.message
    rt.start_server(FAKE[backend])
    present = checked(rt, d)
    assert present.problem == "not_loaded" and present.models[0].downloaded is True
    assert present.models[0].loaded is False
    missing = checked(rt, d, models=[OTHER[backend]])
    assert missing.problem == "model_missing" and missing.models[0].downloaded is False
    d.load(m)
    ready = checked(rt, d)
    assert ready.ok and ready.problem is None and ready.auth_ok is True
    assert ready.url == rt.url(FAKE[backend]) and ready.seconds > 0
    assert ready.models[0].loaded is True and ready.models[0].answered is None
    both = checked(rt, d, models=[m, OTHER[backend]])  # still two requests at most
    assert [c.ok for c in both.models] == [True, False] and both.problem == "model_missing"
    assert d.check(answer=True).models[0].answered is True


@pytest.mark.parametrize("backend", BACKENDS)
def test_check_cli_exit_statuses(
    fake_runtime: Factory, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    m, fake = MODEL[backend], FAKE[backend]
    rt = fake_runtime(models_downloaded={fake: [m]})
    base = ["--backend", backend, "check", "--model", m]
    assert main(base) == EXIT_NOT_RUNNING
    assert rt.spawn_count() == 0  # never starts a server
    rt.start_server(fake)
    assert main(base) == EXIT_NOT_LOADED
    assert main(["--backend", backend, "check", "--model", OTHER[backend]]) == (
        EXIT_MODEL_NOT_FOUND
    )
    assert main(["--backend", backend, "load", m]) == EXIT_OK
    capsys.readouterr()
    rt.reset_counts()
    assert main(base) == EXIT_OK
    assert len(rt.requests()) <= 2 and rt.spawn_count() == 0
    assert "is ready" in capsys.readouterr().out
    assert main([*base, "--answer"]) == EXIT_OK
    rt.set(token_seconds=2.0)
    assert main([*base, "--answer", "--timeout", "0.3"]) == EXIT_TIMEOUT
    assert "did not answer within 0.3 s" in capsys.readouterr().err
    # Several models: the worst status (a missing model before one not loaded).
    assert main([*base, "--model", OTHER[backend]]) == EXIT_MODEL_NOT_FOUND


@pytest.mark.parametrize("backend", BACKENDS)
def test_check_auth_is_exit_8_and_never_shows_the_token(
    fake_runtime: Factory, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    m = MODEL[backend]
    rt = fake_runtime(remote=True, server_running=True, api_token=TOKEN, models_loaded=[m])
    result = checked(rt, driver(backend, remote=True))
    assert (result.problem, result.server_up, result.auth_ok) == ("auth", True, False)
    assert checked(rt, driver(backend, remote=True, token=TOKEN)).ok
    assert main(["--backend", backend, "check", "--model", m]) == EXIT_AUTH
    assert main(["--backend", backend, "check", "--model", m, "--json"]) == EXIT_AUTH
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    last = json.loads(out.splitlines()[-1])
    assert (last["event"], last["exit_status"], last["auth_ok"]) == ("result", EXIT_AUTH, False)


def test_check_without_a_model_is_a_usage_error(fake_runtime: Factory) -> None:
    fake_runtime(server_running=True)
    assert main(["check"]) == EXIT_USAGE


def test_check_json_events(fake_runtime: Factory, capsys: pytest.CaptureFixture[str]) -> None:
    m = MODEL["ollama"]
    fake_runtime(server_running=True, models_loaded=[m])
    assert main(["check", "--model", m, "--model", OTHER["ollama"], "--json"]) == (
        EXIT_MODEL_NOT_FOUND
    )
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in events] == ["begin", "model", "model", "result"]
    first, second, result = events[1], events[2], events[3]
    assert (first["model"], first["ok"], first["exit_status"], first["loaded"]) == (
        m,
        True,
        0,
        True,
    )
    assert (second["problem"], second["exit_status"]) == ("model_missing", EXIT_MODEL_NOT_FOUND)
    assert result["exit_status"] == EXIT_MODEL_NOT_FOUND and result["ok"] is False
    assert all(e["ts"].endswith("+00:00") for e in events)


def test_async_check(fake_runtime: Factory) -> None:
    m = MODEL["ollama"]
    fake_runtime(server_running=True, models_loaded=[m])

    async def main() -> tuple[CheckResult, CheckResult]:
        async with AsyncDriver(Config.from_env(model_name=m)) as d:
            return await d.check(), await d.check([OTHER["ollama"]])

    ready, missing = asyncio.run(main())
    assert ready.ok and missing.problem == "model_missing"


def test_answer_leaves_how_long_the_model_stays_loaded(fake_runtime: Factory) -> None:
    """Ollama resets a model's expiry to its default (5 minutes) on any request without
    ``keep_alive``: ``check --answer`` sends what the model had left."""
    m = MODEL["ollama"]
    fake_runtime(server_running=True, models_downloaded=[m])
    with Driver(Config.from_env(model_name=m)) as d:
        api: Any = d.backend.api  # type: ignore[attr-defined]
        api.load(m, keep_alive=-1)  # kept loaded forever
        forever = [p.expires_at for p in api.ps().models]
        assert d.check(answer=True).ok
        assert [p.expires_at for p in api.ps().models] == forever
        api.load(m, keep_alive="1h")
        assert d.check(answer=True).ok
        (left,) = [p.expires_at for p in api.ps().models]
        from lmsdrive.backends.ollama import keep_alive_left

        assert 3500 < (keep_alive_left(left) or 0) <= 3600
