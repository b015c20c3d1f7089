"""Row 1 (issue 2 §6): parse time and peak memory, next to merely splitting the same text.

Tables (``ollama list``, ``lms ls``) of 10 / 1,000 / 100,000 rows: ``parse(Transcript)``
to the typed result vs ``str.splitlines`` of the same text; time per row at the two largest
sizes (linear growth: ratio near 1). The ``ollama pull`` stream (v0.5.12+ redraws) fed to
``ollama_pull.stream`` in 64 KiB chunks vs ``splitlines`` of the whole text; peak memory of
the stream parser at the small and the large size (flat: ratio near 1).

Two phases: every time first, alone on the machine (a second busy process on a 2-CPU
machine slows the stream parser by a fifth or more); then the peak memories (tracemalloc,
which slows the parser about fourfold): the largest stream's in a child process while this
one takes the others (memory figures do not suffer from sharing the CPUs).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from lmsdrive.parsers import lms_ls, ollama_list, ollama_pull, parse_transcript, resolve
from lmsdrive.parsers._choose import undecorated
from lmsdrive.parsers._session import read_paste
from lmsdrive.transcript import Transcript

from . import gen
from .common import ROOT, Row, fmt, peak_memory, time_call

SECTION = "1 parse"
TABLE_SIZES = (10, 1_000, 100_000)
STREAM_SIZES = (5_000_000, 50_000_000)
WARM = 200_000  # characters of stream parsed before measuring (pyte, regexes)


@dataclass(frozen=True)
class Table:
    label: str
    argv: tuple[str, ...]
    make: Callable[[int], str]
    parse: Callable[[Transcript], object]


TABLES = (
    Table("ollama list", ("ollama", "list"), gen.ollama_list_table, ollama_list.parse),
    Table("lms ls", ("lms", "ls"), gen.lms_ls_table, lms_ls.parse),
)


def _reps(n: int) -> int:
    return 1 if n >= 100_000 else 20 if n >= 1_000 else 200


def _parse_text(t: Table, text: str) -> object:
    return t.parse(Transcript(stdout=text, argv=t.argv))


def _consume(text: str) -> int:
    n = 0
    for _ in ollama_pull.stream(gen.chunks(text)):
        n += 1
    return n


def stream_peak(size: int) -> int:
    """Peak memory of the stream parser over a generated pull of ``size`` bytes (after the
    same warm-up as in :func:`rows`); run in a child process for the largest size."""
    text = gen.ollama_pull_stream(size)
    _consume(text[:WARM])
    return peak_memory(partial(_consume, text))


def _mb(size: int) -> str:
    mb = size / 1e6
    return f"{mb:.0f} MB" if mb >= 10 else f"{mb:.1f} MB" if mb >= 0.1 else f"{size / 1e3:.0f} kB"


def _child(size: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {str(ROOT)!r}); from bench.parsing import "
            f"stream_peak; print(stream_peak({size}))",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )


def rows(
    table_sizes: Sequence[int] = TABLE_SIZES, stream_sizes: Sequence[int] = STREAM_SIZES
) -> list[Row]:
    out: list[Row] = []
    # -- phase 1: times, alone on the machine ----------------------------------------------
    times: dict[tuple[str, int], tuple[float, float, int]] = {}
    for t in TABLES:
        for n in table_sizes:
            text = t.make(n)
            reps = _reps(n)
            took, result = time_call(partial(_parse_text, t, text), reps)
            got = len(result.models)  # type: ignore[attr-defined]
            if got != n:
                raise AssertionError(f"{t.label}: parsed {got} rows of {n}")
            base, _ = time_call(text.splitlines, max(reps, 5))
            times[t.label, n] = (took, base, len(text.encode()))
    texts: dict[int, str] = {}
    stimes: dict[int, tuple[float, float, int, int]] = {}
    for size in stream_sizes:
        text = texts[size] = gen.ollama_pull_stream(size)
        _consume(text[:WARM])
        took, events = time_call(partial(_consume, text), 1)
        base, _ = time_call(text.splitlines, 3)
        stimes[size] = (took, base, events, text.count("\x1b[?2026l"))
    # -- phase 2: peak memory; the largest stream's in a child process meanwhile -----------
    big = max(stream_sizes) if stream_sizes else 0
    child = _child(big)
    try:
        mems: dict[tuple[str, int], tuple[int, int]] = {}
        for t in TABLES:
            for n in table_sizes:
                text = t.make(n)
                mems[t.label, n] = (
                    peak_memory(partial(_parse_text, t, text)),
                    peak_memory(text.splitlines),
                )
        speaks: dict[int, tuple[int, int]] = {}
        for size in stream_sizes:
            mine = peak_memory(partial(_consume, texts[size])) if size != big else 0
            speaks[size] = (mine, peak_memory(texts[size].splitlines))
        texts.clear()
        stdout, _ = child.communicate()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if child.returncode != 0:
        raise RuntimeError(f"the stream memory child failed with status {child.returncode}")
    speaks[big] = (int(json.loads(stdout.strip())), speaks[big][1])

    # -- rows ----------------------------------------------------------------------------
    for t in TABLES:
        for n in table_sizes:
            took, base, size = times[t.label, n]
            mem, mem0 = mems[t.label, n]
            what = f"{t.label} {n:,} rows"
            out.append(
                Row(
                    SECTION,
                    f"{what}: time",
                    "lmsdrive parse",
                    took,
                    "s",
                    "str.splitlines",
                    base,
                    f"{fmt(size, 'B')} of text, {took / n * 1e6:.2f} µs/row, median of {_reps(n)}",
                )
            )
            out.append(
                Row(
                    SECTION,
                    f"{what}: peak memory",
                    "lmsdrive parse",
                    mem,
                    "B",
                    "str.splitlines",
                    mem0,
                    f"tracemalloc, typed result included; {mem / n:.0f} B/row",
                )
            )
        if len(table_sizes) >= 2:
            small, large = sorted(table_sizes)[-2:]
            out.append(
                Row(
                    SECTION,
                    f"{t.label}: time per row, {large:,} vs {small:,} rows",
                    "lmsdrive parse",
                    times[t.label, large][0] / large,
                    "s",
                    f"per row at {small:,}",
                    times[t.label, small][0] / small,
                    "linear growth: ratio near 1",
                )
            )
    for size in stream_sizes:
        took, base, events, frames = stimes[size]
        mem, mem0 = speaks[size]
        what = f"ollama pull stream {_mb(size)}"
        out.append(
            Row(
                SECTION,
                f"{what}: time",
                "lmsdrive ollama_pull.stream",
                took,
                "s",
                "str.splitlines",
                base,
                f"{frames:,} frames, {events:,} events, {size / 1e6 / took:.1f} MB/s, "
                "64 KiB chunks",
            )
        )
        out.append(
            Row(
                SECTION,
                f"{what}: peak memory",
                "lmsdrive ollama_pull.stream",
                mem,
                "B",
                "str.splitlines",
                mem0,
                "tracemalloc; splitlines holds every line, the parser one screen"
                + ("; taken in a child process" if size == big else ""),
            )
        )
    if len(stream_sizes) >= 2:
        small, large = min(stream_sizes), max(stream_sizes)
        out.append(
            Row(
                SECTION,
                f"ollama pull stream: peak memory, {_mb(large)} vs {_mb(small)}",
                "lmsdrive ollama_pull.stream",
                speaks[large][0],
                "B",
                f"peak at {_mb(small)}",
                speaks[small][0],
                "flat memory: ratio near 1",
            )
        )
        out.append(
            Row(
                SECTION,
                f"ollama pull stream: time per MB, {_mb(large)} vs {_mb(small)}",
                "lmsdrive ollama_pull.stream",
                stimes[large][0] / large * 1e6,
                "s",
                f"per MB at {_mb(small)}",
                stimes[small][0] / small * 1e6,
                "linear growth: ratio near 1",
            )
        )
    out.extend(mode_rows(max(table_sizes)))
    return out


def _inferred_pre_pass(log: str) -> int:
    """The pre-pass with inference, as ``parse`` runs it for ``ollama list``: the
    decoration chosen on a sample (read by the parser), replayed on the whole, then the
    listed pre-pass; the lines kept."""
    reading = undecorated(resolve("ollama list"), Transcript(stdout=log))
    return len(read_paste(reading.text, same=str).origin)


def inference_row(n: int) -> Row:
    """Issue 16: the pre-pass with inference on an ``n``-line log behind a prefix no list
    names (``21 déc. 2026 01:00:00,000 gpu-box-01 | ``) next to the listed-wrappers-only
    pre-pass (``read_paste``) on the same log, which cannot remove it."""
    log = gen.decorated_log(n)
    took, kept = time_call(partial(_inferred_pre_pass, log), 3)
    if kept != n:
        raise AssertionError(f"pre-pass with inference kept {kept} lines of {n}")
    base, _ = time_call(partial(read_paste, log, same=str), 3)
    return Row(
        SECTION,
        f"pre-pass with inference, decorated log of {n:,} lines: time",
        "lmsdrive _choose.undecorated + read_paste",
        took,
        "s",
        "listed pre-pass alone",
        base,
        f"{fmt(len(log.encode()), 'B')}; inferred on its first and last 300 lines, then replayed",
    )


def mode_rows(n: int) -> list[Row]:
    """Issue 10: the pre-pass on an ``n``-line ``docker compose logs --timestamps`` capture
    next to ``str.splitlines``; the lenient parse of the tables next to the strict one
    (both through the pre-pass; goal: lenient no slower than strict by more than 10%)."""
    log = gen.docker_compose_log(n)
    took, paste = time_call(partial(read_paste, log, same=str), 3)
    if len(paste.origin) != n:
        raise AssertionError(f"pre-pass kept {len(paste.origin)} lines of {n}")
    base, _ = time_call(log.splitlines, 5)
    out = [
        Row(
            SECTION,
            f"pre-pass, docker compose log of {n:,} lines: time",
            "lmsdrive _session.read_paste",
            took,
            "s",
            "str.splitlines",
            base,
            f"{fmt(len(log.encode()), 'B')}, service column + timestamp on every line",
        )
    ]
    out.append(inference_row(n))
    for t in TABLES:
        info = resolve(" ".join(t.argv))
        transcript = Transcript(stdout=t.make(n), argv=t.argv)
        reps = _reps(n) + 2
        # Interleaved, each mode first in turn, so a busy machine and warm-up slow both alike
        # (the code path is the same; only the mode of not_understood differs).
        by_mode = {False: 0.0, True: 0.0}
        for k in range(4):
            for strict in (k % 2 == 1, k % 2 == 0):
                run = partial(parse_transcript, info, transcript, strict=strict)
                by_mode[strict] += time_call(run, reps)[0]
        lenient, strict_took = by_mode[False], by_mode[True]
        out.append(
            Row(
                SECTION,
                f"{t.label} {n:,} rows: lenient vs strict",
                "lenient parse",
                lenient,
                "s",
                "strict parse",
                strict_took,
                f"sum of 4 interleaved medians of {reps}; goal: ratio at most 1.10",
            )
        )
    return out
