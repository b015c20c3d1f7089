"""How the command line shows things: rich tables and live progress bars on a terminal,
plain lines otherwise (stdout not a terminal, ``TERM=dumb``, or rich not installed).
``NO_COLOR`` (any non-empty value) turns colour off. rich is imported only when used, so
``lmsdrive parse`` never pays for it."""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from .._types import Progress

_UNITS = ("B", "kB", "MB", "GB", "TB")


def human_bytes(n: float | None) -> str:
    """Decimal units, as the runtimes print them: ``1.3 GB``.

    >>> human_bytes(1_300_000_000), human_bytes(512), human_bytes(None)
    ('1.3 GB', '512 B', '?')
    """
    if n is None:
        return "?"
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1000 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def human_seconds(seconds: float) -> str:
    """The one ETA format, whatever the runtime printed: ``42s``, ``1m20s``, ``1h02m05s``.

    >>> human_seconds(42.4), human_seconds(80), human_seconds(3725.2)
    ('42s', '1m20s', '1h02m05s')
    """
    s = int(seconds + 0.5)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s"


_ETA_UNITS = {"h": 3600, "m": 60, "s": 1}


def parse_eta(text: str | None) -> float | None:
    """Seconds from an ETA as a runtime prints it (``01:45``, ``1:02:05``, ``1m20s``,
    ``1h2m``, ``45s``); ``None`` when it tells none (``Infinity:NaN:NaN``, empty).

    >>> parse_eta("01:45"), parse_eta("1m20s"), parse_eta("1h2m"), parse_eta("Infinity:NaN:NaN")
    (105.0, 80.0, 3720.0, None)
    """
    text = (text or "").strip().lower()
    if not text or not any(c.isdigit() for c in text) or "nan" in text or "inf" in text:
        return None
    try:
        if ":" in text:
            total = 0.0
            for part in text.split(":"):
                total = total * 60 + float(part)
            return total
        total, number = 0.0, ""
        for c in text:
            if c.isdigit() or c == ".":
                number += c
            elif c in _ETA_UNITS and number:
                total, number = total + float(number) * _ETA_UNITS[c], ""
            elif c != " ":
                return None
        return total + (float(number) if number else 0.0)
    except ValueError:
        return None


def _rich_available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


class Ui:
    """Output for one command run. ``fancy``: rich on a terminal; else plain lines."""

    def __init__(self, *, quiet: bool = False, out: TextIO | None = None) -> None:
        self.out = out if out is not None else sys.stdout
        self.quiet = quiet
        self.color = not os.environ.get("NO_COLOR")
        self.fancy = (
            not quiet
            and self.out.isatty()
            and os.environ.get("TERM", "") != "dumb"
            and _rich_available()
        )
        self._console: Any = None

    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(
                file=self.out, no_color=not self.color, highlight=False, soft_wrap=True
            )
        return self._console

    def line(self, text: str = "") -> None:
        if self.quiet:
            return
        if self.fancy:
            self.console.print(text, markup=False)
        else:
            print(text, file=self.out, flush=True)

    def step(self, text: str) -> None:
        if self.quiet:
            return
        if self.fancy:
            from rich.text import Text

            self.console.print(Text.assemble(("→ ", "bold cyan"), text))
        else:
            print(f"-> {text}", file=self.out, flush=True)

    def ok(self, text: str) -> None:
        if self.quiet:
            return
        if self.fancy:
            from rich.text import Text

            self.console.print(Text.assemble(("✓ ", "bold green"), text))
        else:
            print(f"OK {text}", file=self.out, flush=True)

    def table(
        self, title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]]
    ) -> None:
        if self.quiet:
            return
        if self.fancy:
            from rich.table import Table

            table = Table(title=title, title_justify="left", show_header=bool(columns))
            for col in columns:
                table.add_column(col)
            if not columns and rows:
                for _ in rows[0]:
                    table.add_column()
            for row in rows:
                table.add_row(*row)
            self.console.print(table)
            return
        if title:
            print(title, file=self.out)
        body = [list(columns), *map(list, rows)] if columns else [list(r) for r in rows]
        widths = [max(len(r[i]) for r in body) for i in range(len(body[0]))] if body else []
        for r in body:
            cells = [c.ljust(w) for c, w in zip(r, widths, strict=False)]
            print("  ".join(cells).rstrip(), file=self.out)
        self.out.flush()

    def progress(self) -> ProgressView:
        return ProgressView(self)


def error(text: str) -> None:
    """An error for a person: on stderr, no traceback."""
    print(f"lmsdrive: {text}", file=sys.stderr, flush=True)


class Overall:
    """What a download's events add up to: overall percent (never backwards), bytes over
    every item seen (Ollama's layers, LM Studio's files), speed and ETA in seconds."""

    def __init__(self, window: float = 5.0) -> None:
        self.window = window
        self.items: dict[str | None, tuple[int, int | None]] = {}
        self.samples: deque[tuple[float, int]] = deque()
        self.percent: float | None = None
        self.event = Progress(phase="manifest")

    def update(self, event: Progress, now: float) -> None:
        if event.completed is not None:
            self.items[event.item] = (event.completed, event.total)
            done = self.completed
            if self.samples and done < self.samples[-1][1]:
                self.samples.clear()
            self.samples.append((now, done))
            while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
                self.samples.popleft()
        percent = event.overall_percent if event.overall_percent is not None else event.percent
        if percent is not None:
            self.percent = max(percent, self.percent or 0.0)
        self.event = event

    @property
    def completed(self) -> int:
        return sum(done for done, _ in self.items.values())

    @property
    def total(self) -> int | None:
        totals = [total for _, total in self.items.values()]
        return sum(t for t in totals if t) if any(totals) else None

    @property
    def speed(self) -> float | None:
        """Bytes per second: the runtime's figure, else over the last few seconds."""
        if self.event.speed_bytes_per_s:
            return float(self.event.speed_bytes_per_s)
        if len(self.samples) < 2:
            return None
        (t0, c0), (t1, c1) = self.samples[0], self.samples[-1]
        return (c1 - c0) / (t1 - t0) if t1 > t0 and c1 > c0 else None

    @property
    def eta_seconds(self) -> float | None:
        total, rate = self.total, self.speed
        if total and rate and self.completed < total:
            return (total - self.completed) / rate
        return parse_eta(self.event.eta)

    def detail(self) -> str:
        """``330.0 MB / 1.3 GB  45.2 MB/s  ETA 20s`` (overall bytes)."""
        parts: list[str] = []
        if self.total:
            parts.append(f"{human_bytes(self.completed)} / {human_bytes(self.total)}")
        if self.speed:
            parts.append(f"{human_bytes(self.speed)}/s")
        eta = self.eta_seconds
        if eta is not None and (self.percent or 0.0) < 100.0:
            parts.append(f"ETA {human_seconds(eta)}")
        return "  ".join(parts)


def _label(event: Progress) -> str:
    if event.message:
        return event.message
    return f"{event.phase} {event.item}" if event.item else event.phase


class ProgressView:
    """A live bar (rich) or throttled progress lines (plain) fed with Progress events.

    Plain mode prints a line at every 10% of the overall progress, when the label changes
    (at most one such line a second), and at 100%: the overall percent (never backwards)
    beside the overall bytes. A download that finds the model already there prints nothing
    (the command says so once).
    """

    def __init__(self, ui: Ui, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ui = ui
        self.clock = clock
        self.overall = Overall()
        self._bar: Any = None
        self._task: Any = None
        self._last_label: str | None = None
        self._last_decile = -1
        self._last_line = -1e9
        self.events = 0
        self.already = False

    def __enter__(self) -> ProgressView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, event: Progress) -> None:
        self.events += 1
        if event.already_downloaded:
            self.already = True
            return
        now = self.clock()
        self.overall.update(event, now)
        if self.ui.quiet:
            return
        percent = self.overall.percent
        label, detail = _label(event), self.overall.detail()
        if self.ui.fancy:
            self._update_bar(label, percent, detail)
            return
        decile = int(percent // 10) if percent is not None else None
        advanced = decile is not None and decile > self._last_decile
        relabel = label != self._last_label and now - self._last_line >= 1.0
        if not (advanced or relabel):
            return
        shown = f"{percent:5.1f}%" if percent is not None else ""
        text = "  ".join(p for p in (label, shown, detail) if p)
        print(f"   {text}", file=self.ui.out, flush=True)
        self._last_label, self._last_line = label, now
        if decile is not None:
            self._last_decile = max(self._last_decile, decile)

    def _update_bar(self, label: str, percent: float | None, detail: str) -> None:
        if self._bar is None:
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[detail]}"),
                console=self.ui.console,
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(label, total=100.0, detail=detail)
        kwargs: dict[str, Any] = {"description": label, "detail": detail}
        if percent is not None:
            kwargs["completed"] = percent
        self._bar.update(self._task, **kwargs)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
