"""Tests of lmsdrive.parsers.ollama_api_ps."""

from __future__ import annotations

import pytest
from _support_ollamastream import body

from lmsdrive.errors import ParseError
from lmsdrive.parsers import ollama_api_ps as api_ps


def test_ps_context_length_absent_is_null() -> None:
    (m,) = body(api_ps, '{"models":[{"name":"a","size":1,"size_vram":0}]}')["models"]
    assert m["context_length"] is None and m["size_vram"] == 0
    with pytest.raises(ParseError):
        body(api_ps, "")
