"""The one JSON module of the parsers: the bracket scanner, the payload finder and the one
typed field reader with its wrong-type policy."""

from __future__ import annotations

import pytest

from lmsdrive.errors import ParseError
from lmsdrive.parsers import parse
from lmsdrive.parsers._json import Brackets, find_json, json_field, json_values
from lmsdrive.parsers._policy import reading


def test_field_missing_or_null_is_none() -> None:
    assert json_field({}, "a", str, "x") is None
    assert json_field({"a": None}, "a", int, "x") is None
    assert json_field({"a": "s"}, "a", str, "x") == "s"
    assert json_field({"a": 3}, "a", int, "x") == 3


def test_field_wrong_type_strict_raises() -> None:
    with pytest.raises(ParseError, match="'a' should be int") as e:
        json_field({"a": "3"}, "a", int, "x", 4)
    assert e.value.line_number == 4 and e.value.line == '"a": "3"'
    with pytest.raises(ParseError, match="should be int"):
        json_field({"a": True}, "a", int, "x")  # a bool is not a number


def test_field_wrong_type_lenient_is_recorded_and_none() -> None:
    with reading(strict=False) as state:
        assert json_field({"a": [1]}, "a", str, "x", 2) is None
    assert [(s.line, s.text) for s in state.skipped] == [(2, '"a": [1]')]
    assert state.whole_lines == 0


def test_lenient_body_with_one_wrong_field_is_read() -> None:
    """A one-line JSON payload with one field of the wrong type: read, the field skipped."""
    text = '[{"identifier": "a", "sizeBytes": "big", "type": "llm"}]\n'
    with pytest.raises(ParseError, match="'sizeBytes' should be int"):
        parse("lms ps --json", text, strict=True)
    r = parse("lms ps --json", text)
    d = r.to_dict()
    assert d["models"][0]["identifier"] == "a" and d["models"][0]["size_bytes"] is None
    assert d["skipped"] == [{"line": 1, "text": '"sizeBytes": "big"'}]


def test_brackets_across_pieces_and_strings() -> None:
    b = Brackets("x")
    for piece in ('{"a": "x}', '\\"]", "b": [1', ", 2]", "}"):
        b.feed(piece)
    assert b.complete and b.depth == 0


def test_brackets_refuse_deep_and_unbalanced() -> None:
    with pytest.raises(ParseError, match="nested deeper than 64"):
        Brackets("x").feed("[" * 65)
    with pytest.raises(ParseError, match="unbalanced"):
        Brackets("x").feed("{}}")


def test_find_json_between_log_lines() -> None:
    lines = ["W warning", "{", '  "a": "}"', "}", "after"]
    assert find_json(lines, "x") == ({"a": "}"}, 1, 4)
    assert find_json(["no json"], "x") is None


def test_json_values_ndjson_and_pretty() -> None:
    text = '{"a": 1}\n\n{\n  "b": [2]\n}\n'
    assert json_values("x", text) == [(1, {"a": 1}), (3, {"b": [2]})]
    with pytest.raises(ParseError, match="unterminated JSON string"):
        json_values("x", '{"a": "b\n')
