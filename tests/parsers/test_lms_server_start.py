"""Tests of lmsdrive.parsers.lms_server_start."""

from __future__ import annotations

import pytest
from _support import parse

from lmsdrive.errors import ParseError


def test_server_start_truncated_and_failures() -> None:
    d = parse("lms server start", "Starting server...\nWaking up LM Studio service...\n").to_dict()
    assert d["running"] is None and d["complete"] is False and d["woke_service"] is True
    d = parse("lms server start", "Failed to start the server on port 80\n").to_dict()
    assert (d["running"], d["port"], d["kind"]) == (False, 80, "bind_failed")
    with pytest.raises(ParseError):
        parse("lms server start", "")
    with pytest.raises(ParseError):
        parse("lms server start", "Success! something else\n")


def test_server_start_chained_command_is_removed_by_the_pre_pass() -> None:
    text = (
        "PS C:\\> lms server start && lms load x -y\nSuccess! Server is now running on port 1234\n"
    )
    d = parse("lms server start", text).to_dict()
    assert (d["running"], d["port"], d["second_command"]) == (True, 1234, None)
