"""Helpers shared by the tests of the lms text parsers (tests/parsers/)."""

from __future__ import annotations

from hypothesis import strategies as st

MODULES = [
    "lms ls",
    "lms ps",
    "lms server status",
    "lms server start",
    "lms server stop",
    "lms status",
    "lms version",
    "lms unload",
    "lms error",
]


_TOKENS = [
    *"ab1. :/-\n\r\t│·•✓*[]{}\"'",
    "Error: ",
    "W ",
    "LLM ",
    "SIZE",
    "  ",
    "    ",
    "\x1b[2m",
    "IDENTIFIER",
    "PARAMS",
    "4.92 GB",
    "Identifier: ",
    "Server:  ON ",
    "port 1234",
    "? Select a model to unload",
    "Model Not Found",
    "    at x (y:1:2)",
    '{"running":',
    "➜  ~ lms ls",
]


LMS_TEXT = st.lists(st.sampled_from(_TOKENS), max_size=40).map("".join) | st.text()
