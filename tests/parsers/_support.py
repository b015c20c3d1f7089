"""What every parser test module shares (tests/parsers/)."""

from __future__ import annotations

from lmsdrive.parsers import Result
from lmsdrive.parsers import parse as parse_any
from lmsdrive.transcript import Transcript


def parse(command: str, output: str | Transcript) -> Result:
    """These tests pin the strict mode: a line not understood raises ParseError."""
    return parse_any(command, output, strict=True)
