"""How the command line shows things: rich tables and live progress bars on a terminal,
plain lines otherwise (stdout not a terminal, ``TERM=dumb``, or rich not installed).
``NO_COLOR`` (any non-empty value) turns colour off. rich is imported only when used, so
``lmsdrive parse`` never pays for it."""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
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
    """``0:00:42`` (hours:minutes:seconds).

    >>> human_seconds(3725.2)
    '1:02:05'
    """
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


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


class _Speed:
    """Bytes per second over the last few seconds of one item's download."""

    def __init__(self, window: float = 5.0) -> None:
        self.window = window
        self.samples: deque[tuple[float, int]] = deque()
        self.item: str | None = None

    def update(self, item: str | None, completed: int, now: float) -> float | None:
        if item != self.item or (self.samples and completed < self.samples[-1][1]):
            self.samples.clear()
            self.item = item
        self.samples.append((now, completed))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.popleft()
        (t0, c0), (t1, c1) = self.samples[0], self.samples[-1]
        return (c1 - c0) / (t1 - t0) if t1 > t0 and c1 >= c0 else None


def _detail(event: Progress, speed: float | None) -> str:
    """``330.0 MB / 1.3 GB  45.2 MB/s  ETA 0:00:20`` from what the event and the clock tell."""
    parts: list[str] = []
    if event.total:
        parts.append(f"{human_bytes(event.completed or 0)} / {human_bytes(event.total)}")
    rate = float(event.speed_bytes_per_s) if event.speed_bytes_per_s else speed
    if rate:
        parts.append(f"{human_bytes(rate)}/s")
    if rate and event.total and event.completed is not None and event.completed < event.total:
        parts.append(f"ETA {human_seconds((event.total - event.completed) / rate)}")
    elif event.eta and any(c.isdigit() for c in event.eta) and "NaN" not in event.eta:
        parts.append(f"ETA {event.eta}")
    return "  ".join(parts)


def _label(event: Progress) -> str:
    if event.message:
        return event.message
    return f"{event.phase} {event.item}" if event.item else event.phase


class ProgressView:
    """A live bar (rich) or throttled progress lines (plain) fed with Progress events.

    Plain mode prints a line when the label changes, at every 10% of the overall progress,
    and at 100%; the bar's percent is ``overall_percent`` (never backwards), else the item's.
    """

    def __init__(self, ui: Ui) -> None:
        self.ui = ui
        self._speed = _Speed()
        self._bar: Any = None
        self._task: Any = None
        self._last_label: str | None = None
        self._last_decile = -1
        self.events = 0

    def __enter__(self) -> ProgressView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, event: Progress) -> None:
        self.events += 1
        if self.ui.quiet:
            return
        now = time.monotonic()
        speed = (
            self._speed.update(event.item, event.completed, now)
            if event.completed is not None
            else None
        )
        percent = event.overall_percent if event.overall_percent is not None else event.percent
        label, detail = _label(event), _detail(event, speed)
        if self.ui.fancy:
            self._update_bar(label, percent, detail)
            return
        decile = int(percent // 10) if percent is not None else None
        advanced = decile is not None and decile > self._last_decile
        if label == self._last_label and not advanced:
            return
        shown = f"{percent:5.1f}%" if percent is not None else ""
        text = "  ".join(p for p in (label, shown, detail) if p)
        print(f"   {text}", file=self.ui.out, flush=True)
        self._last_label = label
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
