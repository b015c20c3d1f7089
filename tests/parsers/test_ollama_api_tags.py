"""Tests of lmsdrive.parsers.ollama_api_tags."""

from __future__ import annotations

import json

import pytest
from _support_ollamastream import body

from lmsdrive.errors import ParseError
from lmsdrive.parsers import ollama_api_tags as api_tags


def test_tags_models_and_unknown_keys_kept() -> None:
    text = json.dumps(
        {
            "models": [
                {"name": "a:1", "size": 5, "new_field": [1], "details": {"family": "x", "novel": 2}}
            ]
        }
    )
    (m,) = body(api_tags, text)["models"]
    assert m["extra"] == {"new_field": [1]} and m["details"]["extra"] == {"novel": 2}
    assert body(api_tags, '{"models":null}')["models"] == []


def test_tags_rejects_wrong_shapes() -> None:
    for text in (
        "",
        "{}",
        '{"models": {}}',
        '{"models": [1]}',
        '{"models":[{"size":1}]}',
        '{"models":[{"name":"a","size":"big"}]}',
        '{"models":[{"name":"a","size":true}]}',
        "nope",
    ):
        with pytest.raises(ParseError):
            body(api_tags, text)


def test_tags_error_body() -> None:
    d = body(api_tags, '{"error":"something"}', 500)
    assert d["models"] == [] and d["kind"] == "server_error"
