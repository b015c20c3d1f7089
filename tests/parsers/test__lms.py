"""Tests of lmsdrive.parsers._lms."""

from __future__ import annotations

import pytest
from _support_lms import LMS_TEXT, MODULES
from hypothesis import given, settings

from lmsdrive.errors import ParseError
from lmsdrive.parsers import Result, get_module
from lmsdrive.transcript import Transcript


@pytest.mark.parametrize("command", MODULES)
@settings(max_examples=200)
@given(text=LMS_TEXT)
def test_any_text_gives_result_or_parse_error(command: str, text: str) -> None:
    module = get_module(command)
    try:
        res = module.parse(Transcript.of(text))
    except ParseError:
        return
    assert isinstance(res, Result)
    res.to_dict()
