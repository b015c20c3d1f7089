"""A new user's first hour (issue 20, library side): the configuration honours the
environment, an unreachable server says where it is and what to do, AsyncDriver is the
Driver's twin, and the messages about models say the next step."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lmsdrive import Config, Driver
from lmsdrive.testing import FakeRuntime

FakeRuntimeFactory = Callable[..., FakeRuntime]


# -- 1. Config(...) honours the environment ------------------------------------------------
def test_config_arguments_win_and_the_rest_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "gpu-box:9999")
    monkeypatch.setenv("OLLAMA_API_KEY", "s3cret")
    monkeypatch.setenv("MODEL_NAME", "qwen3:8b")
    monkeypatch.setenv("MODEL_SOURCE", "huggingface")
    cfg = Config(backend="ollama", model_name="llama3.2:3b")
    assert cfg.backend_url() == "http://gpu-box:9999"
    assert cfg.api_token == "s3cret"
    assert (cfg.model_name, cfg.model_source) == ("llama3.2:3b", "huggingface")
    given = Config(url="http://other:1", api_token="mine", model_source="ollama")
    assert (given.backend_url(), given.api_token, given.model_source) == (
        "http://other:1",
        "mine",
        "ollama",
    )
    monkeypatch.setenv("BACKEND", "lmstudio")
    monkeypatch.setenv("LMSTUDIO_URL", "http://lm-box:1234")
    monkeypatch.setenv("LMSTUDIO_API_TOKEN", "lm-token")
    lm = Config()
    assert (lm.backend, lm.backend_url(), lm.api_token) == (
        "lmstudio",
        "http://lm-box:1234",
        "lm-token",
    )
    assert "lm-token" not in repr(lm)


def test_config_with_an_empty_env_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "gpu-box:9999")
    monkeypatch.setenv("OLLAMA_API_KEY", "s3cret")
    pure = Config(model_name="llama3.2:3b", env={})
    assert (pure.backend_url(), pure.api_token) == ("http://127.0.0.1:11434", None)
    assert Config.from_env({}, model_name="llama3.2:3b") == pure


def test_readme_chat_example_goes_to_the_server_ollama_host_names(
    fake_runtime: FakeRuntimeFactory,
) -> None:
    rt = fake_runtime(backends=["ollama"], server_running=True, models_loaded=["llama3.2:3b"])
    with Driver(Config(backend="ollama", model_name="llama3.2:3b")) as driver:
        assert driver.backend.url == rt.ollama_url
        reply = driver.chat([{"role": "user", "content": "Why is the sky blue?"}])
    assert reply.text
