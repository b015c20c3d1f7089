"""Tests of lmsdrive.parsers.lms_api_v1_models (``GET /api/v1/models``, LM Studio 0.4+)."""

from __future__ import annotations

import json

import pytest
from _support import fixture, parse, parse_as, refused, wrong_type

from lmsdrive.parsers.lms_api_v1_models import LmsApiV1ModelsResult
from lmsdrive.transcript import Transcript

CMD = "lms /api/v1/models"
DOCS = fixture("lms/api-v1-models/docs-list")


def _models(body: object) -> str:
    return json.dumps({"models": [body]})


def test_docs_list_every_field() -> None:
    r = parse_as(LmsApiV1ModelsResult, CMD, DOCS)
    assert r.keys == [m.key for m in r.models]
    gemma, r1, nomic = r.models
    assert (gemma.type, gemma.publisher, gemma.display_name) == ("llm", "google", "Gemma 4 26B A4B")
    assert (gemma.architecture, gemma.quantization, gemma.format) == ("gemma4", "Q4_K_M", "gguf")
    assert (gemma.size_bytes, gemma.params_string, gemma.max_context_length) == (
        17990911801,
        "26B-A4B",
        262144,
    )
    (inst,) = gemma.loaded_instances
    assert (inst.id, inst.context_length) == ("google/gemma-4-26b-a4b", 4096)
    assert inst.config["parallel"] == 4 and inst.config["flash_attention"] is True
    # Fields the parser does not name are kept as sent.
    assert set(gemma.extra) == {"capabilities", "description", "variants", "selected_variant"}
    assert gemma.extra["capabilities"]["reasoning"]["default"] == "on"
    assert r1.loaded_instances == [] and r1.extra["capabilities"]["vision"] is False
    # The embedding model has no architecture, a null params_string, no capabilities.
    assert (nomic.type, nomic.architecture, nomic.params_string) == ("embedding", None, None)
    assert (nomic.quantization, nomic.max_context_length, nomic.extra) == ("F16", 2048, {})
    assert r.http_status == 200 and r.error is None


def test_curl_i_paste_reads_status_and_body() -> None:
    body = DOCS.stdout
    pasted = "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n\r\n" + body
    r = parse(CMD, pasted)
    assert r.to_dict()["http_status"] == 200
    assert r.to_dict()["models"] == parse(CMD, body).to_dict()["models"]


def test_no_models_downloaded() -> None:
    r = parse(CMD, '{"models": []}').to_dict()
    assert (r["keys"], r["models"], r["error"]) == ([], [], None)


def test_quantization_string_null_or_nameless() -> None:
    def quant(value: object) -> str | None:
        r = parse_as(LmsApiV1ModelsResult, CMD, _models({"key": "k", "quantization": value}))
        return r.models[0].quantization

    assert quant("Q8_0") == "Q8_0"
    assert quant(None) is None
    assert quant({"name": None, "bits_per_weight": None}) is None  # both nullable (§2.1)


def test_whole_float_size_is_read_as_an_integer() -> None:
    body = _models({"key": "k", "size_bytes": 17990911801.0, "max_context_length": 4096.0})
    (m,) = parse(CMD, body).to_dict()["models"]
    assert (m["size_bytes"], m["max_context_length"]) == (17990911801, 4096)
    assert isinstance(m["size_bytes"], int)


def test_instance_without_config_has_no_context_length() -> None:
    body = _models({"key": "k", "loaded_instances": [{"id": "k:2"}]})
    (m,) = parse(CMD, body).to_dict()["models"]
    assert m["loaded_instances"] == [{"id": "k:2", "context_length": None, "config": {}}]


def test_pre_0_4_server_answers_200_with_an_error() -> None:
    r = parse(CMD, fixture("lms/api-v1-models/synthetic-pre-0.4-unknown-route"))
    assert (r.error, r.kind) == ("Unexpected endpoint or method. (GET /api/v1/models)", "usage")
    assert r.to_dict()["models"] == [] and r.to_dict()["http_status"] == 200


def test_token_required_body() -> None:
    r = parse(CMD, fixture("lms/api-v1-models/observed-invalid-api-key"))
    assert r.kind == "usage" and r.to_dict()["http_status"] == 401
    assert r.error is not None and r.error.startswith("An LM Studio API token is required")


def test_server_error_status_wins_over_the_text() -> None:
    r = parse(CMD, Transcript.of('{"error": "oops"}', http_status=500))
    assert (r.error, r.kind) == ("oops", "server_error")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("size_bytes", '"17 GB"'),
        ("size_bytes", "true"),  # a bool is not a number
        ("size_bytes", "1.5"),  # a byte count is whole
        ("display_name", "5"),
        ("quantization", "4"),
        ("loaded_instances", "{}"),
    ],
)
def test_field_of_the_wrong_type(field: str, value: str) -> None:
    body = '{"models": [{"key": "k", "type": "llm", FIELD}]}'
    r = wrong_type(CMD, body, f'"{field}": {value}')
    (m,) = r.to_dict()["models"]
    assert m["key"] == "k" and m["type"] == "llm"  # the rest of the entry is read
    assert m[field] in (None, [])


def test_wrong_type_inside_an_instance_config() -> None:
    body = _models(
        {"key": "k", "loaded_instances": [{"id": "i", "config": {"context_length": "4k"}}]}
    )
    r = wrong_type(CMD, body, '"context_length": "4k"')
    assert r.to_dict()["models"][0]["loaded_instances"][0]["id"] == "i"


def test_other_shapes_are_refused() -> None:
    refused(
        CMD,
        "",
        "not json",
        "[]",
        "{}",
        '{"models": null}',
        '{"models": {"key": "k"}}',
        '{"data": [{"id": "k"}], "object": "list"}',  # the /v1/models shape
        _models({"display_name": "no key"}),
        _models({"key": 5}),
        _models("k"),
        _models({"key": "k", "loaded_instances": [{"config": {}}]}),
        '{"models": [',
    )
