"""The parsers of LM Studio's daemon commands (``lms daemon up|status|down``), text and
``--json``, both eras of wording (reference runtimes-2026.md §1.2–1.4), and the fake ``lms``
daemon they read."""

from __future__ import annotations

import subprocess

import pytest

from lmsdrive.errors import ParseError
from lmsdrive.parsers import parse, resolve
from lmsdrive.testing import FakeRuntime
from lmsdrive.transcript import Transcript

NO_INSTALL = (
    "Error: LM Studio daemon is not running and no valid installation could be found or "
    "installed.\nError: Failed to start or connect to local LM Studio API server.\n"
)


@pytest.mark.parametrize("verb", ["up", "status", "down"])
def test_resolve_names_the_daemon_parsers(verb: str) -> None:
    assert resolve(f"lms daemon {verb} --json").name == f"lms daemon {verb}"
    assert resolve(["lms", "daemon", verb]).module == f"lms_daemon_{verb}"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("LM Studio is not running\n", (False, None, None, None)),
        ("llmster v0.0.20+1 is running (PID: 4242)\n", (True, 4242, "0.0.20+1", True)),
        ("LM Studio v0.4.4+1 is running (PID: 7)\n", (True, 7, "0.4.4+1", False)),
        ("llmster is running (PID: 4242)\n", (True, 4242, None, True)),  # before lms PR #388
        ('{"status":"not-running"}\n', (False, None, None, None)),
        ('{"status":"running","pid":18681,"isDaemon":true}\n', (True, 18681, None, True)),
        ('{ "status": "running", "pid": 1, "isDaemon": false }\n', (True, 1, None, False)),
    ],
)
def test_daemon_status(text: str, want: tuple[object, ...]) -> None:
    r = parse("lms daemon status", text).to_dict()
    assert (r["running"], r["pid"], r["version"], r["is_daemon"]) == want
    assert r["format"] == ("json" if text.startswith("{") else "text")
    assert r["error"] is None


def test_daemon_status_refuses_what_it_cannot_read() -> None:
    with pytest.raises(ParseError):
        parse("lms daemon status", "")
    with pytest.raises(ParseError):
        parse("lms daemon status", '{"status":"sleeping"}\n')
    with pytest.raises(ParseError):
        parse("lms daemon status", "llmster is jogging\n")


def test_daemon_up_text_and_json() -> None:
    started = Transcript(
        stdout="llmster started (PID: 31337).\n", stderr="Waking up LM Studio service...\n"
    )
    r = parse("lms daemon up", started).to_dict()
    assert (r["outcome"], r["pid"], r["is_daemon"], r["woke_service"]) == (
        "started",
        31337,
        True,
        True,
    )
    r = parse("lms daemon up", "The daemon is already running (PID: 9).\n").to_dict()
    assert (r["outcome"], r["pid"], r["woke_service"]) == ("already_running", 9, False)
    r = parse(
        "lms daemon up", "LM Studio is already running (PID: 9); not starting a second daemon.\n"
    ).to_dict()
    assert (r["outcome"], r["is_daemon"]) == ("already_running", False)
    line = '{"status":"running","pid":5,"isDaemon":true,"version":"0.0.20+1"}\n'
    r = parse("lms daemon up", line).to_dict()
    assert (r["outcome"], r["version"], r["format"]) == ("already_running", "0.0.20+1", "json")
    woke = Transcript(stdout=line, stderr="Waking up LM Studio service...\n")
    assert parse("lms daemon up", woke).to_dict()["outcome"] == "started"


def test_daemon_up_failure_is_the_error_report() -> None:
    r = parse("lms daemon up", Transcript(stderr=NO_INSTALL, exit_code=1)).to_dict()
    assert r["outcome"] is None and r["kind"] == "server_not_running"
    assert r["error"].startswith("LM Studio daemon is not running")


@pytest.mark.parametrize(
    ("stderr", "outcome", "kind"),
    [
        ("Shutting down llmster...\nDone.\n", "stopped", None),
        ("Daemon is not running.\n", "not_running", "server_not_running"),
        (
            "The daemon is currently running as part of LM Studio. Please exit LM Studio to "
            "stop it.\n",
            "refused",
            "unknown",
        ),
    ],
)
def test_daemon_down(stderr: str, outcome: str, kind: str | None) -> None:
    r = parse("lms daemon down", Transcript(stderr=stderr)).to_dict()
    assert (r["outcome"], r["kind"]) == (outcome, kind)
    assert r["message"] == stderr.strip().splitlines()[-1]


def _lms(rt: FakeRuntime, *args: str) -> tuple[int, str, str]:
    p = subprocess.run(
        [str(rt.bin_dir / "lms"), *args],
        env=rt.env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_fake_daemon_down_then_up_then_server_start() -> None:
    with FakeRuntime(backends=("lms",), lms_daemon_down=True) as rt:
        code, out, err = _lms(rt, "server", "start")
        assert code == 1 and out == "" and err == NO_INSTALL
        code, out, err = _lms(rt, "daemon", "status", "--json")
        assert code == 0 and parse("lms daemon status", out).to_dict()["running"] is False
        code, out, err = _lms(rt, "daemon", "up")
        r = parse("lms daemon up", Transcript(stdout=out, stderr=err)).to_dict()
        assert code == 0 and r["outcome"] == "started" and r["woke_service"]
        code, out, err = _lms(rt, "daemon", "status")
        assert parse("lms daemon status", out).to_dict()["pid"] == r["pid"]
        code, out, err = _lms(rt, "server", "start")
        assert code == 0 and "Success! Server is now running" in err
        code, out, err = _lms(rt, "daemon", "down")
        r = parse("lms daemon down", Transcript(stdout=out, stderr=err)).to_dict()
        assert code == 0 and r["outcome"] == "stopped"
        assert rt.state().lms.server is None
        code, out, err = _lms(rt, "daemon", "down")
        assert code == 1 and err == "Daemon is not running.\n"
