"""Base of every typed parse result, and the JSON conversion they share."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, get_args

from .._types import PHASES, Progress
from ..errors import error_for
from ._decor import Decoration
from ._policy import SkippedLine

JSONValue = Any
__all__ = ["ERROR_KINDS", "PHASES", "JSONValue", "Progress", "Result", "to_jsonable"]

#: The kinds of runtime error reports, as ``Result.kind``.
ErrorKind = Literal[
    "server_not_running",
    "model_not_found",
    "bind_failed",
    "pull_failed",
    "server_error",
    "usage",
    "crash",
    "authentication",
    "unknown",
]
#: The same kinds as a tuple, in that order.
ERROR_KINDS: tuple[str, ...] = get_args(ErrorKind)


def to_jsonable(value: object) -> JSONValue:
    """Convert dataclasses, enums, tuples and mappings into JSON-safe values; a field a
    dataclass names in its ``omit_none`` is left out while it is ``None``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if isinstance(value, Result):
            return value.to_dict()
        omit = getattr(value, "omit_none", ())
        return {
            f.name: to_jsonable(v)
            for f in dataclasses.fields(value)
            if (v := getattr(value, f.name)) is not None or f.name not in omit
        }
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class ErrorReport:
    """A runtime's error report found among lines: message, kind, 1-based line number."""

    error: str
    kind: ErrorKind
    line_number: int


#: Fields of every result that :meth:`Result.to_dict` leaves out while they are empty (so
#: a result of a clean capture reads exactly as before lenient parsing existed).
_OMIT_EMPTY = ("skipped", "removed", "attempts")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Result:
    """A parse result.

    ``error`` and ``kind`` are set when the output is the runtime's own error report
    (``kind`` is one of :data:`ERROR_KINDS`); both are ``None`` otherwise.

    ``skipped`` (lenient parsing only) lists the lines the parser did not understand, with
    their 1-based line number in the input; ``attempts`` holds the results of earlier runs
    of the same command in a pasted session (the last run is this result); ``removed`` the
    decorations the pre-pass inferred and removed (``lmsdrive.parsers._decor``: kind, an
    example, which input lines). All three are left out of :meth:`to_dict` while empty.
    """

    error: str | None = None
    kind: str | None = None
    skipped: tuple[SkippedLine, ...] = ()
    removed: tuple[Decoration, ...] = ()
    attempts: tuple[Result, ...] = ()

    #: Keys left out of :meth:`to_dict` when their value is ``None``.
    omit_none: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if (v is None and f.name in self.omit_none) or f.name in _OMIT_EMPTY:
                continue
            out[f.name] = to_jsonable(v)
        for name in _OMIT_EMPTY:
            if getattr(self, name):
                out[name] = to_jsonable(getattr(self, name))
        return out

    def unread(self) -> int:
        """Lines passed on without being read, by a parser that never skips (``ollama
        serve`` counts them in ``other_lines``): what the pre-pass weighs, beside
        ``skipped``, to tell which reading of a capture its parser understands."""
        return 0

    def raise_for_error(self) -> None:
        """Raise the typed exception of the runtime's error report, if the output is one
        (:func:`lmsdrive.errors.error_for`); do nothing otherwise."""
        if self.error is not None:
            raise error_for(self.kind or "unknown", self.error)
