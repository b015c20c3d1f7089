"""Robustness (issue 5, section 2): faults, hostile servers, bad names and URLs, two
processes at once, and load, each judged by what the USER gets from the public API -- a
typed lmsdrive error whose message says what to do -- and by what is left behind: no process
still running (zombies count as gone: PID 1 here does not reap orphans), no file descriptor
or socket left open (``/proc/self/fd`` counted before and after), nothing recorded as done
that was not (no model listed as downloaded after a failed pull).

Fakes: :mod:`lmsdrive.testing` (fake ``ollama``/``lms`` executables and servers with fault
knobs, through the ``fake_runtime`` fixture) and :mod:`lmsdrive.testing.hostile_server` (a
loopback HTTP server that misbehaves on purpose). Parser and ModelRef fuzzing: test_fuzz.py.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from lmsdrive import Config, Driver
from lmsdrive._types import Progress
from lmsdrive.backends.lmstudio import LMStudioBackend
from lmsdrive.backends.ollama import OllamaBackend
from lmsdrive.errors import (
    APIError,
    CommandTimeoutError,
    ConfigError,
    InvalidModelNameError,
    LmsdriveError,
    PullError,
    ServerNotRunningError,
)
from lmsdrive.http import LMStudioAPI, OllamaAPI
from lmsdrive.runner import RunTimeoutError, run
from lmsdrive.testing import hostile_server as H
from lmsdrive.testing.runtime import FakeRuntime

MODEL = {"ollama": "llama3.2:3b", "lmstudio": "qwen/qwen3-4b"}
FAKE = {"ollama": "ollama", "lmstudio": "lms"}
BACKENDS = ["ollama", "lmstudio"]
#: The real wording of a full disk during a download: Ollama's Go server, and Node's fs in lms.
DISK_FULL = {
    "ollama": (
        "write /root/.ollama/models/blobs/sha256-dde5aa3fc5ffc17176b5e8bdc82f587b24b2678c6c661"
        "01bf7da77af9f7ccdff-partial: no space left on device"
    ),
    "lmstudio": "ENOSPC: no space left on device, write",
}

Factory = Callable[..., FakeRuntime]


# --------------------------------------------------------------------------- helpers


def driver(backend: str, model: str | None = None, url: str | None = None) -> Driver:
    return Driver(Config.from_env(backend=backend, model_name=model or MODEL[backend], url=url))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@contextlib.contextmanager
def no_fd_leak(slack: int = 0) -> Iterator[None]:
    """Every file descriptor opened inside the block is closed by its end."""
    gc.collect()
    before = open_fds()
    yield
    deadline = time.monotonic() + 3
    while True:
        gc.collect()
        now = open_fds()
        if now <= before + slack or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert now <= before + slack, f"{now - before} file descriptor(s) leaked: {before} -> {now}"


def alive(pid: int) -> bool:
    """Running (a zombie is gone: its parent may be a PID 1 that never reaps)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(") ", 1)[1][0] not in "ZX"
    except (FileNotFoundError, IndexError):
        return False


def pids_with(token: str) -> list[int]:
    """Live processes whose command line contains ``token``."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:
            continue
        if token.encode() in cmdline and alive(int(name)):
            out.append(int(name))
    return out


def gone(pids: Callable[[], list[int]], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while pids():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def pull_children(rt: FakeRuntime) -> list[int]:
    return [s["pid"] for s in rt.spawns() if s["argv"][1:2] in (["pull"], ["get"])]


def hung_binary(tmp_path: Path, name: str) -> tuple[Path, str]:
    """An executable that prints nothing and sleeps (in a child: a grandchild to reap);
    returns its path and the token naming its sleeping process."""
    token = f"97.{uuid.uuid4().int % 10**8:08d}"
    exe = tmp_path / "hung" / name
    exe.parent.mkdir(exist_ok=True)
    exe.write_text(f"#!/bin/sh\nsleep {token}\n")
    exe.chmod(0o755)
    return exe, token


@contextlib.contextmanager
def peak_memory() -> Iterator[list[int]]:
    """``[peak bytes]`` allocated by Python inside the block (tracemalloc)."""
    out = [0]
    tracemalloc.start()
    try:
        yield out
    finally:
        out[0] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def hostile_driver(backend: str, srv: H.HostileServer, *, read_timeout: float = 300.0) -> Driver:
    cfg = Config.from_env(backend=backend, model_name=MODEL[backend], url=srv.url)
    if backend == "ollama":
        api: Any = OllamaAPI(srv.url, read_timeout=read_timeout)
        return Driver(cfg, backend=OllamaBackend(srv.url, api=api))
    api = LMStudioAPI(srv.url, read_timeout=read_timeout)
    return Driver(cfg, backend=LMStudioBackend(srv.url, api=api))


GENERATE = {"ollama": "/api/generate", "lmstudio": "/v1/chat/completions"}
ERROR_500 = {
    "ollama": b'{"error":"llama runner process has terminated: exit status 2"}',
    "lmstudio": (
        b'{"error":{"message":"llama runner process has terminated","type":"server_error"}}'
    ),
}


def token_line(backend: str, text: str = "a") -> bytes:
    if backend == "ollama":
        return json.dumps({"model": "m", "response": text, "done": False}).encode() + b"\n"
    delta = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    return b"data: " + json.dumps(delta).encode() + b"\n\n"


def stream_type(backend: str) -> str:
    return "application/x-ndjson" if backend == "ollama" else "text/event-stream"


# --------------------------------------------------------------------------- the server dies


@pytest.mark.parametrize("backend", BACKENDS)
def test_server_dies_mid_pull_leaves_nothing_behind(fake_runtime: Factory, backend: str) -> None:
    rt = fake_runtime(server_running=True, pull_dies_at_percent=40, pull_seconds=0.5)
    events: list[Progress] = []
    with no_fd_leak(), driver(backend) as d:
        report = d.ensure_ready(on_progress=events.append)
    assert not report.success
    assert type(report.error) is ServerNotRunningError
    stopped = re.match(
        r"The download of \S+ stopped at (\d+)%: \S+(?: \S+)? server at ", report.message
    )
    assert stopped is not None and 0 < int(stopped[1]) <= 40, report.message  # it died at 40 %
    assert "does not answer" in report.message, report.message
    assert any(e.phase == "downloading" for e in events), "progress before the death"
    assert rt.state().backend(FAKE[backend]).downloaded == [], "a dead pull recorded as done"
    assert gone(lambda: [p for p in pull_children(rt) if alive(p)])


def test_server_dies_mid_http_pull(fake_runtime: Factory) -> None:
    rt = fake_runtime(server_running=["ollama"], pull_dies_at_percent=40, pull_seconds=0.5)
    events: list[Progress] = []
    with (
        no_fd_leak(),
        OllamaAPI(rt.ollama_url) as api,
        pytest.raises(ServerNotRunningError) as info,
    ):
        for event in api.pull(MODEL["ollama"]):
            events.append(event)
    assert [e for e in events if e.phase == "downloading"], "progress arrived before the cut"
    message = str(info.value)
    assert rt.ollama_url in message and "check that the server is still running" in message
    assert rt.state().ollama.downloaded == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_server_dies_mid_generate(fake_runtime: Factory, backend: str) -> None:
    rt = fake_runtime(server_running=True, models_loaded=[MODEL[backend]], token_seconds=0.15)
    with no_fd_leak(), driver(backend) as d:
        d.generate("warm up", max_tokens=1)
        killer = threading.Timer(0.3, rt.stop_server, args=[FAKE[backend]])
        killer.start()
        try:
            with pytest.raises(ServerNotRunningError) as info:
                d.generate("Why is the sky blue?")
        finally:
            killer.join()
    assert "does not answer" in str(info.value)
    assert isinstance(info.value, ConnectionError)


@pytest.mark.parametrize("backend", BACKENDS)
def test_server_dies_mid_stream(fake_runtime: Factory, backend: str) -> None:
    rt = fake_runtime(server_running=True, models_loaded=[MODEL[backend]], token_seconds=0.1)
    got: list[str] = []
    with no_fd_leak(), driver(backend) as d:
        pieces = d.generate_stream("Why is the sky blue?")
        got.append(next(pieces))
        rt.stop_server(FAKE[backend])
        with pytest.raises(ServerNotRunningError, match="does not answer"):
            got.extend(pieces)
    assert got and len(got) < 8


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cut", [True, False], ids=["connection-cut", "clean-end"])
def test_stream_ends_without_its_last_message(backend: str, cut: bool) -> None:
    """NDJSON without ``done: true`` / SSE without ``[DONE]``: the connection is cut (the
    server died) or the body ends cleanly too early (a proxy)."""
    pieces = [token_line(backend, "Hel"), token_line(backend, "lo")]
    behave = H.chunked(pieces, complete=not cut, content_type=stream_type(backend))
    got: list[str] = []
    with no_fd_leak(), H.HostileServer({GENERATE[backend]: behave}) as srv:
        with (
            hostile_driver(backend, srv) as d,
            pytest.raises(ServerNotRunningError if cut else APIError) as info,
        ):
            got.extend(d.generate_stream("hi"))
        assert srv.wait_idle()
    assert got == ["Hel", "lo"]
    message = str(info.value)
    assert type(info.value) is (ServerNotRunningError if cut else APIError)
    if cut:
        assert "does not answer" in message and "dropped" in message
    else:
        assert "ended the stream before" in message and "check its log" in message.lower()


# --------------------------------------------------------------------------- a hung CLI


def test_hung_command_hits_its_timeout(tmp_path: Path) -> None:
    exe, token = hung_binary(tmp_path, "lms")
    with no_fd_leak():
        t0 = time.monotonic()
        with pytest.raises(RunTimeoutError) as info:
            run([str(exe), "ls"], timeout=0.5)
        assert time.monotonic() - t0 < 3
    assert isinstance(info.value, TimeoutError)
    assert "did not finish within 0.5 s" in str(info.value) and "It printed nothing" in str(
        info.value
    )
    assert gone(lambda: pids_with(token)), "the sleeping grandchild outlived the timeout"


@pytest.mark.parametrize("command", ["list_models", "loaded_models", "load"])
def test_hung_lms_command_of_the_backend_times_out(tmp_path: Path, command: str) -> None:
    exe, token = hung_binary(tmp_path, "lms")
    with no_fd_leak():
        backend = LMStudioBackend("http://127.0.0.1:9", binary=exe, command_timeout=0.5)
        args = (MODEL["lmstudio"],) if command == "load" else ()
        t0 = time.monotonic()
        with pytest.raises(CommandTimeoutError) as info:
            getattr(backend, command)(*args)
        took = time.monotonic() - t0
        backend.close()
    assert took < 4
    message = str(info.value)
    assert "0.5 s" in message and "Raise the timeout" in message
    assert "printed nothing" in message if command == "load" else "did not finish" in message
    assert gone(lambda: pids_with(token))


def test_hung_ollama_pull_hits_its_idle_timeout(tmp_path: Path) -> None:
    exe, token = hung_binary(tmp_path, "ollama")
    with no_fd_leak():
        backend = OllamaBackend("http://127.0.0.1:9", binary=exe, pull_idle_timeout=0.5)
        with pytest.raises(CommandTimeoutError, match=r"printed nothing for 0\.5 s"):
            list(backend.pull(MODEL["ollama"]))
        backend.close()
    assert gone(lambda: pids_with(token))


def test_hung_lms_during_ensure_ready_is_reported(fake_runtime: Factory, tmp_path: Path) -> None:
    rt = fake_runtime(server_running=["lms"])
    exe, token = hung_binary(tmp_path, "lms")
    cfg = Config.from_env(backend="lmstudio", model_name=MODEL["lmstudio"])
    with no_fd_leak():
        backend = LMStudioBackend(rt.lms_url, binary=exe, command_timeout=0.5)
        with Driver(cfg, backend=backend) as d:
            report = d.ensure_ready()
    assert not report.success
    assert isinstance(report.error, CommandTimeoutError)
    assert "Raise the timeout" in report.message
    assert gone(lambda: pids_with(token))


# --------------------------------------------------------------------------- hostile HTTP


@pytest.mark.parametrize("backend", BACKENDS)
def test_http_500_says_check_the_log(backend: str) -> None:
    with no_fd_leak(), H.HostileServer({"*": H.status(500, ERROR_500[backend])}) as srv:
        with hostile_driver(backend, srv) as d, pytest.raises(APIError) as info:
            d.generate("hi")
        assert srv.wait_idle()
    assert info.value.status_code == 500
    assert "llama runner process has terminated" in str(info.value)
    assert "check its log, then retry" in str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_http_500_with_a_plain_text_body(backend: str) -> None:
    behave = H.status(500, b"Internal Server Error", "text/plain")
    with no_fd_leak(), H.HostileServer({"*": behave}) as srv:
        with hostile_driver(backend, srv) as d, pytest.raises(APIError) as info:
            d.generate("hi")
        assert srv.wait_idle()
    assert info.value.status_code == 500 and "check its log" in str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "behave",
    [H.hang_up, H.truncated(b'{"model":"m","respon', 400)],
    ids=["closes-the-connection", "truncated-body"],
)
def test_http_connection_closed_or_body_truncated(backend: str, behave: H.Behaviour) -> None:
    with no_fd_leak(), H.HostileServer({"*": behave}) as srv:
        with hostile_driver(backend, srv) as d, pytest.raises(ServerNotRunningError) as info:
            d.generate("hi")
        assert srv.wait_idle()
    message = str(info.value)
    assert "does not answer" in message and srv.url in message


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("body", [b"{not json", b"<html>login</html>", b'{"a":1}{'])
def test_http_invalid_json(backend: str, body: bytes) -> None:
    with (
        no_fd_leak(),
        H.HostileServer({"*": H.status(200, body)}) as srv,
        hostile_driver(backend, srv) as d,
        pytest.raises(APIError) as info,
    ):
        d.generate("hi")
    message = str(info.value)
    assert "cannot read" in message
    assert ("OLLAMA_HOST" if backend == "ollama" else "OpenAI-compatible") in message


@pytest.mark.parametrize("backend", BACKENDS)
def test_endless_stream_is_ended_by_the_caller(backend: str) -> None:
    behave = H.endless(token_line(backend), stream_type(backend))
    with (
        no_fd_leak(),
        H.HostileServer({GENERATE[backend]: behave}) as srv,
        hostile_driver(backend, srv) as d,
        peak_memory() as peak,
    ):
        pieces = d.generate_stream("hi")
        assert len(list(itertools.islice(pieces, 2000))) == 2000
        pieces.close()
        assert srv.wait_idle(), "closing the stream must close its connection"
    assert peak[0] < 4 << 20


@pytest.mark.parametrize("backend", BACKENDS)
def test_endless_line_is_cut_at_the_line_limit(backend: str) -> None:
    prefix = b'{"model":"m","response":"' if backend == "ollama" else b'data: {"x":"'
    behave = H.endless(prefix + b"x" * 65536, stream_type(backend))
    with no_fd_leak(), H.HostileServer({GENERATE[backend]: behave}) as srv:
        with (
            hostile_driver(backend, srv) as d,
            peak_memory() as peak,
            pytest.raises(APIError, match="longer than 1048576 bytes"),
        ):
            list(d.generate_stream("hi"))
        assert srv.wait_idle()
    assert peak[0] < 8 << 20


@pytest.mark.parametrize("backend", BACKENDS)
def test_silent_stream_hits_the_read_timeout(backend: str) -> None:
    with no_fd_leak(), H.HostileServer({GENERATE[backend]: H.stall(30)}) as srv:
        with hostile_driver(backend, srv, read_timeout=0.5) as d:
            t0 = time.monotonic()
            with pytest.raises(CommandTimeoutError) as info:
                list(d.generate_stream("hi"))
            assert time.monotonic() - t0 < 3
        assert srv.wait_idle()
    assert "did not answer within 0.5 s" in str(info.value)
    assert "read_timeout" in str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_endless_body_of_a_whole_answer_is_cut(backend: str) -> None:
    """``generate`` (not streamed) against a server that does not end its body (here:
    stops at 96 MiB, so that a regression fails the test instead of exhausting memory)."""
    behave = H.endless(b"[" + b"1," * 32768, "application/json", max_bytes=96 << 20)
    with no_fd_leak(), H.HostileServer({GENERATE[backend]: behave}) as srv:
        with (
            hostile_driver(backend, srv) as d,
            peak_memory() as peak,
            pytest.raises(APIError, match="larger than 16777216 bytes"),
        ):
            d.generate("hi")
        assert srv.wait_idle()
    assert peak[0] < 48 << 20, f"peak {peak[0] / 1e6:.0f} MB"


@pytest.mark.parametrize("path", ["/api/tags", "/api/ps", "/api/version"])
def test_huge_declared_body_is_refused_unread(path: str) -> None:
    behave = H.huge(1 << 30, prefix=b'{"models":[', fill=b'{"name":"a:b"},', suffix=b"{}]}")
    with no_fd_leak(), H.HostileServer({path: behave}) as srv:
        with OllamaAPI(srv.url) as api, peak_memory() as peak:
            t0 = time.monotonic()
            with pytest.raises(APIError, match="larger than"):
                getattr(api, path.rsplit("/", 1)[1])()
            assert time.monotonic() - t0 < 2
        assert srv.wait_idle()
    assert peak[0] < 1 << 20


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_deeply_nested_json_is_refused_with_bounded_memory(backend: str, stream: bool) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    if stream:
        body = (b"data: " if backend == "lmstudio" else b"") + deep + b"\n\n"
        behave = H.chunked([body], content_type=stream_type(backend))
    else:
        behave = H.status(200, deep)
    with no_fd_leak(), H.HostileServer({GENERATE[backend]: behave}) as srv:
        with (
            hostile_driver(backend, srv) as d,
            peak_memory() as peak,
            pytest.raises(APIError, match="nested deeper than 64"),
        ):
            list(d.generate_stream("hi")) if stream else d.generate("hi")
        assert srv.wait_idle()
    assert peak[0] < 8 << 20, f"peak {peak[0] / 1e6:.1f} MB"


def test_deeply_nested_metadata_is_refused() -> None:
    routes = {
        "/api/tags": H.status(200, b'{"models":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        "/v1/models": H.status(200, b'{"data":' + b"{" * 100_000),
    }
    with no_fd_leak(), H.HostileServer(routes) as srv:
        with OllamaAPI(srv.url) as o, pytest.raises(APIError, match="nested deeper"):
            o.tags()
        with LMStudioAPI(srv.url) as lms, pytest.raises(APIError, match="nested deeper"):
            lms.models()


# --------------------------------------------------------------------------- disk full


@pytest.mark.parametrize("backend", BACKENDS)
def test_disk_full_during_pull(fake_runtime: Factory, backend: str) -> None:
    rt = fake_runtime(server_running=True, pull_error=DISK_FULL[backend], pull_seconds=0.3)
    events: list[Progress] = []
    with no_fd_leak(), driver(backend) as d:
        report = d.ensure_ready(on_progress=events.append)
    assert not report.success
    assert isinstance(report.error, PullError)
    assert "no space left on device" in report.message
    assert "free space" in report.message and "run the download again" in report.message
    assert report.steps_performed == []
    assert [e for e in events if e.phase == "error"], "the failure arrives as an error event"
    assert rt.state().backend(FAKE[backend]).downloaded == []
    assert gone(lambda: [p for p in pull_children(rt) if alive(p)])


def test_disk_full_during_http_pull(fake_runtime: Factory) -> None:
    rt = fake_runtime(server_running=["ollama"], pull_error=DISK_FULL["ollama"], pull_seconds=0.3)
    events: list[Progress] = []
    with no_fd_leak(), OllamaAPI(rt.ollama_url) as api, pytest.raises(PullError) as info:
        for event in api.pull(MODEL["ollama"]):
            events.append(event)
    assert "no space left on device" in str(info.value) and "free space" in str(info.value)
    assert events[-1].phase == "error"
    assert rt.state().ollama.downloaded == []


# --------------------------------------------------------------------------- two processes

_CHILD = textwrap.dedent(
    """
    import json, sys, time
    from lmsdrive import Config, Driver
    backend, model, at = sys.argv[1], sys.argv[2], float(sys.argv[3])
    d = Driver(Config.from_env(backend=backend, model_name=model))
    time.sleep(max(0.0, at - time.time()))
    print(json.dumps(d.ensure_ready(start_timeout=30).to_dict()))
    d.close()
    """
)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_processes_ensure_ready_at_once_start_one_server(
    fake_runtime: Factory, backend: str
) -> None:
    rt = fake_runtime(models_downloaded=[MODEL[backend]], load_seconds=0.05)
    at = time.time() + 1.5  # both past their imports, then at the same instant
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, backend, MODEL[backend], str(at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    assert all(r["success"] for r in reports), [
        (r, err[-500:]) for r, (_, err) in zip(reports, outs, strict=True)
    ]
    starts = [
        s
        for s in rt.spawns()
        if s["argv"][1:2] == ["serve"] or s["argv"][1:3] == ["server", "start"]
    ]
    assert len(starts) == 1, starts
    started = [r for r in reports if any(s.startswith("Started") for s in r["steps_performed"])]
    assert len(started) == 1, reports


# --------------------------------------------------------------------------- callbacks


class Boom(Exception):
    pass


@pytest.mark.parametrize("backend", BACKENDS)
def test_progress_callback_that_raises(fake_runtime: Factory, backend: str) -> None:
    rt = fake_runtime(server_running=True, pull_seconds=5.0, pull_frames=50)
    seen: list[Progress] = []

    def explode(p: Progress) -> None:
        seen.append(p)
        if p.phase == "downloading":
            raise Boom("the user's callback failed")

    with no_fd_leak(), driver(backend) as d, pytest.raises(Boom):
        d.ensure_ready(on_progress=explode)
    assert seen[-1].phase == "downloading"
    assert len(pull_children(rt)) == 1
    assert gone(lambda: [p for p in pull_children(rt) if alive(p)]), "the pull outlived it"
    assert rt.state().backend(FAKE[backend]).downloaded == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_pull_callback_that_raises(fake_runtime: Factory, backend: str) -> None:
    rt = fake_runtime(server_running=True, pull_seconds=5.0, pull_frames=50)
    with no_fd_leak(), driver(backend) as d:

        def explode(p: Progress) -> None:
            raise Boom

        with pytest.raises(Boom):
            for event in d.pull(MODEL[backend]):
                explode(event)
    assert gone(lambda: [p for p in pull_children(rt) if alive(p)])
    assert rt.state().backend(FAKE[backend]).downloaded == []


# --------------------------------------------------------------------------- injection

NAMES = ["--help", "-rf", "x --verbose", "$(reboot)", "a;b", "a\nb", "a\x00b", "`id`", "a|b", ""]


@pytest.mark.parametrize("backend", BACKENDS)
def test_hostile_model_names_never_reach_a_command_or_a_request(
    fake_runtime: Factory, backend: str
) -> None:
    rt = fake_runtime(server_running=True, models_loaded=[MODEL[backend]])
    rt.reset_counts()
    with driver(backend) as d:
        b = d.backend
        calls: list[Callable[[str], object]] = [
            lambda n: list(b.pull(n)),
            b.load,
            b.unload,
            b.has_model,
            b.is_loaded,
            b.readiness,
            lambda n: b.probe([n]),
            lambda n: b.generate(n, "hi"),
            lambda n: list(b.generate_stream(n, "hi")),
        ]
        for name in NAMES:
            if name:  # an empty MODEL_NAME is "not set"
                with pytest.raises(InvalidModelNameError, match="Accepted forms"):
                    Config.from_env(backend=backend, model_name=name)
            with pytest.raises(InvalidModelNameError, match="Accepted forms"):
                Config(backend=backend, model_name=name)
            for call in calls:
                with pytest.raises(InvalidModelNameError):
                    call(name)
    assert rt.spawns() == [], "a process was started for a refused name"
    assert rt.requests() == [], "a request was sent for a refused name"


URLS = {
    "LMSTUDIO_URL": [
        "http://x:1234; rm -rf /",
        "http://localhost:1234/a b",
        "http://localhost:1234/\nX-Injected: 1",
        "http://localhost:1234/\x00",
        "http://localhost:1234/`id`",
        "http://-x:1234",
        "file:///etc/passwd",
    ],
    "OLLAMA_HOST": [
        "127.0.0.1:11434 --help",
        "host with spaces",
        "127.0.0.1:11434\nfoo",
        "http://127.0.0.1:11434/a b",
        "http://127.0.0.1:11434/a\nb",
        "127.0.0.1:11434/\x00",
        "127.0.0.1:11434;rm -rf /",
        "-h",
    ],
}


@pytest.mark.parametrize(
    ("variable", "value"), [(k, v) for k, vs in URLS.items() for v in vs], ids=repr
)
def test_hostile_urls_are_refused_naming_the_variable(
    fake_runtime: Factory, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    rt = fake_runtime()
    sent: list[object] = []
    real_send = httpx.Client.send

    def send(self: httpx.Client, request: httpx.Request, **kw: Any) -> httpx.Response:
        sent.append(request.url)
        return real_send(self, request, **kw)

    monkeypatch.setattr(httpx.Client, "send", send)
    backend = "ollama" if variable == "OLLAMA_HOST" else "lmstudio"
    env = {variable: value, "BACKEND": backend, "MODEL_NAME": MODEL[backend]}
    # Config.from_env() or, for what it lets through, the HTTP client refuses the address
    with pytest.raises(ConfigError) as info, Driver(Config.from_env(env)) as d:
        d.ensure_ready()
    assert variable in str(info.value)
    assert rt.spawns() == [], "the address reached a command line"
    assert sent == [], "the address reached a request"


# --------------------------------------------------------------------------- load


def _threads() -> int:
    return threading.active_count()


@pytest.mark.parametrize("backend", BACKENDS)
def test_load_one_driver_1000_sequential_and_50_concurrent(
    fake_runtime: Factory, backend: str, record_property: Callable[[str, object], None]
) -> None:
    fake_runtime(server_running=True, models_loaded=[MODEL[backend]])
    gc.collect()
    fds0, threads0 = open_fds(), _threads()
    t0 = time.monotonic()
    with driver(backend) as d:
        d.generate("warm up", max_tokens=2)
        fds_warm = open_fds()
        answers = [d.generate(f"question {i}", max_tokens=4).text for i in range(1000)]
        t_seq = time.monotonic() - t0
        assert len(answers) == 1000 and all(answers)
        fds_seq = open_fds()
        assert fds_seq <= fds_warm, "sequential calls through one pool must reuse a connection"

        t1 = time.monotonic()
        with ThreadPoolExecutor(max_workers=50) as pool:
            got = list(pool.map(lambda i: d.generate(f"q{i}", max_tokens=4).text, range(50)))
        t_conc = time.monotonic() - t1
        assert len(got) == 50 and all(got)
        fds_conc = open_fds()
        # the pool keeps at most 20 idle keep-alive connections (httpx's default)
        assert fds_conc - fds_warm <= 20
    gc.collect()
    fds1, threads1 = open_fds(), _threads()
    assert fds1 <= fds0, (fds0, fds1)
    assert threads1 <= threads0, (threads0, threads1)
    figures = {
        "backend": backend,
        "sequential": 1000,
        "concurrent": 50,
        "fds_before": fds0,
        "fds_after_warmup": fds_warm,
        "fds_after_sequential": fds_seq,
        "fds_after_concurrent": fds_conc,
        "fds_after_close": fds1,
        "threads_before": threads0,
        "threads_after": threads1,
        "sequential_s": round(t_seq, 2),
        "concurrent_s": round(t_conc, 2),
    }
    record_property("load", figures)
    print(json.dumps(figures))


def test_load_errors_are_typed(fake_runtime: Factory) -> None:
    """Concurrent calls while the server is gone: every one a typed error, no leak."""
    fake_runtime()
    with no_fd_leak(), driver("ollama") as d, ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(lambda i: _outcome(d, i), range(100)))
    assert set(outcomes) == {"ServerNotRunningError"}


def _outcome(d: Driver, i: int) -> str:
    try:
        d.generate(f"q{i}")
    except LmsdriveError as exc:
        return type(exc).__name__
    return "ok"
