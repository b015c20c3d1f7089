"""The text helpers the parsers share (lmsdrive/_text.py)."""

from __future__ import annotations

from lmsdrive._text import parse_size as size_bytes


def test_size_bytes_rounds_binary_sizes() -> None:
    assert size_bytes("2.78 GiB") == 2985002271
    assert size_bytes("171.39 KB") == 171390
    assert size_bytes("0 B") == 0
    assert size_bytes("-") is None
