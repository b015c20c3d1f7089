"""A real last row cut at every character: the whole row, or its whole cells with the rest
null and ``truncated``; never a wrong value, nothing else in the result changes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from lmsdrive.errors import ParseError
from lmsdrive.parsers import parse
from lmsdrive.parsers._cut import _alt, _atom, _l, _lit, _seq, is_partial, whole_at_end

_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

CASES = [
    ("ollama list", "ollama/list/gh4470-llama3.txt", "name"),
    ("ollama ps", "ollama/ps/gh11676-context-forever.txt", "name"),
    ("lms ls", "lms/ls/real-cli-after-get-second-quant.txt", "key"),
    ("lms ps", "lms/ps/real-cli-one-loaded.txt", "identifier"),
]
#: Free-text cells a cut inside of cannot be told from a whole one (nothing follows them).
_FREE_LAST = {"device", "ttl"}


def _split(path: str) -> tuple[str, str]:
    lines = (_FIXTURES / path).read_text().rstrip("\n").split("\n")
    while not lines[-1].strip():
        lines.pop()
    return "\n".join(lines[:-1]) + "\n", lines[-1].rstrip()


@pytest.mark.parametrize(("command", "path", "key"), CASES)
def test_every_cut_of_the_last_row(command: str, path: str, key: str) -> None:
    head, row = _split(path)
    whole = parse(command, head + row + "\n", strict=True).to_dict()
    full = whole["models"][-1]
    kept = 0
    for n in range(1, len(row)):
        text = row[:n]
        first_cell = len(text.split()) <= 1 or text.split("  ")[0] == text.rstrip()
        try:
            got = parse(command, head + text + "\n", strict=True).to_dict()
        except ParseError:
            assert first_cell, f"cut at {n} not read: {text!r}"
            continue
        assert got["models"][:-1] == whole["models"][:-1], n
        assert {k: v for k, v in got.items() if k not in ("models", "truncated")} == {
            k: v for k, v in whole.items() if k not in ("models", "truncated")
        }, n
        cut = got["models"][-1]
        if first_cell and command == "lms ls":
            continue  # a bare key is a whole lms ls row (a variant group): see the report
        assert cut[key] == full[key], n
        if got.get("truncated"):
            kept += 1
            wrong = {
                k: v
                for k, v in cut.items()
                if v not in (None, full[k]) and not (k == "loaded" and v is None)
            }
            assert not wrong, f"cut at {n} ({text!r}) read {wrong}"
        else:
            diff = {k for k in full if cut[k] != full[k]}
            assert diff <= _FREE_LAST, f"cut at {n} ({text!r}) not truncated: {diff}"
    assert kept >= 20  # cuts read as truncated rows, not refused


def _field(d: dict[str, Any], name: str) -> Any:
    return d["models"][-1][name]


def test_the_examples_of_the_issue() -> None:
    head = "NAME               ID              SIZE      MODIFIED\n"
    d = parse("ollama list", head + "llama3.2:latest   a6\n", strict=True).to_dict()
    assert d["truncated"] is True and _field(d, "id") is None
    d = parse("ollama list", head + "llama3.2:latest   a80c4f17acd5    5.4 G\n").to_dict()
    assert (_field(d, "id"), _field(d, "size_bytes"), d["truncated"]) == (
        "a80c4f17acd5",
        None,
        True,
    )


def test_only_the_last_line_is_read_cut() -> None:
    head = "NAME               ID              SIZE      MODIFIED\n"
    row = "llama3.2:latest    a80c4f17acd5    2.0 GB    3 weeks ago\n"
    with pytest.raises(ParseError):
        parse("ollama list", head + "llama3.2:latest   a6\n" + row, strict=True)


@pytest.mark.parametrize(
    ("kind", "text", "partial", "whole"),
    [
        ("id", "a6", True, False),
        ("id", "a80c4f17acd5", False, True),
        ("size", "5.4 G", True, False),
        ("size", "5.4", True, False),
        ("size", "5.4 GB", False, True),
        ("number", "4096", True, False),
        ("processor", "52%/48% CPU", True, False),
        ("processor", "100% GPU", False, True),
        ("time", "3 weeks a", True, False),
        ("time", "Forev", True, False),
        ("time", "3 weeks ago", False, True),
        ("time", "in a while", False, False),
        ("text", "Loc", True, False),
    ],
)
def test_cell_kinds(kind: str, text: str, partial: bool, whole: bool) -> None:
    assert (is_partial(kind, text), whole_at_end(kind, text)) == (partial, whole)


def test_the_pattern_builders() -> None:
    """The builders of the cell patterns, called here (the module calls them once, at import,
    where a mutation tool cannot reach them): ``_lit`` matches every non-empty prefix of a
    literal; ``_seq``/``_alt`` give (whole, prefix) of parts in a row / of alternatives;
    ``_atom`` is a regex that is its own prefix unless one is given."""
    assert _lit("a.b") == r"a(?:\.(?:b)?)?"
    for text in ("a", "a.", "a.b"):
        assert re.fullmatch(_lit("a.b"), text), text
    for text in ("", "b", "ax", "a.bc"):
        assert not re.fullmatch(_lit("a.b"), text), text
    assert _atom(r"\d+") == (r"\d+", r"\d+") and _atom("n?", "n") == ("n?", "n")
    assert _l("a.") == (r"a\.", _lit("a."))
    whole, prefix = _seq(_l("About a"), _atom("n?", "n"), _l(" "), _alt(_l("min"), _l("hour")))
    for text in ("About a min", "About an hour"):
        assert re.fullmatch(whole, text) and re.fullmatch(prefix, text)
    for text in ("A", "About", "About a", "About an", "About an ", "About a h", "About a mi"):
        assert re.fullmatch(prefix, text) and not re.fullmatch(whole, text), text
    for text in ("", "b", "About x", "About a minute", "About anhour", "min"):
        assert not re.fullmatch(prefix, text), text
