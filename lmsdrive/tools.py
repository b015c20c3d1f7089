"""Tool calling: the tools a model may call, and a bounded loop that runs them.

``chat(..., tools=[...])`` takes each tool as

* a JSON schema in the form both APIs take: ``{"type": "function", "function": {"name",
  "description", "parameters": {JSON schema of the arguments}}}``; or
* a plain Python function with type hints and a docstring (as ollama-python does): its
  name, the docstring's first paragraph as the description, the ``Args:`` section for each
  parameter's description, and the hints as the parameters' schema (``str``, ``int``,
  ``float``, ``bool``, ``list[...]``, ``dict``, ``Literal[...]``, ``X | None``); a
  parameter without a default is required.

The reply's :attr:`~lmsdrive.ChatReply.tool_calls` are typed :class:`~lmsdrive.ToolCall`;
:func:`tool_message` is the ``tool`` message that answers one. :meth:`Driver.run_tools`
(:func:`run_tools`) runs the loop for you: call the model, run the functions it asks for,
send back their results, until it answers in text or ``max_rounds`` is reached.

>>> def add(a: int, b: int = 0) -> int:
...     '''Add two numbers.
...
...     Args:
...         a: the first number
...         b: the second number
...     '''
...     return a + b
>>> tool_schema(add)["function"]["parameters"]["required"]
['a']
>>> tool_schema(add)["function"]["parameters"]["properties"]["a"]
{'type': 'integer', 'description': 'the first number'}
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

from ._types import ChatReply, ToolCall
from .errors import ConfigError, LmsdriveError

__all__ = [
    "Tool",
    "ToolLoopError",
    "run_tools",
    "tool_message",
    "tool_schema",
    "tool_specs",
]

#: A tool as ``chat`` takes it: a JSON schema (dict) or a typed, documented function.
Tool = Mapping[str, Any] | Callable[..., Any]

_SIMPLE: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


class ToolLoopError(LmsdriveError, RuntimeError):
    """:func:`run_tools` stopped: the model still asked for tools after ``max_rounds``
    rounds. ``messages`` is the conversation so far (nothing is lost: raise the bound, or
    continue it yourself)."""

    def __init__(self, message: str, messages: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.messages = messages


def _type_schema(hint: Any) -> dict[str, Any]:
    """The JSON schema of a type hint (``{}``: any value)."""
    if hint in _SIMPLE:
        return {"type": _SIMPLE[hint]}
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        return _type_schema(rest[0]) if len(rest) == 1 else {}
    if hint in (list, tuple, set) or origin in (list, tuple, set, Sequence):
        schema: dict[str, Any] = {"type": "array"}
        if args and args[0] is not Ellipsis:
            schema["items"] = _type_schema(args[0])
        return schema
    if hint is dict or origin in (dict, Mapping):
        return {"type": "object"}
    return {}


def _doc_parts(doc: str) -> tuple[str, dict[str, str]]:
    """(description, {parameter: description}) of a Google-style docstring."""
    text = inspect.cleandoc(doc)
    head = text.partition("\n\n")[0]
    described: dict[str, str] = {}
    section = re.search(r"^(?:Args|Arguments|Parameters):\s*$(.*?)(?=^\S|\Z)", text, re.M | re.S)
    if section:
        name: str | None = None
        for line in section.group(1).splitlines():
            m = re.match(r"^\s+(\w+)(?:\s*\([^)]*\))?:\s*(.*)$", line)
            if m and (name is None or len(line) - len(line.lstrip()) <= 8):
                name = m.group(1)
                described[name] = m.group(2).strip()
            elif name and line.strip():
                described[name] = f"{described[name]} {line.strip()}".strip()
    if head.strip().startswith(("Args:", "Arguments:", "Parameters:")):
        head = ""
    return " ".join(head.split()), described


def tool_schema(func: Callable[..., Any]) -> dict[str, Any]:
    """The ``{"type": "function", "function": {...}}`` schema of a typed function.

    A function without a docstring, or a parameter without a type hint, is a
    :class:`ConfigError`: the model reads both to decide when and how to call the tool."""
    name = getattr(func, "__name__", "")
    if not name or name == "<lambda>":
        raise ConfigError("a tool function needs a name: define it with `def`, not lambda")
    doc = inspect.getdoc(func)
    if not doc:
        raise ConfigError(
            f"tool {name}: add a docstring saying what it does (the model reads it to "
            "decide when to call it)"
        )
    description, described = _doc_parts(doc)
    hints = typing.get_type_hints(func)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in inspect.signature(func).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.name not in hints:
            raise ConfigError(
                f"tool {name}: give parameter {param.name!r} a type hint (str, int, float, "
                "bool, list[...], dict, Literal[...])"
            )
        prop = _type_schema(hints[param.name])
        if param.name in described:
            prop["description"] = described[param.name]
        properties[param.name] = prop
        if param.default is param.empty:
            required.append(param.name)
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


def _checked_schema(tool: Mapping[str, Any], n: int) -> dict[str, Any]:
    fn = tool.get("function")
    if tool.get("type") != "function" or not isinstance(fn, Mapping) or not fn.get("name"):
        raise ConfigError(
            f"tool {n}: expected a function, or a schema {{'type': 'function', 'function': "
            f"{{'name': ..., 'description': ..., 'parameters': {{...}}}}}}; got {dict(tool)!r}"[
                :300
            ]
        )
    copy: dict[str, Any] = json.loads(json.dumps(tool))  # plain JSON: sent as it was given
    return copy


def tool_specs(tools: Sequence[Tool]) -> list[dict[str, Any]]:
    """The JSON schemas of ``tools`` (schemas checked and copied, functions described)."""
    if isinstance(tools, (str, bytes, Mapping)) or not isinstance(tools, Sequence):
        raise ConfigError("tools: expected a list of functions or JSON schemas")
    specs = [
        _checked_schema(t, n) if isinstance(t, Mapping) else tool_schema(t)
        for n, t in enumerate(tools, 1)
    ]
    names = [s["function"]["name"] for s in specs]
    if len(set(names)) != len(names):
        raise ConfigError(f"tools: two tools have the same name ({', '.join(names)})")
    return specs


def tool_message(call: ToolCall, result: object) -> dict[str, Any]:
    """The ``tool`` message answering ``call`` with ``result`` (text as is, anything else as
    JSON), in the form :meth:`Driver.chat` sends to either API."""
    content = result if isinstance(result, str) else json.dumps(result, default=str)
    message: dict[str, Any] = {"role": "tool", "content": content, "name": call.name}
    if call.id is not None:
        message["tool_call_id"] = call.id
    return message


def _run_one(functions: Mapping[str, Callable[..., Any]], call: ToolCall) -> object:
    """What one call returns; a tool the model made up, bad arguments or an exception in
    the tool are told to the model as the result (it can correct itself), never raised."""
    func = functions.get(call.name)
    if func is None:
        return f"error: there is no tool named {call.name!r}; the tools are {sorted(functions)}"
    if call.invalid_arguments is not None:
        return f"error: the arguments are not a JSON object: {call.invalid_arguments!r}"
    try:
        return func(**call.arguments)
    except Exception as exc:  # the model sees the failure, as a person would
        return f"error: {type(exc).__name__}: {exc}"


def run_tools(
    chat: Callable[[list[dict[str, Any]]], ChatReply],
    messages: Sequence[Mapping[str, Any]],
    functions: Mapping[str, Callable[..., Any]],
    *,
    max_rounds: int = 5,
) -> tuple[ChatReply, list[dict[str, Any]]]:
    """The tool loop: ``chat(conversation)`` (which sends the tools), run every call of the
    reply, append the assistant message and one ``tool`` message per call, repeat until a
    reply has no tool calls. Returns (that reply, the whole conversation). Raises
    :class:`ToolLoopError` (with the conversation) when the model still calls tools after
    ``max_rounds`` rounds."""
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
        raise ConfigError(f"max_rounds={max_rounds!r}: expected a whole number of at least 1")
    conversation = [dict(m) for m in messages]
    for _ in range(max_rounds):
        reply = chat(conversation)
        if not reply.tool_calls:
            return reply, [*conversation, reply.message]
        conversation.append(reply.message)
        conversation += [tool_message(c, _run_one(functions, c)) for c in reply.tool_calls]
    names = ", ".join(c.name for c in reply.tool_calls)
    raise ToolLoopError(
        f"the model still asked for tools ({names}) after {max_rounds} rounds: raise "
        "max_rounds, or look at the conversation (ToolLoopError.messages)",
        conversation,
    )
