"""Tests of lmsdrive.parsers._ollama_table."""

from __future__ import annotations

from _support import parse
from _support_ollama import _ALPHABET
from hypothesis import given, settings
from hypothesis import strategies as st

from lmsdrive.errors import ParseError
from lmsdrive.parsers import (
    ERROR_KINDS,
)
from lmsdrive.parsers._base import Result


@settings(max_examples=200)
@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_any_text_is_result_or_parse_error(text: str) -> None:
    for command in ("ollama list", "ollama ps", "ollama --version", "ollama serve", "ollama rm x"):
        try:
            result = parse(command, text)
        except ParseError:
            continue
        assert isinstance(result, Result)
        d = result.to_dict()
        assert d.get("kind") is None or d["kind"] in ERROR_KINDS
