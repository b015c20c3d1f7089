"""Decorations inferred, not listed: what a person or a tool put around a runtime's text.

The pre-pass (``_session``) knows the common wrappers by name. This module finds the ones
nobody listed, from the capture itself, and offers each way of removing them as a
:class:`Reading`; :func:`lmsdrive.parsers.parse_transcript` keeps the reading its parser
understands best (fewest lines not understood, then most removed by a decoration of a known
shape, then most facts read), so a removal is only ever kept when what remains is read.
Four kinds of inference:

* **a common prefix**: every line of the capture (blank lines, typed commands and a
  minority of other lines aside) is cut into tokens -- a run of letters/digits (any script),
  a run of blanks, any other character -- and the tokens all lines share *by shape* (a run
  holding digits matches any other such run, a word the same word, punctuation itself) make
  the prefix. Each cut after a blank run (or after a leading ``#``/``>`` run) is a
  candidate, shortest first; a line that is only the decoration (``#`` on a blank line)
  becomes blank. Its kind (:func:`kind_of`) says whether every piece of it is one of a
  decoration: a comment or quote marker (``#``, ``# ``, ``> ``, ``>> ``), a timestamp in
  any format or locale (``déc. 07 10:00:01 gpu-box-01 ollama[7]: ``, ``2026-01-21
  01:46:34.123 | ``), a tag (``[entrypoint] ``, ``svc-1  | ``); else it is only text all
  lines share (``literal``, ``prefix``), which may be the runtime's own (``data: ``);
* **a common suffix**: the same tag at the end of every line with text (`` [stdout]``,
  `` (gpu-box-01)``, `` |``), on the capture as is or after a prefix;
* **a flattened redraw**: a line holding several redraw units of the parser
  (``REDRAW_UNIT`` of its module: ``pulling manifest ⠋ pulling manifest ⠙ …`` after a log
  collector dropped the ``\\r``) is split before each unit;
* **an error report read from the end**: the client library's log lines and a Bun/Node
  stack trace before the last ``Error: …`` report of ``lms`` are set aside.

Every reading says what it removed (:class:`Decoration`: kind, an example, which input
lines), and the result carries it as ``removed`` beside ``skipped``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from .._text import strip_ansi
from ._session import cut_visible, unwrap_text

__all__ = ["Decoration", "Reading", "readings", "replay", "sample", "spans", "split_reading"]

#: Lines looked at to infer a prefix (the first and last halves of a long capture).
SAMPLE = 400
#: Tokens of a prefix at most (a decoration is short; runtime text after it is not needed).
MAX_TOKENS = 48

_TOKEN = re.compile(r"[^\W_]+|[ \t]+|.", re.S)
_ALNUM = "a"
_BLANK = " "
_MARKERS = frozenset("#>")
#: The kinds recognised on a capture of one line (where every prefix is common to all lines).
_ALONE = frozenset({"comment", "quote", "timestamp", "tag"})
#: The kinds that are decorations by their shape, and those found some other way.
SHAPED = _ALONE | {"redraw", "log before the report"}
#: A tag's shape: bracketed (``[entrypoint]``, ``<svc>``), a ``unit[pid]:``, or ending a
#: column with a bar.
_TAG = re.compile(r"^[\[<(].*[\]>)]:?$|\[\d+\]:$|\|$")
#: One blank-separated piece of a decoration found on a single line.
_ATOM = re.compile(r"[#>]+|[|:»-]|::|(?:[\[<(][^\]>)\s]*[\]>)])+:?|[\w.@/-]*\[\d+\]:")
_UNIT = re.compile(r"[\w.@/-]*\[\d+\]:")
_STAMP = re.compile(r"[\d:.,/+TZ-]+:?")
_ZONE = re.compile(r"(?:UTC|GMT|[A-Z]{1,3}[SD]?T):?")
_MONTH = re.compile(r"[^\W\d_]{2,5}\.?,?")
_HOST = re.compile(r"[\w.-]+")
_TIME = re.compile(
    r"\d{1,2}[:.h]\d\d|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
)
#: A typed command (a prompt, or an echo of lms/ollama): not a line of the output's block.
_COMMAND = re.compile(r"(?:^|[$%>❯#]\s*)(?:\S*[/\\])?(?:lms|ollama)(?:\.exe)?(?:\s|$)")
#: An ``lms`` error report's first line, and what comes before it in a client's log.
_REPORT = re.compile(r"^\s*(?:Error: |error: |E )\S")
_STACK = re.compile(r"^\s+at \S|/\$bunfs/|node:internal|^Node\.js v\d")


@dataclass(frozen=True)
class Decoration:
    """One decoration removed: its ``kind`` (``comment``, ``quote``, ``timestamp``,
    ``tag``, ``literal``, ``prefix``, ``redraw``, ``log before the report``), what was
    removed from the first line it was on (``text``), and the 1-based input lines, as
    ``[first, last]`` spans."""

    kind: str
    text: str
    lines: tuple[tuple[int, int], ...]


#: One step of a reading: ``("listed",)``, ``("prefix", head, tail, literal)``,
#: ``("suffix",)``, ``("redraw",)``, ``("report",)``.
Step = tuple[str, ...]


@dataclass(frozen=True)
class Reading:
    """A capture without some decorations: its text, the 1-based input line of each of its
    lines, what was removed, and how many characters went (the tie-breaker)."""

    text: str
    origin: tuple[int, ...]
    removed: tuple[Decoration, ...]
    weight: int
    #: How it was made, to make it again from a longer text (:func:`replay`).
    steps: tuple[Step, ...] = ()

    @property
    def shaped(self) -> bool:
        """Every decoration removed is one by its shape (not only a text all lines share,
        such as ``data: `` or ``time=``, which may be the runtime's own)."""
        return all(d.kind in SHAPED for d in self.removed)


def spans(numbers: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Sorted line numbers as ``(first, last)`` runs: ``[1, 2, 3, 7]`` → ``((1, 3), (7, 7))``."""
    out: list[tuple[int, int]] = []
    for n in numbers:
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return tuple(out)


def readings(text: str, redraw: re.Pattern[str] | None = None) -> list[Reading]:
    """Every way of reading ``text`` without its decorations, the bare capture first (without
    the wrappers the pre-pass lists, ``_session.unwrap_text``), then each inferred one (on
    the capture as is, and on it without the listed wrappers)."""
    lines = text.split("\n")
    listed = _listed(lines)
    out = [listed or Reading(text, tuple(range(1, len(lines) + 1)), (), 0)]
    for reading in _inferred(lines, redraw):
        after = _listed(reading.text.split("\n"))
        out.append(_then(reading, after) if after else reading)
    if listed is not None:
        out.extend(_then(listed, r) for r in _inferred(listed.text.split("\n"), redraw))
    return out


def replay(text: str, steps: Sequence[Step], redraw: re.Pattern[str] | None) -> Reading:
    """The reading ``steps`` made of another text, made of ``text`` (the inference runs on
    a sample of a long capture; its choice is then applied to the whole)."""
    lines = text.split("\n")
    reading = Reading(text, tuple(range(1, len(lines) + 1)), (), 0)
    for step in steps:
        now = reading.text.split("\n")
        if step[0] == "listed":
            nxt = _listed(now)
        elif step[0] == "prefix":
            nxt = _strip(now, step[1], step[2], bool(step[3]))
        elif step[0] == "suffix":
            nxt = _suffix_reading(now)
        elif step[0] == "redraw" and redraw is not None:
            nxt = _split_redraws(now, redraw)
        else:
            nxt = _from_last_report(now)
        if nxt is not None:
            reading = _then(reading, nxt)
    return reading


def sample(text: str, lines: int) -> str:
    """The first and last ``lines // 2`` lines of ``text`` (all of it when shorter)."""
    parts = text.split("\n")
    if len(parts) <= lines:
        return text
    return "\n".join(parts[: lines // 2] + parts[-(lines // 2) :])


def _listed(lines: list[str]) -> Reading | None:
    """``lines`` without the wrappers the pre-pass lists (compose, docker/kubectl
    timestamps, journal), or ``None`` when there are none."""
    text, numbers, example = unwrap_text("\n".join(lines))
    if not numbers:
        return None
    removed = Decoration(kind_of(example, False), example, spans(numbers))
    weight = len(example) * len(numbers)
    return Reading(text, tuple(range(1, len(lines) + 1)), (removed,), weight, (("listed",),))


def _inferred(lines: list[str], redraw: re.Pattern[str] | None) -> Iterator[Reading]:
    if not any(line.strip() for line in lines):
        return
    prefixes = list(_prefix_readings(lines))
    yield from prefixes
    for base in [None, *prefixes]:
        suffix = _suffix_reading(lines if base is None else base.text.split("\n"))
        if suffix is not None:
            yield suffix if base is None else _then(base, suffix)
    if redraw is not None:
        for base in [None, *prefixes]:
            split = _split_redraws(lines if base is None else base.text.split("\n"), redraw)
            if split is not None:
                yield split if base is None else _then(base, split)
    report = _from_last_report(lines)
    if report is not None:
        yield report


def split_reading(reading: Reading, cut: int) -> tuple[Reading, Reading]:
    """A reading of stdout and stderr joined by a newline (stdout's first ``cut`` lines) as
    a reading of each; line numbers stay the capture's (stderr's after stdout's)."""
    lines = reading.text.split("\n")
    out = [i for i, n in enumerate(reading.origin) if n <= cut]
    err = [i for i, n in enumerate(reading.origin) if n > cut]

    def part(idx: list[int]) -> Reading:
        text = "\n".join(lines[i] for i in idx)
        origin = tuple(reading.origin[i] for i in idx)
        return Reading(text, origin, reading.removed, reading.weight, reading.steps)

    return part(out), part(err)


def _then(first: Reading, second: Reading) -> Reading:
    """``second`` (computed on ``first``'s text) in terms of the original input."""
    origin = tuple(first.origin[n - 1] for n in second.origin)
    moved = tuple(
        Decoration(d.kind, d.text, spans(sorted({first.origin[n - 1] for n in _numbers(d)})))
        for d in second.removed
    )
    weight = first.weight + second.weight
    return Reading(second.text, origin, first.removed + moved, weight, first.steps + second.steps)


def _numbers(d: Decoration) -> list[int]:
    return [n for a, b in d.lines for n in range(a, b + 1)]


# -- a common prefix ------------------------------------------------------------------------


@dataclass
class _Tok:
    key: str  # "a" a letter/digit run, " " a blank run, else the character itself
    text: str | None  # the same text on every line, else None
    width: int  # the narrowest blank run (blank tokens)
    sample: str  # the first line's text


def _tokens(line: str) -> list[tuple[str, str]]:
    out = []
    for m in _TOKEN.finditer(line, 0, 400):
        t = m.group()
        c = t[0]
        out.append((_ALNUM if c.isalnum() else _BLANK if c in " \t" else c, t))
        if len(out) >= MAX_TOKENS:
            break
    return out


def _alike(common: _Tok, key: str, text: str) -> bool:
    """A token of a line has the shape of the common one: the same blank or character, the
    same word, or a run holding digits for a run holding digits (a time, a pid, a hash)."""
    if key != common.key:
        return False
    if key != _ALNUM or common.text == text:
        return True
    return _has_digit(text) and _has_digit(common.sample)


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def _common(lines: Sequence[str]) -> list[_Tok]:
    first = _tokens(lines[0])
    common = [_Tok(k, t, len(t), t) for k, t in first]
    n = len(common)
    for line in lines[1:]:
        toks = _tokens(line)
        i = 0
        while i < n and i < len(toks) and _alike(common[i], *toks[i]):
            c, t = common[i], toks[i][1]
            if c.text is not None and c.text != t:
                c.text = None
            if c.key == _BLANK:
                c.width = min(c.width, len(t))
            i += 1
        n = i
        if n == 0:
            break
    return common[:n]


def _cuts(common: Sequence[_Tok]) -> list[int]:
    """Token counts after which a decoration may end, shortest first (a tie between two
    readings keeps the shorter cut unless the longer one's shape makes it a decoration)."""
    cuts = [j + 1 for j, t in enumerate(common) if t.key == _BLANK]
    lead = 0
    while lead < len(common) and common[lead].key in _MARKERS:
        lead += 1
    if lead and lead not in cuts:
        cuts.append(lead)
    return sorted(set(cuts))


def _pattern(common: Sequence[_Tok], cut: int) -> tuple[str, str]:
    """The regex of the first ``cut`` tokens, as (everything but a final blank run, that run)."""
    parts = []
    for t in common[:cut]:
        if t.key == _BLANK:
            parts.append("[ \\t]+")
        elif t.text is not None:
            parts.append(re.escape(t.text))
        else:
            parts.append(r"[^\W_]+")
    if common[cut - 1].key == _BLANK:
        return "".join(parts[:-1]), f"[ \\t]{{{common[cut - 1].width}}}"
    return "".join(parts), ""


def kind_of(removed: str, literal: bool) -> str:
    """The kind of a decoration by what was removed (``literal``: the same on every line):
    ``comment``/``quote`` (markers only), ``timestamp`` or ``tag`` (every blank-separated
    piece a piece of one), else ``literal`` or ``prefix``: text all lines share, which may
    be the runtime's own (``Error: ``, ``data: ``)."""
    core = removed.strip()
    if core and set(core) <= _MARKERS | {" "}:
        return "comment" if "#" in core else "quote"
    if core and _decorative(core.split()):
        if _TIME.search(core):
            return "timestamp"
        if _TAG.search(core):
            return "tag"
    return "literal" if literal else "prefix"


def _decorative(atoms: Sequence[str]) -> bool:
    """Every piece is one of a decoration: a marker, a bar, a bracketed tag, ``unit[pid]:``,
    a date/time/zone, a month name next to a number, a host before ``unit[pid]:`` or a
    service name before a bar."""
    for i, a in enumerate(atoms):
        after = atoms[i + 1 :]
        if _ATOM.fullmatch(a) or _ZONE.fullmatch(a):
            continue
        if _has_digit(a) and _STAMP.fullmatch(a):
            continue
        near = [*atoms[max(i - 1, 0) : i], *after[:1]]
        if _MONTH.fullmatch(a) and any(_has_digit(b) for b in near):
            continue
        if _HOST.fullmatch(a) and (after[:1] == ["|"] or any(_UNIT.fullmatch(b) for b in after)):
            continue
        return False
    return True


def _participants(lines: Sequence[str]) -> list[int]:
    """Indices of the lines that should share the decoration: not a typed command, holding
    a letter or digit (a line of only ``> >`` is the decoration of a blank line)."""
    out = []
    kept = []
    for i, line in enumerate(lines):
        plain = strip_ansi(line) if "\x1b" in line else line
        if not plain.strip():
            continue
        kept.append(i)
        if any(c.isalnum() for c in plain) and not _COMMAND.search(plain[:200]):
            out.append(i)
    return out or kept


def _sample(idx: Sequence[int]) -> list[int]:
    if len(idx) <= SAMPLE:
        return list(idx)
    return [*idx[: SAMPLE // 2], *idx[-SAMPLE // 2 :]]


def _groups(lines: Sequence[str], idx: Sequence[int]) -> Iterator[list[int]]:
    """The lines to infer from: all of them, then each group of lines that start alike and
    hold a quarter of them, largest first (beside the author's sentence, or under
    ``systemctl status``'s header, the journal lines)."""
    yield list(idx)
    firsts = [_tokens(lines[i])[0][0] for i in idx]
    for key, count in Counter(firsts).most_common(3):
        if count < len(idx) and count >= 2 and 4 * count >= len(idx):
            yield [i for i, first in zip(idx, firsts, strict=True) if first == key]


def _prefix_readings(lines: Sequence[str]) -> Iterator[Reading]:
    idx = _participants(lines)
    if not idx:
        return
    seen: set[str] = set()
    for group in _groups(lines, idx):
        sample = [lines[i] for i in _sample(group)]
        if "\x1b" in "".join(sample):
            sample = [strip_ansi(s) for s in sample]
        common = _common(sample)
        single = sum(1 for line in lines if line.strip()) == 1
        for cut in _cuts(common):
            head, tail = _pattern(common, cut)
            if tail:
                tail = _narrowest(lines, head, tail)
            if head + tail in seen:
                continue
            seen.add(head + tail)
            literal = all(t.text is not None for t in common[:cut])
            reading = _strip(lines, head, tail, literal)
            if reading is not None and (not single or reading.removed[0].kind in _ALONE):
                # found on some lines only: kept only when it reads strictly better
                yield reading if len(group) == len(idx) else replace(reading, weight=0)


def _narrowest(lines: Sequence[str], head: str, tail: str) -> str:
    """The final blank run of a prefix as wide as its narrowest on any line with text after
    it (``> > {`` beside ``> >   "data"``: one blank, the rest is the text's indentation)."""
    widths = [
        len(m.group(1))
        for line in lines
        if (m := re.match(head + r"([ \t]+)\S", strip_ansi(line) if "\x1b" in line else line))
    ]
    return f"[ \\t]{{{min(widths)}}}" if widths else tail


def _strip(lines: Sequence[str], head: str, tail: str, literal: bool) -> Reading | None:
    """``lines`` without the prefix ``head + tail`` where they have it; a line that is only
    ``head`` (and blanks) becomes blank."""
    full = re.compile(head + tail)
    only = re.compile(head + r"[ \t\r]*$")
    out: list[str] = []
    hit: list[int] = []
    example = ""
    weight = 0
    for n, line in enumerate(lines, 1):
        plain = strip_ansi(line) if "\x1b" in line else line
        m = full.match(plain)
        if m is not None:
            example = example or m.group()
        else:
            m = only.match(plain)
        if m is None or not m.end():
            out.append(line)
            continue
        hit.append(n)
        weight += m.end()
        out.append(plain[m.end() :] if plain is line else cut_visible(line, m.end()))
    if not hit or not example.strip():
        return None  # nothing, or only an indentation
    kind = kind_of(example, literal)
    return Reading(
        "\n".join(out),
        tuple(range(1, len(lines) + 1)),
        (Decoration(kind, example, spans(hit)),),
        weight,
        (("prefix", head, tail, "literal" if literal else ""),),
    )


# -- a common suffix ---------------------------------------------------------------------------

#: A tag at the end of a line, after a blank: `` [stdout]``, `` (ollama)``, `` <svc>``, `` |``.
_SUFFIX = re.compile(r"[ \t]+(?P<tag>\[[^\]\s]{1,40}\]|\([^)\s]{1,40}\)|<[^>\s]{1,40}>|\|)[ \t]*$")


def _suffix_reading(lines: Sequence[str]) -> Reading | None:
    """``lines`` without the tag every line with text ends with (the same tag on at least
    two lines: a log viewer's `` [stdout]`` column, a closing bar), or ``None``."""
    idx = _participants(lines)
    if len(idx) < 2:
        return None
    found = {}
    for i in idx:
        plain = (strip_ansi(lines[i]) if "\x1b" in lines[i] else lines[i]).rstrip("\r")
        m = _SUFFIX.search(plain)
        if m is None:
            return None
        found[i] = (m, plain, lines[i].endswith("\r"))
    if len({m.group("tag") for m, _, _ in found.values()}) != 1:
        return None
    out = list(lines)
    for i, (m, plain, cr) in found.items():
        out[i] = plain[: m.start()] + ("\r" if cr else "")
    first = found[idx[0]][0]
    return Reading(
        "\n".join(out),
        tuple(range(1, len(lines) + 1)),
        (Decoration("tag", first.group().strip(), spans([i + 1 for i in idx])),),
        sum(len(m.group()) for m, _, _ in found.values()),
        (("suffix",),),
    )


# -- a flattened redraw -----------------------------------------------------------------------


def _split_redraws(lines: Sequence[str], unit: re.Pattern[str]) -> Reading | None:
    out: list[str] = []
    origin: list[int] = []
    hit: list[int] = []
    example = ""
    for n, line in enumerate(lines, 1):
        if "\r" in line or "\x1b" in line:  # a redraw the terminal replay reads as it is
            out.append(line)
            origin.append(n)
            continue
        starts = [
            m.start()
            for m in unit.finditer(line)
            if m.start() and not line[m.start() - 1].isalnum()
        ]
        if not starts:
            out.append(line)
            origin.append(n)
            continue
        hit.append(n)
        pieces = [
            line[a:b].rstrip() for a, b in zip([0, *starts], [*starts, len(line)], strict=True)
        ]
        example = example or pieces[0]
        out.extend(pieces)
        origin.extend([n] * len(pieces))
    if not hit:
        return None
    return Reading(
        "\n".join(out),
        tuple(origin),
        (Decoration("redraw", example, spans(hit)),),
        len(out) - len(lines),
        (("redraw",),),
    )


# -- an error report read from the end ---------------------------------------------------------


def _from_last_report(lines: Sequence[str]) -> Reading | None:
    plain = [strip_ansi(x) if "\x1b" in x else x for x in lines]
    last = next((i for i in range(len(plain) - 1, -1, -1) if _REPORT.match(plain[i])), None)
    if last is None or not last:
        return None
    before = [i for i in range(last) if plain[i].strip()]
    if not before or not any(
        _STACK.search(plain[i]) or "[LMStudioClient]" in plain[i] for i in before
    ):
        return None
    if any(_STACK.search(x) for x in plain[last:]):
        return None  # the last report has its own stack: a crash, read as it is
    numbers = [i + 1 for i in before]
    return Reading(
        "\n".join(lines[last:]),
        tuple(range(last + 1, len(lines) + 1)),
        (Decoration("log before the report", plain[before[0]].strip(), spans(numbers)),),
        sum(len(plain[i]) for i in before),
        (("report",),),
    )
