"""The benchmark's one record type, the table it prints, and small measuring helpers."""

from __future__ import annotations

import gc
import json
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


@dataclass
class Row:
    """One figure of the table: ``subject``'s ``value`` next to ``baseline``'s, as a ratio.

    ``unit``: ``"s"`` (seconds), ``"B"`` (bytes), ``"n"`` (a count) or ``"x"`` (already a
    ratio). ``skipped`` holds the reason when the figure could not be measured here.
    """

    section: str
    measure: str
    subject: str
    value: float | None = None
    unit: str = "s"
    baseline: str = ""
    base_value: float | None = None
    note: str = ""
    skipped: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.value is None or self.base_value is None or self.base_value == 0:
            return None
        return self.value / self.base_value

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ratio"] = self.ratio
        return d


def skipped(section: str, measure: str, subject: str, reason: str) -> Row:
    return Row(section, measure, subject, skipped=reason)


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def fmt(value: float | None, unit: str) -> str:
    """A human figure: ``12.3 ms``, ``4.5 MiB``, ``3``, ``1.04x``."""
    if value is None:
        return "-"
    if unit == "s":
        v = abs(value)
        if v >= 1:
            return f"{value:.2f} s"
        if v >= 1e-3:
            return f"{value * 1e3:.1f} ms"
        if v >= 1e-6:
            return f"{value * 1e6:.1f} µs"
        return f"{value * 1e9:.0f} ns"
    if unit == "B":
        for limit, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if abs(value) >= limit:
                return f"{value / limit:.1f} {name}"
        return f"{value:.0f} B"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "n":
        return f"{value:.0f}"
    return f"{value:g} {unit}"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "-"
    if r >= 100:
        return f"{r:.0f}x"
    if r >= 10:
        return f"{r:.1f}x"
    return f"{r:.2f}x"


HEADER = ("#", "measure", "subject", "value", "baseline", "base value", "ratio", "note")


def render_table(rows: Sequence[Row]) -> str:
    """The rows as one aligned plain-text table (the note column is left ragged)."""
    cells: list[tuple[str, ...]] = [HEADER]
    for r in rows:
        if r.skipped is not None:
            cells.append(
                (r.section, r.measure, r.subject, "skipped", "", "", "", f"skipped: {r.skipped}")
            )
            continue
        cells.append(
            (
                r.section,
                r.measure,
                r.subject,
                fmt(r.value, r.unit),
                r.baseline,
                fmt(r.base_value, r.unit) if r.baseline else "",
                fmt_ratio(r.ratio) if r.baseline else "",
                r.note,
            )
        )
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER) - 1)]
    right = {3, 5, 6}
    lines = []
    for k, c in enumerate(cells):
        parts = [
            c[i].rjust(widths[i]) if i in right else c[i].ljust(widths[i])
            for i in range(len(widths))
        ]
        lines.append("  ".join(parts) + ("  " + c[-1] if c[-1] else ""))
        if k == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 4)
    return "\n".join(line.rstrip() for line in lines)


def write_json(path: Path, rows: Sequence[Row], meta: dict[str, Any]) -> None:
    data = {"meta": meta, "rows": [r.to_dict() for r in rows]}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def time_call(fn: Callable[[], T], reps: int) -> tuple[float, T]:
    """Median wall time of ``reps`` calls of ``fn`` (garbage collector paused during each
    call, one collection before the first), and the last call's result."""
    times = []
    gc.collect()
    for _ in range(max(reps, 1)):
        gc.disable()
        try:
            t0 = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t0)
        finally:
            gc.enable()
    return median(times), result


def peak_memory(fn: Callable[[], object]) -> int:
    """Peak bytes allocated (tracemalloc) while ``fn`` runs, its result included; what
    existed before the call (the input) is not counted."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
        del result
    finally:
        tracemalloc.stop()
    return peak
