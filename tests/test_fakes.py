"""The fake runtimes (lmsdrive.testing): their output is what the real parsers read, servers
serve until stopped and die when told, state flows between commands, nothing leaks."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lmsdrive.parsers import ollama_pull as ollama_pull_parser
from lmsdrive.parsers import parse
from lmsdrive.testing import _lmstudio_format as L
from lmsdrive.testing import _ollama_format as O
from lmsdrive.testing.fake_cli import pid_alive
from lmsdrive.testing.fake_ollama import parse_keep_alive, parse_ollama_host, pull_plan
from lmsdrive.testing.fake_server import FakeServer
from lmsdrive.testing.fake_state import (
    FakeState,
    Model,
    edit_state,
    load_state,
    make_model,
    save_state,
)
from lmsdrive.testing.runtime import FakeRuntime
from lmsdrive.transcript import Transcript

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MakeRuntime = Callable[..., FakeRuntime]


def run(*argv: str, env: dict[str, str] | None = None, timeout: float = 20) -> Transcript:
    p = subprocess.run(list(argv), capture_output=True, env=env, timeout=timeout)
    return Transcript(
        stdout=p.stdout.decode(), stderr=p.stderr.decode(), argv=argv, exit_code=p.returncode
    )


def facts(command: str, t: Transcript) -> dict[str, Any]:
    return parse(command, t).to_dict()


@pytest.fixture
def rt() -> Iterator[FakeRuntime]:
    with FakeRuntime(
        models_downloaded={"ollama": ["qwen2.5:0.5b"], "lms": ["google/gemma-3-1b"]},
        pull_seconds=0.4,
    ) as runtime:
        yield runtime


def start_serve(env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """``ollama serve`` in the background; returns it and its stderr up to the ready line."""
    proc = subprocess.Popen(["ollama", "serve"], stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    text = b""
    deadline = time.monotonic() + 15
    while b"Listening on" not in text and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        text += line
    return proc, text.decode()


# ----- renderers: the real formats ------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (19_970_000_000, "19 GB"),
        (4_700_000_000, "4.7 GB"),
        (9_960_000_000, "10.0 GB"),
        (2_000_000_000, "2 GB"),
        (1429, "1.4 KB"),
        (96, "96 B"),
        (0, "0 B"),
    ],
)
def test_human_bytes_is_ollamas(n: int, text: str) -> None:
    assert O.human_bytes(n) == text


def test_human_time_phrases() -> None:
    now = 1_000_000.0
    assert O.human_time(now - 0.5, now) == "Less than a second ago"
    assert O.human_time(now - 90, now) == "About a minute ago"
    assert O.human_time(now - 3 * 86400, now) == "3 days ago"
    assert O.human_time(now - 15 * 86400, now) == "2 weeks ago"
    assert O.human_time(now + 250, now) == "4 minutes from now"
    assert O.human_time(None, now) == "Forever"
    assert O.human_time(now + 30 * 365 * 86400, now) == "Forever"


def test_go_durations() -> None:
    assert O.go_duration(21.948e-6) == "21.948µs"
    assert O.go_duration(0.0015) == "1.5ms"
    assert O.go_duration(123) == "2m3s"
    assert O.go_duration(0) == "0s"
    assert O.eta_duration(7860) == "2h11m"
    assert O.eta_duration(500 * 3600) == "99h+"


def test_empty_ollama_table_is_the_recorded_bytes() -> None:
    recorded = (FIXTURES / "ollama/list/gh14544-empty-linux.txt").read_text().splitlines()[1]
    # the header ends with one space (reference §1.2); the paste lost it
    assert O.ollama_list_text([], 0) == "NAME    ID    SIZE    MODIFIED \n"
    assert O.ollama_list_text([], 0).rstrip() == recorded


def test_ollama_ps_table_matches_the_recorded_layout() -> None:
    # fixtures/ollama/ps/gh11676-context-forever: header ends "UNTIL   ", row "Forever    "
    table = O.ollama_table(
        ["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"],
        [["llama4:16x17b", "bf31604e25c2", "159 GB", "52%/48% CPU/GPU", "128000", "Forever"]],
    )
    recorded = (FIXTURES / "ollama/ps/gh11676-context-forever.txt").read_text()
    assert table == recorded


def test_pull_bar_line_is_terminal_width_minus_one() -> None:
    bar = O._Bar("pulling dde5aa3fc5ff:", 2_019_377_376, 1, 0.0)
    bar.set(2_019_377_376, 0.5)
    line = bar.render(1.0, 80)
    assert len(line) == 79
    assert line.startswith("pulling dde5aa3fc5ff: 100% ▕" + "█" * 18 + "▏ 2.0 GB")
    recorded = (FIXTURES / "ollama/pull/pingcap102-success-colon.txt").read_text()
    assert line.rstrip() in recorded.splitlines()


def test_lms_bar_and_sizes() -> None:
    assert L.lms_bar(24.51) == "█████▍" + " " * 16
    assert L.lms_bar(100) == "█" * 22
    assert L.lms_bytes(4_920_000_000) == "4.92 GB"
    assert L.lms_bytes(84_110_000) == "84.11 MB"
    assert L.lms_gib(29.53e9) == "27.50 GiB"
    assert L.lms_elapsed(0.845) == "845.00ms"
    assert L.lms_elapsed(63.2) == "1m 3.20s"
    frame, pad = L.lms_get_frame(1, 1_210_000_000, 4_920_000_000, 35_120_000, 0, False)
    assert frame == (
        "\x1b[?25l\x1b[s\r⠙ [█████▍                ] 24.59% | 1.21 GB / 4.92 GB | 35.12 MB/s"
        " | ETA 01:45          \x1b[u"
    )
    assert pad == 7


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ("http", "127.0.0.1", 11434)),
        ("", ("http", "127.0.0.1", 11434)),
        ("0.0.0.0", ("http", "0.0.0.0", 11434)),
        ("myhost:8080", ("http", "myhost", 8080)),
        (":8080", ("http", "", 8080)),
        ("http://myhost", ("http", "myhost", 80)),
        ("https://myhost", ("https", "myhost", 443)),
        ("[::1]:9000", ("http", "::1", 9000)),
        ('"127.0.0.1:5000"', ("http", "127.0.0.1", 5000)),
    ],
)
def test_ollama_host_is_parsed_like_ollama(
    value: str | None, expected: tuple[str, str, int]
) -> None:
    assert parse_ollama_host(value) == expected


def test_keep_alive_values() -> None:
    assert parse_keep_alive(None) == 300
    assert parse_keep_alive(0) == 0
    assert parse_keep_alive("5m") == 300
    assert parse_keep_alive("1h30m") == 5400
    assert parse_keep_alive(-1) is None
    assert parse_keep_alive("-1m") is None
    with pytest.raises(ValueError):
        parse_keep_alive("10")


def test_pull_plan_events_rise_and_end_with_success() -> None:
    st = FakeState()
    events = pull_plan("llama3.2:3b", st.registry["llama3.2:3b"], frames=5)
    assert events[0] == {"status": "pulling manifest"}
    assert [e["status"] for e in events[-3:]] == [
        "verifying sha256 digest",
        "writing manifest",
        "success",
    ]
    first = [e for e in events if e.get("digest") == events[1]["digest"]]
    assert "completed" not in first[0]  # omitempty: the first message has no completed
    done = [e["completed"] for e in first[1:]]
    assert done == sorted(done) and len(done) == 5 and done[-1] == first[0]["total"]


# ----- state ----------------------------------------------------------------------------------


def test_state_round_trip_and_locked_edit(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    assert load_state(path).ollama.downloaded == []  # no file: empty state
    st = FakeState()
    st.lms.downloaded.append(make_model("qwen/qwen3-4b", st.registry["qwen/qwen3-4b"]))
    st.knobs.pull_dies_at_percent = 40
    save_state(path, st)
    with edit_state(path) as s:
        assert isinstance(s.lms.downloaded[0], Model)
        s.knobs.generate_text = "hi"
    again = load_state(path)
    assert again.knobs.generate_text == "hi"
    assert again.knobs.pull_dies_at_percent == 40
    assert again.lms.downloaded[0].name == "qwen/qwen3-4b"
    assert again.to_json() == FakeState.from_json(json.loads(path.read_text())).to_json()


# ----- ollama CLI -----------------------------------------------------------------------------


def test_ollama_without_server_fails_like_the_real_client(rt: FakeRuntime) -> None:
    t = run("ollama", "list")
    assert t.exit_code == 1
    assert t.stderr == (
        "Error: ollama server not responding - could not connect to ollama server, "
        "run 'ollama serve' to start it\n"
    )
    assert facts("ollama list", t)["kind"] == "server_not_running"
    v = run("ollama", "--version")
    assert v.exit_code == 0
    assert facts("ollama --version", v)["server_reachable"] is False


def test_ollama_serve_is_ready_serves_and_stops_on_sigterm(rt: FakeRuntime) -> None:
    proc, text = start_serve()
    try:
        ready = facts("ollama serve", Transcript(stderr=text))
        assert ready["ready"] is True
        assert ready["listen_address"] == f"127.0.0.1:{rt.ollama_port}"
        assert ready["version"] == "0.12.3"
        assert rt.server_pid("ollama") == proc.pid
        assert httpx.get(rt.ollama_url).text == "Ollama is running"
        listed = facts("ollama list", run("ollama", "list"))
        assert [m["name"] for m in listed["models"]] == ["qwen2.5:0.5b"]
        assert proc.poll() is None
        # a second server on the same address cannot bind
        busy = run("ollama", "serve")
        assert busy.exit_code == 1
        assert busy.stderr == (
            f"Error: listen tcp 127.0.0.1:{rt.ollama_port}: bind: address already in use\n"
        )
        assert facts("ollama serve", busy)["kind"] == "bind_failed"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    assert rt.server_pid("ollama") is None
    assert run("ollama", "list").exit_code == 1


def test_ollama_pull_is_a_timed_terminal_animation(rt: FakeRuntime) -> None:
    proc, _ = start_serve()
    try:
        pull = subprocess.Popen(["ollama", "pull", "llama3.2:3b"], stderr=subprocess.PIPE)
        assert pull.stderr is not None
        chunks: list[tuple[float, str]] = []
        fd = pull.stderr.fileno()
        while True:
            select.select([fd], [], [], 5)
            data = os.read(fd, 65536)
            if not data:
                break
            chunks.append((time.monotonic(), data.decode()))
        assert pull.wait(10) == 0
        text = "".join(c for _, c in chunks)
        frames = text.count("\x1b[?2026h")
        assert frames >= 3, text
        assert text.count("\x1b[?2026h") == text.count("\x1b[?2026l")
        assert "\x1b[A" in text and "\x1b[K" in text and "\x1b[?25l" in text
        assert chunks[-1][0] - chunks[0][0] >= 0.2  # frames arrive over time
        assert text.endswith("success \x1b[K\x1b[?25h\x1b[?2026l\n")
        # the streaming parser sees progress while it happens, never going back
        events = list(ollama_pull_parser.stream(c for _, c in chunks))
        overall = [e.overall_percent for e in events if e.overall_percent is not None]
        assert len(overall) >= 2 and overall == sorted(overall)
        result = facts("ollama pull", Transcript(stderr=text, exit_code=0))
        assert result["outcome"] == "success"
        assert result["digests"] == [
            "dde5aa3fc5ff",
            "966de95ca8a6",
            "fcc5a6bec9da",
            "a70ff7e570d9",
            "56bb8bd477a5",
            "34bb5ab01051",
        ]
        # state flows: the pulled model is listed
        names = [m["name"] for m in facts("ollama list", run("ollama", "list"))["models"]]
        assert names == ["llama3.2:3b", "qwen2.5:0.5b"]
        unknown = run("ollama", "pull", "no-such-model")
        assert unknown.exit_code == 1
        assert unknown.stderr.endswith("\nError: pull model manifest: file does not exist\n")
        assert facts("ollama pull", unknown)["kind"] == "model_not_found"
    finally:
        proc.terminate()
        proc.wait(10)


def test_ollama_server_dies_mid_pull(rt: FakeRuntime) -> None:
    rt.set(pull_dies_at_percent=40, pull_seconds=0.5)
    proc, _ = start_serve()
    try:
        t = run("ollama", "pull", "llama3.2:3b")
        assert t.exit_code == 1
        assert t.stderr.endswith("\nError: unexpected EOF\n")
        result = facts("ollama pull", t)
        assert result["outcome"] == "error"
        assert 0 < result["last_percent"] <= 40
        assert proc.wait(10) != 0  # the server process is gone
        assert rt.server_pid("ollama") is None
        assert "llama3.2:3b" not in [m.name for m in rt.state().ollama.downloaded]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_ollama_ps_after_a_load(rt: FakeRuntime) -> None:
    proc, _ = start_serve()
    try:
        r = httpx.post(rt.ollama_url + "/api/generate", json={"model": "qwen2.5:0.5b"})
        assert r.json()["done_reason"] == "load"
        ps = facts("ollama ps", run("ollama", "ps"))
        (row,) = ps["models"]
        assert row["name"] == "qwen2.5:0.5b" and row["processor"] == "100% CPU"
        assert row["context"] == 4096 and row["until"].endswith("from now")
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_hangs_prints_its_startup_lines_but_never_gets_ready() -> None:
    with FakeRuntime(serve_hangs=True) as rt:
        proc = subprocess.Popen(["ollama", "serve"], stderr=subprocess.PIPE)
        assert proc.stderr is not None
        os.set_blocking(proc.stderr.fileno(), False)
        text = ""
        deadline = time.monotonic() + 60  # its last startup line, however busy the machine
        while "total unused blobs removed" not in text and time.monotonic() < deadline:
            text += (proc.stderr.read() or b"").decode()
            time.sleep(0.05)
        time.sleep(0.5)  # a ready server would print "Listening on" right after it
        text += (proc.stderr.read() or b"").decode()
        assert proc.poll() is None
        assert 'msg="server config"' in text and "Listening on" not in text
        assert facts("ollama serve", Transcript(stderr=text))["ready"] is False
        with pytest.raises(httpx.TimeoutException):
            httpx.get(rt.ollama_url, timeout=0.5)
        pid = proc.pid
    assert proc.wait(5) is not None  # FakeRuntime's exit ended it
    assert not pid_alive(pid)


def test_port_taken_by_another_program() -> None:
    with FakeRuntime(port_taken=True) as rt:
        t = run("ollama", "serve")
        assert t.exit_code == 1 and "bind: address already in use" in t.stderr
        listed = run("ollama", "list")
        assert listed.exit_code == 1 and listed.stderr == "Error: 404 Not Found\n"
        start = run("lms", "server", "start")
        assert start.exit_code == 1
        assert facts("lms server start", start)["running"] is False
        assert httpx.get(rt.lms_url + "/lmstudio-greeting").status_code == 404


# ----- lms CLI --------------------------------------------------------------------------------


def test_lms_server_start_outlives_the_command_and_dies_with_the_runtime() -> None:
    with FakeRuntime() as rt:
        status = run("lms", "server", "status")
        assert status.stderr == "The server is not running.\n"
        assert facts("lms server status", status)["running"] is False
        t = run("lms", "server", "start")
        assert t.exit_code == 0
        assert t.stderr == (
            "Waking up LM Studio service...\n"
            f"Success! Server is now running on port {rt.lms_port}\n"
        )
        assert facts("lms server start", t)["running"] is True
        pid = rt.server_pid("lms")
        assert pid is not None and pid_alive(pid)
        assert httpx.get(rt.lms_url + "/lmstudio-greeting").json() == {"lmstudio": True}
        js = run("lms", "server", "status", "--json")
        assert js.stdout == f'{{"running":true,"port":{rt.lms_port}}}\n'
        parsed = facts("lms server status", js)
        assert (parsed["running"], parsed["port"]) == (True, rt.lms_port)
        # already running: success again, same server
        assert run("lms", "server", "start").exit_code == 0
        assert rt.server_pid("lms") == pid
    assert not pid_alive(pid)


def test_lms_server_stop() -> None:
    with FakeRuntime(server_running=["lms"]) as rt:
        pid = rt.server_pid("lms")
        assert pid is not None
        t = run("lms", "server", "stop")
        assert (t.exit_code, t.stderr) == (0, f"Stopped the server on port {rt.lms_port}.\n")
        assert facts("lms server stop", t)["stopped"] is True
        assert not pid_alive(pid)
        again = run("lms", "server", "stop")
        assert (again.exit_code, again.stderr) == (1, "Error: The server is not running.\n")
        assert facts("lms server stop", again)["kind"] == "server_not_running"


def test_lms_get_then_ls_lists_it(rt: FakeRuntime) -> None:
    before = facts("lms ls", run("lms", "ls"))
    assert [m["key"] for m in before["models"]] == ["google/gemma-3-1b"]
    t = run("lms", "get", "qwen/qwen3-4b", "-y")
    assert t.exit_code == 0
    assert t.stdout.count("\x1b[s") >= 5 and t.stdout.count("\x1b[u") >= 5
    assert t.stderr.endswith("Finalizing download...\nDownload completed.\n")
    got = facts("lms get", t)
    assert got["outcome"] == "downloaded" and got["last_percent"] == 100.0
    pcts = got["percentages"]
    assert pcts == sorted(pcts) and len(pcts) >= 5
    after = facts("lms ls", run("lms", "ls"))
    assert [m["key"] for m in after["models"]] == ["google/gemma-3-1b", "qwen/qwen3-4b"]
    js = facts("lms ls", run("lms", "ls", "--json"))
    assert {m["key"] for m in js["models"]} == {"google/gemma-3-1b", "qwen/qwen3-4b"}
    again = run("lms", "get", "qwen3-4b", "-y")
    assert again.exit_code == 0
    assert facts("lms get", again)["outcome"] == "already_downloaded"
    unknown = run("lms", "get", "no-such-model", "-y")
    assert unknown.exit_code == 1
    assert unknown.stderr.endswith(
        "Error: No staff picks found with the specified search criteria.\n"
    )
    assert facts("lms get", unknown)["kind"] == "model_not_found"


def test_lms_load_ps_unload(rt: FakeRuntime) -> None:
    empty = run("lms", "ps")
    assert empty.stderr.startswith("Waking up LM Studio service...\nNo models are currently")
    assert facts("lms ps", empty)["models"] == []
    t = run("lms", "load", "google/gemma-3-1b", "-y")
    assert t.exit_code == 0
    assert "\rLoading google/gemma-3-1b 50% " in t.stdout
    loaded = facts("lms load", t)
    assert loaded["identifier"] == "google/gemma-3-1b"
    assert loaded["size_text"] == "687.05 MiB"  # binary units since Feb 2026
    second = facts("lms load", run("lms", "load", "gemma", "-y"))
    assert second["identifier"] == "google/gemma-3-1b:2"
    ps = facts("lms ps", run("lms", "ps"))
    assert [m["identifier"] for m in ps["models"]] == [
        "google/gemma-3-1b",
        "google/gemma-3-1b:2",
    ]
    ls = facts("lms ls", run("lms", "ls"))
    assert ls["models"][0]["loaded"] is True
    missing = run("lms", "load", "zzz", "-y")
    assert missing.exit_code == 1 and facts("lms load", missing)["kind"] == "model_not_found"
    un = run("lms", "unload", "google/gemma-3-1b")
    assert un.stderr == 'Model "google/gemma-3-1b" unloaded.\n'
    assert facts("lms unload", un)["identifiers"] == ["google/gemma-3-1b"]
    everything = facts("lms unload", run("lms", "unload", "--all"))
    assert everything["count"] == 1
    nothing = run("lms", "unload")
    assert nothing.exit_code == 1
    assert facts("lms ps", run("lms", "ps", "--json"))["models"] == []


def test_lms_version_and_usage_errors(rt: FakeRuntime) -> None:
    v = run("lms", "-v")
    assert v.stdout == "CLI commit: ac18535\n"
    assert facts("lms version", v)["cli_commit"] == "ac18535"
    assert facts("lms version", run("lms", "version"))["cli_commit"] == "ac18535"
    bad = run("lms", "link")
    assert (bad.exit_code, bad.stderr) == (1, "error: unknown command 'link'\n")
    assert facts("lms error", bad)["kind"] == "usage"


def test_lms_service_that_cannot_wake() -> None:
    with FakeRuntime(lms_service_fails=True):
        t = run("lms", "ls")
        assert t.exit_code == 1
        assert t.stderr.endswith(
            "Error: Failed to start or connect to local LM Studio API server.\n"
        )


def test_lms_service_dies_during_get() -> None:
    with FakeRuntime(server_running=True, pull_dies_at_percent=50) as rt:
        pid = rt.server_pid("lms")
        assert pid is not None
        t = run("lms", "get", "qwen/qwen3-4b", "-y")
        assert t.exit_code == 1
        got = facts("lms get", t)
        assert got["error"] and 0 < got["last_percent"] <= 50
        assert not pid_alive(pid) and not rt.state().lms.service_running


# ----- HTTP server in process -----------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FakeServer]:
    st = FakeState()
    st.ollama.downloaded.append(make_model("llama3.2:3b", st.registry["llama3.2:3b"]))
    st.lms.downloaded.append(make_model("qwen/qwen3-4b", st.registry["qwen/qwen3-4b"]))
    st.knobs.pull_seconds = 0.1
    save_state(tmp_path / "state.json", st)
    with FakeServer(tmp_path / "state.json") as srv:
        yield srv


def body(command: str, r: httpx.Response) -> dict[str, Any]:
    return facts(command, Transcript(stdout=r.text, http_status=r.status_code))


def test_ollama_http_api(server: FakeServer) -> None:
    u = server.url
    assert httpx.get(u + "/").text == "Ollama is running"
    assert httpx.head(u + "/").status_code == 200
    assert body("ollama /api/version", httpx.get(u + "/api/version"))["version"] == "0.12.3"
    tags = body("ollama /api/tags", httpx.get(u + "/api/tags"))
    assert [m["name"] for m in tags["models"]] == ["llama3.2:3b"]
    assert body("ollama /api/ps", httpx.get(u + "/api/ps"))["models"] == []
    gen = httpx.post(u + "/api/generate", json={"model": "llama3.2:3b", "keep_alive": -1})
    assert body("ollama /api/generate", gen)["done_reason"] == "load"
    ps = body("ollama /api/ps", httpx.get(u + "/api/ps"))
    assert ps["models"][0]["expires_at"].startswith("2313-")
    plain = httpx.post(
        u + "/api/generate",
        json={
            "model": "llama3.2:3b",
            "prompt": "hi",
            "stream": False,
            "options": {"num_predict": 2},
        },
    )
    got = body("ollama /api/generate", plain)
    assert got["response"] == "Fake llama3.2:3b " and got["done_reason"] == "length"
    streamed = httpx.post(u + "/api/generate", json={"model": "llama3.2:3b", "prompt": "hi"})
    assert streamed.headers["content-type"] == "application/x-ndjson"
    assert len(streamed.text.splitlines()) == 6  # five tokens and the final object
    assert body("ollama /api/generate", streamed)["response"] == "Fake llama3.2:3b reply to: hi"
    missing = httpx.post(u + "/api/generate", json={"model": "nope", "prompt": "x"})
    assert missing.status_code == 404 and missing.json() == {"error": "model 'nope' not found"}
    assert body("ollama /api/generate", missing)["kind"] == "model_not_found"
    unload = httpx.post(u + "/api/generate", json={"model": "llama3.2:3b", "keep_alive": 0})
    assert unload.json()["done_reason"] == "unload"
    assert httpx.get(u + "/api/ps").json() == {"models": []}
    pull = httpx.post(u + "/api/pull", json={"model": "smollm2:135m"})
    assert body("ollama /api/pull", pull)["outcome"] == "success"
    bad = httpx.post(u + "/api/pull", json={"model": "nope", "stream": False})
    assert bad.status_code == 500
    assert bad.json() == {"error": "pull model manifest: file does not exist"}
    stats = httpx.get(u + "/__fake__/stats").json()
    assert stats["POST /api/generate"] == 5 and stats["total"] >= 14


def test_ollama_generate_dies(server: FakeServer) -> None:
    with edit_state(server.state_path) as st:
        st.knobs.generate_dies = True
    r = httpx.post(server.url + "/api/generate", json={"model": "llama3.2:3b", "prompt": "x"})
    assert r.status_code == 500
    assert "llama runner process has terminated" in r.json()["error"]


def test_in_process_server_dies_mid_pull(server: FakeServer) -> None:
    with edit_state(server.state_path) as st:
        st.knobs.pull_dies_at_percent = 30
    with pytest.raises(httpx.HTTPError):
        httpx.post(server.url + "/api/pull", json={"model": "llama3.2:1b"}).raise_for_status()
    assert server.dead
    deadline = time.monotonic() + 30  # the listening socket closes in a thread of its own
    while server.httpd.fileno() != -1 and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/", timeout=1)


def test_lm_studio_http_api(server: FakeServer) -> None:
    """Without JIT loading: only loaded models are listed, a chat needs a loaded model."""
    u = server.url
    with edit_state(server.state_path) as st:
        st.knobs.lms_jit = False
    assert httpx.get(u + "/lmstudio-greeting").json() == {"lmstudio": True}
    assert body("lms /v1/models", httpx.get(u + "/v1/models"))["ids"] == []
    chat = {"model": "qwen/qwen3-4b", "messages": [{"role": "user", "content": "hello"}]}
    refused = httpx.post(u + "/v1/chat/completions", json=chat)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"].startswith("No models loaded.")
    assert body("lms /v1/chat/completions", refused)["error"]
    with edit_state(server.state_path) as st:
        st.lms.loaded.append(
            FakeState.from_json(
                {
                    "lms": {
                        "loaded": [
                            {"name": "qwen/qwen3-4b", "identifier": "qwen/qwen3-4b", "size": 1}
                        ]
                    }
                }
            ).lms.loaded[0]
        )
    assert body("lms /v1/models", httpx.get(u + "/v1/models"))["ids"] == ["qwen/qwen3-4b"]
    v0 = body("lms /api/v0/models", httpx.get(u + "/api/v0/models"))
    assert v0["models"][0]["state"] == "loaded"
    plain = body("lms /v1/chat/completions", httpx.post(u + "/v1/chat/completions", json=chat))
    assert plain["content"] == "Fake qwen/qwen3-4b reply to: hello"
    sse = httpx.post(u + "/v1/chat/completions", json={**chat, "stream": True, "max_tokens": 2})
    assert sse.headers["content-type"] == "text/event-stream"
    assert sse.text.endswith("data: [DONE]\n\n")
    streamed = body("lms /v1/chat/completions", sse)
    assert streamed["content"] == "Fake qwen/qwen3-4b " and streamed["finish_reason"] == "length"
    odd = httpx.post(u + "/chat/completions", json={})
    assert odd.status_code == 200
    assert odd.text == '{"error":"Unexpected endpoint or method. (POST /chat/completions)"}'
    assert (
        body("lms /error", odd)["error"]
        == "Unexpected endpoint or method. (POST /chat/completions)"
    )


@pytest.mark.parametrize("jit", [True, False], ids=["jit-on", "jit-off"])
def test_lm_studio_jit_lists_and_loads_what_lm_studio_does(jit: bool) -> None:
    """JIT loading (LM Studio's default, the fake's too) changes what ``/v1/models`` and
    ``/api/v0/models`` list and what a request may do (docs/reference/runtimes-2026.md
    §6.1, §6.3; lms-cli.md §7.2), never ``/api/v1/models``, ``lms ls`` or ``lms ps``: a
    request loads its model with JIT's 60-min TTL, and Auto-Evict keeps one such model."""
    chat, embed, held = "qwen/qwen3-4b", "text-embedding-nomic-embed-text-v1.5", "google/gemma-3-1b"
    with FakeRuntime(
        models_downloaded={"lms": [chat, embed, held]},
        models_loaded={"lms": [held]},
        server_running=True,
        lms_jit=jit,
    ) as rt:
        u = rt.lms_url

        def ps() -> list[str]:
            return [m["identifier"] for m in facts("lms ps", run("lms", "ps", "--json"))["models"]]

        ls = [m["key"] for m in facts("lms ls", run("lms", "ls", "--json"))["models"]]
        assert sorted(ls) == sorted([chat, embed, held]) and ps() == [held]
        v1 = body("lms /api/v1/models", httpx.get(u + "/api/v1/models"))["models"]
        assert {m["key"]: len(m["loaded_instances"]) for m in v1} == {chat: 0, embed: 0, held: 1}
        v0 = body("lms /api/v0/models", httpx.get(u + "/api/v0/models"))["models"]
        listed = body("lms /v1/models", httpx.get(u + "/v1/models"))["ids"]
        if jit:
            want = {chat: "not-loaded", embed: "not-loaded", held: "loaded"}
            assert {m["id"]: m["state"] for m in v0} == want
            assert sorted(listed) == sorted(want)
        else:
            assert [(m["id"], m["state"]) for m in v0] == [(held, "loaded")] and listed == [held]
        ask = {"model": chat, "messages": [{"role": "user", "content": "hi"}]}
        answer = httpx.post(u + "/v1/chat/completions", json=ask)
        assert answer.status_code == (200 if jit else 400), answer.text
        assert ps() == ([held, chat] if jit else [held])
        if jit:
            (loaded,) = [x for x in rt.state().lms.loaded if x.name == chat]
            assert loaded.ttl_seconds == 3600
        vectors = httpx.post(u + "/v1/embeddings", json={"model": embed, "input": "x"})
        assert vectors.status_code == (200 if jit else 400), vectors.text
        assert ps() == ([held, embed] if jit else [held])  # Auto-Evict: the chat model went
        assert sorted(m["key"] for m in facts("lms ls", run("lms", "ls", "--json"))["models"]) == (
            sorted(ls)
        )


def test_flavors_route_apart(tmp_path: Path) -> None:
    save_state(tmp_path / "s.json", FakeState())
    with FakeServer(tmp_path / "s.json", flavor="ollama") as o:
        r = httpx.get(o.url + "/v1/models")
        assert (r.status_code, r.text) == (404, "404 page not found")
    with FakeServer(tmp_path / "s.json", flavor="lms") as lm:
        r = httpx.get(lm.url + "/api/tags")
        assert r.json() == {"error": "Unexpected endpoint or method. (GET /api/tags)"}
    with pytest.raises(ValueError):
        FakeServer(tmp_path / "s.json", flavor="vllm")


# ----- FakeRuntime and the pytest fixture -----------------------------------------------------


def test_runtime_environment_and_cleanup() -> None:
    old_path = os.environ.get("PATH")
    with FakeRuntime(backends=("ollama",)) as rt:
        assert shutil.which("ollama") == str(rt.bin_dir / "ollama")
        assert shutil.which("lms") is None  # not installed
        assert os.environ["OLLAMA_HOST"] == f"127.0.0.1:{rt.ollama_port}"
        assert os.environ["LMSTUDIO_URL"] == rt.lms_url
        assert os.environ["HOME"] == str(rt.dir / "home")
        assert rt.env["PATH"] == os.environ["PATH"]
        where = rt.dir
    assert os.environ.get("PATH") == old_path
    assert not where.exists()


def test_runtime_counts_spawns_and_requests() -> None:
    with FakeRuntime(models_loaded=["qwen2.5:0.5b"], server_running=True) as rt:
        assert rt.spawn_count() == 0  # its own servers are not counted
        httpx.get(rt.ollama_url + "/api/ps")
        assert [(r["method"], r["path"]) for r in rt.requests("ollama")][-1] == ("GET", "/api/ps")
        rt.reset_counts()
        run("ollama", "ps")
        assert [s["argv"] for s in rt.spawns()] == [["ollama", "ps"]]
        assert [r["path"] for r in rt.requests()] == ["/", "/api/ps"]
        assert rt.state().lms.live_loaded()[0].name == "qwen2.5:0.5b"
        ps = facts("ollama ps", run("ollama", "ps"))
        assert [m["name"] for m in ps["models"]] == ["qwen2.5:0.5b"]


def test_runtime_rejects_unknown_options() -> None:
    with pytest.raises(TypeError):
        FakeRuntime(pull_speed=3)
    with pytest.raises(ValueError):
        FakeRuntime(backends=("vllm",))


def test_fixture_sets_env_with_monkeypatch(fake_runtime: MakeRuntime) -> None:
    rt = fake_runtime(backends=("lms",), models_downloaded=["qwen/qwen3-4b"])
    assert os.environ["LMSDRIVE_FAKE_STATE"] == str(rt.state_path)
    assert shutil.which("ollama") is None
    assert rt.state().lms.downloaded[0].name == "qwen/qwen3-4b"
    t = run("lms", "ls", "--json")
    assert json.loads(t.stdout)[0]["modelKey"] == "qwen/qwen3-4b"


def test_pull_of_a_present_model_reports_each_layer_once(rt: FakeRuntime) -> None:
    proc, _ = start_serve()
    try:
        r = httpx.post(rt.ollama_url + "/api/pull", json={"model": "qwen2.5:0.5b"})
        lines = [json.loads(x) for x in r.text.splitlines()]
        layers = [x for x in lines if "digest" in x]
        assert all(x["completed"] == x["total"] for x in layers)
        assert len(layers) == len({x["digest"] for x in layers}) == 5
        assert lines[-1] == {"status": "success"}
    finally:
        proc.terminate()
        proc.wait(10)


def test_ctrl_c_kills_ollama_pull_and_the_server_cancels(rt: FakeRuntime) -> None:
    rt.set(pull_seconds=5.0)
    proc, _ = start_serve()
    try:
        pull = subprocess.Popen(["ollama", "pull", "llama3.2:3b"], stderr=subprocess.PIPE)
        assert pull.stderr is not None
        seen = b""
        while b"pulling" not in seen:
            seen += os.read(pull.stderr.fileno(), 65536)
        time.sleep(0.3)
        pull.send_signal(signal.SIGINT)
        assert pull.wait(5) == -signal.SIGINT  # no handler, as in Go
        time.sleep(0.5)
        assert proc.poll() is None  # the server survives a client going away
        assert "llama3.2:3b" not in [m.name for m in rt.state().ollama.downloaded]
    finally:
        proc.terminate()
        proc.wait(10)


def test_ctrl_c_cancels_lms_get(rt: FakeRuntime) -> None:
    rt.set(pull_seconds=5.0)
    get = subprocess.Popen(
        ["lms", "get", "qwen/qwen3-4b", "-y"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert get.stdout is not None
    seen = b""
    while b"Resolution completed" not in seen:  # the plan frames come first, in any chunking
        chunk = os.read(get.stdout.fileno(), 65536)
        assert chunk, f"lms get ended before resolving: {seen!r}"
        seen += chunk
    time.sleep(0.3)
    get.send_signal(signal.SIGINT)
    _, err = get.communicate(timeout=5)
    assert get.returncode == 1 and err.decode().endswith("W Download canceled.\n")
    assert rt.state().lms.find("qwen/qwen3-4b") is None


def test_pull_on_a_terminal_uses_its_width(rt: FakeRuntime) -> None:
    pexpect = pytest.importorskip("pexpect")
    proc, _ = start_serve()
    try:
        child = pexpect.spawn(
            "ollama", ["pull", "llama3.2:3b"], dimensions=(30, 100), encoding="utf-8"
        )
        child.expect(pexpect.EOF, timeout=15)
        child.close()
        assert child.exitstatus == 0
        text = str(child.before)
        bars = re.findall(r"(pulling dde5[^\x1b]*)\x1b\[K", text)
        assert bars and all(len(b) == 99 for b in bars)
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_on_every_interface_logs_the_wildcard_address(rt: FakeRuntime) -> None:
    env = {**rt.env, "OLLAMA_HOST": f"0.0.0.0:{rt.ollama_port}"}
    proc, text = start_serve(env)
    try:
        ready = facts("ollama serve", Transcript(stderr=text))
        assert ready["listen_address"] == f"[::]:{rt.ollama_port}"
        assert run("ollama", "--version", env=env).stdout == "ollama version is 0.12.3\n"
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
