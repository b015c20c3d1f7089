"""Tests of lmsdrive.parsers.ollama_api_generate."""

from __future__ import annotations

import json

import pytest
from _support import lenient
from _support_ollamastream import body, chunked

from lmsdrive.errors import ParseError
from lmsdrive.parsers import ollama_api_generate as api_generate


def test_generate_stream_yields_tokens() -> None:
    lines = [
        '{"model":"m","created_at":"t","response":"Hel","done":false}',
        '{"model":"m","created_at":"t","response":"lo","thinking":"hmm","done":false}',
        '{"model":"m","created_at":"t","response":"","done":true,"done_reason":"length"}',
    ]
    chunks = list(api_generate.stream(chunked("\n".join(lines), 3)))
    assert [c.response for c in chunks] == ["Hel", "lo", ""]
    assert chunks[1].thinking == "hmm" and chunks[-1].done and chunks[-1].done_reason == "length"
    d = body(api_generate, "\n".join(lines))
    assert d["response"] == "Hello" and d["thinking"] == "hmm" and d["done_reason"] == "length"


def test_generate_pretty_printed_object() -> None:
    obj = {"model": "m", "response": "hi", "done": True, "done_reason": "stop"}
    assert body(api_generate, json.dumps(obj, indent=2))["response"] == "hi"


def test_generate_empty_garbage_and_types() -> None:
    for text in (
        "",
        "   \n",
        "hello world",
        '{"model": "m"}',
        '{"response": 5, "done": true}',
        '{"response": "", "done": true, "context": ["x"]}',
    ):
        with pytest.raises(ParseError):
            body(api_generate, text)


def test_generate_error_body_with_status() -> None:
    d = body(api_generate, '{"error":"model \'x\' not found"}', 404)
    assert d["error"] == "model 'x' not found" and d["kind"] == "model_not_found"
    assert d["http_status"] == 404


def test_generate_fields_of_the_wrong_type_read_as_none_when_lenient() -> None:
    """Lenient: each field listed in ``skipped`` and read as None, the rest of the object
    kept (a string counter once crashed the rate with TypeError)."""
    text = (
        '{"response": "hi", "done": true, "eval_count": "12", "eval_duration": 1000000000, '
        '"done_reason": 5, "context": ["a"]}'
    )
    r = lenient("ollama /api/generate", text)
    assert sorted(s.text for s in r.skipped) == [
        '"context": ["a"]',
        '"done_reason": 5',
        '"eval_count": "12"',
    ]
    d = r.to_dict()
    assert (d["response"], d["eval_count"], d["tokens_per_second"]) == ("hi", None, None)
    assert (d["done_reason"], d["context"], d["eval_duration"]) == (None, None, 1000000000)
