"""Base of every typed parse result, and the JSON conversion they share."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any, ClassVar

from .._types import PHASES, Progress

JSONValue = Any
__all__ = ["ERROR_KINDS", "PHASES", "JSONValue", "Progress", "Result", "to_jsonable"]


def to_jsonable(value: object) -> JSONValue:
    """Convert dataclasses, enums, tuples and mappings into JSON-safe values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if isinstance(value, Result):
            return value.to_dict()
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


@dataclasses.dataclass(frozen=True, kw_only=True)
class Result:
    """A parse result.

    ``error`` and ``kind`` are set when the output is the runtime's own error report
    (``kind`` is one of :data:`ERROR_KINDS`); both are ``None`` otherwise.
    """

    error: str | None = None
    kind: str | None = None

    #: Keys left out of :meth:`to_dict` when their value is ``None``.
    omit_none: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is None and f.name in self.omit_none:
                continue
            out[f.name] = to_jsonable(v)
        return out


#: The kinds of runtime error reports, as ``Result.kind``.
ERROR_KINDS = (
    "server_not_running",
    "model_not_found",
    "bind_failed",
    "pull_failed",
    "server_error",
    "usage",
    "crash",
    "unknown",
)
