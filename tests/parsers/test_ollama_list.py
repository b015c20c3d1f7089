"""Tests of lmsdrive.parsers.ollama_list."""

from __future__ import annotations

import pytest
from _support_ollama import T, models

from lmsdrive.errors import ParseError
from lmsdrive.parsers import (
    ollama_list,
)


def test_list_empty_input_raises() -> None:
    with pytest.raises(ParseError):
        ollama_list.parse(T(""))


def test_list_header_only_is_empty() -> None:
    assert models("ollama list", "NAME\tID\tSIZE\tMODIFIED \n") == []
    assert models("ollama ls", "NAME    ID    SIZE    MODIFIED \r\n") == []


@pytest.mark.parametrize(
    "text",
    [
        "hello world\n",
        "NAME    ID    SIZE    MODIFIED\nllama3 not-a-row\n",
        "NAME    ID    SIZE    MODIFIED\nllama3:8b    zzzzzzzzzzzz    4.7 GB    2 days ago\n",
    ],
)
def test_list_garbage_raises(text: str) -> None:
    with pytest.raises(ParseError) as info:
        ollama_list.parse(T(text))
    assert info.value.line_number is not None


def test_list_headerless_and_single_space_gaps() -> None:
    got = models("ollama list", "llama3:8b a6990ed6be41 4.7 GB 2 weeks ago\n")
    assert got[0]["name"] == "llama3:8b"
    assert got[0]["size_bytes"] == 4_700_000_000
    assert got[0]["modified"] == "2 weeks ago"


def test_list_unknown_column_kept() -> None:
    text = (
        "NAME          ID              SIZE      CAPABILITIES      MODIFIED\n"
        "qwen3:4b      e55aed6fe643    2.5 GB    completion tools  3 days ago\n"
    )
    row = models("ollama list", text)[0]
    assert row["extra"] == {"capabilities": "completion tools"}
    assert row["modified"] == "3 days ago"


def test_list_cut_row_only_at_the_end() -> None:
    text = "NAME    ID    SIZE    MODIFIED\nllama3:8b    a6990ed6be41    4.7 GB\n"
    result = ollama_list.parse(T(text))
    assert result.truncated
    assert result.models[0].size_text == "4.7 GB" and result.models[0].modified is None
    with pytest.raises(ParseError):
        ollama_list.parse(T(text + "phi3:latest    4f2222927938    3.1 GB    1 day ago\n"))


def test_list_noise_and_prompt_lines() -> None:
    text = (
        "user@box:~$ ollama list\n"
        "ggml_sycl_init: found 1 SYCL devices:\n"
        "|ID| Device Type| Name|\n"
        "NAME    ID    SIZE    MODIFIED\n"
        "a:b    0123456789ab    1.4 KB    Less than a second ago\n"
        "user@box:~$\n"
    )
    got = models("ollama list", text)
    assert [(m["name"], m["size_bytes"]) for m in got] == [("a:b", 1400)]


def test_list_server_error() -> None:
    result = ollama_list.parse(T("Error: could not connect to ollama app, is it running?\n"))
    assert result.kind == "server_not_running"
    assert result.models == []
