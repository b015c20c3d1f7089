"""Tests of lmsdrive.parsers.ollama_api_error."""

from __future__ import annotations

import pytest
from _support_ollamastream import body

from lmsdrive.errors import ParseError
from lmsdrive.parsers import ollama_api_error as api_error


def test_error_bodies() -> None:
    d = body(
        api_error, '{"error":{"message":"bad","type":"invalid_request_error","code":400}}', 400
    )
    assert d == {
        "error": "bad",
        "kind": "usage",
        "http_status": 400,
        "error_type": "invalid_request_error",
        "code": "400",
    }
    d = body(api_error, '{"status":"pulling manifest"}\n{"error":"EOF"}\n', 200)
    assert d["error"] == "EOF" and d["kind"] == "pull_failed"
    assert body(api_error, '{"error":"request canceled"}', 499)["kind"] == "unknown"
    assert body(api_error, '{"error":"server busy"}', 503)["kind"] == "server_error"
    for text in ("", '{"status":"success"}', "Ollama is running"):
        with pytest.raises(ParseError):
            body(api_error, text)
