"""Tests of lmsdrive.parsers.lms_status."""

from __future__ import annotations

import pytest
from _support import parse

from lmsdrive.errors import ParseError


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
