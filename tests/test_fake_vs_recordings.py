"""The fake ``lms`` against the real CLI's recordings (fixtures ``lms/*/real-cli-*``, lms
07b7252): for the same situation and argv it prints the same lines on the same streams and
exits with the same code. Spinner and progress frames may differ in count, so frame lines are
compared by presence only; PIDs, ports and load times are the run's own (a recording's
``--port 8123`` becomes a free port). The fake's state is seeded with the recordings' model data
(synthetic, from their stand-in daemon): the catalog ``lms ls --json`` printed (fixture
``ls/real-cli-json``), loaded instances as the recordings list them, and the recording's own
setup commands run first. Recordings the fake cannot reproduce are listed in ``NOT_REPRODUCED``
with what it lacks."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lmsdrive._text import strip_ansi
from lmsdrive.golden import DEFAULT_ROOT, Fixture, iter_fixtures
from lmsdrive.parsers._lms_stream import SPINNER
from lmsdrive.testing import FakeRuntime, fake_lmstudio
from lmsdrive.testing.fake_state import Loaded, Model, RegistryEntry
from lmsdrive.testing.runtime import held_port

_FRAME_RE = re.compile(rf"[{SPINNER}⧗]|^\s*\[.*\]\s*\d+(?:\.\d+)?%")
_VOLATILE = (
    (re.compile(r"PID: \d+"), "PID: N"),
    (re.compile(r'"pid":\d+'), '"pid":N'),
    (re.compile(r"in \d+(?:\.\d+)?m?s\b"), "in Ns"),
    (re.compile(r"port:? \d+"), "port N"),
    (re.compile(r'"port":\d+'), '"port":N'),
)
RECORDED_PORT = "8123"


def stream_lines(text: str) -> tuple[list[str], bool]:
    """The distinct lines of a stream in first-seen order, ANSI and ``\\r`` redraws resolved,
    frame lines left out; and whether it drew frames."""
    lines: list[str] = []
    frames = False
    for raw in re.split(r"[\r\n]", strip_ansi(text)):
        line = raw.rstrip()
        if not line.strip():
            continue
        if _FRAME_RE.search(line):
            frames = True
            continue
        for rx, sub in _VOLATILE:
            line = rx.sub(sub, line)
        if line not in lines:
            lines.append(line)
    return lines, frames


Setup = Callable[[FakeRuntime], None]


def daemon_running(rt: FakeRuntime) -> None:
    with rt.edit() as st:
        st.lms.service_running = True
        st.lms.daemon_pid = 4242


def no_server_config(rt: FakeRuntime) -> None:
    daemon_running(rt)
    with rt.edit() as st:
        st.lms.config_port = None


def staff_picks_8b_first(rt: FakeRuntime) -> None:
    daemon_running(rt)
    with rt.edit() as st:
        st.registry = {"qwen/qwen3-8b": st.registry.pop("qwen/qwen3-8b"), **st.registry}


def catalog() -> dict[str, Model]:
    """The recordings' downloaded models, from what ``lms ls --json`` printed of them."""
    out: dict[str, Model] = {}
    for info in json.loads(_recording("ls/real-cli-json").stdout):
        out[info["modelKey"]] = Model(
            name=info["modelKey"],
            size=info["sizeBytes"],
            digest="",
            modified_at=0.0,
            params=info.get("paramsString", ""),
            quantization=info["quantization"]["name"],
            family=info["architecture"],
            type=info["type"],
            context_length=info["maxContextLength"],
            info=info,
        )
    return out


def with_catalog(*loaded: tuple[str, str]) -> Setup:
    """The daemon runs with the catalog downloaded and ``(key, identifier)`` loaded (the
    recordings' instances: 4096 tokens, TTL 1 h)."""

    def setup(rt: FakeRuntime) -> None:
        daemon_running(rt)
        models = catalog()
        now = time.time()
        with rt.edit() as st:
            st.lms.downloaded = list(models.values())
            st.lms.loaded = [
                Loaded(key, ident, models[key].size, 4096, now, now + 3600, 3600)
                for key, ident in loaded
            ]

    return setup


QWEN = ("qwen/qwen3-4b", "qwen/qwen3-4b")
SEVERAL = (
    QWEN,
    ("qwen/qwen3-4b", "qwen/qwen3-4b:2"),
    ("google/gemma-3-12b", "gemma-vision"),
    ("text-embedding-nomic-embed-text-v1.5", "text-embedding-nomic-embed-text-v1.5"),
)
SERVER: dict[str, Any] = {"server_running": ["lms"]}

#: The recordings' model data (synthetic, from their stand-in daemon).
REGISTRY = {
    "deepseek/deepseek-r1-0528-qwen3-8b": RegistryEntry(
        layers=[5_030_000_000], manifest_size=172_440, display_name="DeepSeek R1 0528 Qwen3 8B"
    ),
    "qwen/qwen3-14b": RegistryEntry(
        layers=[15_700_000_000], quantization="Q8_0", manifest_size=171_930
    ),
}
FAST = {"pull_seconds": 0.2, "registry": REGISTRY}
NO_DAEMON: dict[str, Any] = {"lms_daemon_down": True, "lms_daemon_installed": False}
COMMIT: dict[str, Any] = {"lms_commit": "07b7252"}

#: recording (directory/name) → FakeRuntime options and a setup of the fake's state.
CASES: dict[str, tuple[dict[str, Any], Setup | None]] = {
    "daemon-down/real-cli-not-running": (NO_DAEMON, None),
    "daemon-status/real-cli-not-running-json": (NO_DAEMON, None),
    "daemon-status/real-cli-running-json": ({}, daemon_running),
    "daemon-up/real-cli-already-running": ({}, daemon_running),
    "daemon-up/real-cli-json-already-running": ({}, daemon_running),
    "get/real-cli-no-daemon-get": (NO_DAEMON, None),
    "server-start/real-cli-no-daemon-server-start": (NO_DAEMON, None),
    "get/real-cli-already-downloaded": (
        {"models_downloaded": {"lms": ["qwen/qwen3-4b"]}},
        daemon_running,
    ),
    "get/real-cli-search-several-staff-picks": (FAST, staff_picks_8b_first),
    "get/real-cli-quant-suffix": (FAST, daemon_running),
    "get/real-cli-download-fails-half-way": (
        {
            **FAST,
            "pull_error": "Download failed: the connection to the download server was lost "
            "(stand-in failure mode).",
        },
        daemon_running,
    ),
    "unload/real-cli-missing": ({}, daemon_running),
    "unload/real-cli-all-none-loaded": ({}, daemon_running),
    "server-stop/real-cli-not-running": ({}, daemon_running),
    "server-status/real-cli-not-running-json": ({}, no_server_config),
    "version/real-cli-dash-dash-version": ({**NO_DAEMON, **COMMIT}, None),
    "version/real-cli-json": ({**NO_DAEMON, **COMMIT}, None),
    "get/real-cli-no-yes-confirmation": (FAST, daemon_running),
    "ls/real-cli-empty-json": ({}, daemon_running),
    "ls/real-cli-json": ({}, with_catalog()),
    "ls/real-cli-several-llms-embeddings-variants-one-loaded": ({}, with_catalog(QWEN)),
    "ps/real-cli-empty-json": ({}, daemon_running),
    "ps/real-cli-one-loaded": ({}, with_catalog(QWEN)),
    "ps/real-cli-json-one-loaded": ({}, with_catalog(QWEN)),
    "ps/real-cli-after-load": ({}, with_catalog(QWEN)),
    "load/real-cli-key-yes-progress": ({}, with_catalog()),
    "load/real-cli-fuzzy-key-no-yes": ({}, with_catalog()),
    "load/real-cli-context-length-ttl": ({}, with_catalog()),
    "load/real-cli-second-instance": ({}, with_catalog(QWEN)),
    "unload/real-cli-identifier": ({}, with_catalog(QWEN)),
    "status/real-cli-server-off": ({}, with_catalog(QWEN)),
    "status/real-cli-server-on-several-loaded": (SERVER, with_catalog(*SEVERAL)),
    "server-start/real-cli-already-running": (SERVER, None),
    "server-start/real-cli-cors": ({}, daemon_running),
    "server-start/real-cli-port": ({}, daemon_running),
    "server-status/real-cli-running-json": (SERVER, None),
    "server-status/real-cli-after-start-port-json": ({}, daemon_running),
    "server-status/real-cli-stopped-remembered-port-json": ({}, daemon_running),
}

#: Recordings the fake cannot be put in the situation of, and what it lacks for them.
NOT_REPRODUCED = {
    "load/real-cli-estimate-only-context-gpu": "the memory estimate (8.23 GiB GPU, 16.45 GiB "
    "total for gpt-oss-20b at 32,768 tokens and 50% offload) is LM Studio's estimator, whose "
    "formula the fake does not have",
    "ls/real-cli-variants-flag": "the fake keeps one file per model key: no variant rows "
    "(qwen/qwen3-4b@q8_0, 4.28 GB) beside the selected one",
    "ls/real-cli-model-key-variants-json": "the fake keeps one file per model key: no "
    "per-variant ModelInfo (qwen/qwen3-4b@q4_k_m and @q8_0) to list",
    "ls/real-cli-after-get-second-quant": "the fake keeps one file per model key: "
    "`lms get qwen/qwen3-8b@q8_0` after @q4_k_m cannot add a second variant",
}


def _recording(name: str) -> Fixture:
    path = DEFAULT_ROOT / "lms" / f"{name}.txt"
    return next(f for f in iter_fixtures(path.parent) if f.path == path)


@pytest.fixture
def port() -> Iterator[str]:
    """A loopback port for a recording's ``--port 8123``, held (never listening) until the
    test ends so that nothing else takes it before the fake server binds it."""
    with held_port() as sock:
        number = str(sock.getsockname()[1])
        if not sys.platform.startswith("linux"):
            sock.close()  # BSD rules would refuse the server's bind beside the hold
        yield number


def _run(rt: FakeRuntime, argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(rt.bin_dir / "lms"), *argv[1:]],
        env=rt.env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_fake_lms_prints_what_the_real_one_printed(name: str, port: str) -> None:
    fx = _recording(name)
    options, setup = CASES[name]
    argv, *steps = (
        [port if a == RECORDED_PORT else a for a in cmd]
        for cmd in [fx.meta["argv"], *fx.meta["recorded_with"]["setup"]]
    )
    with FakeRuntime(backends=("lms",), **options) as rt:
        if setup is not None:
            setup(rt)
        for step in steps:
            assert _run(rt, step).returncode == 0, step
        proc = _run(rt, argv)
    got_out, got_err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == fx.meta["exit_code"], (got_out, got_err)
    for stream, got, want in (("stdout", got_out, fx.stdout), ("stderr", got_err, fx.stderr)):
        assert stream_lines(got) == stream_lines(want), stream


def test_every_listed_recording_exists() -> None:
    names = {
        f.path.relative_to(DEFAULT_ROOT / "lms").with_suffix("").as_posix()
        for f in iter_fixtures(DEFAULT_ROOT / "lms")
    }
    assert set(CASES) | set(NOT_REPRODUCED) == {
        n for n in names if "/real-cli-" in n and not n.endswith("-pty")
    }
    assert not set(CASES) & set(NOT_REPRODUCED)


@pytest.mark.parametrize("name", sorted(NOT_REPRODUCED))
def test_recordings_the_fake_cannot_reproduce(name: str) -> None:
    assert _recording(name).meta["argv"][0] == "lms"
    pytest.skip(f"{name}: {NOT_REPRODUCED[name]}")


# ----- in a terminal: the 42 pty recordings ---------------------------------------------------

#: Terminal recordings where the recorder typed: what, and when (after which output).
TYPED = {"get/real-cli-no-yes-confirmation-pty": ("Start download?", signal.SIGINT)}


def test_fake_lms_prompt_cancelled_by_a_ctrl_c_as_it_draws_exits_1_as_lms_does(
    fake_runtime: Callable[..., FakeRuntime], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Ctrl-C above is typed as soon as the prompt's text arrives; under load it reached
    the fake before it waited for an answer, and the fake exited 130 (lms: 1, whenever the
    Ctrl-C comes once the prompt shows: Node handles SIGINT after its synchronous write).
    Here the Ctrl-C is sent from inside the fake's own write of the prompt."""
    drawn: list[str] = []

    def ctrl_c_while_drawing(text: str) -> None:
        if not drawn:  # the prompt
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)
        drawn.append(text)

    monkeypatch.setattr(fake_lmstudio, "out", ctrl_c_while_drawing)
    lms = fake_lmstudio.Lms(fake_runtime(backends=("lms",)).state_path)
    try:
        code = lms._ask_to_download()
    except KeyboardInterrupt:
        pytest.fail("the Ctrl-C escaped the prompt: the fake would exit 130, lms exits 1")
    assert code == 1
    assert stream_lines("".join(drawn)) == stream_lines(
        _recording(next(iter(TYPED))).text.split("About to download 5.03 GB.")[1]
    )


def _pty_names() -> list[str]:
    return sorted(
        f.path.relative_to(DEFAULT_ROOT / "lms").with_suffix("").as_posix()
        for f in iter_fixtures(DEFAULT_ROOT / "lms")
        if "/real-cli-" in f.path.as_posix() and f.path.stem.endswith("-pty")
    )


def _run_in_terminal(
    rt: FakeRuntime, argv: list[str], typed: tuple[str, signal.Signals] | None = None
) -> tuple[int, str]:
    """``argv`` with stdout and stderr on one 80x24 terminal and stdin from /dev/null, as
    the recordings were made: the exit code and everything the terminal received.
    ``typed``: once that text has arrived, the signal a key typed there sends (Ctrl-C)."""
    main, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = dict(rt.env, TERM="xterm-256color", LANG="en_US.UTF-8")
    proc = subprocess.Popen(
        [str(rt.bin_dir / "lms"), *argv[1:]],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=side,
        stderr=side,
    )
    os.close(side)
    received = bytearray()
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the terminal's last writer is gone
            break
        if not chunk:
            break
        received += chunk
        if typed is not None and typed[0].encode() in received:
            proc.send_signal(typed[1])
            typed = None
    os.close(main)
    return proc.wait(timeout=60), received.decode("utf-8", "replace")


def test_every_terminal_recording_has_its_pipe_twin() -> None:
    names = _pty_names()
    assert len(names) == 42
    assert {n.removesuffix("-pty") for n in names} <= set(CASES) | set(NOT_REPRODUCED)


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal (pty) is POSIX")
@pytest.mark.parametrize("name", [n for n in _pty_names() if n.removesuffix("-pty") in CASES])
def test_fake_lms_in_a_terminal_prints_what_the_real_one_printed(name: str, port: str) -> None:
    fx = _recording(name)
    options, setup = CASES[name.removesuffix("-pty")]
    argv, *steps = (
        [port if a == RECORDED_PORT else a for a in cmd]
        for cmd in [fx.meta["argv"], *fx.meta["recorded_with"]["setup"]]
    )
    with FakeRuntime(backends=("lms",), **options) as rt:
        if setup is not None:
            setup(rt)
        for step in steps:
            assert _run(rt, step).returncode == 0, step
        code, received = _run_in_terminal(rt, argv, TYPED.get(name))
    assert code == fx.meta["exit_code"], received
    assert stream_lines(received) == stream_lines(fx.text), received
