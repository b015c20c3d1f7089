"""``lmsdrive keep`` (issue 14, item 6): real processes against the fakes, and systemd's
notify protocol on a real Unix datagram socket."""

from __future__ import annotations

import contextlib
import io
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lmsdrive import Config, Driver, Progress, _sdnotify
from lmsdrive.cli._events import JsonLines
from lmsdrive.keep import EVENTS, Keeper, KeepEvent, _Stopped
from lmsdrive.testing.runtime import FakeRuntime

MakeRuntime = Callable[..., FakeRuntime]
MODELS = {"ollama": "llama3.2:1b", "lmstudio": "qwen/qwen3-4b"}
README = Path(__file__).resolve().parent.parent / "README.md"
#: The fields of each of keep's own events: those of every command's ``step`` event, and
#: ``failures``.
KEEP_FIELDS = {"event", "ts", "backend", "model", "message", "failures"}


def test_keep_event_dict_is_its_json_line_without_the_backend() -> None:
    """``KeepEvent.to_dict()`` has the documented JSON-lines fields (``ts``, not ``time``),
    formatted as ``keep --json`` writes them, for the moment the event happened."""
    event = KeepEvent("loaded", "llama3.2:1b", "Loaded model llama3.2:1b", 0, 1765104552.5)
    as_dict = event.to_dict()
    assert set(as_dict) == KEEP_FIELDS - {"backend"}
    assert as_dict["ts"] == "2025-12-07T10:49:12.500+00:00"
    out = io.StringIO()
    JsonLines("keep", "ollama", out=out).keep_event(event)
    assert json.loads(out.getvalue()) == {**as_dict, "backend": "ollama"}


# -- sd_notify ---------------------------------------------------------------------------
@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    """A path-named Unix datagram socket, as systemd's ``$NOTIFY_SOCKET``."""
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    yield path, sock
    sock.close()


def test_notify_reaches_a_path_socket(notify_socket: tuple[str, socket.socket]) -> None:
    path, sock = notify_socket
    assert _sdnotify.notify("READY=1\nSTATUS=ok", {"NOTIFY_SOCKET": path})
    assert sock.recv(4096) == b"READY=1\nSTATUS=ok"


def test_notify_reaches_an_abstract_socket() -> None:
    name = f"lmsdrive-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(10)
        assert _sdnotify.notify("WATCHDOG=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(4096) == b"WATCHDOG=1"


def test_notify_without_a_socket_sends_nothing(tmp_path: Path) -> None:
    assert not _sdnotify.notify("READY=1", {})
    assert not _sdnotify.notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "nobody")})
    assert _sdnotify.watchdog_interval({}) is None
    assert _sdnotify.watchdog_interval({"WATCHDOG_USEC": "1000000"}) == 0.5


# -- keep as a process -------------------------------------------------------------------
class Keep:
    """``lmsdrive keep --json`` running; its events read as they come."""

    def __init__(self, rt: FakeRuntime, state: Path, backend: str, *argv: str, **env: str):
        self.backend = backend
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lmsdrive", "keep", "--json", *argv],
            env=_env(rt, state, backend, **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.put(json.loads(line))

    def until(self, event: str, timeout: float = 30.0) -> dict[str, Any]:
        """The next event named ``event`` (the ones before it are kept in ``seen``)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                got = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {event!r} event; saw {self.seen}") from None
            self._saw(got)
            if got["event"] == event:
                return got

    def finish(self, timeout: float = 30.0) -> tuple[int, str]:
        code = self.proc.wait(timeout=timeout)
        assert self.proc.stderr is not None
        self.reader.join(timeout)  # it ends at the end of keep's output (a sleep did not wait)
        assert not self.reader.is_alive(), "keep exited but its output did not end"
        while not self.events.empty():
            self._saw(self.events.get())
        return code, self.proc.stderr.read()

    def _saw(self, event: dict[str, Any]) -> None:
        """Every event in the JSON-lines format of every ``--json`` command."""
        assert {"event", "ts", "backend"} <= set(event), event
        assert event["backend"] == self.backend, event
        if event["event"] in EVENTS:
            assert set(event) == KEEP_FIELDS, event
        self.seen.append(event)

    def kinds(self) -> list[str]:
        """The events seen, progress left out."""
        return [e["event"] for e in self.seen if e["event"] != "progress"]

    def __enter__(self) -> Keep:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _env(rt: FakeRuntime, state: Path, backend: str, **env: str) -> dict[str, str]:
    full = {k: v for k, v in rt.env.items() if not k.startswith(("LMSDRIVE_STATE", "XDG_"))}
    full.update(LMSDRIVE_STATE_DIR=str(state), BACKEND=backend, **env)
    return full


def _evict(rt: FakeRuntime, backend: str) -> None:
    """Another user unloads the model on the server."""
    if backend == "ollama":
        body = {"model": MODELS["ollama"], "keep_alive": 0}
        httpx.post(rt.ollama_url + "/api/generate", json=body, timeout=10).raise_for_status()
    else:
        with rt.edit() as st:
            st.lms.loaded = []


def _loaded(rt: FakeRuntime, backend: str) -> list[str]:
    side = rt.state().ollama if backend == "ollama" else rt.state().lms
    return [x.name for x in side.live_loaded()]


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
def test_keep_reloads_an_evicted_model_and_exits_0_on_sigterm(
    fake_runtime: MakeRuntime,
    tmp_path: Path,
    notify_socket: tuple[str, socket.socket],
    backend: str,
) -> None:
    model = MODELS[backend]
    rt = fake_runtime(server_running=True, models_downloaded=[model], load_seconds=0.05)
    path, sock = notify_socket
    with Keep(
        rt, tmp_path / "state", backend, model, "--interval", "0.2", NOTIFY_SOCKET=path
    ) as keep:
        assert keep.until("ready")["message"].startswith(model)
        assert keep.kinds() == ["begin", "loading", "loaded", "ready"]
        assert keep.seen[0]["models"] == [model] and keep.seen[0]["command"] == "keep"
        assert sock.recv(4096).startswith(b"READY=1\n")
        assert _loaded(rt, backend) == [model]
        _evict(rt, backend)
        assert keep.until("evicted")["model"] == model
        keep.until("reloaded")
        assert _loaded(rt, backend) == [model]
        keep.proc.send_signal(signal.SIGTERM)
        code, err = keep.finish()
    assert code == 0, err
    assert keep.kinds()[-2:] == ["stopping", "result"]
    assert (keep.seen[-1]["ok"], keep.seen[-1]["exit_status"]) == (True, 0)


def test_keep_pings_the_watchdog(
    fake_runtime: MakeRuntime, tmp_path: Path, notify_socket: tuple[str, socket.socket]
) -> None:
    rt = fake_runtime(server_running=["ollama"], models_loaded=["llama3.2:1b"])
    path, sock = notify_socket
    with Keep(
        rt,
        tmp_path / "state",
        "ollama",
        "llama3.2:1b",
        "--interval",
        "30",
        NOTIFY_SOCKET=path,
        WATCHDOG_USEC="200000",
    ):
        got = [sock.recv(4096) for _ in range(6)]
    assert any(g.startswith(b"READY=1") for g in got)
    assert got.count(b"WATCHDOG=1") >= 4  # every 0.1 s while it waits 30 s between checks


def test_keep_refreshes_before_the_runtime_unloads(
    fake_runtime: MakeRuntime, tmp_path: Path
) -> None:
    rt = fake_runtime(server_running=["ollama"], models_downloaded=["llama3.2:1b"])
    # loaded with keep_alive 2s: without a refresh Ollama unloads it 2 s later
    with Keep(
        rt, tmp_path / "state", "ollama", "llama3.2:1b", "--ttl", "2", "--refresh-before", "1"
    ) as keep:
        keep.until("ready")
        for _ in range(3):
            keep.until("refreshed", timeout=10)
            assert _loaded(rt, "ollama") == ["llama3.2:1b"]
    assert "evicted" not in [e["event"] for e in keep.seen]


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
def test_keep_downloads_a_missing_model_first(
    fake_runtime: MakeRuntime, tmp_path: Path, backend: str
) -> None:
    rt = fake_runtime(server_running=True, pull_seconds=0.3)
    with Keep(rt, tmp_path / "state", backend, MODELS[backend]) as keep:
        keep.until("ready")
    assert keep.kinds() == ["begin", "downloading", "loading", "loaded", "ready"]
    progress = [e for e in keep.seen if e["event"] == "progress"]
    assert progress and all(e["model"] == MODELS[backend] for e in progress)
    assert progress[-1]["percent"] == 100.0
    assert _loaded(rt, backend) == [MODELS[backend]]


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
def test_keep_ends_at_once_on_a_name_the_catalog_lacks(
    fake_runtime: MakeRuntime, tmp_path: Path, backend: str
) -> None:
    """No retry can find a model the catalog does not have: exit 5 after the first try,
    not after --max-failures intervals."""
    rt = fake_runtime(server_running=True)
    model = "no-such-model:1b" if backend == "ollama" else "nobody/no-such-model"
    with Keep(rt, tmp_path / "state", backend, model, "--interval", "60") as keep:
        code, _ = keep.finish(timeout=30)
    assert code == 5
    assert keep.kinds()[-3:] == ["failed", "gave_up", "result"]
    assert keep.seen[-2]["failures"] == 1
    assert (keep.seen[-1]["ok"], keep.seen[-1]["exit_status"]) == (False, 5)


def test_keep_gives_up_when_the_server_stays_gone(
    fake_runtime: MakeRuntime, tmp_path: Path
) -> None:
    rt = fake_runtime(server_running=["ollama"], models_loaded=["llama3.2:1b"])
    with Keep(
        rt, tmp_path / "state", "ollama", "llama3.2:1b", "--interval", "0.1", "--max-failures", "3"
    ) as keep:
        keep.until("ready")
        rt.stop_server("ollama")
        code, _ = keep.finish()
    assert code == 4  # the server is not running
    failed = [e for e in keep.seen if e["event"] == "failed"]
    assert [e["failures"] for e in failed] == [1, 2, 3]  # --max-failures 3: three, not four
    assert all("checking again" in e["message"] for e in failed[:-1])
    assert "checking again" not in failed[-1]["message"]  # the last one gives up
    assert keep.kinds()[-3:] == ["failed", "gave_up", "result"]
    assert keep.seen[-2]["failures"] == 3 and keep.seen[-1]["exit_status"] == 4


def test_keep_says_stopping_once(fake_runtime: MakeRuntime, tmp_path: Path) -> None:
    """The text line of the ``stopping`` event does not repeat its name."""
    rt = fake_runtime(server_running=["ollama"], models_loaded=["llama3.2:1b"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmsdrive", "keep", "llama3.2:1b", "--interval", "30"],
        env=_env(rt, tmp_path / "state", "ollama"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if " ready: " in line:
                break
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    stopping = [line for line in out.splitlines() if " stopping: " in line]
    assert len(stopping) == 1 and stopping[0].count("stopping") == 1, out


def test_keep_never_starts_a_server(fake_runtime: MakeRuntime, tmp_path: Path) -> None:
    rt = fake_runtime(models_downloaded=["llama3.2:1b"])
    with Keep(
        rt, tmp_path / "state", "ollama", "llama3.2:1b", "--interval", "0.1", "--max-failures", "1"
    ) as keep:
        code, _ = keep.finish()
    assert code == 4
    assert not any(s["argv"][:2] == ["ollama", "serve"] for s in rt.spawns())


def test_keep_holds_several_models(fake_runtime: MakeRuntime, tmp_path: Path) -> None:
    models = ["llama3.2:1b", "qwen2.5:0.5b"]
    rt = fake_runtime(server_running=["ollama"], models_downloaded=models, load_seconds=0.05)
    with Keep(rt, tmp_path / "state", "ollama", *models, "--interval", "0.2") as keep:
        assert keep.until("ready")["message"].startswith("llama3.2:1b, qwen2.5:0.5b loaded")
        assert sorted(_loaded(rt, "ollama")) == sorted(models)
        body = {"model": "qwen2.5:0.5b", "keep_alive": 0}
        httpx.post(rt.ollama_url + "/api/generate", json=body, timeout=10).raise_for_status()
        assert keep.until("evicted")["model"] == "qwen2.5:0.5b"
        keep.until("reloaded")
        assert sorted(_loaded(rt, "ollama")) == sorted(models)


@pytest.mark.parametrize("how", ["MODEL_NAME", "--model"])
def test_keep_holds_every_configured_model(
    fake_runtime: MakeRuntime, tmp_path: Path, how: str
) -> None:
    """The models from MODEL_NAME (comma-separated) or a repeated --model, as init and check
    read them; keep once refused them: "this call uses one", exit 2."""
    models = ["llama3.2:1b", "qwen2.5:0.5b"]
    rt = fake_runtime(server_running=["ollama"], models_downloaded=models, load_seconds=0.05)
    if how == "MODEL_NAME":
        argv: list[str] = []
        env = {"MODEL_NAME": ",".join(models)}
    else:
        argv, env = ["--model", models[0], "--model", models[1]], {"MODEL_NAME": ""}
    with Keep(rt, tmp_path / "state", "ollama", *argv, "--interval", "0.2", **env) as keep:
        assert keep.until("ready")["message"].startswith("llama3.2:1b, qwen2.5:0.5b loaded")
        assert keep.seen[0]["models"] == models
        assert sorted(_loaded(rt, "ollama")) == sorted(models)


def test_sigterm_during_a_download_stops_it_and_exits_0(
    fake_runtime: MakeRuntime, tmp_path: Path
) -> None:
    rt = fake_runtime(server_running=["ollama"], pull_seconds=60.0, pull_frames=120)
    with Keep(rt, tmp_path / "state", "ollama", "llama3.2:1b") as keep:
        keep.until("downloading")
        deadline = time.monotonic() + 30
        while not list((tmp_path / "state" / "downloads").glob("*.progress")):
            assert time.monotonic() < deadline, "the download never began"
            time.sleep(0.02)
        keep.proc.send_signal(signal.SIGTERM)
        code, err = keep.finish()
    assert code == 0, err
    assert keep.kinds()[-2:] == ["stopping", "result"]
    # the download's lock and progress file went with it: the next run is not blocked
    assert list((tmp_path / "state" / "downloads").glob("*.progress")) == []
    assert rt.state().ollama.downloaded == []


def test_a_sigterm_whose_exception_python_dropped_still_stops_the_download(
    fake_runtime: MakeRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """keep's SIGTERM handler raises to abandon the running download; where Python ignores
    an exception (an at-fork hook, a ``__del__``) that one is lost. The next progress event
    raises it again, instead of the download running on to its end."""
    monkeypatch.setenv("LMSDRIVE_STATE_DIR", str(tmp_path / "state"))
    rt = fake_runtime(server_running=["ollama"], pull_seconds=60.0, pull_frames=120)
    seen: list[Progress] = []

    def on_progress(event: Progress) -> None:
        seen.append(event)
        if len(seen) == 1:
            with contextlib.suppress(_Stopped):  # as Python does in an at-fork hook
                keeper._on_signal(signal.SIGTERM, None)

    events: list[str] = []
    with Driver(Config.from_env(backend="ollama")) as driver:
        keeper = Keeper(
            driver.backend,
            ["llama3.2:1b"],
            on_progress=on_progress,
            on_event=lambda e: events.append(e.event),
        )
        keeper.run()
    assert len(seen) == 1
    assert events == ["downloading", "stopping"]
    assert rt.state().ollama.downloaded == []


# -- one JSON-lines format ---------------------------------------------------------------
@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
def test_keep_and_init_write_one_json_lines_format(
    fake_runtime: MakeRuntime, tmp_path: Path, backend: str
) -> None:
    """keep's events have the field names of init's (``ts``, ``backend``, ``model``,
    ``message``), its progress is init's progress event, and it begins and ends as init."""
    rt = fake_runtime(server_running=True, pull_seconds=0.3)
    with Keep(rt, tmp_path / "keep", backend, MODELS[backend]) as keep:
        keep.until("ready")
        keep.proc.send_signal(signal.SIGTERM)
        assert keep.finish()[0] == 0
    other = {"ollama": "qwen3:0.6b", "lmstudio": "qwen/qwen3-8b"}[backend]  # downloaded too
    init = subprocess.run(
        [sys.executable, "-m", "lmsdrive", "init", "--json", other],
        env=_env(rt, tmp_path / "init", backend),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert init.returncode == 0, init.stderr
    inits = [json.loads(line) for line in init.stdout.splitlines()]

    def keys(events: list[dict[str, Any]], kind: str) -> set[str]:
        (one,) = {frozenset(e) for e in events if e["event"] == kind}  # one shape per kind
        return set(one)

    for kind in ("begin", "progress"):
        assert keys(keep.seen, kind) == keys(inits, kind), kind
    assert keys(inits, "result") - keys(keep.seen, "result") == {"steps_performed"}
    assert keys(keep.seen, "loaded") - keys(inits, "step") == {"failures"}
    assert keys(inits, "step") < keys(keep.seen, "loaded")


def _readme_fields() -> dict[str, set[str]]:
    """Each event of the README's JSON-lines table: the names its fields column gives."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### JSON lines (`--json`)", 1)[1].split("\n#", 1)[0]
    fields: dict[str, set[str]] = {}
    for row in section.splitlines():
        cells = row.split("|")
        if len(cells) == 5 and cells[1].strip().startswith("`"):
            names = set(re.findall(r"`(\w+)`", cells[3])) | {"event", "ts"}
            for event in re.findall(r"`(\w+)`", cells[1]):
                fields[event] = names
    return fields


def test_readme_documents_every_keep_event_and_field(
    fake_runtime: MakeRuntime, tmp_path: Path
) -> None:
    documented = _readme_fields()
    assert set(EVENTS) | {"begin", "progress", "result"} <= set(documented)
    rt = fake_runtime(server_running=["ollama"], pull_seconds=0.3)
    with Keep(rt, tmp_path / "state", "ollama", "llama3.2:1b", "--interval", "0.1") as keep:
        keep.until("ready")
        rt.stop_server("ollama")
        keep.finish()
    assert {"begin", "progress", "downloading", "ready", "failed", "gave_up", "result"} <= set(
        keep.kinds() + ["progress"] * any(e["event"] == "progress" for e in keep.seen)
    )
    for event in keep.seen:
        assert set(event) <= documented[event["event"]], event
