"""Tests of lmsdrive.parsers.lms_api_v0_models."""

from __future__ import annotations

import pytest

from lmsdrive.errors import ParseError
from lmsdrive.parsers import (
    lms_api_v0_models,
)
from lmsdrive.transcript import Transcript


def test_v0_single_model_object() -> None:
    r = lms_api_v0_models.parse(Transcript.of('{"id":"x","type":"llm","state":"loaded"}'))
    assert r.ids == ["x"] and r.models[0].state == "loaded"
    with pytest.raises(ParseError):
        lms_api_v0_models.parse(Transcript.of('{"data":[{"id":"x","max_context_length":"big"}]}'))
