"""Tests of lmsdrive.parsers.ollama_api_pull."""

from __future__ import annotations

import pytest
from _support_ollamastream import PULL_LINES, body, chunked

from lmsdrive.errors import ParseError
from lmsdrive.parsers import ollama_api_pull as api_pull


def test_api_pull_events_and_monotonic_overall() -> None:
    text = "\n".join(PULL_LINES) + "\n"
    events = list(api_pull.stream(chunked(text, 1)))
    assert len(events) == len(PULL_LINES)
    overall = [e.overall_percent for e in events if e.overall_percent is not None]
    assert overall == sorted(overall) and overall[-1] == 100.0
    assert events[2].item == "sha256:" + "a" * 64 and events[2].percent == 40.0
    assert [e.phase for e in events][-3:] == ["verifying", "writing", "done"]


def test_api_pull_empty_and_truncated() -> None:
    assert body(api_pull, "")["outcome"] is None
    cut = "\n".join(PULL_LINES[:3]) + "\n"
    d = body(api_pull, cut)
    assert d["outcome"] is None and d["final_status"] == "pulling aaaaaaaaaaaa"
    with pytest.raises(ParseError, match="truncated"):
        body(api_pull, cut + '{"status":"pulling manifest",')
    with pytest.raises(ParseError):
        body(api_pull, cut + '{"status":"pul\n')


def test_api_pull_error_shapes() -> None:
    d = body(api_pull, '{"status":"error: model \\"x\\" not found"}\n')
    assert d["error"] == 'model "x" not found' and d["kind"] == "model_not_found"
    d = body(api_pull, "404 page not found", 404)
    assert d["outcome"] == "error" and d["kind"] == "usage"


def test_api_pull_garbage() -> None:
    for text in ("hello", "[1, 2]\n", '{"foo": 1}\n', "42\n", '{"status": 5}\n'):
        with pytest.raises(ParseError):
            body(api_pull, text)
