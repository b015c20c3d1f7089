"""The init_llm flow end to end, on both backends, against the FAKE runtimes of
lmsdrive.testing (recorded real outputs replayed by executables named ``ollama`` and ``lms``,
and a local HTTP server answering both APIs). Neither runtime can be installed here; these
tests prove what a user gets from lmsdrive in each situation, not what the runtimes do."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable

import pytest

from lmsdrive import Config, Driver
from lmsdrive._types import DaemonState, Progress, Readiness
from lmsdrive.backends.lmstudio import LMStudioBackend
from lmsdrive.backends.ollama import OllamaBackend
from lmsdrive.errors import (
    ConfigError,
    InvalidModelNameError,
    ModelNotFoundError,
    ServerNotRunningError,
    ServerStartError,
)
from lmsdrive.runtimes import RUNTIMES
from lmsdrive.testing.runtime import FakeRuntime

MODEL = {"ollama": "llama3.2:3b", "lmstudio": "qwen/qwen3-4b"}
FAKE = {"ollama": "ollama", "lmstudio": "lms"}
BACKENDS = ["ollama", "lmstudio"]
#: Every backend, LM Studio with Just-In-Time loading off and on (on is LM Studio's default:
#: /api/v0/models then lists every downloaded model, ``state`` telling loaded from not).
BACKENDS_JIT = [
    pytest.param("ollama", False, id="ollama"),
    pytest.param("lmstudio", False, id="lmstudio-jit-off"),
    pytest.param("lmstudio", True, id="lmstudio-jit-on"),
]

Factory = Callable[..., FakeRuntime]


def driver(backend: str, model: str | None = None) -> Driver:
    return Driver(Config.from_env(backend=backend, model_name=model or MODEL[backend]))


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@pytest.mark.parametrize("backend", BACKENDS)
def test_fresh_machine_not_installed(fake_runtime: Factory, backend: str) -> None:
    rt = fake_runtime(backends=[b for b in FAKE.values() if b != FAKE[backend]])
    report = driver(backend).ensure_ready()
    assert not report.success
    assert report.message == RUNTIMES[backend].install_hint
    assert report.steps_performed == []
    assert isinstance(report.error, FileNotFoundError)
    assert rt.spawn_count() == 0


@pytest.mark.parametrize(("backend", "lms_jit"), BACKENDS_JIT)
def test_installed_not_running_starts_pulls_loads(
    fake_runtime: Factory, backend: str, lms_jit: bool
) -> None:
    fake_runtime(pull_seconds=0.6, pull_frames=8, lms_jit=lms_jit)
    events: list[Progress] = []
    with driver(backend) as d:
        report = d.ensure_ready(on_progress=events.append)
        assert report.success, report.message
        assert [s.split(" ")[0] for s in report.steps_performed] == [
            "Started",
            "Downloaded",
            "Loaded",
        ]
        assert d.backend.is_running()
        answer = d.generate("Why is the sky blue?").text
        assert answer == f"Fake {MODEL[backend]} reply to: Why is the sky blue?"
    percents = [
        e.overall_percent
        for e in events
        if e.phase == "downloading" and e.overall_percent is not None
    ]
    assert len(percents) >= 3, "progress must arrive during the download, not after"
    assert percents == sorted(percents), "overall percent went backwards"
    assert events[-1].phase == "done"


@pytest.mark.parametrize(("backend", "lms_jit"), BACKENDS_JIT)
def test_running_model_missing_pulls_with_progress(
    fake_runtime: Factory, backend: str, lms_jit: bool
) -> None:
    fake_runtime(server_running=True, pull_seconds=0.6, pull_frames=10, lms_jit=lms_jit)
    events: list[tuple[float, Progress]] = []
    report = driver(backend).ensure_ready(
        on_progress=lambda p: events.append((time.monotonic(), p))
    )
    assert report.success, report.message
    assert report.steps_performed == [
        f"Downloaded model {MODEL[backend]}",
        f"Loaded model {MODEL[backend]}",
    ]
    during = [t for t, p in events if p.phase == "downloading"]
    assert len(during) >= 3
    assert during[-1] - during[0] > 0.2, "events were delivered at the end, not while downloading"


@pytest.mark.parametrize(("backend", "lms_jit"), BACKENDS_JIT)
def test_model_not_loaded_only_loads(fake_runtime: Factory, backend: str, lms_jit: bool) -> None:
    rt = fake_runtime(server_running=True, models_downloaded=[MODEL[backend]], lms_jit=lms_jit)
    report = driver(backend).ensure_ready()
    assert report.to_dict() == {
        "success": True,
        "message": report.message,
        "steps_performed": [f"Loaded model {MODEL[backend]}"],
    }, report.message
    assert not [s for s in rt.spawns() if s["argv"][1:2] in (["pull"], ["get"])]


@pytest.mark.parametrize(("backend", "lms_jit"), BACKENDS_JIT)
def test_everything_ready_spawns_nothing(
    fake_runtime: Factory, backend: str, lms_jit: bool
) -> None:
    rt = fake_runtime(server_running=True, models_loaded=[MODEL[backend]], lms_jit=lms_jit)
    d = driver(backend)
    rt.reset_counts()
    report = d.ensure_ready()
    assert report.success and report.steps_performed == []
    assert rt.spawn_count() == 0
    requests = rt.requests()
    assert len(requests) <= 2, requests
    if backend == "ollama":
        assert [r["path"] for r in requests] == ["/api/tags", "/api/ps"]
    again = d.ensure_ready()
    assert again.to_dict() == report.to_dict()  # idempotent


@pytest.mark.parametrize("lms_jit", [False, True], ids=["jit-off", "jit-on"])
def test_lmstudio_readiness_tells_downloaded_from_loaded(
    fake_runtime: Factory, lms_jit: bool
) -> None:
    other = "google/gemma-3-12b"
    fake_runtime(
        server_running=True,
        models_downloaded={"lms": [MODEL["lmstudio"]]},
        models_loaded={"lms": [other]},
        lms_jit=lms_jit,
    )
    b = driver("lmstudio").backend
    assert b.readiness(MODEL["lmstudio"]) == Readiness(True, downloaded=True, loaded=False)
    assert b.readiness(other) == Readiness(True, downloaded=True, loaded=True)
    assert b.readiness("qwen/qwen3-8b") == Readiness(True, downloaded=False, loaded=False)


@pytest.mark.parametrize("backend", BACKENDS)
def test_server_dies_during_pull(fake_runtime: Factory, backend: str) -> None:
    fake_runtime(server_running=True, pull_dies_at_percent=40, pull_seconds=0.5)
    report = driver(backend).ensure_ready()
    assert not report.success
    assert type(report.error) is ServerNotRunningError  # the server died: it does not answer
    name = "Ollama" if backend == "ollama" else "LM Studio"
    stopped = re.match(
        rf"The download of {re.escape(MODEL[backend])} stopped at (\d+)%: {name} server at ",
        report.message,
    )
    assert stopped is not None and 0 < int(stopped[1]) <= 40, report.message  # it died at 40 %
    assert report.steps_performed == []


def test_ollama_serve_hangs_times_out_with_its_output(fake_runtime: Factory) -> None:
    fake_runtime(serve_hangs=True)
    t0 = time.monotonic()
    report = driver("ollama").ensure_ready(start_timeout=2.0)
    assert time.monotonic() - t0 < 10
    assert not report.success
    assert isinstance(report.error, ServerStartError)
    assert "did not become ready within 2s" in report.message
    assert "Last output:" in report.message and "level=INFO" in report.message


def test_lms_server_start_hangs_times_out_with_its_output(fake_runtime: Factory) -> None:
    fake_runtime(serve_hangs=True)
    report = driver("lmstudio").ensure_ready(start_timeout=2.0)
    assert not report.success
    assert isinstance(report.error, ServerStartError)
    assert "did not finish within 2s" in report.message
    assert "Waking up LM Studio service" in report.message


@pytest.mark.parametrize("backend", BACKENDS)
def test_port_already_taken(fake_runtime: Factory, backend: str) -> None:
    fake_runtime(port_taken=True)
    report = driver(backend).ensure_ready(start_timeout=5.0)
    assert not report.success
    assert isinstance(report.error, ServerStartError)
    assert "port" in report.message.lower()


@pytest.mark.parametrize("backend", BACKENDS)
def test_model_not_found(fake_runtime: Factory, backend: str) -> None:
    fake_runtime(server_running=True)
    name = {"ollama": "no-such-model:7b", "lmstudio": "nobody/no-such-model"}[backend]
    report = driver(backend, name).ensure_ready()
    assert not report.success
    assert isinstance(report.error, ModelNotFoundError)
    assert f"Model '{name}' was not found" in report.message


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["--help", "-rf", "llama3 --verbose", "x\n--y"])
def test_bad_model_names_never_reach_a_command_line(
    fake_runtime: Factory, backend: str, name: str
) -> None:
    rt = fake_runtime(server_running=True)
    with pytest.raises(InvalidModelNameError, match="Accepted forms"):
        Config.from_env(backend=backend, model_name=name)
    b = (
        OllamaBackend(Config.from_env(backend="ollama").backend_url())
        if backend == "ollama"
        else LMStudioBackend(Config.from_env(backend="lmstudio").backend_url())
    )
    with pytest.raises(InvalidModelNameError):
        list(b.pull(name))
    with pytest.raises(InvalidModelNameError):
        b.load(name)
    assert rt.spawn_count() == 0


def test_unreachable_lmstudio_url(fake_runtime: Factory) -> None:
    fake_runtime()
    # 127.1 is 127.0.0.1 spelled so that lmsdrive counts it remote (127.0.0.2 is not
    # routable on macOS without an alias); nothing listens on port 9 (discard)
    cfg = Config.from_env(backend="lmstudio", model_name=MODEL["lmstudio"], url="http://127.1:9")
    report = Driver(cfg).ensure_ready()
    assert not report.success
    assert isinstance(report.error, ServerNotRunningError)
    assert report.message == str(report.error)
    assert "LM Studio server at http://127.1:9 does not answer" in report.message
    assert "lmsdrive starts servers only on this machine" in report.message


@pytest.mark.parametrize("backend", BACKENDS)
def test_ctrl_c_during_pull_stops_the_child(fake_runtime: Factory, backend: str) -> None:
    rt = fake_runtime(server_running=True, pull_seconds=5.0, pull_frames=50)
    seen: list[Progress] = []

    def interrupt(p: Progress) -> None:
        seen.append(p)
        if p.phase == "downloading":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        driver(backend).ensure_ready(on_progress=interrupt)
    pulls = [s for s in rt.spawns() if s["argv"][1:2] in (["pull"], ["get"])]
    assert len(pulls) == 1
    deadline = time.monotonic() + 3
    while alive(pulls[0]["pid"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(pulls[0]["pid"]), "the pull child outlived the interrupt"
    downloaded = rt.state().backend(FAKE[backend]).downloaded
    assert downloaded == [], "an interrupted download must not be recorded as complete"


def test_two_ensure_ready_at_once_start_one_server(fake_runtime: Factory) -> None:
    rt = fake_runtime(models_loaded=[MODEL["ollama"]])
    reports = []

    def run() -> None:
        reports.append(driver("ollama").ensure_ready())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(r.success for r in reports), [r.message for r in reports]
    serves = [s for s in rt.spawns() if s["argv"][1:2] == ["serve"]]
    assert len(serves) == 1
    assert sum("Started" in " ".join(r.steps_performed) for r in reports) == 1


def test_generate_when_server_down_says_run_init_llm(fake_runtime: Factory) -> None:
    fake_runtime()
    with pytest.raises(ServerNotRunningError, match=r"Ollama server at \S+ does not answer"):
        driver("ollama").generate("hi")
    assert os.environ["OLLAMA_HOST"]


def test_lmstudio_daemon_down_is_brought_up_then_the_server(fake_runtime: Factory) -> None:
    """A headless machine whose llmster is down and whose lms does not wake it (the fake
    prints the recorded "daemon is not running" error): `lms daemon up`, then `lms server
    start`, each a step of the report; `status` shows the daemon afterwards."""
    rt = fake_runtime(backends=("lms",), lms_daemon_down=True)
    with driver("lmstudio") as d:
        assert d.daemon_status() == DaemonState(running=False)
        report = d.ensure_ready()
        assert report.success, report.message
        assert report.steps_performed[:2] == [
            f"Started the LM Studio daemon (PID {rt.state().backend('lms').daemon_pid})",
            f"Started LM Studio server at {d.config.backend_url()}",
        ]
        argvs = [s["argv"][1:] for s in rt.spawns()]
        up = argvs.index(["daemon", "up"])
        assert argvs[up - 1][:2] == ["server", "start"] and argvs[up + 1][:2] == ["server", "start"]
        daemon = d.status().to_dict()["daemon"]
        assert daemon["running"] is True and daemon["pid"] == rt.state().backend("lms").daemon_pid


def test_lmstudio_daemon_that_cannot_start_says_how_to_install_it(fake_runtime: Factory) -> None:
    fake_runtime(backends=("lms",), lms_daemon_down=True, lms_daemon_installed=False)
    report = driver("lmstudio").ensure_ready()
    assert not report.success and isinstance(report.error, ServerStartError)
    assert "lms daemon up" in report.message and "install.sh" in report.message
    assert report.steps_performed == []


def test_ollama_has_no_daemon(fake_runtime: Factory) -> None:
    fake_runtime(server_running=True)
    with driver("ollama") as d:
        assert d.daemon_status() is None
        assert d.status().to_dict()["daemon"] is None
        with pytest.raises(ConfigError, match="no daemon"):
            d.daemon_up()
