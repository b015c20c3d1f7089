"""Tests of lmsdrive.parsers._lms_json."""

from __future__ import annotations

import json
from types import ModuleType

import pytest

from lmsdrive.errors import ParseError
from lmsdrive.parsers import (
    lms_api_chat,
    lms_api_error,
    lms_api_models,
    lms_api_v0_models,
)
from lmsdrive.transcript import Transcript


@pytest.mark.parametrize("module", [lms_api_models, lms_api_v0_models, lms_api_error, lms_api_chat])
@pytest.mark.parametrize(
    "body", ["", "  \n", "<html>502 Bad Gateway</html>", "{not json}", "[1, 2"]
)
def test_bodies_refuse_empty_and_garbage(module: ModuleType, body: str) -> None:
    with pytest.raises(ParseError):
        module.parse(Transcript.of(body))


@pytest.mark.parametrize("module", [lms_api_models, lms_api_v0_models, lms_api_chat])
def test_bodies_read_error_bodies(module: ModuleType) -> None:
    body = json.dumps({"error": {"message": "No models loaded.", "type": "invalid_request_error"}})
    r = module.parse(Transcript.of(body, http_status=400))
    assert (r.error, r.kind) == ("No models loaded.", "model_not_found")
    r = module.parse(Transcript.of('{"error":"Unexpected endpoint or method. (GET /v1/x)"}'))
    assert r.error == "Unexpected endpoint or method. (GET /v1/x)"
