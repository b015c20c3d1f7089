"""The JSON-schema check of structured replies (lmsdrive._schema), one test per rule, through
the public path: ``ChatReply.json()`` on a reply asked for with ``format=`` (a schema), and
end to end through ``Driver.chat(format=...)`` on a fake runtime whose model ignores the
schema (a server that does not enforce it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from lmsdrive import ChatReply, Config, Driver, StructuredOutputError
from lmsdrive.testing.runtime import FakeRuntime

Factory = Callable[..., FakeRuntime]


def rejected(value: Any, schema: dict[str, Any]) -> list[str]:
    """The problems ``.json()`` reports for ``value`` written by a model asked for ``schema``."""
    reply = ChatReply(text=json.dumps(value), model="m", format=schema)
    with pytest.raises(StructuredOutputError, match="does not match the schema") as e:
        reply.json()
    assert e.value.text == json.dumps(value)
    found: list[str] = e.value.problems
    return found


def accepted(value: Any, schema: dict[str, Any]) -> None:
    assert ChatReply(text=json.dumps(value), model="m", format=schema).json() == value


def test_type() -> None:
    assert rejected("22", {"type": "integer"}) == ["$: expected integer, got string ('22')"]
    assert rejected(None, {"type": "string"}) == ["$: expected string, got null (None)"]
    assert rejected([1], {"type": "object"}) == ["$: expected object, got array ([1])"]
    assert rejected({}, {"type": "array"}) == ["$: expected array, got object ({})"]
    assert rejected(1, {"type": "null"}) == ["$: expected null, got integer (1)"]
    accepted({"a": [None, "x", 1.5]}, {"type": "object"})


def test_a_list_of_types_is_any_of_them() -> None:
    schema = {"type": ["string", "null"]}
    accepted("x", schema)
    accepted(None, schema)
    assert rejected(3, schema) == ["$: expected string or null, got integer (3)"]


def test_a_type_name_the_check_does_not_know_is_ignored() -> None:
    accepted("x", {"type": "decimal"})
    assert rejected("x", {"type": ["integer", "decimal"]}) == [
        "$: expected integer, got string ('x')"
    ]


def test_a_bool_is_not_an_integer_nor_a_number() -> None:
    assert rejected(True, {"type": "integer"}) == ["$: expected integer, got boolean (True)"]
    assert rejected(False, {"type": "number"}) == ["$: expected number, got boolean (False)"]
    accepted(True, {"type": "boolean"})


def test_an_integer_is_a_whole_number_even_written_2_0() -> None:
    accepted(2.0, {"type": "integer"})
    accepted(2, {"type": "number"})
    assert rejected(2.5, {"type": "integer"}) == ["$: expected integer, got number (2.5)"]
    assert rejected(1, {"type": "boolean"}) == ["$: expected boolean, got integer (1)"]


def test_a_wrong_type_is_the_only_problem_reported() -> None:
    """Once the type is wrong, the object/array rules are not applied to it."""
    schema = {"type": "object", "required": ["a"], "enum": [{"a": 1}]}
    assert rejected("x", schema) == ["$: expected object, got string ('x')"]


def test_a_long_value_is_shortened_in_the_problem() -> None:
    """Up to 40 characters of its repr are shown whole; longer, 37 and '...'."""
    for long in ("y" * 39, "y" * 60):  # reprs of 41 and 62 characters
        shown = repr(long)[:37] + "..."
        assert rejected(long, {"type": "integer"}) == [f"$: expected integer, got string ({shown})"]
    assert rejected("y" * 38, {"type": "integer"}) == [
        f"$: expected integer, got string ({'y' * 38!r})"
    ]


def test_enum() -> None:
    schema = {"enum": ["red", "green"]}
    accepted("green", schema)
    assert rejected("blue", schema) == ["$: 'blue' is not one of ['red', 'green']"]


def test_const() -> None:
    accepted("v1", {"const": "v1"})
    assert rejected("v2", {"const": "v1"}) == ["$: 'v2' is not 'v1'"]


def test_required() -> None:
    schema = {"type": "object", "required": ["a", "b"]}
    accepted({"a": 1, "b": 2}, schema)
    assert rejected({"b": 2}, schema) == ["$: 'a' is required"]


def test_properties_are_checked_where_present_with_their_path() -> None:
    inner = {"type": "object", "properties": {"n": {"type": "integer"}}}
    schema = {"type": "object", "properties": {"a": inner}}
    accepted({}, schema)  # a property not required may be absent
    assert rejected({"a": {"n": "1"}}, schema) == ["$.a.n: expected integer, got string ('1')"]


def test_additional_properties_false() -> None:
    schema = {"type": "object", "properties": {"a": {}}, "additionalProperties": False}
    accepted({"a": 1}, schema)
    assert rejected({"a": 1, "b": 2, "c": 3}, schema) == [
        "$: 'b' is not allowed",
        "$: 'c' is not allowed",
    ]
    accepted({"a": 1, "b": 2}, {"properties": {"a": {}}})  # allowed unless said otherwise


def test_items_are_checked_with_their_index() -> None:
    schema = {"type": "array", "items": {"type": "integer"}}
    accepted([1, 2], schema)
    assert rejected([1, "x", 3, None], schema) == [
        "$[1]: expected integer, got string ('x')",
        "$[3]: expected integer, got null (None)",
    ]


def test_min_items() -> None:
    schema = {"type": "array", "minItems": 2}
    accepted([1, 2], schema)
    assert rejected([1], schema) == ["$: 1 items, at least 2 expected"]


def test_max_items() -> None:
    schema = {"type": "array", "maxItems": 2}
    accepted([1, 2], schema)
    assert rejected([1, 2, 3], schema) == ["$: 3 items, at most 2 expected"]


def test_keywords_it_does_not_check_are_ignored_never_guessed() -> None:
    """Keywords outside the list (``pattern``, ``minimum``) and keyword values of a shape it
    does not read (tuple ``items``, a ``properties`` list, a text ``minItems``) accept."""
    accepted("b", {"type": "string", "pattern": "^a"})
    accepted(-1, {"type": "integer", "minimum": 0})
    accepted(["x"], {"type": "array", "items": [{"type": "integer"}], "minItems": "2"})
    accepted({"a": "x"}, {"type": "object", "properties": ["a"], "required": None})
    accepted({"a": "x"}, {"type": "object", "properties": {"a": "integer"}})


def test_the_error_message_shows_the_first_five_problems_and_the_reply() -> None:
    schema = {"type": "object", "required": list("abcdef")}
    reply = ChatReply(text="{}", model="qwen3", format=schema)
    with pytest.raises(StructuredOutputError) as e:
        reply.json()
    assert str(e.value) == (
        "the reply of qwen3 does not match the schema asked for ("
        + "; ".join(f"$: {k!r} is required" for k in "abcde")
        + "): the server did not hold the answer to it (Ollama takes a schema in `format` from "
        "v0.5.0, `format: json` before; a server without structured output answers freely): "
        "update the server, or validate and retry. Reply: '{}'"
    )
    assert len(e.value.problems) == 6


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
def test_driver_chat_with_a_schema_rejects_an_answer_that_does_not_fit(
    fake_runtime: Factory, backend: str
) -> None:
    """``format=`` reaches the reply, and ``.json()`` holds the answer to it: an enum, an
    extra key and a bool where an integer was asked for are all reported."""
    model = {"ollama": "llama3.2:3b", "lmstudio": "qwen/qwen3-4b"}[backend]
    answer = '{"age": true, "mood": "grumpy", "name": "x"}'
    fake_runtime(
        server_running=True,
        models_loaded={{"ollama": "ollama", "lmstudio": "lms"}[backend]: [model]},
        generate_text=answer,
    )
    schema = {
        "type": "object",
        "properties": {"age": {"type": "integer"}, "mood": {"enum": ["happy", "sad"]}},
        "additionalProperties": False,
    }
    with Driver(Config.from_env(backend=backend, model_name=model)) as d:
        reply = d.chat([{"role": "user", "content": "?"}], format=schema, max_tokens=50)
    assert reply.text == answer
    with pytest.raises(StructuredOutputError) as e:
        reply.json()
    assert e.value.problems == [
        "$.age: expected integer, got boolean (True)",
        "$.mood: 'grumpy' is not one of ['happy', 'sad']",
        "$: 'name' is not allowed",
    ]
