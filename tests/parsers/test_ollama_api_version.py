"""Tests of lmsdrive.parsers.ollama_api_version."""

from __future__ import annotations

import pytest
from _support_ollamastream import body

from lmsdrive.errors import ParseError
from lmsdrive.parsers import ollama_api_version as api_version


def test_version() -> None:
    assert body(api_version, '{"version":"0.6.0-rc1"}')["version"] == "0.6.0-rc1"
    assert body(api_version, "404 page not found")["error"] == "404 page not found"
    for text in ("", "{}", '{"version": 7}', "Ollama is running"):
        with pytest.raises(ParseError):
            body(api_version, text)
