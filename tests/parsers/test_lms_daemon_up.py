"""Tests of lmsdrive.parsers.lms_daemon_up."""

from __future__ import annotations

from _support_lms_daemon import NO_INSTALL, _lms

from lmsdrive.parsers import parse
from lmsdrive.testing import FakeRuntime
from lmsdrive.transcript import Transcript


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
