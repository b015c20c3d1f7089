"""One download at a time (issue 14, item 5): real ``lmsdrive`` processes against the fakes.

Two processes making the same model ready on the same server start one download (the
fake server's request log, or the fake CLI's spawn log, shows one); the second follows the
first's progress and succeeds. A process killed with SIGKILL mid-download leaves a lock
file behind that never blocks the next run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lmsdrive._types import Progress
from lmsdrive.backends import base
from lmsdrive.backends.lmstudio import LMStudioBackend
from lmsdrive.backends.ollama import OllamaBackend
from lmsdrive.testing.runtime import FakeRuntime

MakeRuntime = Callable[..., FakeRuntime]


def _lmsdrive(argv: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lmsdrive", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _env(rt: FakeRuntime, state: Path, backend: str) -> dict[str, str]:
    env = {k: v for k, v in rt.env.items() if not k.startswith(("LMSDRIVE_STATE", "XDG_"))}
    return {**env, "LMSDRIVE_STATE_DIR": str(state), "BACKEND": backend}


def _wait_for_download(state: Path, proc: subprocess.Popen[str]) -> None:
    """Until the first process holds the lock and its download has begun."""
    deadline = time.monotonic() + 30
    while not list((state / "downloads").glob("*.progress")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the first download never began"
        time.sleep(0.02)


def _downloads(rt: FakeRuntime, backend: str) -> int:
    if backend == "ollama":
        return sum(r["path"] == "/api/pull" for r in rt.requests("ollama"))
    return sum(s["argv"][:2] == ["lms", "get"] for s in rt.spawns())


CASES = [
    ("ollama", ["pull", "llama3.2:1b"]),
    ("ollama", ["init", "llama3.2:1b"]),
    ("lmstudio", ["pull", "qwen/qwen3-4b"]),
]


@pytest.mark.parametrize(
    ("backend", "argv"), CASES, ids=["ollama-pull", "ollama-init", "lmstudio-pull"]
)
def test_two_processes_start_one_download(
    fake_runtime: MakeRuntime, tmp_path: Path, backend: str, argv: list[str]
) -> None:
    rt = fake_runtime(server_running=True, pull_seconds=2.0, pull_frames=10)
    env = _env(rt, tmp_path / "state", backend)
    first = _lmsdrive(argv, env)
    _wait_for_download(tmp_path / "state", first)
    second = _lmsdrive(argv, env)
    _, err1 = first.communicate(timeout=60)
    out2, err2 = second.communicate(timeout=60)
    assert (first.returncode, second.returncode) == (0, 0), (err1, err2)
    assert _downloads(rt, backend) == 1
    # the second showed the first one's progress (plain lines: percentages)
    assert "%" in out2, out2
    assert list((tmp_path / "state" / "downloads").glob("*.progress")) == []


#: The URL variable of each backend.
URL_VARIABLE = {"ollama": "OLLAMA_HOST", "lmstudio": "LMSTUDIO_URL"}


@pytest.mark.parametrize(
    ("backend", "model"), [("ollama", "llama3.2:1b"), ("lmstudio", "qwen/qwen3-4b")]
)
def test_two_local_urls_share_one_lock_the_model_store(
    fake_runtime: MakeRuntime, tmp_path: Path, backend: str, model: str
) -> None:
    """Two servers on this machine (here: one server under two local URLs) share one model
    store, so the lock is the store's, not the URL's: one download, the other waits."""
    rt = fake_runtime(server_running=True, pull_seconds=2.0, pull_frames=10)
    env = _env(rt, tmp_path / "state", backend)
    variable = URL_VARIABLE[backend]
    other = env[variable].replace("127.0.0.1", "localhost")  # the same server, another URL
    first = _lmsdrive(["pull", model], env)
    _wait_for_download(tmp_path / "state", first)
    second = _lmsdrive(["pull", model], {**env, variable: other})
    _, err1 = first.communicate(timeout=60)
    out2, err2 = second.communicate(timeout=60)
    assert (first.returncode, second.returncode) == (0, 0), (err1, err2)
    assert _downloads(rt, backend) == 1
    assert "%" in out2, out2


def _key(backend: base.RuntimeBackend, model: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The one-download lock ``backend.pull(model)`` takes (nothing is downloaded)."""
    keys: list[str] = []

    def record(key: str, *args: object, **kwargs: object) -> Iterator[Progress]:
        keys.append(key)
        return iter(())

    monkeypatch.setattr(base, "one_download", record)
    try:
        assert list(backend.pull(model)) == []
    finally:
        backend.close()
    return keys[0]


def test_the_lock_is_the_local_model_store_and_the_remote_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("OLLAMA_MODELS", raising=False)

    def ollama(url: str) -> str:
        return _key(OllamaBackend(url), "llama3.2:1b", monkeypatch)

    def lms(url: str) -> str:
        return _key(LMStudioBackend(url), "qwen/qwen3-4b", monkeypatch)

    here = ollama("http://127.0.0.1:11434")
    assert ollama("http://localhost:11500") == here
    assert ollama("http://gpu-a:11434") != ollama("http://gpu-b:11434")
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "elsewhere"))
    assert ollama("http://127.0.0.1:11434") != here  # another store
    default_home = lms("http://127.0.0.1:1234")
    assert lms("http://localhost:1235") == default_home
    (tmp_path / ".lmstudio-home-pointer").write_text(str(tmp_path / "lms-home"))
    assert lms("http://localhost:1235") != default_home  # the pointer's home, another store
    assert lms("http://127.0.0.1:1234") != lms("http://gpu-a:1234")


def test_a_killed_holder_never_blocks_the_next_run(
    fake_runtime: MakeRuntime, tmp_path: Path
) -> None:
    rt = fake_runtime(server_running=True, pull_seconds=30.0, pull_frames=60)
    env = _env(rt, tmp_path / "state", "ollama")
    first = _lmsdrive(["pull", "llama3.2:1b"], env)
    _wait_for_download(tmp_path / "state", first)
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=10)
    assert list((tmp_path / "state" / "downloads").glob("*.lock"))  # left behind
    rt.set(pull_seconds=0.5)
    second = _lmsdrive(["pull", "llama3.2:1b"], env)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert "Downloaded llama3.2:1b" in out
    assert any(m.name == "llama3.2:1b" for m in rt.state().ollama.downloaded)


def test_no_writable_state_dir_still_downloads(fake_runtime: MakeRuntime, tmp_path: Path) -> None:
    """A read-only home (here: the state dir is a file) costs the lock, not the download."""
    rt = fake_runtime(server_running=True, pull_seconds=0.2)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    env = _env(rt, blocker / "state", "ollama")
    done = _lmsdrive(["pull", "llama3.2:1b"], env)
    _, err = done.communicate(timeout=60)
    assert done.returncode == 0, err
    assert "without the one-download lock" in err
    assert _downloads(rt, "ollama") == 1
