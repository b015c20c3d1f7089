"""Deleting a downloaded model (issue 15): Ollama through ``DELETE /api/delete``; LM Studio
has no delete in ``lms`` or its APIs, so it is refused before any request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest

from lmsdrive import Config, Driver
from lmsdrive.async_driver import AsyncDriver
from lmsdrive.cli import main
from lmsdrive.errors import CapabilityError, ModelNotFoundError
from lmsdrive.http.ollama import OllamaAPI
from lmsdrive.testing.runtime import FakeRuntime

MakeRuntime = Callable[..., FakeRuntime]
OLLAMA_MODEL = "llama3.2:3b"
LMS_MODEL = "qwen/qwen3-4b"


def test_client_sends_delete_and_reads_the_404_body() -> None:
    seen: list[tuple[str, dict[str, str]]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append((request.method, body))
        if body["model"] == "gone:1b":
            # the server's wording since v0.5.2 (reference: show/delete use it)
            return httpx.Response(404, json={"error": "model 'gone:1b' not found"})
        return httpx.Response(200)  # success: HTTP 200, empty body

    with OllamaAPI(transport=httpx.MockTransport(answer)) as api:
        api.delete("llama3.2:3b")
        with pytest.raises(ModelNotFoundError, match="model 'gone:1b' not found"):
            api.delete("gone:1b")
    assert seen[0] == ("DELETE", {"model": "llama3.2:3b", "name": "llama3.2:3b"})


def test_ollama_delete_unloads_then_deletes(fake_runtime: MakeRuntime) -> None:
    rt = fake_runtime(server_running=True, models_loaded={"ollama": [OLLAMA_MODEL]})
    with Driver(Config.from_env(backend="ollama", model_name=OLLAMA_MODEL)) as d:
        assert [m.name for m in d.loaded_models()] == [OLLAMA_MODEL]
        rt.reset_counts()
        d.delete()
        calls = [(r["method"], r["path"]) for r in rt.requests("ollama")]
        assert calls == [
            ("GET", "/api/ps"),
            ("POST", "/api/generate"),  # unload first, as `ollama rm` does
            ("DELETE", "/api/delete"),
        ]
        assert d.models() == [] and d.loaded_models() == []


def test_ollama_delete_of_a_missing_model_says_it_is_not_there(
    fake_runtime: MakeRuntime,
) -> None:
    fake_runtime(server_running=True)
    with (
        Driver(Config.from_env(backend="ollama")) as d,
        pytest.raises(
            ModelNotFoundError, match=r"Model 'nosuch:1b' is not downloaded in Ollama .*: nothing"
        ),
    ):
        d.delete("nosuch:1b")


def test_lmstudio_delete_is_refused_before_any_request(fake_runtime: MakeRuntime) -> None:
    rt = fake_runtime(server_running=True, models_downloaded={"lms": [LMS_MODEL]})
    rt.reset_counts()
    with (
        Driver(Config.from_env(backend="lmstudio", model_name=LMS_MODEL)) as d,
        pytest.raises(CapabilityError, match="LM Studio cannot delete a model"),
    ):
        d.delete()
    assert rt.requests() == [] and rt.spawn_count() == 0
    assert [m.name for m in rt.state().backend("lms").downloaded] == [LMS_MODEL]


def test_cli_rm(fake_runtime: MakeRuntime, capsys: pytest.CaptureFixture[str]) -> None:
    fake_runtime(server_running=True, models_downloaded=[OLLAMA_MODEL, LMS_MODEL])
    assert main(["rm", OLLAMA_MODEL]) == 0
    assert f"Deleted {OLLAMA_MODEL}" in capsys.readouterr().out
    assert main(["rm", OLLAMA_MODEL]) == 5  # gone now: not available
    assert main(["--backend", "lmstudio", "rm", LMS_MODEL]) == 1
    err = capsys.readouterr().err
    assert "LM Studio cannot delete a model" in err and "Traceback" not in err


def test_async_driver_delete(fake_runtime: MakeRuntime) -> None:
    rt = fake_runtime(server_running=True, models_downloaded={"ollama": [OLLAMA_MODEL]})

    async def go() -> None:
        async with AsyncDriver(Config.from_env(backend="ollama")) as d:
            await d.delete(OLLAMA_MODEL)

    asyncio.run(go())
    assert rt.state().backend("ollama").downloaded == []
