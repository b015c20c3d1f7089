"""A small JSON-schema check for structured replies: ``type`` (one or a list), ``enum``,
``const``, ``required``, ``properties``, ``additionalProperties: false``, ``items``, and
``minItems``/``maxItems``. Enough to tell whether a model's JSON fits the schema it was
asked for (the server enforced it already on grammar-backed runtimes); other keywords are
ignored, never guessed at.

>>> problems({"a": 1}, {"type": "object", "required": ["a", "b"]})
["$: 'b' is required"]
>>> problems([1, "x"], {"type": "array", "items": {"type": "integer"}})
["$[1]: expected integer, got string ('x')"]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["problems"]

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _type_name(value: object) -> str:
    for name, types in _TYPES.items():
        if _is(value, name, types):
            return name
    return type(value).__name__


def _is(value: object, name: str, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and name in ("integer", "number"):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, types)


def problems(value: Any, schema: Mapping[str, Any], path: str = "$") -> list[str]:
    """What is wrong with ``value`` for ``schema`` (``[]`` when it fits)."""
    out: list[str] = []
    want = schema.get("type")
    if want is not None:
        names = [want] if isinstance(want, str) else list(want)
        known = [n for n in names if n in _TYPES]
        if known and not any(_is(value, n, _TYPES[n]) for n in known):
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            out.append(f"{path}: expected {' or '.join(known)}, got {_type_name(value)} ({shown})")
            return out
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: {value!r} is not one of {schema['enum']!r}")
    if "const" in schema and value != schema["const"]:
        out.append(f"{path}: {value!r} is not {schema['const']!r}")
    if isinstance(value, dict):
        props = schema.get("properties")
        props = props if isinstance(props, Mapping) else {}
        for key in schema.get("required") or ():
            if key not in value:
                out.append(f"{path}: {key!r} is required")
        for key, sub in props.items():
            if key in value and isinstance(sub, Mapping):
                out.extend(problems(value[key], sub, f"{path}.{key}"))
        if schema.get("additionalProperties") is False:
            out.extend(f"{path}: {k!r} is not allowed" for k in value if k not in props)
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for i, item in enumerate(value):
                out.extend(problems(item, items, f"{path}[{i}]"))
        low, high = schema.get("minItems"), schema.get("maxItems")
        if isinstance(low, int) and len(value) < low:
            out.append(f"{path}: {len(value)} items, at least {low} expected")
        if isinstance(high, int) and len(value) > high:
            out.append(f"{path}: {len(value)} items, at most {high} expected")
    return out
