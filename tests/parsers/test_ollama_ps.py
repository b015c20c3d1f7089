"""Tests of lmsdrive.parsers.ollama_ps."""

from __future__ import annotations

import pytest
from _support_ollama import T, models

from lmsdrive.errors import ParseError
from lmsdrive.parsers import (
    ollama_ps,
)


def test_ps_empty_input_raises() -> None:
    with pytest.raises(ParseError):
        ollama_ps.parse(T("   \n"))


def test_ps_single_space_processor_until() -> None:
    text = (
        "NAME            ID              SIZE    PROCESSOR       UNTIL\n"
        "llama3:70b      786f3184aec0    40 GB   42%/58% CPU/GPU 4 minutes from now\n"
    )
    row = models("ollama ps", text)[0]
    assert (row["cpu_percent"], row["gpu_percent"], row["until"]) == (42, 58, "4 minutes from now")


def test_ps_headerless_with_context() -> None:
    row = models(
        "ollama ps", "gpt-oss:20b    aa4295ac10c3    14 GB    100% GPU    8192    Forever\n"
    )[0]
    assert row["context"] == 8192 and row["until"] == "Forever" and row["gpu_percent"] == 100


def test_ps_headerless_garbage_raises() -> None:
    with pytest.raises(ParseError):
        ollama_ps.parse(T("gpt-oss:20b    aa4295ac10c3    14 GB    lots    soon\n"))


@pytest.mark.parametrize(
    ("text", "split"),
    [
        ("100% CPU", (100, 0)),
        ("100% GPU", (0, 100)),
        ("69%/31% CPU/GPU", (69, 31)),
        ("Unknown", (None, None)),
    ],
)
def test_ps_processor_split(text: str, split: tuple[int | None, int | None]) -> None:
    assert ollama_ps.processor_split(text) == split


def test_ps_several_tables_concatenated() -> None:
    table = (
        "NAME    ID    SIZE    PROCESSOR    UNTIL\n"
        "q:4b    e55aed6fe643    35 GB    100% GPU    {}\n\n"
    )
    text = table.format("6 seconds from now") + table.format("Stopping...")
    assert [m["until"] for m in models("ollama ps", text)] == ["6 seconds from now", "Stopping..."]
