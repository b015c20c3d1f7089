"""Tests of lmsdrive.parsers._lms_stream."""

from __future__ import annotations

import json

import pytest
from _support_lmsstream import _ALPHABET
from hypothesis import given, settings
from hypothesis import strategies as st

from lmsdrive.errors import ParseError
from lmsdrive.parsers import (
    lms_api_chat,
    lms_api_error,
    lms_api_models,
    lms_api_v0_models,
    lms_get,
    lms_load,
)
from lmsdrive.parsers._base import Result
from lmsdrive.parsers._lms_stream import FrameSplitter, elapsed_seconds, parse_bar
from lmsdrive.transcript import Transcript


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("845.00ms", 0.845), ("5.22s", 5.22), ("1m 3.20s", 63.2), ("1h 0m 2.00s", 3602.0)],
)
def test_elapsed_formats(text: str, seconds: float) -> None:
    assert elapsed_seconds(text) == pytest.approx(seconds)


def test_bar_nan_and_infinity_eta() -> None:
    bar = parse_bar(
        "⠋ [                      ] NaN% |    0 B /    0 B | 0 B/s | ETA Infinity:NaN:NaN"
    )
    assert bar is not None
    assert bar.percent is None
    assert bar.eta == "Infinity:NaN:NaN"
    assert bar.total == 0


def test_splitter_crlf_split_across_chunks() -> None:
    sp = FrameSplitter("t")
    frames = [*sp.feed("a\r"), *sp.feed("\nb\rc"), *sp.close()]
    assert [(f.line_number, f.text) for f in frames] == [(1, "a"), (2, "b"), (2, "c")]


def test_splitter_refuses_endless_line() -> None:
    sp = FrameSplitter("t", max_frame=100)
    with pytest.raises(ParseError):
        list(sp.feed("x" * 200))


@settings(max_examples=200)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_any_text_gives_result_or_parse_error(text: str) -> None:
    for module in (
        lms_get,
        lms_load,
        lms_api_models,
        lms_api_v0_models,
        lms_api_error,
        lms_api_chat,
    ):
        try:
            result = module.parse(Transcript.of(text))
        except ParseError:
            continue
        assert isinstance(result, Result)
        json.dumps(result.to_dict())
