"""Helpers of the streaming ``lms get`` / ``lms load`` parsers (private to the lmsstream group).

* :class:`FrameSplitter` cuts a stream of text chunks into *frames*: display lines ended by
  ``\\n``, and the redraws of a progress bar or spinner on one line, ended by ``\\r`` or by
  restore-cursor (``ESC[u`` / ``ESC 8``), so every frame of a captured progress bar is seen,
  not only the last one. Memory stays flat: only the incomplete frame is held.
* :func:`parse_bar` reads one progress-bar frame (docs/reference/lms-cli.md §5.4).
* :func:`elapsed_seconds` reads lms's elapsed-time format (``845.00ms``, ``1m 3.20s``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from .._text import SIZE_PATTERN, parse_size, strip_ansi
from ..errors import ParseError
from ._base import Progress
from ._policy import not_understood
from .lms_error import find_error, strip_log_prefix

R = TypeVar("R")

#: Frame separators: newline (CRLF or LF), lone carriage return, restore-cursor.
_SEP_RE = re.compile(r"\r\n|\n|\r|\x1b\[u|\x1b8")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

#: Longest frame accepted (a hostile or binary stream without separators).
MAX_FRAME = 1 << 20

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


@dataclass(frozen=True)
class Frame:
    """One frame of a stream: 1-based display line number, text (ANSI removed, right-stripped),
    and whether it ended the display line (``\\n``) or was a redraw (``\\r``/restore-cursor)."""

    line_number: int
    text: str
    raw: str
    newline: bool


class FrameSplitter:
    """Split chunks of output into :class:`Frame` objects as soon as each is complete."""

    def __init__(self, command: str, max_frame: int = MAX_FRAME) -> None:
        self._command = command
        self._max = max_frame
        self._buf = ""
        self._line = 1

    def feed(self, chunk: str) -> Iterator[Frame]:
        buf = self._buf + chunk if self._buf else chunk
        pos = 0
        for m in _SEP_RE.finditer(buf):
            sep = m.group()
            if sep == "\r" and m.end() == len(buf):
                break  # may be the first half of CRLF: wait for the next chunk
            yield self._frame(buf[pos : m.start()], sep in ("\n", "\r\n"))
            pos = m.end()
        self._buf = buf[pos:]
        if len(self._buf) > self._max:
            raise ParseError(
                self._command, f"a line longer than {self._max} characters", self._line
            )

    def close(self) -> Iterator[Frame]:
        """The frames still held at the end of the stream."""
        buf, self._buf = self._buf, ""
        if buf.endswith("\r"):
            buf = buf[:-1]
            if buf:
                yield self._frame(buf, False)
            return
        if buf:
            yield self._frame(buf, True)

    @property
    def line_number(self) -> int:
        return self._line

    def _frame(self, raw: str, newline: bool) -> Frame:
        text = _CONTROL_RE.sub("", strip_ansi(raw)).rstrip()
        if text.startswith("\ufeff"):
            text = text[1:]
        frame = Frame(self._line, text, raw, newline)
        if newline:
            self._line += 1
        return frame


_ELAPSED_RE = re.compile(
    r"^(?:(?P<h>\d+)h\s*)?(?:(?P<m>\d+)m\s*)?(?:(?P<s>\d+(?:\.\d+)?)s|(?P<ms>\d+(?:\.\d+)?)ms)$"
)


def elapsed_seconds(text: str) -> float | None:
    """Seconds of lms's elapsed time: ``845.00ms``, ``5.22s``, ``1m 3.20s``, ``1h 0m 2.00s``."""
    m = _ELAPSED_RE.match(text.strip())
    if m is None:
        return None
    total = Decimal(m.group("h") or 0) * 3600 + Decimal(m.group("m") or 0) * 60
    if m.group("s") is not None:
        total += Decimal(m.group("s"))
    else:
        total += Decimal(m.group("ms")) / 1000
    return float(total)


_BAR_RE = re.compile(
    rf"^\s*(?:[{SPINNER}]\s*)?\[(?P<bar>[^\]]*)\]\s*(?P<pct>NaN|-?\d+(?:\.\d+)?)\s?%"
    r"(?:\s*\|\s*(?P<text>.*?))?\s*$"
)
_AMOUNT_RE = re.compile(rf"^(?P<done>{SIZE_PATTERN})\s*/\s*(?P<total>{SIZE_PATTERN})$")
_SPEED_RE = re.compile(rf"^(?P<speed>{SIZE_PATTERN})/s$")
_ETA_RE = re.compile(r"^(?:ETA|预计剩余)[:：]?\s*(?P<eta>\S.*)$")


@dataclass(frozen=True)
class Bar:
    """One progress-bar frame.

    ``⠙ [█████▍      ] 24.51% | 1.21 GB / 4.92 GB | 35.12 MB/s | ETA 01:45``
    """

    percent: float | None
    completed: int | None = None
    total: int | None = None
    speed: str | None = None
    speed_bytes_per_s: int | None = None
    eta: str | None = None
    extra: str | None = None


def parse_bar(text: str) -> Bar | None:
    """A progress-bar frame, or ``None`` when ``text`` is not one.

    ``NaN%`` (total 0) gives ``percent=None``; an ETA of ``Infinity:NaN:NaN`` (speed 0) is
    kept as printed. Text parts that are neither sizes, speed nor ETA are kept in ``extra``.
    """
    m = _BAR_RE.match(text)
    if m is None:
        return None
    pct = None if m.group("pct") == "NaN" else float(m.group("pct"))
    completed = total = speed_b = None
    speed = eta = None
    extra: list[str] = []
    if m.group("text"):
        for part in (p.strip() for p in m.group("text").split("|")):
            if not part:
                continue
            if a := _AMOUNT_RE.match(part):
                completed = parse_size(a.group("done"))
                total = parse_size(a.group("total"))
            elif s := _SPEED_RE.match(part):
                speed = part
                speed_b = parse_size(s.group("speed"))
            elif e := _ETA_RE.match(part):
                eta = e.group("eta").strip()
            else:
                extra.append(part)
    return Bar(pct, completed, total, speed, speed_b, eta, " | ".join(extra) or None)


#: Answer pointers and list markers of inquirer pickers.
_PICKER_ENTRY_RE = re.compile(r"^(?:\s|[❯›>◯◉●○◯✔]|\(Use arrow keys|\(Move up and down)")
PROMPT_RE = re.compile(r"^[?✔✖]\s+(?P<q>\S.*?)\s*$")


def is_picker_entry(text: str) -> bool:
    """Whether a line is an entry (or a hint) of an inquirer list/search prompt."""
    return bool(_PICKER_ENTRY_RE.match(text))


class Residue:
    """Lines a parser did not recognise, kept (bounded) for the error-report search.

    Blank lines are kept between them (collapsed), as titled error reports need them.
    """

    def __init__(self, command: str, limit: int = 200) -> None:
        self._command = command
        self._limit = limit
        self.lines: list[str] = []
        self.numbers: list[int] = []
        self._count = 0

    def add(self, frame: Frame) -> None:
        self.lines.append(frame.text)
        self.numbers.append(frame.line_number)
        self._count += 1
        if self._count > self._limit:
            i = next(k for k, t in enumerate(self.lines) if t.strip())
            raise ParseError(self._command, "unrecognised line", self.numbers[i], self.lines[i])

    def blank(self, frame: Frame) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")
            self.numbers.append(frame.line_number)

    def __bool__(self) -> bool:
        return self._count > 0

    def unknown(self) -> list[tuple[int, str]]:
        """The kept lines (blank ones left out) with their line numbers."""
        return [(n, t) for n, t in zip(self.numbers, self.lines, strict=True) if t.strip()]


class FrameReader(Generic[R]):
    """The incremental reader of an ``lms`` progress stream (``get``, ``load``): frames from
    :class:`FrameSplitter`, unrecognised lines kept in a :class:`Residue` for the error-report
    search at :meth:`close`.

    What both commands print alike is read here: blank lines, progress bars (:meth:`_bar`,
    the percents kept by :meth:`_track`), ``D`` log lines, the entries of an inquirer picker
    after its question. Subclasses read their own lines (``_own``, before the log prefix is
    looked at; ``_message``, the rest) and build the result (``_result``).
    """

    def __init__(self, command: str) -> None:
        self._command = command
        self._split = FrameSplitter(command)
        self._residue = Residue(command)
        self._final: R | None = None
        self.error: str | None = None
        self.kind: str | None = None
        self.percentages: list[float] = []
        self.overall: float | None = None
        self.warnings: list[str] = []
        self._prompt: str | None = None  # awaiting_confirmation / awaiting_selection
        self._picker = False  # the entries of a picker may follow
        self._seen = False

    def feed(self, chunk: str) -> Iterator[Progress]:
        for frame in self._split.feed(chunk):
            yield from self._frame(frame)

    def close(self) -> Iterator[Progress]:
        """Read what is left (the last, unterminated frame); then :meth:`result` is ready."""
        events = [ev for frame in self._split.close() for ev in self._frame(frame)]
        if self._residue:
            report = find_error(self._residue.lines)
            if report is None:
                for number, line in self._residue.unknown():
                    not_understood(self._command, "unrecognised line", number, line)
            elif self.error is None:
                self.error, self.kind = report.error, report.kind
                events.append(Progress(phase="error", message=report.error))
        self._final = self._result()
        return iter(events)

    def result(self) -> R:
        """The whole result; call after :meth:`close`."""
        if self._final is None:
            raise RuntimeError(f"{type(self).__name__}.result() before close()")
        return self._final

    def _frame(self, frame: Frame) -> Iterator[Progress]:
        text = frame.text
        if not text.strip():
            self._residue.blank(frame)
            return
        self._seen = True
        bar = parse_bar(text)
        if bar is not None:
            yield self._bar(bar)
            return
        level, msg = strip_log_prefix(text)
        if level == "debug":
            return
        msg = msg.strip()
        own = self._own(text, msg)
        if own is not None:
            yield from own
            return
        if self._picker and is_picker_entry(text):
            return
        self._picker = False
        event = self._message(level, msg, frame)
        if event is not None:
            yield event

    def _track(self, pct: float | None) -> None:
        """Keep a shown percent: ``percentages`` strictly increasing, ``overall`` the most."""
        if pct is None:
            return
        if not self.percentages or pct > self.percentages[-1]:
            self.percentages.append(pct)
        self.overall = pct if self.overall is None else max(self.overall, pct)

    def _bar(self, bar: Bar) -> Progress:
        raise NotImplementedError

    def _own(self, text: str, msg: str) -> list[Progress] | None:
        """The events of a line only this command prints and reads before the picker and
        message rules (``None``: not such a line)."""
        return None

    def _message(self, level: str | None, msg: str, frame: Frame) -> Progress | None:
        raise NotImplementedError

    def _result(self) -> R:
        raise NotImplementedError
