"""Tests of lmsdrive.parsers.lms_server_status."""

from __future__ import annotations

import pytest
from _support import parse

from lmsdrive.errors import ParseError


def test_server_status_forms() -> None:
    assert (
        parse("lms server status", "W x\nThe server is running on port 4321.\n").to_dict()["port"]
        == 4321
    )
    with pytest.raises(ParseError):
        parse("lms server status", "")
    with pytest.raises(ParseError):
        parse("lms server status", '{"running":"yes"}\n')
    with pytest.raises(ParseError):  # text and JSON disagree
        parse("lms server status", 'The server is not running.\n{"running":true,"port":1}\n')
    d = parse(
        "lms server status",
        "Error: The server does not appear to be running at 10.0.0.2:1234. Please make sure…\n",
    ).to_dict()
    assert (d["running"], d["host"], d["port"], d["kind"]) == (
        False,
        "10.0.0.2",
        1234,
        "server_not_running",
    )
