"""Bad input (issue 5, section 2): every registered parser and ``ModelRef`` against random
and mutated input. The only acceptable outcomes: a typed Result or ``ParseError`` (parsers),
a ``ModelRef`` or ``InvalidModelNameError`` (names) -- never another exception.

* hypothesis over EVERY parser of ``lmsdrive.parsers.PARSERS``: random text, and text built
  from the tokens real outputs are made of (table headers, bars, escapes, JSON, SSE);
  streaming parsers also fed the same text cut into random chunks, which must read exactly
  like the whole text;
* a corpus of mutated real transcripts (``fixtures/``): truncated at random points, CRLF,
  ANSI-mangled (escape sequences inserted, cut, or stripped of their final byte), each
  mutation fed to every parser (the wrong command included);
* ``ModelRef``: random names; what it accepts converts to names that are safe on a command
  line and parse back to the same reference.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from lmsdrive.errors import InvalidModelNameError, ParseError
from lmsdrive.golden import Fixture, iter_fixtures
from lmsdrive.model_ref import ModelRef
from lmsdrive.parsers import PARSERS, ParserInfo, get_module, parse_transcript
from lmsdrive.parsers._base import Result
from lmsdrive.transcript import Transcript

FAST = settings(max_examples=200)

#: Pieces real outputs are made of, so random text reaches deep into the parsers.
TOKENS = [
    "\n",
    "\r\n",
    "\r",
    "\t",
    "  ",
    "    ",
    "\x1b[",
    "\x1b[2K",
    "\x1b[1G",
    "\x1b[A",
    "\x1b[K",
    "\x1b[?25h",
    "\x1b[?25l",
    "\x1b[s",
    "\x1b[u",
    "\x1b[1;5C",
    "\x1b[0m",
    "\x1b[32m",
    "\x1b]0;t\x07",
    "{",
    "}",
    "[",
    "]",
    '"',
    ":",
    ",",
    "null",
    "true",
    "1e999",
    "-1",
    "0",
    "data: ",
    "data: [DONE]",
    "Error: ",
    "error: ",
    "W ",
    "NAME",
    "ID",
    "SIZE",
    "MODIFIED",
    "PROCESSOR",
    "UNTIL",
    "CONTEXT",
    "IDENTIFIER",
    "MODEL",
    "STATUS",
    "LLM",
    "PARAMS",
    "ARCH",
    "DEVICE",
    "LOADED",
    "GB",
    "MB",
    "KB",
    "B",
    "GiB",
    "100%",
    "50%",
    "pulling ",
    "pulling manifest",
    "verifying sha256 digest",
    "writing manifest",
    "success",
    "▕",
    "█",
    "▏",
    "⠋",
    "⠙",
    "✓",
    "↓",
    "└─",
    "├─",
    "Listening on ",
    "level=INFO",
    "level=ERROR",
    "time=2025-01-01T00:00:00.000Z",
    "msg=",
    "source=routes.go:1",
    "llama3.2:3b",
    "qwen/qwen3-4b",
    "hf.co/u/r:Q4_K_M",
    "4 minutes ago",
    "About a minute ago",
    "Success! Server is now running on port 1234",
    "Download completed.",
    "Model loaded successfully in 1.2s.",
    "The server is running on port 1234.",
    '{"error":"x"}',
    '{"status":"success"}',
    '{"models":[]}',
    '{"data":[]}',
    '"done":true',
    '{"response":"a","done":false}',
    '{"choices":[{"index":0,"delta":{"content":"a"}}]}',
    "ollama version is 0.12.3",
    "CLI commit: ac18535",
    "\x00",
    "\ufeff",
    "\\u0000",
    "é",
]
TEXT = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=6)), max_size=80).map("".join),
)
STATUS = st.sampled_from([None, 0, 1, 2, 130, 200, 400, 404, 500])


def module(info: ParserInfo) -> ModuleType:
    return get_module(info)


def transcript(text: str, status: int | None, meta: dict[str, Any] | None = None) -> Transcript:
    http = status if status is not None and status >= 200 else None
    code = status if status is not None and status < 200 else None
    return Transcript(stdout=text, exit_code=code, http_status=http, meta=meta or {})


def parse_or_parse_error(mod: ModuleType, t: Transcript) -> Result | None:
    """The result, or ``None`` for a ParseError; anything else raises (a bug)."""
    try:
        result = mod.parse(t)
    except ParseError:
        return None
    assert isinstance(result, Result), type(result)
    result.to_dict()  # and it serialises
    return result


# --------------------------------------------------------------------------- hypothesis

PARSER_IDS = [p.name for p in PARSERS]


@pytest.mark.parametrize("info", PARSERS, ids=PARSER_IDS)
@FAST
@given(text=TEXT, status=STATUS)
def test_every_parser_on_any_text(info: ParserInfo, text: str, status: int | None) -> None:
    parse_or_parse_error(module(info), transcript(text, status))


def _both_modes(info: ParserInfo, t: Transcript) -> tuple[Result | None, Result | None]:
    out: list[Result | None] = []
    for strict in (True, False):
        try:
            result = parse_transcript(info, t, strict=strict)
        except ParseError:
            out.append(None)
            continue
        assert isinstance(result, Result), type(result)
        result.to_dict()
        out.append(result)
    return out[0], out[1]


@pytest.mark.parametrize("info", PARSERS, ids=PARSER_IDS)
@FAST
@given(text=TEXT, status=STATUS)
def test_strict_and_lenient_modes_on_any_text(
    info: ParserInfo, text: str, status: int | None
) -> None:
    """Both modes give a result or ParseError. Lenient never drops a line silently: when
    strict fails and lenient reads the text, the lines it could not read are in ``skipped``
    (each numbered as a line of the input); when strict reads it, lenient reads the same."""
    strict, lenient = _both_modes(info, transcript(text, status))
    if strict is not None:
        assert lenient is not None and lenient.to_dict() == strict.to_dict()
        return
    if lenient is not None:
        assert lenient.skipped or any(a.skipped for a in lenient.attempts)
        count = len(text.split("\n"))
        assert all(1 <= s.line <= count for s in lenient.skipped)


def _drain(events: Iterator[Any]) -> tuple[list[Any], Any]:
    out = []
    while True:
        try:
            out.append(next(events))
        except StopIteration as stop:
            return out, stop.value


def _stream(mod: ModuleType, chunks: Iterable[str]) -> tuple[str, Any]:
    try:
        return "ok", _drain(iter(mod.stream(chunks)))
    except ParseError as e:
        return "ParseError", (e.line_number, e.line)


STREAMING = [p for p in PARSERS if hasattr(module(p), "stream")]


@pytest.mark.parametrize("info", STREAMING, ids=[p.name for p in STREAMING])
@FAST
@given(text=TEXT, cuts=st.lists(st.integers(min_value=0, max_value=1 << 16), max_size=12))
def test_streaming_parser_reads_any_chunking_like_the_whole(
    info: ParserInfo, text: str, cuts: list[int]
) -> None:
    mod = module(info)
    points = sorted({c % (len(text) + 1) for c in cuts})
    chunks = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    assert _stream(mod, chunks) == _stream(mod, [text])


# --------------------------------------------------------------------------- mutated corpus

FIXTURES: list[Fixture] = list(iter_fixtures())
ESCAPES = [
    "\x1b[0m",
    "\x1b[1;32m",
    "\x1b[38;5;208m",
    "\x1b[2K",
    "\x1b[1G",
    "\x1b[K",
    "\x1b[A",
    "\x1b[3A",
    "\x1b[?25l",
    "\x1b[?25h",
    "\x1b[s",
    "\x1b[u",
    "\x1b[1;5C",
    "\x1b[?5C",
    "\x1b[1;2;3;4r",
    "\x1b]0;title\x07",
    "\x1b]8;;http://x\x1b\\",
    "\r",
    "\x1b",
    "\x1b[",
    "\x1b[1;",
    "\x1b]",
]
_ESC_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def mutations(text: str, rng: random.Random) -> Iterator[tuple[str, str]]:
    """14 mutations of one real output."""
    for i in range(8):
        yield f"truncated-{i}", text[: rng.randrange(len(text) + 1)]
    yield "crlf", text.replace("\r\n", "\n").replace("\n", "\r\n")
    for i in range(3):
        chars = list(text)
        for _ in range(rng.randint(1, 8)):
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(ESCAPES))
        yield f"ansi-inserted-{i}", "".join(chars)
    # escape sequences cut: their final byte dropped, or the text cut inside one
    yield "ansi-unterminated", _ESC_RE.sub(lambda m: m.group()[:-1], text)
    starts = [m.start() for m in _ESC_RE.finditer(text)]
    at = rng.choice(starts) + 2 if starts else rng.randrange(len(text) + 1)
    yield "cut-in-escape", text[:at]


MUTATIONS_PER_FIXTURE = 14


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.case_id for f in FIXTURES])
def test_mutated_real_transcripts_under_every_parser(fixture: Fixture) -> None:
    rng = random.Random(fixture.case_id)
    original = fixture.transcript()
    texts = [("original", fixture.text), *mutations(fixture.text, rng)]
    assert len(texts) == 1 + MUTATIONS_PER_FIXTURE
    for info in PARSERS:  # its own parser and every wrong one
        mod = module(info)
        for _, text in texts:
            t = Transcript(
                stdout=text,
                argv=original.argv,
                exit_code=original.exit_code,
                http_status=original.http_status,
                meta=original.meta,
            )
            parse_or_parse_error(mod, t)


def test_fuzzing_has_a_deadline_keeps_failures_and_suppresses_no_health_check() -> None:
    """The profile of tests/conftest.py holds for every @given test: a slow example fails,
    a failure prints its replay blob and is saved in the checkout's .hypothesis/ (so the
    next run tries it first); no test turns those off."""
    repo = Path(__file__).resolve().parent.parent
    for s in (FAST, settings()):
        assert s.deadline == timedelta(seconds=1)
        assert s.print_blob is True
        assert s.suppress_health_check == ()
        assert s.database == DirectoryBasedExampleDatabase(repo / ".hypothesis" / "examples")
    turned_off = re.compile(r"deadline=None|suppress_health_check|database=None")
    assert [
        str(f.relative_to(repo))
        for f in sorted((repo / "tests").rglob("*.py"))
        if turned_off.search(f.read_text(encoding="utf-8"))
        and f.name not in ("test_fuzz.py", "conftest.py")  # this rule, and the profile itself
    ] == []


def test_corpus_is_big_enough() -> None:
    """The figures the README quotes: fixtures x mutations x parsers."""
    assert len(FIXTURES) >= 150
    assert len(PARSERS) >= 27


# --------------------------------------------------------------------------- ModelRef

_SAFE = re.compile(r"^[A-Za-z0-9._+/:@-]+$")
NAME_PIECES = st.sampled_from(
    [
        *"abcAZ09._+-/:@ \t\n\x00;$`|&<>()'\"\\*?~!#%=,[]{}",
        "hf.co/",
        "https://",
        "http://",
        "huggingface.co/",
        "--",
        "-",
        "é",
        "\u200b",
        "\u2028",
        ":latest",
        "@Q4_K_M",
        "$(reboot)",
        "qwen/qwen3-4b",
        "llama3.2:3b",
        "x" * 300,
    ]
)
NAMES = st.one_of(st.text(max_size=60), st.lists(NAME_PIECES, max_size=20).map("".join))


@settings(max_examples=2000)
@given(NAMES)
def test_model_ref_on_any_name(name: str) -> None:
    try:
        ref = ModelRef.parse(name)
    except InvalidModelNameError as e:
        assert "Accepted forms" in str(e)
        return
    for out in (ref.for_ollama(), ref.for_ollama("huggingface"), ref.for_lmstudio(), str(ref)):
        assert _SAFE.match(out), (name, out)  # nothing a shell or a flag parser would read
        assert not out.startswith("-")
    assert ModelRef.parse(str(ref)) == ref
    assert ModelRef.parse(ref.for_ollama()).for_ollama() == ref.for_ollama()
    assert ModelRef.parse(ref.for_ollama("huggingface")) is not None
    if ref.host is None:  # see test_lmstudio_form_of_a_host_like_namespace_parses_back
        assert ModelRef.parse(ref.for_lmstudio()).for_lmstudio() == ref.for_lmstudio()


def test_lmstudio_form_of_a_host_like_namespace_parses_back() -> None:
    ref = ModelRef.parse("registry.example.com/ns.io/model:q4")
    assert ModelRef.parse(ref.for_lmstudio()).path == "ns.io/model"
    assert ModelRef.parse("user.io/model").namespace == "user.io"


@pytest.mark.parametrize(
    "name",
    [
        "--help",
        "-rf",
        "x --verbose",
        "$(reboot)",
        "a;b",
        "a\nb",
        "a\x00b",
        "`id`",
        "a|b",
        "a&b",
        "a>b",
        "../../etc/passwd",
        "a b",
        "",
        " llama3.2",
        "llama3.2\t",
        "\u2028x",
        "x\x7f",
    ],
)
def test_model_ref_refuses_injection(name: str) -> None:
    with pytest.raises(InvalidModelNameError, match="Accepted forms"):
        ModelRef.parse(name)
