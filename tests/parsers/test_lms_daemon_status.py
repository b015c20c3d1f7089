"""Tests of lmsdrive.parsers.lms_daemon_status."""

from __future__ import annotations

import pytest

from lmsdrive.errors import ParseError
from lmsdrive.parsers import parse


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
