"""Replay a terminal animation on a virtual screen (``pyte``) and read its finished rows.

Private helper of the streaming parsers whose output redraws lines with cursor movement
(``ollama pull``'s ``ESC[A`` / ``ESC[1G`` / ``ESC[K`` / ``ESC[2K`` frames, ``\\r`` bars).

:class:`ScreenReplay` feeds text to a pyte screen and, at every point where a row is known
to be complete, yields the rows that changed since they were last read:

* before a ``\\n`` or ``\\r``: every changed row at or above the cursor (the row the cursor
  is on was just finished; rows below belong to a frame still being drawn); a ``\\n`` on a
  row nothing was drawn on since the last ``\\n`` reads that row too (a blank line);
* after ``ESC[?25h`` (show cursor, the end of every ``progress`` frame) and ``ESC[?2026l``
  (end of a synchronized update, v0.5.12+): every changed row;
* at :meth:`ScreenReplay.close`: every changed row.

A paste (the final screen, no escapes) is the same path: one row per ``\\n``.

Costs follow the content, not the screen size: the screen is very wide (lines wider than
it wrap, which only splits a line of more than 65,536 columns) and erase/insert/delete
operate on the written cells only; rows that leave the redraw window (more than
:data:`KEEP_ROWS` above the cursor) are dropped, so memory stays flat on endless streams.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from operator import attrgetter
from typing import Any
from unicodedata import combining

import pyte
from pyte import charsets, modes
from wcwidth import wcwidth

#: Columns of the virtual screen.
COLUMNS = 1 << 16
#: Rows of the virtual screen.
ROWS = 512
#: Rows kept above the cursor when the screen is compacted (the tallest redraw block).
KEEP_ROWS = 256

# Characters one cell wide (checked against wcwidth): ASCII, Latin-1, box drawing, block
# elements (the bar glyphs), Braille (spinner frames).
_SIMPLE_RE = re.compile(r"[\x20-\x7e\u00a0-\u02ff\u2500-\u25fc\u25ff\u2800-\u28ff]+")
_BOUNDARY_RE = re.compile(r"\n|\r|\x1b\[\?25h|\x1b\[\?2026l")
#: A control sequence (CSI) up to its final byte, and one still open at the end of a chunk
#: (held back, so every sequence reaches pyte whole and can be cleaned first).
_CSI_RE = re.compile(r"\x1b\[[^\x40-\x7e\x1b]*")
_OPEN_CSI_RE = re.compile(r"\x1b(?:\[[^\x40-\x7e\x1b]{0,4096})?$")


def _clean_csi(text: str) -> str:
    """Leave out of control sequences the non-ASCII characters pyte would take for parameter
    digits ("²".isdigit() is true, int("²") fails inside pyte): a terminal ignores them."""
    if "\x1b[" not in text or text.isascii():
        return text
    return _CSI_RE.sub(lambda m: "".join(c for c in m.group() if c.isascii()), text)


_DATA = attrgetter("data")


class _FlatScreen(pyte.Screen):
    """A pyte screen whose operations cost what the row holds, not the screen width."""

    def __init__(self, columns: int, lines: int) -> None:
        self._cells: dict[str, Any] = {}
        self._cells_attrs: object = None
        super().__init__(columns, lines)
        self.dirty.clear()

    def linefeed(self) -> None:
        """``\\n`` also returns to column 0, as a tty does (``onlcr``)."""
        self.index()
        self.cursor.x = 0

    def draw(self, data: str) -> None:
        cursor = self.cursor
        x = cursor.x
        n = len(data)
        if (
            x + n <= self.columns
            and self.charset == 0
            and self.g0_charset is charsets.LAT1_MAP
            and modes.IRM not in self.mode
            and _SIMPLE_RE.fullmatch(data)
        ):
            attrs = cursor.attrs
            if attrs is not self._cells_attrs:
                self._cells = {}
                self._cells_attrs = attrs
            cells = self._cells
            for ch in set(data).difference(cells):
                cells[ch] = attrs._replace(data=ch)
            cells_of = map(cells.__getitem__, data)
            self.buffer[cursor.y].update(zip(range(x, x + n), cells_of, strict=True))
            cursor.x = x + n
            self.dirty.add(cursor.y)
            return
        # pyte stops at the first character that does not advance the cursor (a control
        # character such as ``\x06``, U+200B, U+FEFF) and drops the rest of ``data``, so what
        # is shown would depend on how the text was chunked: leave those characters out (a
        # terminal does not show them), keep combining marks.
        super().draw("".join(c for c in data if wcwidth(c) > 0 or combining(c)))

    def _erase_keys(self, y: int, lo: int, hi: int) -> None:
        line = self.buffer.get(y)
        if line:
            for x in [x for x in line if lo <= x < hi]:
                del line[x]

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        y = self.cursor.y
        self.dirty.add(y)
        if how == 0:
            self._erase_keys(y, self.cursor.x, self.columns)
        elif how == 1:
            self._erase_keys(y, 0, self.cursor.x + 1)
        elif how == 2:
            self.buffer.pop(y, None)

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        y = self.cursor.y
        if how == 0:
            rows = [r for r in self.buffer if r > y]
            self.erase_in_line(0)
        elif how == 1:
            rows = [r for r in self.buffer if r < y]
            self.erase_in_line(1)
        elif how in (2, 3):
            rows = list(self.buffer)
        else:
            return
        for r in rows:
            self.buffer.pop(r, None)
        self.dirty.update(rows)

    def erase_characters(self, count: int | None = None) -> None:
        self.dirty.add(self.cursor.y)
        self._erase_keys(self.cursor.y, self.cursor.x, self.cursor.x + (count or 1))

    def insert_characters(self, count: int | None = None) -> None:
        self._shift_row(count or 1)

    def delete_characters(self, count: int | None = None) -> None:
        self._shift_row(-(count or 1))

    def _shift_row(self, by: int) -> None:
        y, x0 = self.cursor.y, self.cursor.x
        self.dirty.add(y)
        line = self.buffer.get(y)
        if not line:
            return
        moved = {}
        for x, ch in line.items():
            if x < x0:
                moved[x] = ch
            elif by > 0 or x >= x0 - by:
                nx = x + by
                if nx < self.columns:
                    moved[nx] = ch
        line.clear()
        line.update(moved)

    def tab(self) -> None:
        self.cursor.x = min((self.cursor.x // 8 + 1) * 8, self.columns - 1)

    def alignment_display(self) -> None:
        """DECALN (fill the screen with ``E``): a test pattern, ignored."""

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        """The virtual screen keeps its size (``ESC[?3h`` would shrink it to 132 columns)."""

    def row_text(self, y: int) -> str:
        line = self.buffer.get(y)
        if not line:
            return ""
        n = len(line)
        if max(line) == n - 1:  # contiguous from column 0: the usual case
            return "".join(map(_DATA, map(line.__getitem__, range(n)))).rstrip()
        parts: list[str] = []
        prev = 0
        for x in sorted(line):
            if x > prev:
                parts.append(" " * (x - prev))
            parts.append(line[x].data)
            prev = x + 1
        return "".join(parts).rstrip()

    def compact(self, keep: int) -> None:
        """Drop the rows more than ``keep`` above the cursor (they can no longer change)."""
        shift = self.cursor.y - keep
        if shift <= 0:
            return
        old = self.buffer
        kept = {y - shift: line for y, line in old.items() if y >= shift}
        old.clear()
        old.update(kept)
        self.dirty = {y - shift for y in self.dirty if y >= shift}
        self.cursor.y -= shift


def _tolerant(method: Any) -> Any:
    """A control-sequence handler that ignores parameters it does not take (as terminals
    do): ``ESC[1;5C`` or ``ESC[?5C`` must not crash the replay."""
    params = inspect.signature(method).parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return method
    positional = sum(1 for p in params if p.kind is p.POSITIONAL_OR_KEYWORD)
    private = any(p.name == "private" for p in params)

    def call(*args: Any, **kwargs: Any) -> Any:
        if not private:
            kwargs.pop("private", None)
        return method(*args[:positional], **kwargs)

    return call


def _make_tolerant(screen: pyte.Screen) -> None:
    for name in set(pyte.Stream.csi.values()):
        method = getattr(screen, name, None)
        if method is not None:
            setattr(screen, name, _tolerant(method))


class ScreenReplay:
    """Feed text chunks; get ``(line_number, row_text)`` for every finished row.

    ``line_number`` is the 1-based line of the input on which the row was finished. A row
    redrawn with new content is read again; a row redrawn identically is not (blank rows
    excepted: a blank line of a paste is read, it can belong to a multi-line message).
    """

    def __init__(self, columns: int = COLUMNS, rows: int = ROWS, keep: int = KEEP_ROWS) -> None:
        self._screen = _FlatScreen(columns, rows)
        _make_tolerant(self._screen)
        self._stream = pyte.Stream(self._screen)
        self._carry = ""
        self._rows = rows
        self._keep = keep
        self.line_number = 1
        self._seen: set[int] = set()
        self._shown: dict[int, str] = {}

    def feed(self, chunk: str) -> Iterator[tuple[int, str]]:
        text = self._carry + chunk if self._carry else chunk
        self._carry = ""
        open_csi = _OPEN_CSI_RE.search(text)
        if open_csi is not None:
            text, self._carry = text[: open_csi.start()], text[open_csi.start() :]
        text = _clean_csi(text)
        pos = 0
        screen = self._screen
        for m in _BOUNDARY_RE.finditer(text):
            if m.start() > pos:
                self._stream.feed(text[pos : m.start()])
            sep = m.group()
            pos = m.end()
            if sep == "\n" or sep == "\r":
                y = screen.cursor.y
                if sep == "\n" and y not in screen.dirty and y not in self._seen:
                    screen.dirty.add(y)  # a line with nothing drawn on it: a blank line
                yield from self._read(y)
                self._stream.feed(sep)
                if sep == "\n":
                    self._seen.clear()
                    self.line_number += 1
                    if screen.cursor.y >= self._rows - (self._rows - self._keep) // 2:
                        screen.compact(self._keep)
                        self._shown.clear()
            else:
                self._stream.feed(sep)
                yield from self._read(None)
        if pos < len(text):
            self._stream.feed(text[pos:])

    def close(self) -> Iterator[tuple[int, str]]:
        if self._carry:
            self._stream.feed(_clean_csi(self._carry))
            self._carry = ""
        yield from self._read(None)

    def _read(self, upto: int | None) -> Iterator[tuple[int, str]]:
        screen = self._screen
        dirty = screen.dirty
        if not dirty:
            return
        if upto is None:
            rows = sorted(dirty)
            dirty.clear()
        else:
            rows = sorted(y for y in dirty if y <= upto)
            dirty.difference_update(rows)
        self._seen.update(rows)
        if screen.cursor.y >= self._rows - 1:
            self._shown.clear()  # pyte scrolled the screen: rows moved
        shown = self._shown
        for y in rows:
            text = screen.row_text(y)
            if shown.get(y) == text and text:
                continue  # redrawn identically: nothing new
            shown[y] = text
            yield self.line_number, text

    @property
    def size(self) -> int:
        """Cells held by the screen (for tests of flat memory)."""
        return sum(len(line) for line in self._screen.buffer.values())
