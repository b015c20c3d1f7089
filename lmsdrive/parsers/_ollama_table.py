"""The table reader shared by ``ollama list`` and ``ollama ps`` (private to the ollama group).

Both commands print olekukonko/tablewriter tables: a header of upper-case words, then one
row per model, cells left-aligned and padded, joined by a TAB (≤ v0.3.10) or four spaces
(v0.3.11+). Pastes expand the TABs to tab stops (gaps of a single space), strip trailing
padding, misalign rows against the header after edits, lose the header (grep'd rows) or cut
the last row. So rows are never sliced at header offsets: each row is matched by a grammar
built from the header's column words (``ID`` = 12 hex, ``SIZE`` = ``4.7 GB`` or ``-``,
``PROCESSOR`` = ``100% GPU`` / ``42%/58% CPU/GPU`` / ``Unknown``, ``CONTEXT`` = digits,
``MODIFIED``/``UNTIL`` = time phrases), matched left to right with backtracking, which
amounts to reading the typed cells right-to-left of the free-form NAME. A column the
grammar does not know is kept under its header word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .._text import SIZE_PATTERN
from ._cut import is_partial, whole_at_end
from ._policy import not_understood
from .ollama_error import ErrorReport, read_error, warning_message

#: A time phrase of ``format.HumanTime`` (past or future), and the special values.
TIME_PHRASE = (
    r"(?:(?:Less than a second|About an? (?:minute|hour)|An? \w+|\d+ (?:second|minute|hour"
    r"|day|week|month|year)s?) (?:ago|from now)|Never|Forever|Stopping\.\.\.)"
)
PROCESSOR = r"(?:\d{1,3}%/\d{1,3}% CPU/GPU|\d{1,3}% (?:CPU|GPU)|Unknown)"

_KNOWN: dict[str, str] = {
    "NAME": r"\S+",
    "ID": r"[0-9a-f]{12}",
    "SIZE": rf"(?:-|{SIZE_PATTERN})",
    "MODIFIED": TIME_PHRASE,
    "UNTIL": TIME_PHRASE,
    "PROCESSOR": PROCESSOR,
    "CONTEXT": r"\d+",
}
#: The same patterns compiled once (a row is checked cell by cell on the hot path).
_KNOWN_FULL: dict[str, re.Pattern[str]] = {k: re.compile(v) for k, v in _KNOWN.items()}
_GAP_RE = re.compile(r" {2,}")
_UNKNOWN = r"\S+(?: \S+)*?"
_FREE = r"\S(?:.*\S)?"
_SEP = r"[ \t]+"

#: The kind of each known column's cell (``_cut``); any other column is free text.
_KIND = {
    "ID": "id",
    "SIZE": "size",
    "PROCESSOR": "processor",
    "CONTEXT": "number",
    "MODIFIED": "time",
    "UNTIL": "time",
}

_HEADER_RE = re.compile(r"^\s*NAME(?:[ \t]+[A-Z][A-Z_]*)+[ \t]*$")


@dataclass(frozen=True)
class Row:
    """One table row: the cells by header word, its 1-based line, whether it was cut."""

    cells: dict[str, str]
    line_number: int
    truncated: bool = False


@dataclass
class Table:
    """Everything read from a table output."""

    rows: list[Row] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: ErrorReport | None = None
    headers: int = 0


def header_columns(line: str) -> tuple[str, ...] | None:
    """The column words of a header line (``NAME  ID  SIZE  MODIFIED``), or ``None``."""
    if not _HEADER_RE.match(line):
        return None
    return tuple(line.split())


def _cell_pattern(column: str, last: bool, strict: bool) -> str:
    known = _KNOWN.get(column)
    if last and not strict and column not in ("NAME", "ID", "SIZE", "CONTEXT", "PROCESSOR"):
        return _FREE
    return known if known is not None else _UNKNOWN


_CACHE: dict[tuple[tuple[str, ...], bool], re.Pattern[str]] = {}


def row_regex(columns: Sequence[str], strict: bool) -> re.Pattern[str]:
    """A regex matching a row of ``columns``; later cells optional (a cut last row).

    ``strict``: the last column must match its typed pattern too (header-less rows);
    otherwise a time-phrase or unknown last column takes the rest of the line.
    """
    key = (tuple(columns), strict)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    rx = ""
    n = len(columns)
    for idx in range(n - 1, -1, -1):
        pat = f"(?P<c{idx}>{_cell_pattern(columns[idx], idx == n - 1, strict)})"
        rx = pat if idx == n - 1 else f"{pat}(?:{_SEP}{rx})?"
    compiled = re.compile(rf"^\s*{rx}\s*$")
    _CACHE[key] = compiled
    return compiled


def _split_cells(line: str, columns: Sequence[str]) -> dict[str, str] | None:
    """Cells split on the era's separator (TAB, else 2+ spaces), if they fit the columns."""
    body = line.strip()
    parts = body.split("\t") if "\t" in body else _GAP_RE.split(body)
    cells = [c for c in (p.strip() for p in parts) if c]
    if len(cells) != len(columns):
        return None
    for column, cell in zip(columns, cells, strict=True):
        known = _KNOWN_FULL.get(column)
        if known is not None and known.fullmatch(cell) is None:
            return None
    return dict(zip(columns, cells, strict=True))


def match_row(
    line: str, columns: Sequence[str], strict: bool
) -> tuple[dict[str, str], bool] | None:
    """The cells of ``line`` read as a row of ``columns`` and whether it is complete.

    Tries, in order: the cells split on the separator (every typed cell must match its
    pattern); the grammar with every cell typed; unless ``strict``, the grammar with a free
    last cell.
    """
    split = _split_cells(line, columns)
    if split is not None:
        return split, True
    best: tuple[dict[str, str], bool] | None = None
    for typed in (True, False) if not strict else (True,):
        m = row_regex(columns, typed).match(line)
        if m is None:
            continue
        cells: dict[str, str] = {}
        for idx, column in enumerate(columns):
            value = m.group(f"c{idx}")
            if value is None:
                break
            cells[column] = value
        complete = len(cells) == len(columns)
        if complete:
            return cells, True
        if best is None:
            best = cells, False
    return best


_CUT_CACHE: dict[tuple[str, ...], re.Pattern[str]] = {}


def _cut_regex(columns: Sequence[str]) -> re.Pattern[str]:
    """Every cell of ``columns`` typed, then optionally a separator and the ``rest``."""
    cached = _CUT_CACHE.get(tuple(columns))
    if cached is None:
        cells = _SEP.join(
            f"(?P<c{i}>{_cell_pattern(c, False, True)})" for i, c in enumerate(columns)
        )
        cached = re.compile(rf"^\s*{cells}(?:{_SEP}(?P<rest>\S.*?))?\s*$")
        _CUT_CACHE[tuple(columns)] = cached
    return cached


def match_cut(line: str, columns: Sequence[str]) -> dict[str, str] | None:
    """The whole cells of ``line`` read as a row of ``columns`` cut short (``_cut``).

    The most whole cells win: cells matched in order, then either nothing (the last one
    followed by a space, or a cell that cannot go on) or the partial next cell. At least
    the name and one more cell, whole or partial, are needed.
    """
    trailing = line != line.rstrip()
    for k in range(len(columns) - 1, 0, -1):
        m = _cut_regex(columns[:k]).match(line)
        if m is None:
            continue
        cells = {c: m.group(f"c{i}") for i, c in enumerate(columns[:k])}
        rest = m.group("rest")
        if rest is None:
            end = columns[k - 1]
            if k < 2 or not (trailing or whole_at_end(_KIND.get(end, "text"), cells[end])):
                continue
        elif not is_partial(_KIND.get(columns[k], "text"), rest):
            continue
        return cells
    return None


def _cut_last(line: str, columns: Sequence[str], got: tuple[dict[str, str], bool] | None) -> bool:
    """Whether the last line is a row cut short: not read whole, or its last cell (read
    as free text) is the prefix of a time phrase (``2 weeks a``)."""
    if got is None or not got[1]:
        return True
    end = columns[-1]
    kind = _KIND.get(end, "text")
    return kind == "time" and is_partial(kind, got[0][end])


def read_table(command: str, lines: Sequence[str], defaults: Sequence[Sequence[str]]) -> Table:
    """Read every table (header + rows) in ``lines``.

    Rows before any header are matched against each of ``defaults`` (the header eras) with
    every cell typed. A row missing its last cells is accepted only as the last non-blank
    line (a cut paste): its whole cells are read, the partial one and those after it are
    null (:func:`match_cut`). Error reports, ``Warning:`` lines,
    blank lines are taken out (prompts and server log lines went in the pre-pass,
    ``_session``); any other line is not understood (``_policy``).
    """
    table = Table()
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    columns: tuple[str, ...] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        found = read_error(lines, i)
        if found is not None:
            if table.error is None:
                table.error = found[0]
            i = found[1]
            continue
        warning = warning_message(line)
        if warning is not None:
            table.warnings.append(warning)
            i += 1
            continue
        header = header_columns(line)
        if header is not None:
            columns = header
            table.headers += 1
            i += 1
            continue
        candidates = [columns] if columns is not None else list(defaults)
        for cols in candidates:
            got = match_row(line, cols, strict=columns is None)
            if i == last and _cut_last(line, cols, got):
                cut = match_cut(line, cols)
                if cut is not None:
                    table.rows.append(Row(cut, i + 1, truncated=True))
                    break
                continue
            if got is not None and got[1]:
                table.rows.append(Row(got[0], i + 1))
                break
        else:
            what = "a row of " + " ".join(columns) if columns else "a table row or header"
            not_understood(command, f"not {what}", i + 1, line)
        i += 1
    return table
