"""The download plan of ``lms get`` (LM Studio's estimate before a download) never lets a
download start: scripted ``lms`` programs (POSIX sh) that misbehave as an lms could, each
writing a marker file if it ever reached its "download". What the fake lms replays from the
real recordings is tested in test_estimate.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lmsdrive import CommandError, CommandTimeoutError, LoadOptions, Memory
from lmsdrive.backends.lmstudio import LMStudioBackend
from lmsdrive.testing.fake_cli import pid_alive

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX")
ROOT = Path(__file__).resolve().parent.parent

#: What the scripted lms prints for `lms load --estimate-only` (the model is not downloaded).
NOT_DOWNLOADED = (
    'Model not found\n\nNo model found that matches model key \\"x/y\\".\n\n'
    "To see a list of downloaded models, run: lms ls\n"
)


def scripted_lms(tmp_path: Path, get: str) -> tuple[LMStudioBackend, Path, Path]:
    """An lms whose ``get`` runs the sh lines ``get``; its pid goes to ``pid``, and
    ``downloaded`` is the marker the lines write when they reach their download."""
    pid, marker = tmp_path / "pid", tmp_path / "downloaded"
    script = tmp_path / "lms"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = load ]; then printf "{NOT_DOWNLOADED}" >&2; exit 1; fi\n'
        f"echo $$ > '{pid}'\n"
        f"{get.replace('MARKER', repr(str(marker)))}\n"
    )
    script.chmod(0o755)
    backend = LMStudioBackend("http://127.0.0.1:9", binary=script, command_timeout=3.0)
    return backend, pid, marker


def assert_stopped(pid: Path, marker: Path) -> None:
    """The scripted lms is gone, and never reached its download."""
    assert not pid_alive(int(pid.read_text()))
    assert not marker.exists()


def test_an_lms_that_never_shows_its_plan_is_stopped_with_a_timeout(tmp_path: Path) -> None:
    backend, pid, marker = scripted_lms(tmp_path, "sleep 30; touch MARKER")
    with pytest.raises(CommandTimeoutError, match="nothing was downloaded") as info:
        backend.estimate("x/y", memory=Memory(ram_bytes=1 << 40))
    assert "showed no download plan within 3 s" in str(info.value)
    assert_stopped(pid, marker)


def test_an_lms_that_would_download_without_asking_is_stopped_at_its_choice(
    tmp_path: Path,
) -> None:
    backend, pid, marker = scripted_lms(
        tmp_path,
        'echo "Based on your hardware, choosing the recommended option: y.gguf [Q4_K_M] '
        '(4.92 GB)"; sleep 5; echo "Downloading y.gguf [Q4_K_M] (4.92 GB)"; touch MARKER',
    )
    with pytest.raises(CommandError, match="without asking first"):
        backend.estimate("x/y", memory=Memory(ram_bytes=1 << 40))
    assert_stopped(pid, marker)


def test_an_old_hugging_face_search_is_stopped_before_it_chooses(tmp_path: Path) -> None:
    backend, pid, marker = scripted_lms(
        tmp_path,
        'echo "Searching for models with the term x/y"; sleep 5; '
        'echo "Based on your hardware, choosing the recommended option: y.gguf (4.92 GB)"; '
        "touch MARKER",
    )
    est = backend.estimate("x/y", LoadOptions(context_length=4096), Memory(ram_bytes=1 << 40))
    assert (est.verdict, est.source, est.context_length) == (
        "unknown",
        "lms get (download plan)",
        4096,
    )
    assert "stopped before it chose: update LM Studio" in est.reason
    assert_stopped(pid, marker)


def test_a_picker_instead_of_a_plan_is_unknown(tmp_path: Path) -> None:
    backend, pid, marker = scripted_lms(
        tmp_path,
        "echo 'Searching staff picks with the term qwen'; "
        "echo '? Select a model to download'; echo '❯ qwen/qwen3-8b'; echo '  qwen/qwen3-4b'; "
        "sleep 30; touch MARKER",
    )
    est = backend.estimate("qwen", memory=Memory(ram_bytes=1 << 40))
    assert est.verdict == "unknown" and "owner/name" in est.reason
    assert_stopped(pid, marker)


def test_a_plan_that_ignores_ctrl_c_is_killed(tmp_path: Path) -> None:
    backend, pid, marker = scripted_lms(
        tmp_path,
        "trap '' INT; echo '   ↓ To download: model x/y - 1.00 GB'; echo; "
        "echo 'About to download 1.00 GB.'; sleep 30; touch MARKER",
    )
    est = backend.estimate("x/y", memory=Memory(ram_bytes=1 << 40))
    assert (est.verdict, est.needed_bytes) == ("fits", 1_000_000_000 + (256 << 20))
    assert_stopped(pid, marker)


def test_the_real_recording_is_answered_with_ctrl_c(tmp_path: Path) -> None:
    # lms get qwen/qwen3-8b without --yes on a terminal (real-cli-no-yes-confirmation-pty),
    # byte for byte, then a "download" that only a confirmation would reach.
    real = ROOT / "fixtures" / "lms" / "get" / "real-cli-no-yes-confirmation-pty.txt"
    backend, pid, marker = scripted_lms(tmp_path, f"cat '{real}'; sleep 30; touch MARKER")
    est = backend.estimate("qwen/qwen3-8b", memory=Memory(ram_bytes=4 << 30))
    assert (est.verdict, est.needed_bytes) == ("does_not_fit", 5_030_000_000 + 503_000_000)
    assert "its 5.03 GB download" in est.reason
    assert_stopped(pid, marker)
