"""Tests of lmsdrive.parsers.lms_ps."""

from __future__ import annotations

import pytest
from _support import parse

from lmsdrive.errors import ParseError
from lmsdrive.parsers import parse as parse_any


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


def test_lenient_body_with_one_wrong_field_is_read() -> None:
    """A one-line JSON payload with one field of the wrong type: read, the field skipped."""
    text = '[{"identifier": "a", "sizeBytes": "big", "type": "llm"}]\n'
    with pytest.raises(ParseError, match="'sizeBytes' should be int"):
        parse_any("lms ps --json", text, strict=True)
    r = parse_any("lms ps --json", text)
    d = r.to_dict()
    assert d["models"][0]["identifier"] == "a" and d["models"][0]["size_bytes"] is None
    assert d["skipped"] == [{"line": 1, "text": '"sizeBytes": "big"'}]
