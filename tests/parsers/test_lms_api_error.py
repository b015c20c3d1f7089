"""Tests of lmsdrive.parsers.lms_api_error."""

from __future__ import annotations

import json

import pytest

from lmsdrive.errors import ParseError
from lmsdrive.parsers import (
    lms_api_error,
)
from lmsdrive.transcript import Transcript


def test_error_parser_refuses_non_error_json() -> None:
    with pytest.raises(ParseError):
        lms_api_error.parse(Transcript.of('{"lmstudio": true}'))


def test_curl_i_headers_give_status() -> None:
    body = (
        "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n\r\n"
        '{"error":"boom"}'
    )
    r = lms_api_error.parse(Transcript.of(body))
    assert (r.http_status, r.kind, r.error_is_string) == (500, "server_error", True)


NOT_FOUND = "model_not_found"


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        # the chat and embeddings answer for a model downloaded but not loaded (JIT off);
        # a dot inside the name (v1.5, qwen2.5) is not the end of the sentence
        ('Model "qwen/qwen3-4b" is not loaded. Load it with `lms load qwen/qwen3-4b`.', NOT_FOUND),
        ('Model "text-embedding-nomic-embed-text-v1.5" is not loaded. Load it.', NOT_FOUND),
        ("Model qwen2.5-7b-instruct is not loaded.", NOT_FOUND),
        ('Model "qwen2.5-7b-instruct" not found.', NOT_FOUND),
        ("Not found: model qwen2.5-7b-instruct", NOT_FOUND),
        # "model" and "not found" in two sentences are not a missing model
        ('Invalid "model" field. Route not found.', "usage"),
    ],
)
def test_a_model_not_loaded_or_not_found_is_model_not_found(message: str, kind: str) -> None:
    """One rule for every endpoint (chat, embeddings): the kind of an OpenAI-style error."""
    body = '{"error": {"message": %s, "type": "invalid_request_error", "param": "model"}}'
    r = lms_api_error.parse(Transcript.of(body % json.dumps(message), http_status=400))
    assert (r.error_message, r.kind) == (message, kind)
