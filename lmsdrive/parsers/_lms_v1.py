"""Field readers shared by the LM Studio REST API v1 body parsers (``lms_api_v1_*``).

They follow :mod:`._json`'s one wrong-type policy: missing or ``null`` reads as ``None``; a
value of another type is not understood (strict: :class:`ParseError`; lenient: listed in
``skipped`` and read as ``None``).
"""

from __future__ import annotations

import json
from typing import Any

from ._policy import not_understood


def _refuse(command: str, key: str, value: object, what: str) -> None:
    shown = f"{json.dumps(key)}: {json.dumps(value, default=str)}"[:200]
    not_understood(command, f"{key!r} should be {what}", 1, shown, part=True)


def field_of(command: str, obj: dict[str, Any], key: str, types: tuple[type, ...]) -> Any:
    """``obj[key]`` when absent/null or of one of ``types`` (``bool`` is not a number);
    anything else is not understood (the wrong-type policy) and reads as ``None``."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, types) and not (isinstance(value, bool) and bool not in types):
        return value
    _refuse(command, key, value, " or ".join(t.__name__ for t in types))
    return None


def number(command: str, obj: dict[str, Any], key: str) -> int | None:
    """A byte count or similar: an integer (a whole float is accepted, 1.5 is not)."""
    value = field_of(command, obj, key, (int, float))
    if isinstance(value, float) and not value.is_integer():
        _refuse(command, key, value, "a whole number")
        return None
    return None if value is None else int(value)
