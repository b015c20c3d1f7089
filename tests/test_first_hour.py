"""A new user's first hour (issue 20, library side): the configuration honours the
environment, an unreachable server says where it is and what to do, AsyncDriver is the
Driver's twin, and the messages about models say the next step."""

from __future__ import annotations

import logging
import re
import socket
import subprocess
import sys
from collections.abc import Callable

import pytest

from lmsdrive import Config, Driver
from lmsdrive.cli import (
    EXIT_MODEL_NOT_FOUND,
    EXIT_NOT_INSTALLED,
    EXIT_NOT_RUNNING,
    EXIT_USAGE,
    main,
)
from lmsdrive.errors import InvalidModelNameError, ModelNotFoundError, ServerNotRunningError
from lmsdrive.runtimes import RUNTIMES
from lmsdrive.testing import FakeRuntime

FakeRuntimeFactory = Callable[..., FakeRuntime]
#: The fake CLI of each backend.
FAKE = {"ollama": "ollama", "lmstudio": "lms"}


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
    monkeypatch.setenv("MODEL_NAME", "qwen/qwen3-8b")
    monkeypatch.setenv("LMSTUDIO_URL", "http://lm-box:1234")
    monkeypatch.setenv("LMSTUDIO_API_TOKEN", "lm-token")
    lm = Config()
    assert (lm.backend, lm.model_name, lm.backend_url(), lm.api_token) == (
        "lmstudio",
        "qwen/qwen3-8b",
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


# -- 2. An unreachable server: where it is, and a next step that works ---------------------
def dead_port() -> int:
    """A port nothing listens on: bound, then closed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def cli(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lmsdrive", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


REMOTE_ADVICE = "lmsdrive starts servers only on this machine"


@pytest.mark.parametrize(
    ("command", "status"),
    [(["chat"], 4), (["generate", "hi"], 4), (["init"], 4), (["status"], 0)],
)
def test_cli_remote_dead_server_names_the_url_and_no_circular_advice(
    command: list[str], status: int
) -> None:
    url = f"http://127.1:{dead_port()}"  # another loopback address: a remote server
    p = cli(["--url", url, "--model", "llama3.2:1b", *command], stdin="hi\n")
    assert p.returncode == status, p.stderr
    assert f"Ollama server at {url} does not answer" in p.stderr
    assert REMOTE_ADVICE in p.stderr and "OLLAMA_HOST" in p.stderr
    assert "lmsdrive init" not in p.stderr and "not installed" not in p.stderr
    assert "Traceback" not in p.stderr


def test_cli_local_dead_server_without_the_runtime_does_not_send_the_user_to_init(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://127.0.0.1:{dead_port()}"
    assert main(["--url", url, "--model", "llama3.2:1b", "generate", "hi"]) == EXIT_NOT_RUNNING
    err = capsys.readouterr().err
    assert f"Ollama server at {url} does not answer" in err
    assert "lmsdrive cannot start one" in err and RUNTIMES["ollama"].install_hint in err
    assert "lmsdrive init" not in err
    assert main(["--url", url, "--model", "llama3.2:1b", "init"]) == EXIT_NOT_INSTALLED
    assert RUNTIMES["ollama"].install_hint in capsys.readouterr().err


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
def test_local_dead_server_with_the_runtime_installed_suggests_init(
    fake_runtime: FakeRuntimeFactory, capsys: pytest.CaptureFixture[str], backend: str
) -> None:
    rt = fake_runtime()
    model = {"ollama": "llama3.2:3b", "lmstudio": "qwen/qwen3-4b"}[backend]
    assert main(["--backend", backend, "--model", model, "generate", "hi"]) == EXIT_NOT_RUNNING
    err = capsys.readouterr().err
    name = RUNTIMES[backend].display_name
    assert f"{name} server at {rt.url(FAKE[backend])} does not answer" in err
    assert "lmsdrive init" in err


def test_library_report_and_mcp_shim_show_the_same_message() -> None:
    url = f"http://127.1:{dead_port()}"
    with Driver(Config(backend="lmstudio", model_name="qwen/qwen3-4b", url=url)) as d:
        report = d.ensure_ready()
        with pytest.raises(ServerNotRunningError) as info:
            d.models()
    assert isinstance(report.error, ServerNotRunningError)
    for message in (report.message, str(info.value)):
        assert message.startswith(f"LM Studio server at {url} does not answer")
        assert REMOTE_ADVICE in message
    assert info.value.url == url and not info.value.startable
    mcp_server = pytest.importorskip("lmsdrive.mcp_server", reason="the MCP shim needs `mcp`")
    shown = mcp_server.message_for("lmstudio", "qwen/qwen3-4b", info.value)
    assert shown == str(info.value) and "init_llm" not in shown


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
def test_server_killed_mid_download_says_where_the_download_stopped(
    fake_runtime: FakeRuntimeFactory, backend: str
) -> None:
    fake_runtime(server_running=True, pull_dies_at_percent=40, pull_seconds=0.5)
    model = {"ollama": "llama3.2:3b", "lmstudio": "qwen/qwen3-4b"}[backend]
    seen: list[float] = []
    with Driver(Config(backend=backend, model_name=model)) as d:
        report = d.ensure_ready(
            on_progress=lambda e: seen.append(e.overall_percent or e.percent or 0.0)
        )
    assert isinstance(report.error, ServerNotRunningError)
    stopped = re.search(r"The download of \S+ stopped at (\d+)%: ", report.message)
    assert stopped, report.message
    assert int(stopped.group(1)) == int(max(seen)) and 0 < int(stopped.group(1)) <= 40
    assert "does not answer" in report.message


# -- 9. Messages about models --------------------------------------------------------------
def test_pull_of_a_missing_model_through_the_api_gives_its_advice_once(
    fake_runtime: FakeRuntimeFactory,
) -> None:
    fake_runtime(backends=["ollama"], server_running=True, remote=True)  # no CLI: the API
    with Driver(Config(backend="ollama", model_name="nosuch:1b")) as d:
        report = d.ensure_ready()
    assert isinstance(report.error, ModelNotFoundError)
    assert report.message.count("Check the name and tag") == 1, report.message
    assert "file does not exist" in report.message


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
def test_a_catalog_miss_never_suggests_the_name_that_failed(backend: str) -> None:
    spec = RUNTIMES[backend]
    assert len(spec.model_examples) >= 2
    for name in spec.model_examples:
        message = spec.model_not_found(name, "not found")
        hint = message.partition(". ")[2]
        assert name not in hint and "{example}" not in hint, message
        assert any(other in hint for other in spec.model_examples if other != name)


@pytest.mark.parametrize(("backend", "model"), [("ollama", "nosuch:1b"), ("lmstudio", "no/such")])
def test_load_of_a_model_not_downloaded_says_pull_it(
    fake_runtime: FakeRuntimeFactory,
    capsys: pytest.CaptureFixture[str],
    backend: str,
    model: str,
) -> None:
    fake_runtime(server_running=True)
    assert main(["--backend", backend, "load", model]) == EXIT_MODEL_NOT_FOUND
    err = capsys.readouterr().err
    assert f"Model '{model}' is not downloaded in {RUNTIMES[backend].display_name}" in err
    assert f"Run `lmsdrive pull {model}` to download it." in err


@pytest.mark.parametrize("other_loaded", [False, True], ids=["nothing-loaded", "another-loaded"])
def test_lmstudio_generate_of_a_downloaded_model_not_loaded_says_load_it(
    fake_runtime: FakeRuntimeFactory, capsys: pytest.CaptureFixture[str], other_loaded: bool
) -> None:
    fake_runtime(
        server_running=True,
        models_downloaded=["qwen/qwen3-4b", "google/gemma-3-1b"],
        models_loaded=["google/gemma-3-1b"] if other_loaded else [],
        lms_jit=False,  # with JIT (LM Studio's default) the request loads the model
    )
    argv = ["--backend", "lmstudio", "--model", "qwen/qwen3-4b", "generate", "hi"]
    assert main(argv) == EXIT_MODEL_NOT_FOUND
    err = capsys.readouterr().err
    assert "Model 'qwen/qwen3-4b' is downloaded but not loaded in LM Studio" in err
    assert "Run `lmsdrive load qwen/qwen3-4b` to load it." in err
    assert "HTTP 4" not in err.splitlines()[-1]


# -- 10. No silent conversions, no noise ---------------------------------------------------
@pytest.mark.parametrize("name", ["llama3.2:1b", "qwen3:latest", "registry.example.com/ns/m:1"])
def test_lmstudio_refuses_an_ollama_name_instead_of_inventing_a_quantization(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    cfg = Config(backend="lmstudio", model_name=name, env={})  # refused where it is used:
    with pytest.raises(InvalidModelNameError, match="LM Studio names a model by its key"):
        cfg.model_for_backend()
    assert Config(backend="ollama", model_name=name, env={}).model_for_backend() == name
    assert main(["--backend", "lmstudio", "--model", name, "status"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "as a quantization" in err and "Traceback" not in err


def test_lmstudio_says_once_that_user_repo_tag_becomes_user_repo_at_quant(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="lmsdrive"):
        for _ in range(3):
            cfg = Config(backend="lmstudio", model_name="someone/Some-GGUF:Q5_K_M", env={})
            assert cfg.model_for_backend() == "someone/Some-GGUF@Q5_K_M"
        hf = Config(backend="lmstudio", model_name="hf.co/someone/Other-GGUF:Q4_K_M", env={})
        assert hf.model_for_backend() == "someone/Other-GGUF@Q4_K_M"
    said = [r.getMessage() for r in caplog.records if r.name == "lmsdrive"]
    assert said == [
        "LM Studio takes 'someone/Some-GGUF:Q5_K_M' as 'someone/Some-GGUF@Q5_K_M' "
        "(the tag 'Q5_K_M' as its quantization)"
    ]


def test_an_lms_without_the_daemon_command_is_a_fact_said_once(
    fake_runtime: FakeRuntimeFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = fake_runtime(server_running=True, lms_daemon_command=False)
    with Driver(Config(backend="lmstudio", model_name="qwen/qwen3-4b")) as d:
        first, second = d.status(), d.status()
        assert d.daemon_status() is None
    for st in (first, second):
        assert st.daemon is None and st.problems == []
        assert [n for n in st.notes if "no `daemon` command" in n] == [st.notes[0]]
    asked = [s["argv"] for s in rt.spawns() if s["argv"][1:2] == ["daemon"]]
    assert len(asked) == 1, asked
    assert main(["--backend", "lmstudio", "--model", "qwen/qwen3-4b", "status"]) == 0
    out, err = capsys.readouterr()
    assert "no `daemon` command" in out and "older than 0.4" in out
    assert "daemon" not in err and "failed" not in err
    assert main(["--backend", "lmstudio", "daemon", "status"]) == 0
    assert "no `daemon` command" in capsys.readouterr().out
