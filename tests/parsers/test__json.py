"""Tests of lmsdrive.parsers._json."""

from __future__ import annotations

from types import ModuleType

import pytest
from _support_ollamastream import body

from lmsdrive.errors import ParseError
from lmsdrive.parsers import (
    lms_api_chat,
    lms_api_error,
    lms_api_models,
    lms_api_v0_models,
)
from lmsdrive.parsers import ollama_api_error as api_error
from lmsdrive.parsers import ollama_api_generate as api_generate
from lmsdrive.parsers import ollama_api_ps as api_ps
from lmsdrive.parsers import ollama_api_pull as api_pull
from lmsdrive.parsers import ollama_api_tags as api_tags
from lmsdrive.parsers import ollama_api_version as api_version
from lmsdrive.parsers._json import Brackets, find_json, json_field, json_values
from lmsdrive.parsers._policy import reading
from lmsdrive.transcript import Transcript


@pytest.mark.parametrize("module", [lms_api_models, lms_api_v0_models, lms_api_error, lms_api_chat])
def test_bodies_refuse_deep_nesting(module: ModuleType) -> None:
    with pytest.raises(ParseError, match="deeper"):
        module.parse(Transcript.of('{"data": ' + "[" * 100_000 + "]" * 100_000 + "}"))


@pytest.mark.parametrize(
    "module", [api_pull, api_generate, api_tags, api_ps, api_version, api_error]
)
def test_deep_nesting_rejected_without_recursion(module: ModuleType) -> None:
    for text in ("[" * 100_000, '{"a":' * 65 + "1" + "}" * 65, "[" * 70 + "]" * 70):
        with pytest.raises(ParseError, match="deeper"):
            body(module, text)
    ok = '{"error":' + "[" * 60 + "]" * 60 + "}"
    body(module, ok)  # 61 levels: read


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
