"""Decorations nobody listed (issue 16): every real capture of ``fixtures/`` wrapped in
decorations this generator invents reads the same facts as the bare capture, and the result
says what was removed (lmsdrive/parsers/_decor.py, chosen in ``parse_transcript``).

The generator (part of the adversarial suite, beside the mutations of ``test_fuzz``) invents
a decoration of one shape per example: a literal (random letters, digits and a separator), a
timestamp (random date and time formats, month names of random locales, random fraction
widths, digits that change from line to line), a tag (bracketed, ``unit[pid]:`` after a host
with dashes, a padded service column), a quote or comment marker (``#``, ``# ``, ``> ``,
``>> ``; blank lines with or without the marker's trailing space). The seed is fixed
(``SEED``), so every run draws the same examples and a failure
reproduces; examples are bounded and have a deadline, so the whole file runs in about
twenty seconds. Both modes are checked: strict reads the decorated capture too once the
decoration is removed.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from lmsdrive.errors import ParseError
from lmsdrive.golden import Fixture, iter_fixtures
from lmsdrive.parsers import ParserInfo, get_module, parse_transcript, read, resolve
from lmsdrive.parsers._base import Result
from lmsdrive.transcript import Transcript

SEED = 16
#: Every real capture (``source``, not ``synthetic``) the parser reads (strictly).
REAL = [f for f in iter_fixtures() if f.meta.get("source") and not f.meta.get("synthetic")]

#: Month names as ``date``/``journalctl`` print them in some locales (abbreviated forms).
MONTHS = {
    "en": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
    "fr": "janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc.",
    "de": "Jan Feb Mär Apr Mai Jun Jul Aug Sep Okt Nov Dez",
    "es": "ene feb mar abr may jun jul ago sept oct nov dic",
    "it": "gen feb mar apr mag giu lug ago set ott nov dic",
    "nl": "jan feb mrt apr mei jun jul aug sep okt nov dec",
    "pl": "sty lut mar kwi maj cze lip sie wrz paź lis gru",
    "pt": "jan fev mar abr mai jun jul ago set out nov dez",
    "ru": "янв фев мар апр мая июн июл авг сен окт ноя дек",
    "tr": "Oca Şub Mar Nis May Haz Tem Ağu Eyl Eki Kas Ara",
}
WORD = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10).filter(
    lambda w: w[0].isalpha()
)


@dataclass(frozen=True)
class Decor:
    """One invented decoration: the prefix of line ``i`` (timestamps change per line)."""

    shape: str
    parts: tuple[str, ...]  # the prefix pieces; "{t}" is replaced by a per-line time
    blank: str  # what a blank line becomes

    def prefix(self, i: int) -> str:
        t = f"{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}"
        return "".join(self.parts).replace("{t}", t)


@st.composite
def literals(draw: st.DrawFn) -> Decor:
    word = draw(st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=12))
    sep = draw(st.sampled_from([": ", " | ", " - ", " :: ", " » ", "| "]))
    return Decor("literal", (word, sep), "")


@st.composite
def timestamps(draw: st.DrawFn) -> Decor:
    month = draw(st.sampled_from(sorted(MONTHS)))
    name = draw(st.sampled_from(MONTHS[month].split()))
    day = draw(st.integers(1, 28))
    year = draw(st.integers(2024, 2027))
    frac = draw(st.sampled_from(["", ".1", ",12", ".123", ".123456", ".123456789"]))
    date = draw(
        st.sampled_from(
            [
                f"{year}-{day:02d}-{day:02d}",
                f"{day:02d}.{day:02d}.{year}",
                f"{year}/{day:02d}/{day:02d}",
                f"{day:02d}/{day:02d}/{year % 100:02d}",
                f"{name} {day:2d}",
                f"{day} {name}",
                f"{name} {day:02d} {year}",
            ]
        )
    )
    joint = "T" if date[:4].isdigit() and draw(st.booleans()) else " "
    zone = draw(st.sampled_from(["", "Z", " +0100", "+02:00", " UTC"]))
    host = draw(st.one_of(st.just(""), st.builds("-".join, st.lists(WORD, min_size=1, max_size=3))))
    unit = draw(st.one_of(st.just(""), WORD.map(lambda w: w + "[{pid}]:")))
    pid = str(draw(st.integers(1, 4_000_000)))
    tail = draw(st.sampled_from([" ", " | ", " - ", ": ", "  "]))
    parts = [date, joint, "{t}", frac, zone]
    if unit:  # journalctl: a host (with dashes), then unit[pid]:
        parts += [" ", " ".join(p for p in (host, unit.replace("{pid}", pid)) if p), " "]
    else:
        parts.append(tail)
    return Decor("timestamp", tuple(parts), "")


@st.composite
def tags(draw: st.DrawFn) -> Decor:
    word = draw(st.builds("-".join, st.lists(WORD, min_size=1, max_size=3)))
    pad = " " * draw(st.integers(1, 6))
    form = draw(
        st.sampled_from(["[{w}] ", "<{w}> ", "({w}) ", "{w}[{n}]: ", "{w}{pad}| ", "[{w}][{n}] "])
    )
    n = str(draw(st.integers(1, 99999)))
    return Decor("tag", (form.format(w=word, n=n, pad=pad),), "")


@st.composite
def markers(draw: st.DrawFn) -> Decor:
    mark = draw(st.sampled_from(["#", "# ", "> ", ">> ", "> > ", "#  "]))
    blank = draw(st.sampled_from(["", mark, mark.rstrip()]))
    return Decor("marker", (mark,), blank)


DECORATIONS = st.one_of(literals(), timestamps(), tags(), markers())


def decorate(text: str, decor: Decor) -> str:
    """``text`` with the decoration in front of every line (``decor.blank`` for blank ones)."""
    if not text:
        return text
    lines = text.split("\n")
    end = lines[-1] == "" and len(lines) > 1
    body = lines[:-1] if end else lines
    out = [decor.prefix(i) + line if line.strip() else decor.blank for i, line in enumerate(body)]
    return "\n".join(out) + ("\n" if end else "")


def facts(result: Result) -> dict[str, object]:
    got = result.to_dict()
    got.pop("removed", None)
    return got


def hidden(info: ParserInfo, wrapped: Transcript, want: Result) -> bool:
    """Whether the parser alone, without the pre-pass, reads the decorated capture like the
    bare one: its terminal replay erased the decoration (a prefix before a ``\\r``), so
    there was nothing to remove."""
    try:
        alone = read(get_module(info).parse, wrapped, command=info.name)
    except ParseError:
        return False
    return facts(alone) == facts(want)


def lines_of(text: str) -> int:
    return len([x for x in text.split("\n") if x.strip()])


#: The suite's profile (tests/conftest.py: a replay blob, the checkout's example database),
#: fewer examples, and a longer deadline: one example parses a whole capture several ways.
SETTINGS = settings(max_examples=6, deadline=timedelta(seconds=3))


@pytest.mark.parametrize("fx", REAL, ids=[f.case_id for f in REAL])
@seed(SEED)
@SETTINGS
@given(decor=DECORATIONS)
def test_a_decorated_capture_reads_like_the_bare_one(fx: Fixture, decor: Decor) -> None:
    info = resolve(fx.parser)
    bare = fx.transcript()
    if decor.shape == "literal" and lines_of(bare.text) < 2:
        return  # one line shows no prefix common to lines: a literal is indistinguishable
    wrapped: Transcript = replace(
        bare, stdout=decorate(bare.stdout, decor), stderr=decorate(bare.stderr, decor)
    )
    want = parse_transcript(info, bare, strict=True)
    got = parse_transcript(info, wrapped)
    assert facts(got) == facts(want), wrapped.text[:400]
    assert facts(parse_transcript(info, wrapped, strict=True)) == facts(want)  # strict too
    if not hidden(info, wrapped, want):
        assert got.removed, "the decoration removed is reported"
    numbered = {n for d in got.removed for a, b in d.lines for n in range(a, b + 1)}
    shown = [*(wrapped.stdout.split("\n") if wrapped.stdout else [])]
    shown += wrapped.stderr.split("\n") if wrapped.stderr else []  # numbered after stdout
    assert numbered <= {n for n, line in enumerate(shown, 1) if line.strip()}
