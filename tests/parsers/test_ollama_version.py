"""Tests of lmsdrive.parsers.ollama_version."""

from __future__ import annotations

import pytest
from _support import parse
from _support_ollama import T

from lmsdrive.errors import ParseError
from lmsdrive.parsers import (
    ollama_version,
)


@pytest.mark.parametrize(
    ("text", "server", "client", "reachable"),
    [
        ("ollama version is 0.5.7\n", "0.5.7", "0.5.7", True),
        ("ollama version is 0.5.7\nWarning: client version is 0.9.0\n", "0.5.7", "0.9.0", True),
        ("ollama version 0.1.13\n", None, "0.1.13", None),
        ("ollama version is 0.6.0-rc1\r\n", "0.6.0-rc1", "0.6.0-rc1", True),
        (
            "$ ollama -v\nWarning: could not connect to a running Ollama instance\n"
            "Warning: client version is 0.1.47-amd\n",
            None,
            "0.1.47-amd",
            False,
        ),
    ],
)
def test_version_forms(text: str, server: str | None, client: str, reachable: bool | None) -> None:
    r = parse("ollama --version", text).to_dict()  # through the pre-pass (the prompt line)
    assert (r["server_version"], r["client_version"], r["server_reachable"]) == (
        server,
        client,
        reachable,
    )


@pytest.mark.parametrize("text", ["", "version 1\n", "ollama version is\n"])
def test_version_garbage_raises(text: str) -> None:
    with pytest.raises(ParseError):
        ollama_version.parse(T(text))
