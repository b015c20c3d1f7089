"""Tests of lmsdrive.parsers.lms_server_stop."""

from __future__ import annotations

import pytest
from _support import parse

from lmsdrive.errors import ParseError


def test_server_stop() -> None:
    assert parse("lms server stop", "E The server is not running.\n").to_dict()["stopped"] is False
    with pytest.raises(ParseError):
        parse("lms server stop", "")
