"""Tests of lmsdrive.parsers.lms_api_models."""

from __future__ import annotations

from lmsdrive.parsers import (
    lms_api_models,
)
from lmsdrive.transcript import Transcript


def test_models_unknown_fields_kept() -> None:
    body = (
        '{"data":[{"id":"a","object":"model","owned_by":"o","context_length":4096}],'
        '"object":"list"}'
    )
    r = lms_api_models.parse(Transcript.of(body))
    assert r.ids == ["a"] and r.models[0].extra == {"context_length": 4096}
