"""Tests of lmsdrive.parsers.ollama_api_manifest (a model's manifest in Ollama's
registry: its layer sizes before the download)."""

from __future__ import annotations

import json

import pytest
from _support import fixture, parse_as

from lmsdrive.errors import ParseError
from lmsdrive.parsers.ollama_api_manifest import OllamaRegistryManifestResult
from lmsdrive.transcript import Transcript

CMD = "ollama /v2/manifests"


def read(text: str | Transcript) -> OllamaRegistryManifestResult:
    return parse_as(OllamaRegistryManifestResult, CMD, text)


def test_weights_are_the_model_and_projector_layers() -> None:
    r = read(fixture("ollama/api-manifest/synthetic-llama32-3b"))
    assert r.weights_bytes == 2019377376 and r.total_bytes == 2019392628
    assert [x.media_type.rsplit(".", 1)[1] for x in r.layers] == [
        "model",
        "template",
        "license",
        "license",
        "params",
    ]
    vision = {
        "layers": [
            {"mediaType": "application/vnd.ollama.image.model", "size": 3000},
            {"mediaType": "application/vnd.ollama.image.projector", "size": 800},
            {"mediaType": "application/vnd.ollama.image.template", "size": 50},
        ]
    }
    r = read(json.dumps(vision))
    assert (r.weights_bytes, r.total_bytes, r.config_digest) == (3800, 3850, None)


def test_a_missing_model_is_model_not_found() -> None:
    r = read(fixture("ollama/api-manifest/synthetic-manifest-unknown"))
    assert (r.error, r.kind, r.layers) == ("manifest unknown", "model_not_found", [])
    r = read('{"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}')
    assert (r.error, r.kind) == ("authentication required", "usage")


@pytest.mark.parametrize(
    "body",
    [
        '{"layers": [{"mediaType": "application/vnd.ollama.image.model"}]}',
        '{"layers": [{"mediaType": "application/vnd.ollama.image.model", "size": "big"}]}',
        "[1, 2]",
        "not json at all",
    ],
)
def test_what_is_not_a_manifest_is_refused(body: str) -> None:
    with pytest.raises(ParseError):
        read(body)
