"""Tests of lmsdrive.parsers.ollama_api_show (``POST /api/show``)."""

from __future__ import annotations

import json

import pytest
from _support import fixture, parse_as, refused, wrong_type

from lmsdrive.parsers.ollama_api_show import OllamaApiShowResult
from lmsdrive.transcript import Transcript

CMD = "ollama /api/show"


def read(text: str | Transcript) -> OllamaApiShowResult:
    return parse_as(OllamaApiShowResult, CMD, text)


def test_show_capabilities_details_and_model_info() -> None:
    r = read(fixture("ollama/api-show/synthetic-show-capabilities"))
    assert r.capabilities == ["completion", "tools"]
    assert (r.architecture, r.context_length, r.embedding_length) == ("llama", 131072, 3072)
    assert r.details is not None
    assert (r.details.format, r.details.family, r.details.families) == ("gguf", "llama", ["llama"])
    assert (r.details.parameter_size, r.details.quantization_level) == ("3.2B", "Q4_K_M")
    assert r.details.parent_model == ""
    assert r.parameters is not None and r.parameters.startswith("stop ")
    assert r.modified_at == "2025-05-20T12:36:26.152453637+02:00"
    # The big text fields and the tensor list are not kept; their presence is listed.
    big = ["license", "modelfile", "template", "tensors"]
    assert r.fields == sorted(
        [*big, "parameters", "details", "model_info", "capabilities", "modified_at"]
    )
    assert "license" not in r.to_dict() and "tensors" not in r.to_dict()


def test_server_before_0_6_4_has_no_capabilities() -> None:
    """No field: unknown (null), which is not the same as an empty list."""
    old = read('{"details": {"family": "llama"}, "model_info": {}}')
    assert old.capabilities is None
    assert read('{"capabilities": []}').capabilities == []


def test_lengths_are_read_under_the_architecture() -> None:
    info = {
        "general.architecture": "bert",
        "bert.context_length": 512,
        "bert.embedding_length": 384,
        "llama.context_length": 131072,  # another architecture's key: not this model's
    }
    r = read(json.dumps({"model_info": info, "capabilities": ["embedding"]}))
    assert (r.architecture, r.context_length, r.embedding_length) == ("bert", 512, 384)
    # Without general.architecture (or model_info) the lengths are unknown.
    r = read(json.dumps({"model_info": {"llama.context_length": 8192}}))
    assert (r.architecture, r.context_length) == (None, None)
    r = read('{"license": "MIT"}')
    assert (r.architecture, r.details, r.fields) == (None, None, ["license"])


@pytest.mark.parametrize(
    ("text", "status", "kind"),
    [
        ('{"error":"model \'nope\' not found"}', 404, "model_not_found"),
        ('{"error":"something went wrong"}', 500, "server_error"),
        ("404 page not found", 404, "usage"),
    ],
)
def test_error_bodies(text: str, status: int, kind: str) -> None:
    r = read(Transcript.of(text, http_status=status))
    assert (r.kind, r.http_status, r.capabilities, r.fields) == (kind, status, None, [])


def test_other_shapes_are_refused() -> None:
    refused(CMD, "", "hello", "[]", '"llama"', "{}\n{}", '{"capabilities": [')


@pytest.mark.parametrize(
    ("template", "shown", "field"),
    [
        ("{FIELD}", '"capabilities": "completion"', "capabilities"),
        ("{FIELD}", '"capabilities": ["completion", 5]', "capabilities"),
        ("{FIELD}", '"details": "gguf"', "details"),
        ('{"capabilities": [], FIELD}', '"parameters": 5', "parameters"),
        (
            '{"model_info": {"general.architecture": "llama", FIELD}}',
            '"llama.context_length": "131072"',
            "context_length",
        ),
        (
            '{"model_info": {"general.architecture": "llama", FIELD}}',
            '"llama.embedding_length": 3072.5',
            "embedding_length",
        ),
    ],
)
def test_field_of_the_wrong_type(template: str, shown: str, field: str) -> None:
    d = wrong_type(CMD, template, shown).to_dict()
    assert d[field] is None


def test_model_info_of_the_wrong_type() -> None:
    d = wrong_type(CMD, '{"capabilities": ["tools"], FIELD}', '"model_info": []').to_dict()
    assert (d["architecture"], d["capabilities"]) == (None, ["tools"])
