"""The fake ``lms`` against the real CLI's recordings (fixtures ``lms/*/real-cli-*``, lms
07b7252): for the same situation and argv it prints the same lines on the same streams and
exits with the same code. Spinner and progress frames may differ in count, so frame lines are
compared by presence only; PIDs and load times are the run's own."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from lmsdrive._text import strip_ansi
from lmsdrive.golden import DEFAULT_ROOT, Fixture, iter_fixtures
from lmsdrive.parsers._lms_stream import SPINNER
from lmsdrive.testing import FakeRuntime
from lmsdrive.testing.fake_state import RegistryEntry

_FRAME_RE = re.compile(rf"[{SPINNER}⧗]|^\s*\[.*\]\s*\d+(?:\.\d+)?%")
_VOLATILE = (
    (re.compile(r"PID: \d+"), "PID: N"),
    (re.compile(r'"pid":\d+'), '"pid":N'),
    (re.compile(r"in \d+(?:\.\d+)?m?s\b"), "in Ns"),
)


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
}


def _recording(name: str) -> Fixture:
    path = DEFAULT_ROOT / "lms" / f"{name}.txt"
    return next(f for f in iter_fixtures(path.parent) if f.path == path)


@pytest.mark.parametrize("name", sorted(CASES))
def test_fake_lms_prints_what_the_real_one_printed(name: str) -> None:
    fx = _recording(name)
    options, setup = CASES[name]
    argv = list(fx.meta["argv"])
    with FakeRuntime(backends=("lms",), **options) as rt:
        if setup is not None:
            setup(rt)
        proc = subprocess.run(
            [str(rt.bin_dir / "lms"), *argv[1:]],
            env=rt.env,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
    got_out, got_err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == fx.meta["exit_code"], (got_out, got_err)
    for stream, got, want in (("stdout", got_out, fx.stdout), ("stderr", got_err, fx.stderr)):
        assert stream_lines(got) == stream_lines(want), stream


def test_every_listed_recording_exists() -> None:
    names = {
        f.path.relative_to(DEFAULT_ROOT / "lms").with_suffix("").as_posix()
        for f in iter_fixtures(DEFAULT_ROOT / "lms")
    }
    assert set(CASES) <= names
