"""Tests of lmsdrive.parsers.lms_error."""

from __future__ import annotations

import pytest
from _support import parse

from lmsdrive.errors import ParseError
from lmsdrive.parsers.lms_error import ErrorReport, find_error, strip_log_prefix
from lmsdrive.transcript import Transcript


@pytest.mark.parametrize(
    ("line", "want"),
    [
        ("I Starting server...", ("info", "Starting server...")),
        ("W CORS is enabled.", ("warn", "CORS is enabled.")),
        ("E No models are currently loaded", ("error", "No models are currently loaded")),
        ("D Read from last status: port=1234", ("debug", "Read from last status: port=1234")),
        ("Error: boom", ("error", "boom")),
        (
            "Success! Server is now running on port 1234",
            (None, "Success! Server is now running on port 1234"),
        ),
        ("Embedding Models", (None, "Embedding Models")),
    ],
)
def test_strip_log_prefix(line: str, want: tuple[str | None, str]) -> None:
    assert strip_log_prefix(line) == want


def test_find_error_kinds() -> None:
    assert find_error(["error: unknown option '--x'"]) == ErrorReport(
        "unknown option '--x'", "usage", 1
    )
    r = find_error(
        [
            "Waking up LM Studio service...",
            "Error: Failed to start or connect to local LM Studio API server.",
        ]
    )
    assert r is not None and r.kind == "server_not_running" and r.line_number == 2
    r = find_error(["Model not found", "", 'No model found that matches path "x".'])
    assert r is not None and r.kind == "model_not_found"
    assert r.error == 'Model not found: No model found that matches path "x".'
    r = find_error(["Error: something odd", "  second line of it"])
    assert r is not None and r.error == "something odd second line of it" and r.kind == "unknown"
    r = find_error(["TypeError: x is not a function", "    at foo (/$bunfs/root/lms:1:2)"])
    assert r is not None and r.kind == "crash" and r.error == "x is not a function"
    assert find_error(["Success! Server is now running on port 1234"]) is None
    assert find_error([]) is None


def test_find_error_boxed_pretty_error() -> None:
    lines = [
        "╭──────────────────────────────╮",
        "│  Model Not Found             │",
        "│                              │",
        '│  Cannot find a model "x".    │',
        "╰──────────────────────────────╯",
    ]
    r = find_error(lines)
    assert r is not None and r.kind == "model_not_found"
    assert r.error == 'Model Not Found: Cannot find a model "x".'


def test_lms_error_parse_rejects_non_errors() -> None:
    with pytest.raises(ParseError):
        parse("lms link enable", "")
    with pytest.raises(ParseError):
        parse("lms link enable", "LM Link enabled.\n")
    res = parse(
        "lms link enable", Transcript(stderr="error: unknown command 'link'\n", exit_code=1)
    )
    assert res.to_dict() == {"error": "unknown command 'link'", "kind": "usage", "exit_code": 1}
