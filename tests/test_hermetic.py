"""The suite and the fakes are hermetic: a machine's own installs, variables, caches and
processes neither change a result nor get touched, and nothing a test starts outlives it."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from lmsdrive import Config, Driver
from lmsdrive.backends._locks import machine_lock, state_dir
from lmsdrive.discovery import INSTALL_ROOT_VARIABLE, candidates, find_binary
from lmsdrive.errors import NotInstalledError
from lmsdrive.runtimes import RUNTIMES
from lmsdrive.testing.fake_cli import kill_pid, pid_alive
from lmsdrive.testing.runtime import FakeRuntime

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX install places and shebangs")

ROOT = Path(__file__).resolve().parent.parent
MODEL = {"ollama": "llama3.2:3b", "lmstudio": "qwen/qwen3-4b"}


def _pytest(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]


@dataclass
class Machine:
    """A machine where both runtimes are installed where their installers put them."""

    root: Path
    home: Path
    record: Path
    ollama: Path
    lms: Path


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    record = tmp_path / "ran.txt"

    def stub(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'#!/bin/sh\necho "$0 $*" >> "{record}"\n', encoding="utf-8")
        path.chmod(0o755)
        return path

    root, home = tmp_path / "machine-root", tmp_path / "machine-home"
    ollama = stub(root / "usr" / "local" / "bin" / "ollama")
    lms_home = tmp_path / "lmstudio-home"
    lms = stub(lms_home / "bin" / "lms")
    stub(home / ".lmstudio" / "bin" / "lms")
    stub(home / ".local" / "bin" / "ollama")
    (home / ".lmstudio-home-pointer").write_text(str(lms_home), encoding="utf-8")
    (home / ".ollama" / "models").mkdir(parents=True)
    return Machine(root, home, record, ollama, lms)


def _be_on(machine: Machine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test says so: discovery's HOME and install root are the machine's."""
    monkeypatch.setenv("HOME", str(machine.home))
    monkeypatch.setenv(INSTALL_ROOT_VARIABLE, str(machine.root))


def test_every_place_discovery_looks_is_the_tests_own() -> None:
    home = Path(os.environ["HOME"])
    root = Path(os.environ[INSTALL_ROOT_VARIABLE])
    assert root != Path("/") and not any(root.iterdir())
    path = [Path(p) for p in os.environ["PATH"].split(os.pathsep) if p]
    for tool in ("ollama", "lms"):
        for place in candidates(tool):
            if place.parent in path:
                continue
            assert place.is_relative_to(home) or place.is_relative_to(root), place


def test_a_real_install_is_found_only_when_the_test_says_so(
    machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(NotInstalledError):
        find_binary("ollama")
    _be_on(machine, monkeypatch)
    assert find_binary("ollama") == machine.ollama
    assert find_binary("lms") == machine.lms  # the home pointer's folder first
    assert not machine.record.exists()  # found, not run


@pytest.mark.parametrize("backend", sorted(RUNTIMES))
def test_the_fakes_hide_a_real_install_and_never_run_it(
    machine: Machine,
    monkeypatch: pytest.MonkeyPatch,
    fake_runtime: Callable[..., FakeRuntime],
    backend: str,
) -> None:
    _be_on(machine, monkeypatch)
    rt = fake_runtime(backends=())
    for tool in ("ollama", "lms"):
        with pytest.raises(NotInstalledError):
            find_binary(tool)
    report = Driver(Config.from_env(backend=backend, model_name=MODEL[backend])).ensure_ready()
    assert not report.success
    assert report.message == RUNTIMES[backend].install_hint
    assert not machine.record.exists(), machine.record.read_text()
    assert rt.spawn_count() == 0


def test_locks_and_logs_land_in_the_tests_home() -> None:
    """Run by the next test with the machine's cache variables set, too."""
    assert not [v for v in os.environ if v.startswith("XDG_")]
    assert "LMSDRIVE_STATE_DIR" not in os.environ
    with machine_lock("hermetic-probe", timeout=5):
        pass
    assert state_dir().is_relative_to(Path(os.environ["HOME"]))
    assert (state_dir() / "hermetic-probe.lock").is_file()


def test_the_machines_cache_variables_change_nothing(tmp_path: Path) -> None:
    cache, state = tmp_path / "xdg-cache", tmp_path / "state-dir"
    env = dict(os.environ, XDG_CACHE_HOME=str(cache), LMSDRIVE_STATE_DIR=str(state))
    env["XDG_STATE_HOME"] = str(tmp_path / "xdg-state")
    test = f"{Path(__file__).relative_to(ROOT)}::test_locks_and_logs_land_in_the_tests_home"
    proc = subprocess.run(_pytest(test), env=env, cwd=ROOT, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stdout.decode()[-3000:]
    assert not cache.exists() and not state.exists()


_HOLDS_SERVERS = """
import os
import time
from pathlib import Path


def test_holds_servers(fake_runtime):
    rt = fake_runtime(server_running=True)
    pids = [rt.server_pid(b) for b in ("ollama", "lms")]
    Path(os.environ["PIDS_FILE"]).write_text(" ".join(map(str, pids)))
    time.sleep(300)
"""


def _wait(until: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if until():
            return True
        time.sleep(0.1)
    return until()


def test_no_fake_server_outlives_a_pytest_killed_with_sigterm(tmp_path: Path) -> None:
    (tmp_path / "test_holds.py").write_text(textwrap.dedent(_HOLDS_SERVERS), encoding="utf-8")
    pids_file = tmp_path / "pids"
    env = dict(os.environ, PIDS_FILE=str(pids_file))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    args = _pytest("-p", "lmsdrive.testing.pytest_plugin", "test_holds.py")
    proc = subprocess.Popen(
        args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    pids: list[int] = []
    try:
        assert _wait(lambda: pids_file.is_file() and bool(pids_file.read_text()), 90)
        pids = [int(p) for p in pids_file.read_text().split()]
        assert all(pid_alive(p) for p in pids)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert _wait(lambda: not any(pid_alive(p) for p in pids), 30), pids
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in pids:
            kill_pid(pid)


_CI_SKIP = """
import pytest


@pytest.mark.llama_server
def test_needs_llama():
    pytest.skip("llama.cpp server not built (make llama-server)")


def test_other_skip():
    pytest.skip("something .ci/run does not provide")
"""


@pytest.mark.parametrize("ci", ["true", ""])
def test_in_ci_a_skip_for_what_ci_provides_is_a_failure(tmp_path: Path, ci: str) -> None:
    (tmp_path / "test_skips.py").write_text(textwrap.dedent(_CI_SKIP), encoding="utf-8")
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    llama_server: needs llama\n", encoding="utf-8"
    )
    env = dict(os.environ, CI=ci, PYTHONPATH=str(ROOT / "tests"))
    args = _pytest("-p", "ci_rules", "-rA", "test_skips.py")
    proc = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, timeout=120)
    out = proc.stdout.decode()
    if ci:
        assert proc.returncode == 1, out
        assert "1 failed, 1 skipped" in out
        assert "CI=true: skipped, but .ci/run provides what it needs (llama_server)" in out
        assert "llama.cpp server not built" in out
    else:
        assert proc.returncode == 0, out
        assert "2 skipped" in out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the port hold is Linux's")
def test_a_port_for_a_server_not_started_yet_is_held_not_released(
    fake_runtime: Callable[..., FakeRuntime],
) -> None:
    rt = fake_runtime(server_running=["ollama"])
    with socket.socket() as other, pytest.raises(OSError) as taken:
        other.bind(("127.0.0.1", rt.lms_port))  # another program, between setup and start
    assert taken.value.errno == errno.EADDRINUSE
    result = subprocess.run(
        [str(rt.bin_dir / "lms"), "server", "start"], env=rt.env, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert f"running on port {rt.lms_port}" in result.stderr.decode()
    assert rt.server_pid("ollama") is not None and rt.ollama_port != 0
