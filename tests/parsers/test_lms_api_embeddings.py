"""Tests of lmsdrive.parsers.lms_api_embeddings (``POST /v1/embeddings``, OpenAI-compatible;
LM Studio and llama.cpp's server)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _support import fixture, lenient, parse, parse_as, refused, wrong_type

from lmsdrive.errors import ParseError
from lmsdrive.parsers import resolve
from lmsdrive.parsers.lms_api_embeddings import LmsApiEmbeddingsResult
from lmsdrive.transcript import Transcript

CMD = "lms /v1/embeddings"


def item(vector: list[Any], index: int | None = None) -> dict[str, object]:
    d: dict[str, object] = {"object": "embedding", "embedding": vector}
    if index is not None:
        d["index"] = index
    return d


def body(*items: object, **top: object) -> str:
    return json.dumps({"object": "list", "data": list(items), "model": "m", **top})


def read(text: str | Transcript) -> LmsApiEmbeddingsResult:
    return parse_as(LmsApiEmbeddingsResult, CMD, text)


def test_v0_route_is_read_by_the_same_parser() -> None:
    assert resolve("lms /api/v0/embeddings").module == resolve(CMD).module == "lms_api_embeddings"


def test_llama_cpp_capture_two_inputs() -> None:
    r = read(fixture("lms/api-embeddings/llamacpp-tiny-mean-pooled"))
    assert (r.object, r.model, r.dimensions, r.http_status) == ("list", "tiny-llama", 64, 200)
    assert [len(v) for v in r.embeddings] == [64, 64]
    assert r.embeddings[0][0] == pytest.approx(7.9476213455200195)
    assert r.embeddings[1][0] == pytest.approx(7.948593616485596)
    assert (r.prompt_tokens, r.total_tokens) == (14, 14)


def test_pretty_printed_body() -> None:
    r = read(fixture("lms/api-embeddings/synthetic-two-inputs"))
    assert r.embeddings == [[-0.0161, 0.0349, -0.1681, -0.0132], [0.0221, -0.0483, 0.0914, 0.0066]]
    assert (r.prompt_tokens, r.total_tokens) == (0, 0)  # zero is read, not dropped


def test_vectors_put_back_in_index_order() -> None:
    r = read(body(item([2.0], 1), item([0.0], 0), item([1.5], 2)))
    assert r.embeddings == [[0.0], [2.0], [1.5]]
    # Without "index" an item's position is its index.
    assert read(body(item([1.0]), item([2.0]))).embeddings == [[1.0], [2.0]]


def test_integers_read_as_floats_and_no_usage() -> None:
    r = read(body(item([1, -2, 0], 0)))
    assert r.embeddings == [[1.0, -2.0, 0.0]] and all(isinstance(x, float) for x in r.embeddings[0])
    assert (r.dimensions, r.prompt_tokens, r.total_tokens) == (3, None, None)
    r = read(body())
    assert (r.embeddings, r.dimensions) == ([], None)


def test_error_bodies() -> None:
    no_model = {
        "error": {
            "message": "No models loaded. Please load a model in the developer page or use the "
            "`lms load` command.",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
    r = read(Transcript.of(json.dumps(no_model), http_status=400))
    assert r.kind == "model_not_found" and r.error is not None
    assert r.error.startswith("No models loaded") and r.embeddings == []
    r = read('{"error":"Unexpected endpoint or method. (POST /v1/embeddings)"}')
    assert (r.kind, r.http_status) == ("usage", None)


def test_per_token_vectors_and_bad_vectors_are_refused() -> None:
    refused(
        CMD,
        body(item([[0.1, 0.2], [0.3, 0.4]], 0)),  # llama.cpp without pooling: one per token
        body(item([], 0)),
        body(item(["0.1"], 0)),
        body(item([True], 0)),
        body({"object": "embedding", "index": 0}),
        body(item([1.0], 0), item([2.0], 0)),  # index repeated
        body(item([1.0], 1), item([2.0])),  # the second one's position is index 1 too
        body("not an object"),
    )


def test_other_shapes_are_refused() -> None:
    refused(
        CMD,
        "",
        "<html>Bad Gateway</html>",
        "[]",
        '{"object": "list"}',
        '{"data": {"embedding": [1.0]}}',
        '{"object": "list", "data": [',
    )


@pytest.mark.parametrize(
    ("template", "shown", "field"),
    [
        ('{"data": [], FIELD}', '"model": 5', "model"),
        ('{"data": [], FIELD}', '"object": ["list"]', "object"),
        ('{"data": [], FIELD}', '"usage": "none"', "prompt_tokens"),
        (
            '{"data": [], "usage": {FIELD, "prompt_tokens": 3}}',
            '"total_tokens": "3"',
            "total_tokens",
        ),
    ],
)
def test_field_of_the_wrong_type(template: str, shown: str, field: str) -> None:
    d = wrong_type(CMD, template, shown).to_dict()
    assert d[field] is None and d["embeddings"] == []


def test_index_of_the_wrong_type_counts_as_absent_when_lenient() -> None:
    text = body(item([1.0], 0), {"embedding": [2.0], "index": "1"})
    r = lenient(CMD, text)
    assert isinstance(r, LmsApiEmbeddingsResult)
    assert r.embeddings == [[1.0], [2.0]]
    assert [s.text for s in r.skipped] == ['"index": "1"']
    with pytest.raises(ParseError, match="'index' should be int"):
        parse(CMD, text)
