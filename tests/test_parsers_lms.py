"""Unit and property tests of the lms text parsers (lms_error, ls, ps, server *, status,
version, unload)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmsdrive.errors import ParseError
from lmsdrive.parsers import Result, get_module
from lmsdrive.parsers import parse as parse_any
from lmsdrive.parsers.lms_error import ErrorReport, find_error, strip_log_prefix
from lmsdrive.transcript import Transcript


def parse(command: str, output: str | Transcript) -> Result:
    """These tests pin the strict mode: a line not understood raises ParseError."""
    return parse_any(command, output, strict=True)


MODULES = [
    "lms ls",
    "lms ps",
    "lms server status",
    "lms server start",
    "lms server stop",
    "lms status",
    "lms version",
    "lms unload",
    "lms error",
]


# ---------------------------------------------------------------- lms error
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


# ---------------------------------------------------------------- lms ls
def test_ls_tab_expanded_and_unknown_column() -> None:
    text = "LLM\t\t\t\tPARAMS\tARCH\tSIZE\tQUANT\nqwen/qwen3-4b\t\t\t4B\tqwen3\t2.50 GB\tQ4_K_M\n"
    m = parse("lms ls", text).to_dict()["models"][0]
    assert (m["key"], m["params"], m["arch"], m["size_bytes"]) == (
        "qwen/qwen3-4b",
        "4B",
        "qwen3",
        2_500_000_000,
    )
    assert m["extra"] == {"QUANT": "Q4_K_M"}


def test_ls_abbreviated_and_counts() -> None:
    text = "You have 1 model, taking up 1.00 GB of disk space.\n\n... (abbreviated) ...\n"
    d = parse("lms ls", text).to_dict()
    assert d["model_count"] == 1 and d["total_size_bytes"] == 1_000_000_000 and d["abbreviated"]


def test_ls_old_grouped_options() -> None:
    text = (
        "LLMs (Large Language Models)      PARAMS      ARCHITECTURE           SIZE\n"
        "TheBloke/Mistral-7B-GGUF                     (...3 options)\n"
    )
    m = parse("lms ls", text).to_dict()["models"][0]
    assert m["variant_count"] == 3 and m["arch"] is None and m["key"] == "TheBloke/Mistral-7B-GGUF"


def test_ls_error_report_and_garbage() -> None:
    d = parse(
        "lms ls", "Error: Failed to start or connect to local LM Studio API server.\n"
    ).to_dict()
    assert d["kind"] == "server_not_running" and d["models"] == []
    with pytest.raises(ParseError):
        parse(
            "lms ls",
            "LLM    PARAMS    ARCH    SIZE\nfoo    1B    llama    not-a-size    x    y    z\n",
        )
    with pytest.raises(ParseError):
        parse("lms ls", '[{"modelKey": "x"')  # truncated --json
    assert parse("lms ls", "").to_dict()["models"] == []


# ---------------------------------------------------------------- lms ps
def test_ps_reordered_columns_and_truncated_block() -> None:
    text = "MODEL      IDENTIFIER    CONTEXT\nqwen/q3    my-q3         8192\n"
    with pytest.raises(ParseError):  # IDENTIFIER must lead the header
        parse("lms ps", text)
    text = "IDENTIFIER    CONTEXT    MODEL\nmy-q3         8,192      qwen/q3\n"
    m = parse("lms ps", text).to_dict()["models"][0]
    assert (m["identifier"], m["context_length"], m["model"]) == ("my-q3", 8192, "qwen/q3")
    d = parse(
        "lms ps", "\n   LOADED MODELS   \n\nIdentifier: a/b\n  • Type:  Embedding \n"
    ).to_dict()
    assert d["models"][0]["type"] == "embedding" and d["models"][0]["size_bytes"] is None


def test_ps_empty_and_garbage() -> None:
    assert parse("lms ps", "").to_dict()["models"] == []
    with pytest.raises(ParseError):
        parse("lms ps", "hello world\n")
    with pytest.raises(ParseError):
        parse("lms ps", '{"identifier": "x"}\n')


# ---------------------------------------------------------------- server *
def test_server_status_forms() -> None:
    assert (
        parse("lms server status", "W x\nThe server is running on port 4321.\n").to_dict()["port"]
        == 4321
    )
    with pytest.raises(ParseError):
        parse("lms server status", "")
    with pytest.raises(ParseError):
        parse("lms server status", '{"running":"yes"}\n')
    with pytest.raises(ParseError):  # text and JSON disagree
        parse("lms server status", 'The server is not running.\n{"running":true,"port":1}\n')
    d = parse(
        "lms server status",
        "Error: The server does not appear to be running at 10.0.0.2:1234. Please make sure…\n",
    ).to_dict()
    assert (d["running"], d["host"], d["port"], d["kind"]) == (
        False,
        "10.0.0.2",
        1234,
        "server_not_running",
    )


def test_server_start_truncated_and_failures() -> None:
    d = parse("lms server start", "Starting server...\nWaking up LM Studio service...\n").to_dict()
    assert d["running"] is None and d["complete"] is False and d["woke_service"] is True
    d = parse("lms server start", "Failed to start the server on port 80\n").to_dict()
    assert (d["running"], d["port"], d["kind"]) == (False, 80, "bind_failed")
    with pytest.raises(ParseError):
        parse("lms server start", "")
    with pytest.raises(ParseError):
        parse("lms server start", "Success! something else\n")


def test_server_start_chained_command_is_removed_by_the_pre_pass() -> None:
    text = (
        "PS C:\\> lms server start && lms load x -y\nSuccess! Server is now running on port 1234\n"
    )
    d = parse("lms server start", text).to_dict()
    assert (d["running"], d["port"], d["second_command"]) == (True, 1234, None)


def test_server_stop() -> None:
    assert parse("lms server stop", "E The server is not running.\n").to_dict()["stopped"] is False
    with pytest.raises(ParseError):
        parse("lms server stop", "")


# ---------------------------------------------------------------- status, version, unload
def test_status_crlf_and_garbage() -> None:
    d = parse(
        "lms status", "Server:  ON  (Port: 1234)\r\n\r\nLoaded Models\r\n  · a - 1.00 GB\r\n"
    ).to_dict()
    assert d["loaded_models"] == [
        {"identifier": "a", "size_bytes": 1_000_000_000, "size_text": "1.00 GB"}
    ]
    with pytest.raises(ParseError):
        parse("lms status", "")
    with pytest.raises(ParseError):
        parse("lms status", "Server: MAYBE\n")


def test_version_forms() -> None:
    d = parse(
        "lms",
        "lms is LM Studio's CLI utility for your models, server, and inference runtime."
        " (v0.0.47)\n",
    ).to_dict()
    assert d["semver"] == "0.0.47" and d["layout"] == "tagline"
    with pytest.raises(ParseError):
        parse("lms version", "")
    with pytest.raises(ParseError):
        parse("lms version", "whatever\n")


def test_unload_picker_answered() -> None:
    text = '? Select a model to unload a/b\nModel "a/b" unloaded.\n'
    d = parse("lms unload", text).to_dict()
    assert d["selected"] == "a/b" and d["outcome"] == "unloaded" and d["interactive"]
    with pytest.raises(ParseError):
        parse("lms unload", "")


# ---------------------------------------------------------------- property
_TOKENS = [
    *"ab1. :/-\n\r\t│·•✓*[]{}\"'",
    "Error: ",
    "W ",
    "LLM ",
    "SIZE",
    "  ",
    "    ",
    "\x1b[2m",
    "IDENTIFIER",
    "PARAMS",
    "4.92 GB",
    "Identifier: ",
    "Server:  ON ",
    "port 1234",
    "? Select a model to unload",
    "Model Not Found",
    "    at x (y:1:2)",
    '{"running":',
    "➜  ~ lms ls",
]
LMS_TEXT = st.lists(st.sampled_from(_TOKENS), max_size=40).map("".join) | st.text()


@pytest.mark.parametrize("command", MODULES)
@settings(max_examples=200, deadline=None)
@given(text=LMS_TEXT)
def test_any_text_gives_result_or_parse_error(command: str, text: str) -> None:
    module = get_module(command)
    try:
        res = module.parse(Transcript.of(text))
    except ParseError:
        return
    assert isinstance(res, Result)
    res.to_dict()


def test_ls_cut_last_row_is_truncated() -> None:
    head = (
        "LLM                   PARAMS    ARCH      SIZE        DEVICE\n"
        "google/gemma-3-12b    12B       gemma3    8.15 GB     Local\n"
    )
    whole = parse_any("lms ls", head, strict=True).to_dict()
    assert "truncated" not in whole
    d = parse_any("lms ls", head + "qwen/qwen3-4b         4B        qwen3\n", strict=True).to_dict()
    assert d["truncated"] is True
    cut = d["models"][1]
    assert (cut["key"], cut["arch"], cut["size_bytes"], cut["device"], cut["loaded"]) == (
        "qwen/qwen3-4b",
        "qwen3",
        None,
        None,
        None,
    )
    with pytest.raises(ParseError):  # cut anywhere but last: not a row
        parse_any(
            "lms ls", head.replace("8.15 GB     Local", "") + head.splitlines()[1], strict=True
        )


def test_ps_cut_last_row_is_truncated() -> None:
    text = (
        "IDENTIFIER          MODEL               STATUS    SIZE        CONTEXT    DEVICE    TTL\n"
        "qwen/qwen3.8-27b    qwen/qwen3.8-27b    IDLE      29.53 GB    131072     Local\n"
        "google/gemma-3      google/gemma-3      IDLE\n"
    )
    d = parse_any("lms ps", text, strict=True).to_dict()
    assert d["truncated"] is True
    assert [m["size_bytes"] for m in d["models"]] == [29530000000, None]
    assert "truncated" not in parse_any("lms ps", "\n".join(text.splitlines()[:2])).to_dict()
