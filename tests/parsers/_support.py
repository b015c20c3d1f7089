"""What every parser test module shares (tests/parsers/)."""

from __future__ import annotations

import json
from typing import TypeVar

import pytest

from lmsdrive.errors import ParseError
from lmsdrive.golden import DEFAULT_ROOT
from lmsdrive.golden.tree import Fixture
from lmsdrive.parsers import Result
from lmsdrive.parsers import parse as parse_any
from lmsdrive.transcript import Transcript


def parse(command: str, output: str | Transcript) -> Result:
    """These tests pin the strict mode: a line not understood raises ParseError."""
    return parse_any(command, output, strict=True)


R = TypeVar("R", bound=Result)


def parse_as(kind: type[R], command: str, output: str | Transcript) -> R:
    """:func:`parse`, the result checked to be the parser's own ``kind``."""
    result = parse(command, output)
    assert isinstance(result, kind)
    return result


def lenient(command: str, output: str | Transcript) -> Result:
    """The lenient mode (``lmsdrive parse``): lines not understood end up in ``skipped``."""
    return parse_any(command, output, strict=False)


def fixture(case: str) -> Transcript:
    """The capture of ``fixtures/<case>.txt`` (``"lms/api-v1-load/docs-load"``), with the
    HTTP status its provenance gives."""
    txt = DEFAULT_ROOT / f"{case}.txt"
    return Fixture(txt, json.loads(txt.with_suffix(".json").read_text("utf-8"))).transcript()


def wrong_type(command: str, template: str, shown: str) -> Result:
    """A body (``template`` with ``FIELD`` replaced by ``shown``, one field of the wrong
    type such as ``'"size": "big"'``): strict refuses it naming the field; lenient lists
    it in ``skipped`` (line 1, the field) and reads the rest, the result returned."""
    body = template.replace("FIELD", shown)
    with pytest.raises(ParseError) as err:
        parse(command, body)
    assert err.value.line == shown
    result = lenient(command, body)
    assert [(s.line, s.text) for s in result.skipped] == [(1, shown)]
    return result


def refused(command: str, *bodies: str | Transcript) -> None:
    """Each body is refused in both modes (a body of another shape, not a field)."""
    for body in bodies:
        for read in (parse, lenient):
            with pytest.raises(ParseError):
                read(command, body)
