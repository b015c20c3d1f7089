"""Tests of lmsdrive.parsers.lms_unload."""

from __future__ import annotations

import pytest
from _support import parse

from lmsdrive.errors import ParseError


def test_unload_picker_answered() -> None:
    text = '? Select a model to unload a/b\nModel "a/b" unloaded.\n'
    d = parse("lms unload", text).to_dict()
    assert d["selected"] == "a/b" and d["outcome"] == "unloaded" and d["interactive"]
    with pytest.raises(ParseError):
        parse("lms unload", "")
