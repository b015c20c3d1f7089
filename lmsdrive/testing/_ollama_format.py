"""How the fake Ollama prints: the real formats of ``ollama`` v0.12 as pure functions of the
state (see the shared reference notes on the ollama output formats).

``format.HumanBytes``/``HumanTime``, tablewriter tables (4-space separator, header ending
with one space, rows with 4 trailing spaces), the v0.5.12+ progress block
(synchronized-update redraws) and slog / Gin log lines.
"""

from __future__ import annotations

import datetime as _dt
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .fake_cli import SPINNER
from .fake_state import Model

# ----- Go formats ---------------------------------------------------------------------------


def human_bytes(n: int) -> str:
    """Ollama's ``format.HumanBytes`` (v0.1.13+): decimal units, truncated above 10."""
    for limit, unit in ((1000**4, "TB"), (1000**3, "GB"), (1000**2, "MB"), (1000, "KB")):  # noqa: B007
        if n >= limit:
            value = n / limit
            break
    else:
        return f"{n} B"
    if value >= 10:
        return f"{int(value)} {unit}"
    if value != math.trunc(value):
        return f"{value:.1f} {unit}"
    return f"{int(value)} {unit}"


def _human_duration(seconds: float) -> str:
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def human_time(t: float | None, now: float, zero: str = "Never") -> str:
    """Ollama's ``format.HumanTime``: ``2 weeks ago``, ``4 minutes from now``, ``Forever``."""
    if t is None:
        return "Forever"
    if t == 0:
        return zero
    delta = now - t
    if delta < -20 * 365 * 24 * 3600:
        return "Forever"
    if delta < 0:
        return _human_duration(-delta) + " from now"
    return _human_duration(delta) + " ago"


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String``: ``21.948µs``, ``1.5ms``, ``2m3s``, ``0s``."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)

    def trim(v: float, digits: int) -> str:
        return f"{v:.{digits}f}".rstrip("0").rstrip(".")

    if ns < 1000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{trim(ns / 1e3, 3)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{trim(ns / 1e6, 6)}ms"
    total = ns / 1e9
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    out = sign
    if h:
        out += f"{int(h)}h"
    if h or m:
        out += f"{int(m)}m"
    return out + f"{trim(s, 9) or '0'}s"


def eta_duration(seconds: float) -> str:
    """The ETA of an Ollama progress bar (``formatDuration``)."""
    if seconds >= 100 * 3600:
        return "99h+"
    if seconds >= 3600:
        return f"{int(seconds // 3600)}h{int(seconds // 60) % 60}m"
    return go_duration(round(seconds))


def slog_line(source: str, msg: str, now: float | None = None, **attrs: object) -> str:
    """One slog text-handler line as ``ollama serve`` logs it (v0.7+)."""
    t = _dt.datetime.fromtimestamp(time.time() if now is None else now).astimezone()
    stamp = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}"
    off = t.strftime("%z")
    stamp += "Z" if off in ("+0000", "") else f"{off[:3]}:{off[3:]}"
    parts = [f"time={stamp}", "level=INFO", f"source={source}", f"msg={_slog_value(msg)}"]
    parts += [f"{k}={_slog_value(str(v))}" for k, v in attrs.items()]
    return " ".join(parts)


def _slog_value(v: str) -> str:
    if v and not any(c in v for c in ' ="\\') and v.isprintable():
        return v
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def gin_line(status: int, latency: float, client: str, method: str, path: str) -> str:
    """A Gin access-log line (colours off)."""
    stamp = time.strftime("%Y/%m/%d - %H:%M:%S")
    return (
        f"[GIN] {stamp} | {status:3d} | {go_duration(latency):>13} | {client:>15} | "
        f"{method:<7}  {_go_quote(path)}"
    )


def _go_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ----- Ollama tables ------------------------------------------------------------------------


def ollama_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """tablewriter v0.0.5 "no white space" mode as Ollama v0.3.11+ configures it."""
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    head = "    ".join(h.ljust(w) for h, w in zip(header[:-1], widths[:-1], strict=True))
    head = (head + "    " if head else "") + header[-1].ljust(widths[-1]) + " "
    lines = [head]
    lines += [
        "".join(c.ljust(w) + "    " for c, w in zip(row, widths, strict=True)) for row in rows
    ]
    return "\n".join(lines) + "\n"


def ollama_list_text(models: Sequence[Model], now: float) -> str:
    rows = [
        [m.name, m.digest[:12], human_bytes(m.size), human_time(m.modified_at, now)]
        for m in sorted(models, key=lambda m: -m.modified_at)
    ]
    return ollama_table(["NAME", "ID", "SIZE", "MODIFIED"], rows)


def processor(size: int, vram: int) -> str:
    if vram == 0:
        return "100% CPU"
    if vram == size:
        return "100% GPU"
    if vram > size or size == 0:
        return "Unknown"
    cpu = round(100 * (size - vram) / size)
    return f"{cpu}%/{100 - cpu}% CPU/GPU"


# ----- Ollama progress block (v0.5.12+) -----------------------------------------------------


@dataclass
class _Spinner:
    message: str
    started: float
    stopped: bool = False

    def render(self, now: float, width: int) -> str:
        out = self.message.strip() + " "
        if not self.stopped:
            out += SPINNER[int((now - self.started) / 0.1) % len(SPINNER)] + " "
        return out


@dataclass
class _Bar:
    message: str
    total: int
    initial: int
    started: float
    current: int = 0
    stopped: float | None = None
    buckets: list[tuple[float, int]] = field(default_factory=list)

    def set(self, value: int, now: float) -> None:
        self.current = value
        if value >= self.total and self.stopped is None:
            self.stopped = now
        if not self.buckets or now - self.buckets[-1][0] > 1.0:
            self.buckets.append((now, value))
            del self.buckets[:-10]

    def percent(self) -> float:
        return self.current / self.total * 100 if self.total else 0.0

    def rate(self) -> float:
        if self.stopped is not None:
            num, den = self.current - self.initial, self.stopped - self.started
        elif len(self.buckets) == 1:
            num = self.buckets[0][1] - self.initial
            den = self.buckets[0][0] - self.started
        elif self.buckets:
            (t0, v0), (t1, v1) = self.buckets[0], self.buckets[-1]
            num, den = v1 - v0, t1 - t0
        else:
            return 0.0
        return num / den if den > 0 else 0.0

    def render(self, now: float, width: int) -> str:
        pre = self.message.strip() + " " + f"{self.percent():3.0f}%"
        total = human_bytes(self.total)
        if self.stopped is None:
            suf = human_bytes(self.current).rjust(6) + "/" + total.rjust(6)
            rate = self.rate()
            if rate > 0:
                suf += "  " + (human_bytes(int(rate)) + "/s").rjust(8)
                suf += "  " + eta_duration((self.total - self.current) / rate).rjust(6)
            else:
                suf += " " * 18
        else:
            suf = total.rjust(6) + " " * 25
        f = width - len(pre) - len(suf) - 5
        n = int(f * self.percent() / 100)
        return pre + " ▕" + "█" * max(n, 0) + " " * max(f - n, 0) + "▏ " + suf


class PullDisplay:
    """Ollama's ``progress.Progress`` fed by ``/api/pull`` events, as ``ollama pull`` does it:
    a spinner per status without digest, a bar per digest (first ``completed == 0`` message of
    a layer ignored), redrawn every 100 ms on ``write`` with the v0.5.12+ escape sequences."""

    def __init__(
        self, write: Callable[[str], None], width: int = 80, height: int = 24, tick: float = 0.1
    ) -> None:
        self._write = write
        self.width, self.height, self.tick = width, height, tick
        self._states: list[_Spinner | _Bar] = []
        self._bars: dict[str, _Bar] = {}
        self._spinner: _Spinner | None = None
        self._status = ""
        self._pos = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        self.frames = 0

    def _loop(self) -> None:
        while not self._stop.wait(self.tick):
            self.render()

    def update(self, event: dict[str, object]) -> None:
        now = time.monotonic()
        with self._lock:
            digest = str(event.get("digest") or "")
            status = str(event.get("status") or "")
            completed = int(event.get("completed") or 0)  # type: ignore[call-overload]
            total = int(event.get("total") or 0)  # type: ignore[call-overload]
            if digest:
                if completed == 0:
                    return
                if self._spinner is not None:
                    self._spinner.stopped = True
                bar = self._bars.get(digest)
                if bar is None:
                    name = digest.removeprefix("sha256:").strip()[:12]
                    bar = _Bar(f"pulling {name}:", total, completed, now)
                    self._bars[digest] = bar
                    self._states.append(bar)
                bar.set(completed, now)
            elif status != self._status:
                if self._spinner is not None:
                    self._spinner.stopped = True
                self._status = status
                self._spinner = _Spinner(status, now)
                self._states.append(self._spinner)

    def render(self) -> None:
        now = time.monotonic()
        with self._lock:
            out = ["\x1b[?2026h", "\x1b[?25l", "\x1b[A" * max(self._pos - 1, 0), "\x1b[1G"]
            shown = self._states[-self.height :] if self.height else []
            out.append("\n".join(s.render(now, self.width) + "\x1b[K" for s in shown))
            out += ["\x1b[?25h", "\x1b[?2026l"]
            self._pos = len(self._states)
            self.frames += 1
            self._write("".join(out))

    def stop(self) -> None:
        """``Progress.Stop``: stop spinners, draw the last frame, then one newline."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        with self._lock:
            for s in self._states:
                if isinstance(s, _Spinner):
                    s.stopped = True
        self.render()
        self._write("\n")
