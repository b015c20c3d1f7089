"""What a table cell cut at the end of a paste can be: the one rule of every table parser.

A paste may stop inside the last row (``llama3.2:latest   a6``, ``… 5.4 G``, ``…   2.5``).
Such a LAST row is kept: its whole cells are read, the partial cell and everything after
it are null, and the result says ``truncated``. A partial cell is never read as a value:

* a typed cell (``id`` 12 hex, ``size`` ``4.7 GB``, ``processor`` ``100% GPU``, ``time``
  ``2 weeks ago``) that does not match its whole pattern at the end of the text, but is a
  prefix of one, is the partial cell (:func:`is_partial`);
* a cell at the very end of a cut row (no space after it) is whole only when its pattern
  cannot go on (:func:`whole_at_end`): a whole id, size, processor or time phrase; never a
  number (``4096`` may have been ``40960``) nor free text (a name, a device).

The table readers (``_ollama_table``, ``_lms``) decide which cells a row has; this module
only says, for one cell, whether it is whole.
"""

from __future__ import annotations

import re

from .._text import NUMBER_PATTERN, SIZE_PATTERN

__all__ = ["KINDS", "is_partial", "whole_at_end"]


def _lit(text: str) -> str:
    """A regex matching every non-empty prefix of the literal ``text``."""
    out = ""
    for ch in reversed(text):
        out = f"{re.escape(ch)}(?:{out})?" if out else re.escape(ch)
    return out


def _seq(*parts: tuple[str, str]) -> tuple[str, str]:
    """(whole, non-empty prefix) regexes of the parts one after the other."""
    whole, prefix = parts[-1]
    for w, p in reversed(parts[:-1]):
        prefix = f"(?:{w}(?:{prefix})?|{p})"
        whole = f"{w}{whole}"
    return whole, prefix


def _alt(*parts: tuple[str, str]) -> tuple[str, str]:
    return "(?:" + "|".join(w for w, _ in parts) + ")", "(?:" + "|".join(p for _, p in parts) + ")"


def _l(text: str) -> tuple[str, str]:
    return re.escape(text), _lit(text)


def _atom(rx: str, prefix: str | None = None) -> tuple[str, str]:
    return rx, prefix if prefix is not None else rx


_UNITS = ("second", "minute", "hour", "day", "week", "month", "year")
_TIME = _alt(
    _seq(
        _alt(
            _l("Less than a second"),
            _seq(_l("About a"), _atom("n?", "n"), _l(" "), _alt(_l("minute"), _l("hour"))),
            _seq(_l("A"), _atom("n?", "n"), _l(" "), _atom(r"\w+")),
            _seq(_atom(r"\d+"), _l(" "), _alt(*(_l(u) for u in _UNITS)), _atom("s?", "s")),
        ),
        _alt(_l(" ago"), _l(" from now")),
    ),
    _l("Never"),
    _l("Forever"),
    _l("Stopping..."),
)
_PCT = _seq(_atom(r"\d{1,3}"), _l("%"))
_PROCESSOR = _alt(
    _seq(_PCT, _l("/"), _PCT, _l(" CPU/GPU")),
    _seq(_PCT, _l(" "), _alt(_l("CPU"), _l("GPU"))),
    _l("Unknown"),
)
_SIZE_PREFIX = (
    rf"(?:-|\d+(?:[.,]\d*)?(?:\s?(?:[KMGTPk]i?B?|{_lit('Bytes')})?)?)"  # 4 · 4. · 4.7 G · 4.7 GB
)

#: Cell kinds: (whole pattern, pattern of every non-empty prefix, whole cannot go on).
KINDS: dict[str, tuple[re.Pattern[str], re.Pattern[str], bool]] = {
    "id": (re.compile("[0-9a-f]{12}"), re.compile("[0-9a-f]{1,12}"), True),
    "size": (re.compile(rf"-|{SIZE_PATTERN}"), re.compile(_SIZE_PREFIX), True),
    "number": (re.compile(NUMBER_PATTERN), re.compile(r"\d+(?:[.,]\d*)?"), False),
    "processor": (re.compile(_PROCESSOR[0]), re.compile(_PROCESSOR[1]), True),
    "time": (re.compile(_TIME[0]), re.compile(_TIME[1]), True),
    "text": (re.compile(r".+"), re.compile(r".+"), False),
}


def whole_at_end(kind: str, text: str) -> bool:
    """Whether ``text``, the last cell of a cut row with nothing after it, is whole."""
    whole, _, closed = KINDS[kind]
    return closed and whole.fullmatch(text) is not None


def is_partial(kind: str, text: str) -> bool:
    """Whether ``text`` at the end of a row can be a cell of ``kind`` cut short."""
    whole, prefix, closed = KINDS[kind]
    if not text or prefix.fullmatch(text) is None:
        return False
    return not (closed and whole.fullmatch(text) is not None)
