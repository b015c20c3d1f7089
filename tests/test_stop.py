"""``init --stop-after`` and ``lmsdrive stop`` (issue 14, item 4): real ``lmsdrive``
processes against the fakes. lmsdrive stops a server it started, never one it found."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from lmsdrive import Config, Driver
from lmsdrive.errors import NotStartedByLmsdriveError
from lmsdrive.testing.runtime import FakeRuntime

MakeRuntime = Callable[..., FakeRuntime]
NOT_OURS = 11


def _run(
    rt: FakeRuntime, state: Path, backend: str, *argv: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in rt.env.items() if not k.startswith(("LMSDRIVE_STATE", "XDG_"))}
    env.update(LMSDRIVE_STATE_DIR=str(state), BACKEND=backend)
    return subprocess.run(
        [sys.executable, "-m", "lmsdrive", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
    except httpx.TransportError:
        return False
    return True


MODELS = {"ollama": "llama3.2:1b", "lmstudio": "qwen/qwen3-4b"}


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
def test_init_stop_after_stops_the_server_it_started(
    fake_runtime: MakeRuntime, tmp_path: Path, backend: str
) -> None:
    rt = fake_runtime(pull_seconds=0.2)
    url = rt.url("lms" if backend == "lmstudio" else "ollama")
    done = _run(rt, tmp_path, backend, "init", "--stop-after", MODELS[backend])
    assert done.returncode == 0, done.stderr
    assert "server init started" in done.stdout
    assert not _answers(url)
    side = rt.state().lms if backend == "lmstudio" else rt.state().ollama
    assert [m.name for m in side.downloaded] == [MODELS[backend]]  # the model stays
    assert list((tmp_path / "started").glob("*.json")) == []


def test_init_stop_after_brings_down_the_daemon_it_brought_up(
    fake_runtime: MakeRuntime, tmp_path: Path
) -> None:
    rt = fake_runtime(pull_seconds=0.2, lms_daemon_down=True)
    done = _run(rt, tmp_path, "lmstudio", "init", "--stop-after", "qwen/qwen3-4b")
    assert done.returncode == 0, done.stderr
    assert not rt.state().lms.service_running
    assert any(s["argv"] == ["lms", "daemon", "down"] for s in rt.spawns())


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
def test_init_stop_after_leaves_a_server_it_found_running(
    fake_runtime: MakeRuntime, tmp_path: Path, backend: str
) -> None:
    rt = fake_runtime(server_running=True, pull_seconds=0.2)
    url = rt.url("lms" if backend == "lmstudio" else "ollama")
    done = _run(rt, tmp_path, backend, "init", "--stop-after", MODELS[backend])
    assert done.returncode == 0, done.stderr
    assert "server init started" not in done.stdout
    assert _answers(url)


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
def test_stop_refuses_a_server_lmsdrive_did_not_start(
    fake_runtime: MakeRuntime, tmp_path: Path, backend: str
) -> None:
    rt = fake_runtime(server_running=True)
    done = _run(rt, tmp_path, backend, "stop")
    assert done.returncode == NOT_OURS
    assert "was not started by lmsdrive" in done.stderr
    assert _answers(rt.url("lms" if backend == "lmstudio" else "ollama"))


def test_stop_stops_what_an_earlier_init_started(fake_runtime: MakeRuntime, tmp_path: Path) -> None:
    rt = fake_runtime(models_downloaded=["llama3.2:1b"])
    assert _run(rt, tmp_path, "ollama", "init", "llama3.2:1b").returncode == 0
    assert _answers(rt.ollama_url)
    done = _run(rt, tmp_path, "ollama", "stop")
    assert done.returncode == 0, done.stderr
    assert "Stopped the Ollama server" in done.stdout
    assert not _answers(rt.ollama_url)
    again = _run(rt, tmp_path, "ollama", "stop")
    assert (again.returncode, "No Ollama server" in again.stdout) == (0, True)


def test_a_server_restarted_by_someone_else_is_not_ours(
    fake_runtime: MakeRuntime, tmp_path: Path
) -> None:
    rt = fake_runtime(models_downloaded=["llama3.2:1b"])
    assert _run(rt, tmp_path, "ollama", "init", "llama3.2:1b").returncode == 0
    rt.stop_server("ollama")  # the one lmsdrive started dies ...
    rt.start_server("ollama")  # ... and something else starts another
    done = _run(rt, tmp_path, "ollama", "stop")
    assert done.returncode == NOT_OURS, done.stderr
    assert _answers(rt.ollama_url)
    assert list((tmp_path / "started").glob("*.json")) == []  # the stale record went


def test_driver_stop_server_in_the_library(
    fake_runtime: MakeRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LMSDRIVE_STATE_DIR", str(tmp_path))
    rt = fake_runtime(server_running=["ollama"], models_downloaded=["llama3.2:1b"])
    with Driver(Config.from_env(backend="ollama", model_name="llama3.2:1b")) as driver:
        assert driver.ensure_ready().success
        assert driver.started is None  # it found the server running
        with pytest.raises(NotStartedByLmsdriveError):
            driver.stop_server()
    assert _answers(rt.ollama_url)
