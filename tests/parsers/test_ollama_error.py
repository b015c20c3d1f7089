"""Tests of lmsdrive.parsers.ollama_error."""

from __future__ import annotations

import contextlib

import pytest
from _support import parse
from _support_ollama import T
from _support_ollamastream import TEXT
from hypothesis import given, settings
from hypothesis import strategies as st

from lmsdrive.errors import ParseError
from lmsdrive.parsers import (
    ERROR_KINDS,
    Result,
    ollama_error,
)
from lmsdrive.transcript import Transcript


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("could not connect to ollama app, is it running?", "server_not_running"),
        (
            "could not connect to ollama server, run 'ollama serve' to start it",
            "server_not_running",
        ),
        (
            "ollama server not responding - timed out waiting for server to start",
            "server_not_running",
        ),
        ("timed out waiting for server to start", "server_not_running"),
        (
            'Head "http://127.0.0.1:11434/": dial tcp 127.0.0.1:11434: connect: connection refused',
            "server_not_running",
        ),
        ("pull model manifest: file does not exist", "model_not_found"),
        ("model 'llama9' not found", "model_not_found"),
        ('model "llama9" not found, try pulling it first', "model_not_found"),
        ('couldn\'t find model "llama9" to stop', "model_not_found"),
        ("listen tcp 127.0.0.1:11434: bind: address already in use", "bind_failed"),
        ("pull model manifest: 412:", "pull_failed"),
        ("pull model manifest: 400", "pull_failed"),
        ("max retries exceeded: unexpected EOF", "pull_failed"),
        ("digest mismatch, file must be downloaded again", "pull_failed"),
        ("EOF", "pull_failed"),
        ("unauthorized: access denied", "authentication"),  # a registry's 401 (ollama-cli §3.3)
        ("401 Unauthorized", "authentication"),  # a proxy's 401 to the client's HEAD /
        ("pull model manifest: 401: unauthorized", "authentication"),
        ("pull model manifest: 403 Forbidden", "authentication"),
        ("something went wrong, please see the ollama server logs for details", "server_error"),
        ("llama runner process has terminated: exit status 2", "server_error"),
        ("500 Internal Server Error", "server_error"),
        ('unknown command "lst" for "ollama"', "usage"),
        ("unknown flag: --jsn", "usage"),
        ("unknown shorthand flag: 'x' in -x", "usage"),
        ("accepts 1 arg(s), received 0", "usage"),
        ("requires at least 1 arg(s), only received 0", "usage"),
        ("mkdir /nope: permission denied", "unknown"),
    ],
)
def test_classify(message: str, kind: str) -> None:
    assert ollama_error.classify(message) == kind
    assert kind in ERROR_KINDS


def test_error_multiline_stops_at_prompt_and_status() -> None:
    text = (
        "pulling manifest\n"
        "Error: pull model manifest: 412:\n"
        "The model requires a newer version of Ollama.\n"
        "\n"
        "Please see https://github.com/ollama/ollama/releases for more details.\n"
        "\n"
        "\n"
        "PS C:\\Users\\me> ollama -v\n"
        "ollama version is 0.9.0\n"
    )
    report = parse("ollama error", text).to_dict()  # the next command goes in the pre-pass
    assert report["error"] == (
        "pull model manifest: 412:\nThe model requires a newer version of Ollama.\n\n"
        "Please see https://github.com/ollama/ollama/releases for more details."
    )
    assert report["kind"] == "pull_failed"
    assert report["line_number"] == 2


def test_error_cloud_suggestion_keeps_indented_command() -> None:
    text = (
        "Error: pull model manifest: file does not exist\n\n"
        '"gpt-oss:cloud" is available as a cloud model. Try:\n'
        "  ollama pull gpt-oss:cloud\n"
    )
    result = ollama_error.parse(T(text))
    assert result.error is not None and result.error.endswith("  ollama pull gpt-oss:cloud")
    assert result.kind == "model_not_found"


def test_error_stops_at_next_status_line() -> None:
    text = "Error: pull model manifest: 400\ntransferring model data\ncreating model layer ⠴\n"
    assert ollama_error.parse(T(text)).error == "pull model manifest: 400"


def test_error_warning_is_not_an_error() -> None:
    with pytest.raises(ParseError):
        ollama_error.parse(T("Warning: unable to stop model 'x'\n"))
    result = ollama_error.parse(
        T("Warning: unable to stop model 'x'\nError: model 'x' not found\n")
    )
    assert result.warnings == ["unable to stop model 'x'"]
    assert result.line_number == 2


def test_error_after_spinner_frame_on_same_line() -> None:
    report = ollama_error.find_error(["pulling manifest ⠙ Error: EOF"])
    assert report is not None and report.error == "EOF"


def test_error_panic_is_crash() -> None:
    text = "panic: runtime error: invalid memory address\n\ngoroutine 1 [running]:\nmain.main()\n"
    result = ollama_error.parse(T(text))
    assert result.kind == "crash"
    assert result.error == "panic: runtime error: invalid memory address"


def test_error_crlf_and_ansi() -> None:
    result = ollama_error.parse(T("\x1b[31mError: EOF\x1b[0m\r\n"))
    assert (result.error, result.kind) == ("EOF", "pull_failed")


@pytest.mark.parametrize("text", ["", "\n\n", "deleted 'llama3'\n", "hello world"])
def test_error_without_report_raises(text: str) -> None:
    with pytest.raises(ParseError):
        ollama_error.parse(T(text))


@settings(max_examples=200)
@given(
    TEXT,
    st.sampled_from(
        ["/api/pull", "/api/generate", "/api/tags", "/api/ps", "/api/version", "/error"]
    ),
    st.sampled_from([None, 200, 404, 500]),
)
def test_property_bodies_only_result_or_parse_error(
    text: str, path: str, status: int | None
) -> None:
    with contextlib.suppress(ParseError):
        assert isinstance(parse(f"ollama {path}", Transcript.of(text, http_status=status)), Result)
