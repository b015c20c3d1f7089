"""Helpers shared by the tests of the ollama text parsers (tests/parsers/)."""

from __future__ import annotations

from _support import parse
from hypothesis import strategies as st

from lmsdrive.transcript import Transcript

T = Transcript.of


def models(command: str, text: str) -> list[dict[str, object]]:
    out: list[dict[str, object]] = parse(command, text).to_dict()["models"]
    return out


SLOG_READY = (
    "time=2024-03-03T12:54:37.032-08:00 level=INFO source=routes.go:1019 "
    'msg="Listening on 127.0.0.1:11434 (version 0.1.27)"\n'
)


_ALPHABET = st.sampled_from(
    [
        *list('abcNAMEIDSZUTLOP0123456789:.%/- \t\n\r\x1b[m"=⠙'),
        "Error: ",
        "Warning: ",
        "NAME ID SIZE MODIFIED",
        "4.7 GB",
        "a6990ed6be41",
        "100% GPU",
        "Listening on ",
        "time=x level=INFO msg=",
        "ollama version is ",
        "panic: ",
        "2 days ago",
    ]
)
