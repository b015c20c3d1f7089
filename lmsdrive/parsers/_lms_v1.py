"""Field readers shared by the LM Studio REST API v1 body parsers (``lms_api_v1_*``)."""

from __future__ import annotations

from typing import Any

from ..errors import ParseError


def field_of(command: str, obj: dict[str, Any], key: str, types: tuple[type, ...]) -> Any:
    """``obj[key]`` when absent/null or of one of ``types`` (``bool`` is not a number);
    anything else raises :class:`ParseError` naming the field."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) and bool not in types:
        raise ParseError(command, f"field {key!r} is not a {types[0].__name__}: {value!r}"[:200])
    if not isinstance(value, types):
        raise ParseError(command, f"field {key!r} is not a {types[0].__name__}: {value!r}"[:200])
    return value


def number(command: str, obj: dict[str, Any], key: str) -> int | None:
    """A byte count or similar: an integer (a whole float is accepted)."""
    value = field_of(command, obj, key, (int, float))
    if value is None:
        return None
    return int(value)
