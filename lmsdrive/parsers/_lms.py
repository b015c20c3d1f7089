"""Helpers shared by the ``lms`` text parsers (private to the lms group).

Column-aligned tables (read from the header, any alignment), the warnings beside a
``--json`` payload (the payload itself is :func:`._json.find_json`'s), and the log noise
every lms command may print (``D``/``I`` log lines, ``Waking up LM Studio service...``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ._cut import KINDS, is_partial, whole_at_end
from ._policy import not_understood
from .lms_error import find_error, strip_log_prefix

_CELL_RE = re.compile(r"\S+(?: \S+)*")
_WAKING_RE = re.compile(r"^Waking up LM Studio(?: service)?\.\.\.\s*$")


@dataclass(frozen=True)
class Cell:
    """A cell of a column-aligned row: text and its [start, end) span."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Column:
    """A header cell: column name and its [start, end) span."""

    name: str
    start: int
    end: int


def cells(line: str) -> list[Cell]:
    """Cells of an aligned line: runs of text separated by two or more spaces or by a tab
    (positions with tabs expanded to 8 columns)."""
    out: list[Cell] = []
    col = 0
    for n, segment in enumerate(line.split("\t")):
        if n:
            col = (col // 8 + 1) * 8
        out.extend(
            Cell(col + m.start(), col + m.end(), m.group()) for m in _CELL_RE.finditer(segment)
        )
        col += len(segment)
    return out


def header_columns(line: str, known: Sequence[str]) -> list[Column]:
    """Header cells; a cell made of several known names separated by one space is split."""
    out: list[Column] = []
    for cell in cells(line):
        words = cell.text.split(" ")
        if len(words) > 1 and all(w in known for w in words):
            pos = cell.start
            for w in words:
                out.append(Column(w, pos, pos + len(w)))
                pos += len(w) + 1
        else:
            out.append(Column(cell.text, cell.start, cell.end))
    return out


def assign(row: Sequence[Cell], columns: Sequence[Column], extra: str = "") -> dict[str, str]:
    """Map each cell of a row to the header column it overlaps most (or lies nearest to).

    Works for left-, right- and centre-aligned columns alike. A cell right of the last
    column's end and not touching it goes to ``extra`` (lms's unnamed last column) when
    given. Two cells for one column are joined with one space.
    """
    out: dict[str, str] = {}
    # Left-aligned layouts (E3+): a cell that starts where a column starts, and ends before
    # the next one does, is that column's; no scoring needed (the common, fast case).
    starts = {col.start: i for i, col in enumerate(columns)}
    for cell in row:
        i = starts.get(cell.start)
        if i is not None and (i + 1 == len(columns) or cell.end <= columns[i + 1].start):
            name = columns[i].name
            out[name] = f"{out[name]} {cell.text}" if name in out else cell.text
            continue
        best: Column | None = None
        best_score = -(10**9)
        for col in columns:
            overlap = min(cell.end, col.end) - max(cell.start, col.start)
            score = overlap if overlap > 0 else -max(col.start - cell.end, cell.start - col.end)
            if score > best_score:
                best, best_score = col, score
        if best is None:
            continue
        name = best.name
        if extra and best is columns[-1] and best_score < 0 and cell.start > best.end:
            name = extra
        out[name] = f"{out[name]} {cell.text}" if name in out else cell.text
    return out


def last_line(lines: Sequence[str]) -> int:
    """Index of the last non-blank line (-1 when there is none)."""
    return max((i for i, line in enumerate(lines) if line.strip()), default=-1)


def is_cut(named: dict[str, str], columns: Sequence[Column], filled: Sequence[str]) -> bool:
    """Whether a table row stops before a column that every whole row fills (``filled``):
    the last row of a paste cut mid-way. Its missing cells read as null and the result
    says ``truncated``; a row cut so anywhere but last is not understood."""
    return any(c.name in filled and c.name not in named for c in columns)


def cut_last(
    line: str,
    row: Sequence[Cell],
    named: dict[str, str],
    columns: Sequence[Column],
    kinds: Mapping[str, str],
    filled: Sequence[str],
) -> bool:
    """Whether the last line of the output, read as ``named``, is a row cut short (``_cut``).

    It is when it stops before a ``filled`` column (:func:`is_cut`) or its last cell, of a
    typed kind (``kinds``: column → ``size``, ``number``…), is a prefix of one
    (``…   2.5``). The cell at the very end of a cut row is removed from ``named`` unless
    it is whole (a separator after it, or a pattern that cannot go on): the partial cell is
    null, never a value.
    """
    if not row:
        return False
    ends = [name for name, text in named.items() if text.endswith(row[-1].text)]
    if not ends:
        return is_cut(named, columns, filled)
    name = ends[-1]
    kind, text = kinds.get(name, "text"), named[name]
    partial = KINDS[kind][0].fullmatch(text) is None and is_partial(kind, text)
    cut = partial or is_cut(named, columns, filled)
    spaced = line.endswith(("  ", "\t"))  # a cell separator after it: the cell is whole
    if cut and (partial or not (spaced or whole_at_end(kind, text))):
        del named[name]
    return cut


def is_noise(line: str) -> bool:
    """Lines every lms command may print that carry no result: blank, debug/info logs,
    the service wake-up notice."""
    if not line.strip():
        return True
    level, text = strip_log_prefix(line)
    if level in ("debug", "info") and not text.strip():
        return True
    if level == "debug":
        return True
    return bool(_WAKING_RE.match(text.strip()))


def error_or_raise(
    command: str, lines: Sequence[str], unknown: Sequence[int]
) -> tuple[str, str] | None:
    """When unknown lines remain: the runtime's error report among the lines; else each
    unknown line is not understood (:func:`~._policy.not_understood`: raise or skip)."""
    if not unknown:
        return None
    report = find_error(lines)
    if report is None:
        for i in unknown:
            not_understood(command, "unrecognised line", i + 1, lines[i])
        return None
    return report.error, report.kind


def json_warnings(command: str, lines: Sequence[str], start: int, end: int) -> list[str]:
    """The warnings printed beside a ``--json`` payload (lines ``start``–``end``); blank and
    log lines are skipped, any other text is not understood."""
    warnings: list[str] = []
    for i, line in enumerate(lines):
        if start <= i < end or is_noise(line):
            continue
        level, text = strip_log_prefix(line)
        if level == "warn":
            warnings.append(text.strip())
            continue
        not_understood(command, "text beside the --json payload", i + 1, line)
    return warnings
