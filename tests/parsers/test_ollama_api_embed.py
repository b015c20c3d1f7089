"""Tests of lmsdrive.parsers.ollama_api_embed (``POST /api/embed``, Ollama v0.2.6+)."""

from __future__ import annotations

import json

import pytest
from _support import fixture, parse_as, refused, wrong_type

from lmsdrive.parsers.ollama_api_embed import OllamaApiEmbedResult
from lmsdrive.transcript import Transcript

CMD = "ollama /api/embed"


def read(text: str | Transcript) -> OllamaApiEmbedResult:
    return parse_as(OllamaApiEmbedResult, CMD, text)


def test_docs_body() -> None:
    r = read(fixture("ollama/api-embed/docs-embed"))
    assert (r.model, r.dimensions, r.http_status) == ("all-minilm", 10, 200)
    (vec,) = r.embeddings
    assert vec[:2] == [0.010071029, -0.0017594862] and vec[-1] == 0.031952348
    assert (r.total_duration, r.load_duration, r.prompt_eval_count) == (14143917, 1019500, 8)
    assert r.extra == {} and r.error is None


def test_one_vector_per_input_in_order_and_unknown_keys_kept() -> None:
    text = json.dumps(
        {"model": "m", "embeddings": [[1, 0], [0.5, -0.5], [0, 1]], "truncated": [False] * 3}
    )
    r = read(text)
    assert r.embeddings == [[1.0, 0.0], [0.5, -0.5], [0.0, 1.0]] and r.dimensions == 2
    assert (r.total_duration, r.extra) == (None, {"truncated": [False, False, False]})


def test_no_input_no_vectors() -> None:
    r = read('{"model": "all-minilm", "embeddings": []}')
    assert (r.embeddings, r.dimensions) == ([], None)


@pytest.mark.parametrize(
    ("text", "status", "kind"),
    [
        ('{"error":"model \\"nope\\" not found, try pulling it first"}', 404, "model_not_found"),
        ('{"error":"input length exceeds maximum context length"}', 400, "usage"),
        ('{"error":"llama runner process has terminated: signal: killed"}', 500, "server_error"),
        # An Ollama older than v0.2.6 has no /api/embed: Go's mux answers in plain text.
        ("404 page not found", 404, "usage"),
    ],
)
def test_error_bodies(text: str, status: int, kind: str) -> None:
    r = read(Transcript.of(text, http_status=status))
    assert (r.kind, r.http_status, r.embeddings) == (kind, status, [])
    assert r.error is not None and r.error in text.replace('\\"', '"')


def test_bad_vectors_are_refused() -> None:
    refused(
        CMD,
        '{"model": "m", "embeddings": [[]]}',
        '{"model": "m", "embeddings": [[0.1, "0.2"]]}',
        '{"model": "m", "embeddings": [[0.1, null]]}',
        '{"model": "m", "embeddings": [[true]]}',
        '{"model": "m", "embeddings": [0.1, 0.2]}',  # /api/embeddings' single vector
        '{"model": "m", "embeddings": null}',
    )


def test_other_shapes_are_refused() -> None:
    refused(
        CMD,
        "",
        "Ollama is running",
        "[]",
        '{"embedding": [0.1]}',  # the superseded /api/embeddings answer
        '{"model": "m", "embeddings": [[0.1]]}\n{"model": "m", "embeddings": [[0.2]]}',
        '{"model": "m", "embeddings": [[0.1',
    )


@pytest.mark.parametrize(
    ("shown", "field"),
    [
        ('"total_duration": "14ms"', "total_duration"),
        ('"prompt_eval_count": 8.5', "prompt_eval_count"),
        ('"load_duration": true', "load_duration"),
        ('"model": ["all-minilm"]', "model"),
    ],
)
def test_field_of_the_wrong_type(shown: str, field: str) -> None:
    d = wrong_type(CMD, '{"embeddings": [[0.5]], FIELD}', shown).to_dict()
    assert d[field] is None and d["embeddings"] == [[0.5]]
