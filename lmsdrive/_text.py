"""Text helpers at the bottom of the package (parsers, runner and backends use them):
ANSI removal, line cleaning, sizes, the tail of an output, timestamps."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

# CSI (ESC [ ... final), OSC (ESC ] ... BEL/ST), two-char escapes (ESC 7, ESC 8, ESC =, ...)
_ANSI_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    r"|\x1b[@-Z\\-_]"  # Fe escapes
    r"|\x1b[ -/]*[0-~]"  # nF / Fp escapes (ESC 7, ESC 8, ESC ( B)
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences (colour, cursor moves, mode switches)."""
    if "\x1b" not in text:
        return text
    return _ANSI_RE.sub("", text)


def last_frame(line: str) -> str:
    """Resolve carriage-return redraws on one line: what a terminal finally shows.

    ``"⠋ 10%\\r⠙ 20%"`` shows ``"⠙ 20%"``. A shorter last frame leaves the tail of the
    longer one before it visible, as on a terminal.
    """
    if "\r" not in line:
        return line
    shown = ""
    for seg in line.split("\r"):
        shown = seg + shown[len(seg) :]
    return shown


def clean_lines(text: str) -> list[str]:
    """Split output into display lines: ANSI removed, CRLF and ``\\r`` redraws resolved,
    other control characters dropped, trailing whitespace kept."""
    text = strip_ansi(text).replace("\r\n", "\n")
    out = []
    for raw in text.split("\n"):
        line = last_frame(raw) if "\r" in raw else raw
        out.append(_CONTROL_RE.sub("", line))
    if out and out[-1] == "":
        out.pop()
    return out


_UNITS: dict[str, int] = {
    "b": 1,
    "bytes": 1,
    "byte": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "pb": 1000**5,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}

# The one size reader: the pieces below build every size pattern of the parsers.
#: A printed number: ``4``, ``4.92``, ``4,92`` (a decimal comma).
NUMBER_PATTERN = r"\d+(?:[.,]\d+)?"
#: A unit as the runtimes print it: ``B``, ``kB``/``KB``, ``MB`` … ``PB``, ``KiB`` … ``PiB``.
UNIT_PATTERN = r"(?:[KMGTPk]i?B|B)"
#: A size as both runtimes print it: ``4.7 GB``, ``96 B``, ``27.50 GiB``, ``4.1 kB``.
SIZE_PATTERN = rf"{NUMBER_PATTERN}\s?(?:{UNIT_PATTERN}|Bytes)"
_SIZE_RE = re.compile(rf"^\s*({NUMBER_PATTERN})\s?({UNIT_PATTERN}|Bytes?)\s*$", re.IGNORECASE)
_IS_SIZE_RE = re.compile(rf"{NUMBER_PATTERN} (?:{UNIT_PATTERN}|Bytes)")


def is_size(text: str) -> bool:
    """Whether ``text`` is exactly a size cell, number and unit one space apart:
    ``"4.92 GB"`` is, ``"80B"`` (a parameter count in the same table) is not."""
    return _IS_SIZE_RE.fullmatch(text) is not None


def parse_size(text: str | None) -> int | None:
    """Bytes from a printed size, exact for decimal units: ``"4.92 GB"`` → 4920000000;
    binary units round to the nearest byte (``"2.78 GiB"`` → 2985002271).

    ``KB``/``kB``/``MB``/``GB``/``TB`` are decimal (both runtimes print base 1000);
    ``KiB``/``MiB``/``GiB``/``TiB`` are binary. Returns ``None`` for text that is not a size
    (``"-"`` for cloud models, an empty cell).
    """
    if not text:
        return None
    m = _SIZE_RE.match(text)
    if not m:
        return None
    number, unit = m.groups()
    factor = _UNITS.get(unit.lower())
    if factor is None:
        return None
    value = Decimal(number.replace(",", ".")) * factor
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def tail(text: str, n: int) -> list[str]:
    """The last ``n`` non-blank display lines of ``text`` (ANSI removed, redraws resolved)."""
    return [line for line in clean_lines(text) if line.strip()][-n:] if n > 0 else []


def timestamp(seconds: float | None = None) -> str:
    """A Unix time (default: now) as the JSON lines' ``ts``: UTC, ISO 8601, milliseconds.

    >>> timestamp(1765104552.5)
    '2025-12-07T10:49:12.500+00:00'
    """
    when = time.time() if seconds is None else seconds
    return datetime.fromtimestamp(when, tz=timezone.utc).isoformat(timespec="milliseconds")
