"""The one error policy of every parser: what happens to a line it does not understand.

A parser never decides this itself. It calls :func:`not_understood` for such a line and
goes on with the next one; the mode of the current read decides:

* **strict** (the default when nothing else is set, the fixture tests, ``lmsdrive fixtures
  check``, ``parse(..., strict=True)``): :class:`~lmsdrive.errors.ParseError` at once, as
  it always was;
* **lenient** (``lmsdrive parse``, the live driver): the line is recorded, with its line
  number, and ends up in the result's ``skipped`` list — never silently dropped.

The mode is set by :func:`reading` around one parse (a context variable, so threads and
asyncio tasks each keep their own).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from ..errors import ParseError

__all__ = ["Reading", "SkippedLine", "not_understood", "reading"]


@dataclass(frozen=True)
class SkippedLine:
    """A line a lenient parse did not understand: its 1-based number in the input, its text."""

    line: int
    text: str


@dataclass
class Reading:
    """The state of one parse: its mode and, when lenient, the lines not understood."""

    strict: bool = True
    skipped: list[SkippedLine] = field(default_factory=list)
    #: How many of ``skipped`` are whole lines (not one field of a line otherwise read).
    whole_lines: int = 0


_CURRENT: ContextVar[Reading | None] = ContextVar("lmsdrive_parse_reading", default=None)


@contextmanager
def reading(*, strict: bool) -> Iterator[Reading]:
    """Parse in ``strict`` or lenient mode inside the ``with`` block."""
    state = Reading(strict=strict)
    token = _CURRENT.set(state)
    try:
        yield state
    finally:
        _CURRENT.reset(token)


def not_understood(
    command: str,
    reason: str,
    line_number: int | None = None,
    line: str | None = None,
    *,
    part: bool = False,
) -> None:
    """A line ``command``'s parser does not understand: raise (strict) or record (lenient).

    ``line_number`` is 1-based within the text the parser read. The caller goes on with
    the next line when this returns. ``part``: only a piece of the line is not understood
    (one JSON field of the wrong type, ``line`` says which); the rest of it was read.
    """
    state = _CURRENT.get()
    if state is None or state.strict or line_number is None:
        raise ParseError(command, reason, line_number, line)
    state.skipped.append(SkippedLine(line_number, line if line is not None else ""))
    if not part:
        state.whole_lines += 1
