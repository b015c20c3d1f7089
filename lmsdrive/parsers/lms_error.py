"""``lms`` error reports: the runtime's own error output of any ``lms`` command.

Used for commands without a parser of their own (``lms link enable``, ``lms daemon up``…)
and, through :func:`find_error`, by every other ``lms`` parser to recognise an error report
among its lines.

Usage::

    from lmsdrive.parsers import parse
    parse("lms link enable", "error: unknown command 'link'\\n").to_dict()

Forms recognised (docs/reference/lms-cli.md §1.4, §1.8, §8.17–18):

* commander usage errors, lowercase: ``error: unknown command 'x'``,
  ``error: unknown option '--x'`` (a following ``(Did you mean …?)`` line is appended) →
  kind ``usage``;
* log-level errors: ``Error: …`` (E3+) and ``E …`` (E1/E2); the lines that follow, up to a
  blank line or another prefixed line, continue the message (lms prefixes only the first
  line of a multi-line message);
* "pretty" titled errors: a title line (``Model not found``, ``Model Not Found``,
  ``Invalid Usage``, ``Cannot find LM Studio installation``; padded with spaces because it
  was a background label), a blank line, then the body paragraphs; the boxed form (boxen
  border ``│ … │``) is unboxed first. The message is ``"<title>: <body>"`` with body
  paragraphs joined by a space;
* Node / bun crashes: stack frames (``    at …``), ``node:internal`` paths, ``Node.js vNN``,
  ``/$bunfs/`` → kind ``crash``, the message is the first ``XxxError: …`` line's text;
* known plain texts: ``The server is not running.``, ``LM Studio is not running…``,
  ``You don't have any models loaded…``.

Kinds: ``server_not_running`` (cannot connect / not running / daemon timed out /
ECONNREFUSED), ``model_not_found`` (``No model found that matches …``, ``Model Not Found``,
``Cannot find a model …``), ``bind_failed`` (EADDRINUSE, "try to use another port",
``Failed to start the server on port N``), ``pull_failed`` (download failures),
``usage``, ``crash``, ``unknown`` (anything else).

JSON Schema (``parse``)::

    {
      "error":     string   # the message, without its "Error: " / "E " prefix
      "kind":      string   # one of ERROR_KINDS
      "exit_code": integer|null  # the transcript's exit code, when recorded
    }

Noise skipped: blank lines, lines around the report (``W`` warnings, ``D``/``I`` debug and
info lines, ``Waking up LM Studio service...``). Output that holds no error report raises
:class:`~lmsdrive.errors.ParseError`; empty output too (an lms command that fails says why).

Example::

    $ lms link enable
    error: unknown command 'link'

    {"error": "unknown command 'link'", "kind": "usage", "exit_code": 1}
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .._text import clean_lines
from ..errors import ParseError
from ..transcript import Transcript
from ._base import ErrorKind, ErrorReport, Result

__all__ = [
    "ErrorReport",
    "LmsErrorResult",
    "classify",
    "find_error",
    "parse",
    "strip_log_prefix",
]

COMMAND = "lms error"

_LEVELS = {"I": "info", "W": "warn", "E": "error", "D": "debug"}
_PREFIX_RE = re.compile(r"^(?:([IWED]) |Error: ?(?=\S|$))")


def strip_log_prefix(line: str) -> tuple[str | None, str]:
    """Split lms's log-level prefix from a line: ``("warn", "CORS is enabled…")``.

    Levels: ``"info"`` (``I ``), ``"warn"`` (``W ``), ``"error"`` (``E `` or ``Error: ``),
    ``"debug"`` (``D ``); ``None`` when the line has no prefix (E0, E2+ info lines).

    >>> strip_log_prefix("W CORS is enabled.")
    ('warn', 'CORS is enabled.')
    >>> strip_log_prefix("Error: boom")
    ('error', 'boom')
    >>> strip_log_prefix("Success! Server is now running on port 1234")
    (None, 'Success! Server is now running on port 1234')
    """
    m = _PREFIX_RE.match(line)
    if m is None:
        return None, line
    level = _LEVELS[m.group(1)] if m.group(1) else "error"
    return level, line[m.end() :]


@dataclass(frozen=True, kw_only=True)
class LmsErrorResult(Result):
    """The error report of an ``lms`` command (``error`` and ``kind`` always set)."""

    exit_code: int | None = None


_NOT_RUNNING_RE = re.compile(
    r"not running|not appear to be running|failed to start or connect|cannot connect|"
    r"can't connect|could not connect|unable to connect|failed to connect|econnrefused|"
    r"timed out waiting for lm studio|daemon is not running|"
    r"failed to start lm studio service|is lm studio running",
    re.IGNORECASE,
)
_MODEL_NOT_FOUND_RE = re.compile(
    r"no model found|model not found|cannot find a model|could not find (?:a |the )?model|"
    r"no models? (?:found )?match",
    re.IGNORECASE,
)
_BIND_RE = re.compile(
    r"eaddrinuse|address already in use|try to use another port|"
    r"failed to start the server on port|port \d+ is (?:already )?in use",
    re.IGNORECASE,
)
_PULL_RE = re.compile(r"download(?:ing)? failed|failed to download|download error", re.IGNORECASE)
_USAGE_RE = re.compile(
    r"unknown (?:command|option|argument)|missing required argument|invalid usage|"
    r"too many arguments|option '.*' argument missing",
    re.IGNORECASE,
)


def classify(message: str) -> ErrorKind:
    """The :data:`~lmsdrive.parsers.ERROR_KINDS` kind of an error message's text."""
    if _MODEL_NOT_FOUND_RE.search(message):
        return "model_not_found"
    if _BIND_RE.search(message):
        return "bind_failed"
    if _NOT_RUNNING_RE.search(message):
        return "server_not_running"
    if _PULL_RE.search(message):
        return "pull_failed"
    if _USAGE_RE.search(message):
        return "usage"
    return "unknown"


_COMMANDER_RE = re.compile(r"^error: (.+)$")
_DID_YOU_MEAN_RE = re.compile(r"^\(Did you mean .*\)\s*$")
_STACK_RE = re.compile(
    r"^\s+at \S.*(?:\(.*\)|:\d+:\d+|native|<anonymous>)\s*$"
    r"|node:internal|^Node\.js v\d|/\$bunfs/|^\s*throw er; // Unhandled"
)
_EXC_RE = re.compile(r"^\s*(?:Uncaught )?(?:[A-Z]\w*)?(?:Error|Exception)(?: \[\w+\])?: (.+)$")
_KNOWN_TITLES = {
    "model not found",
    "invalid usage",
    "cannot find lm studio installation",
    "failed to load model",
    "error",
}
_TITLE_WORDS_RE = re.compile(
    r"not found|invalid|cannot|can't|failed|error|unable|not running|denied|missing",
    re.IGNORECASE,
)
_BOX_SIDE_RE = re.compile(r"^\s*[│┃║|]\s?(.*?)\s?[│┃║|]\s*$")
_BOX_EDGE_RE = re.compile(r"^\s*[╭┌╔╰└╚][─━═\s\w]*[╮┐╗╯┘╝]\s*$")
_PLAIN_ERRORS_RE = re.compile(
    r"^(?:The server is not running\.?"
    r"|The server does not appear to be running\b.*"
    r"|LM Studio is not running\b.*"
    r"|You don't have any models loaded\b.*"
    r"|Failed to (?:verify|start)\b.*)$"
)


def _unbox(lines: Sequence[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if _BOX_EDGE_RE.match(line):
            out.append("")
            continue
        m = _BOX_SIDE_RE.match(line)
        out.append(m.group(1).rstrip() if m else line)
    return out


def _continuation(lines: Sequence[str], start: int) -> list[str]:
    """Lines after ``start`` that continue a message: up to a blank or prefixed line."""
    more: list[str] = []
    for line in lines[start + 1 :]:
        if not line.strip() or strip_log_prefix(line)[0] is not None or _STACK_RE.search(line):
            break
        more.append(line.strip())
    return more


def _looks_like_title(line: str) -> bool:
    text = line.strip()
    if not text or len(text) > 60 or text.endswith((".", ":", ",", "!", "?")):
        return False
    if strip_log_prefix(line)[0] is not None or not text[0].isupper():
        return False
    if text.lower() in _KNOWN_TITLES:
        return True
    return len(text.split()) <= 6 and bool(_TITLE_WORDS_RE.search(text))


def _body(lines: Sequence[str], start: int) -> list[str]:
    """Paragraphs after a title (from ``start``), each joined into one line."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines[start:]:
        if _STACK_RE.search(line):
            break
        if not line.strip():
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        if strip_log_prefix(line)[0] is not None:
            break
        current.append(line.strip())
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def _find_crash(lines: Sequence[str]) -> ErrorReport | None:
    if not any(_STACK_RE.search(line) for line in lines):
        return None
    for i, line in enumerate(lines):
        m = _EXC_RE.match(line)
        if m:
            return ErrorReport(m.group(1).strip(), "crash", i + 1)
    for i, line in enumerate(lines):
        if _STACK_RE.search(line):
            return ErrorReport(line.strip(), "crash", i + 1)
    return None  # pragma: no cover - any() above guarantees a stack line


def find_error(lines: Sequence[str]) -> ErrorReport | None:
    """The runtime's own error report among cleaned lines (see module docstring), or None.

    >>> find_error(["Waking up LM Studio service...", "Error: Failed to start or connect."])
    ErrorReport(error='Failed to start or connect.', kind='server_not_running', line_number=2)
    """
    crash = _find_crash(lines)
    if crash is not None:
        return crash
    view = _unbox(lines)
    for i, line in enumerate(view):
        m = _COMMANDER_RE.match(line.strip())
        if m:
            msg = m.group(1).strip()
            if i + 1 < len(view) and _DID_YOU_MEAN_RE.match(view[i + 1].strip()):
                msg = f"{msg} {view[i + 1].strip()}"
            return ErrorReport(msg, "usage", i + 1)
        level, text = strip_log_prefix(line)
        if level == "error":
            parts = [text.strip(), *_continuation(view, i)]
            msg = " ".join(p for p in parts if p)
            if not msg:
                continue
            if _looks_like_title(text) and i + 2 < len(view) and not view[i + 1].strip():
                body = _body(view, i + 2)
                if body:
                    msg = f"{text.strip()}: {' '.join(body)}"
            return ErrorReport(msg, classify(msg), i + 1)
        if (
            level is None
            and _looks_like_title(line)
            and i + 2 < len(view)
            and not view[i + 1].strip()
            and view[i + 2].strip()
        ):
            body = _body(view, i + 2)
            title = line.strip()
            msg = f"{title}: {' '.join(body)}" if body else title
            kind = classify(msg)
            if kind == "unknown" and title.lower() == "invalid usage":
                kind = "usage"
            return ErrorReport(msg, kind, i + 1)
    for i, line in enumerate(view):
        level, text = strip_log_prefix(line)
        if level is None and _PLAIN_ERRORS_RE.match(text.strip()):
            parts = [text.strip(), *_continuation(view, i)]
            msg = " ".join(parts)
            return ErrorReport(msg, classify(msg), i + 1)
    return None


def parse(transcript: Transcript) -> LmsErrorResult:
    """The error report of any ``lms`` command's output."""
    lines = clean_lines(transcript.text)
    if not any(line.strip() for line in lines):
        raise ParseError(COMMAND, "empty output: an lms error report has a message")
    report = find_error(lines)
    if report is None:
        first = next(i for i, line in enumerate(lines) if line.strip())
        raise ParseError(COMMAND, "no lms error report in this output", first + 1, lines[first])
    return LmsErrorResult(error=report.error, kind=report.kind, exit_code=transcript.exit_code)
