"""Parser of the error report ``ollama`` prints when a command fails.

Commands: any ``ollama`` subcommand without its own parser (``ollama rm``, ``ollama show``,
``ollama stop``, ``ollama cp``, ``ollama run`` …) — the registry falls back to this parser —
and, through :func:`find_error`, every other ollama parser (``list``, ``ps``, ``pull``,
``serve``) when the output turns out to be an error report.

The CLI is a cobra app: a failing command prints ``Error: <message>`` once on stderr and exits
1. The message may span several lines (``pull model manifest: 412:`` followed by the
registry's text, blank lines included). A Go panic (``panic: …`` / ``goroutine 1 [running]:``)
is reported as kind ``crash``. ``Warning: …`` lines are never errors.

Usage::

    from lmsdrive.parsers import parse
    parse("ollama rm llama9", "Error: model 'llama9' not found\\n").to_dict()

    from lmsdrive.parsers.ollama_error import find_error
    report = find_error(clean_lines(text))   # ErrorReport | None

Schema (``OllamaErrorResult.to_dict()``)::

    {
      "error":       string,   # the message, without the "Error: " prefix; lines joined by "\\n"
      "kind":        string,   # one of ERROR_KINDS (see below)
      "line_number": integer,  # 1-based line of the "Error:" (or "panic:") line
      "warnings":    [string]  # "Warning: …" messages seen in the output, prefix removed
    }

Kinds (first match wins, case-insensitive; docs/reference/ollama-cli.md §3.3, §4.1, §5.1, §6):

* ``server_not_running``: ``could not connect``, ``not responding``, ``timed out waiting for
  server``, `` refused``, ``could not locate ollama app``;
* ``model_not_found``: ``pull model manifest: file does not exist``, ``model '…' not found``
  (any quoting), ``couldn't find model``;
* ``bind_failed``: ``listen tcp …: bind:``;
* ``usage``: ``unknown command``, ``unknown flag``, ``unknown shorthand flag``,
  ``accepts N arg(s)``, ``requires at least/at most/exactly N arg``, ``flag needs an
  argument``, ``invalid argument``;
* ``server_error`` (runner side): ``llama runner``, ``runner process``, ``error starting
  llama-server``, ``something went wrong, please see the ollama server logs``;
* ``authentication``: ``unauthorized`` (``unauthorized: access denied``, a registry's 401;
  ``401 Unauthorized``, a server or proxy that wants a token), ``401``, ``403 Forbidden``;
* ``pull_failed``: ``pull model manifest:`` (other causes), ``max retries exceeded``, ``digest
  mismatch``, ``EOF``, ``insecure protocol``, ``unexpected end to pull``;
* ``server_error`` (HTTP): ``500 Internal Server Error``, ``Bad Gateway``, ``Service
  Unavailable``, ``status code 5NN`` / ``status 5NN`` / ``: 5NN`` at the end;
* ``crash``: a Go panic (``panic: …``, ``goroutine N [running]:``) or a message holding one;
* ``unknown``: anything else.

Where the message ends: a continuation line belongs to the message unless it is
recognisable non-error output — another ``Error:``/``Warning:`` line, a shell prompt or a
command line (``$ ollama …``, ``PS C:\\> …``, ``❯ …``, an unindented ``ollama …``), an ollama
status line (``pulling manifest``, ``pulling <hex>``, ``writing manifest``, ``success``,
``transferring model data``, ``creating … layer``, ``using already created layer``, …),
a spinner frame, a table header (``NAME  ID …``), a server log line (``time=…``,
``YYYY/MM/DD hh:mm:ss``, ``[GIN]``), the ``>>>`` prompt of ``ollama run``. Trailing blank lines
are dropped; blank lines inside the message are kept.

Noise: :func:`parse` reads the error report only; everything else the command printed
(progress, status lines, prompts) is ignored on purpose — it belongs to the command's own
parser. Output holding no error report (empty input included) raises ``ParseError``:
this parser only reads failures.

Example::

    $ ollama pull llama9
    pulling manifest
    Error: pull model manifest: file does not exist

    {"error": "pull model manifest: file does not exist", "kind": "model_not_found",
     "line_number": 2, "warnings": []}
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .._text import clean_lines
from ..errors import ParseError
from ..transcript import Transcript
from ._base import ErrorKind, ErrorReport, Result

__all__ = [
    "ErrorReport",
    "OllamaErrorResult",
    "classify",
    "find_error",
    "is_error_start",
    "is_stop_line",
    "parse",
    "read_error",
    "warning_message",
]

COMMAND = "ollama error"

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

#: ``Error: …`` at the start of a line, possibly after a live spinner frame left on it.
_ERROR_RE = re.compile(rf"^\s*(?:[^\n]*?[{_SPINNER}]\s*)?Error: ?(?P<msg>.*)$")
_WARNING_RE = re.compile(r"^\s*Warning: ?(?P<msg>.*)$")
_PANIC_RE = re.compile(r"^\s*(?:panic: .*|goroutine \d+ \[running\]:?\s*)$")

_KIND_RULES: tuple[tuple[ErrorKind, re.Pattern[str]], ...] = (
    (
        "server_not_running",
        re.compile(
            r"could not connect|not responding|timed out waiting for server| refused"
            r"|could not locate ollama app",
            re.I,
        ),
    ),
    (
        "model_not_found",
        re.compile(
            r"pull model manifest: file does not exist|\bmodel\b.*\bnot found\b"
            r"|couldn't find model|could not find model",
            re.I,
        ),
    ),
    ("bind_failed", re.compile(r"listen tcp .*: bind:", re.I)),
    (
        "usage",
        re.compile(
            r"unknown command|unknown (?:shorthand )?flag|accepts \d+ arg"
            r"|accepts (?:at most|between) |requires (?:at least|at most|exactly) \d+ arg"
            r"|flag needs an argument|invalid argument ",
            re.I,
        ),
    ),
    (
        "server_error",
        re.compile(
            r"llama runner|runner process|error starting llama-server"
            r"|something went wrong, please see the ollama server logs",
            re.I,
        ),
    ),
    ("authentication", re.compile(r"\bunauthori[sz]ed\b|\b401\b|\b403 Forbidden\b", re.I)),
    (
        "pull_failed",
        re.compile(
            r"pull model manifest:|max retries exceeded|digest mismatch|\bEOF\b"
            r"|insecure protocol|unexpected end to pull",
            re.I,
        ),
    ),
    (
        "server_error",
        re.compile(
            r"\b5\d\d Internal Server Error|Internal Server Error|Bad Gateway|Service Unavailable"
            r"|status(?: code)?:? 5\d\d\b|:\s*5\d\d\s*$",
            re.I,
        ),
    ),
    ("crash", re.compile(r"^panic: |goroutine \d+ \[running\]", re.I | re.M)),
)

# Recognisable non-error output: ends a multi-line message.
_STOP_RE = re.compile(
    r"^\s*(?:Error|Warning): "  # another report
    r"|^\s*>>>(?:\s|$)"  # the prompt of ollama run (shell prompts go in the pre-pass)
    r"|^(?:pulling manifest|pulling [0-9a-f]{12}|pulling model\b|verifying sha256 digest"
    r"|writing manifest|success\s*$|removing (?:any )?unused layers|transferring model data"
    r"|creating (?:new )?\w+ layer|using already created layer|writing layer"
    r"|using existing layer|parsing GGUF|gathering model components|converting model"
    r"|quantizing |copying file|pushing [0-9a-f]{12}|pushing manifest|deleted '|copied '"
    r"|retrieving manifest)"
    rf"|[{_SPINNER}]"  # live spinner frames
    r"|^NAME\s+(?:ID|SIZE)\b"  # a table header
    r"|^(?:time=\S+ level=|\d{4}/\d\d/\d\d \d\d:\d\d:\d\d |\[GIN)"  # server logs
)


@dataclass(frozen=True, kw_only=True)
class OllamaErrorResult(Result):
    """The error report of a failed ``ollama`` command."""

    line_number: int | None = None
    warnings: list[str] = field(default_factory=list)


def classify(message: str) -> ErrorKind:
    """The kind (one of ``ERROR_KINDS``) of an ``ollama`` error message."""
    for kind, rule in _KIND_RULES:
        if rule.search(message):
            return kind
    return "unknown"


def is_error_start(line: str) -> bool:
    """Whether ``line`` starts an error report (``Error: …`` or a Go panic)."""
    return bool(_ERROR_RE.match(line) or _PANIC_RE.match(line))


def is_stop_line(line: str) -> bool:
    """Whether ``line`` is recognisable non-error output (ends a multi-line message)."""
    return bool(_STOP_RE.search(line))


def read_error(lines: Sequence[str], index: int) -> tuple[ErrorReport, int] | None:
    """The error report starting at ``lines[index]`` and the index just past its last line,
    or ``None`` when that line does not start one."""
    line = lines[index]
    m = _ERROR_RE.match(line)
    if m:
        parts = [m.group("msg").rstrip()]
        end = index + 1
        while end < len(lines) and not is_stop_line(lines[end]):
            parts.append(lines[end].rstrip())
            end += 1
        while len(parts) > 1 and not parts[-1].strip():
            parts.pop()
        message = "\n".join(parts)
        return ErrorReport(message, classify(message), index + 1), end
    if _PANIC_RE.match(line):
        return ErrorReport(line.strip(), "crash", index + 1), index + 1
    return None


def find_error(lines: Sequence[str]) -> ErrorReport | None:
    """The first error report among cleaned ``lines`` (see :func:`clean_lines`), or ``None``.

    ``Error: <message>`` (the message may continue on the following lines, see the module
    docstring) or a Go panic. ``Warning:`` lines are not errors.
    """
    for index in range(len(lines)):
        found = read_error(lines, index)
        if found is not None:
            return found[0]
    return None


def warning_message(line: str) -> str | None:
    """The message of a ``Warning: …`` line (prefix removed), or ``None``."""
    m = _WARNING_RE.match(line)
    return m.group("msg").rstrip() if m else None


def find_warnings(lines: Sequence[str]) -> list[str]:
    """The messages of the ``Warning: …`` lines, prefix removed."""
    out = []
    for line in lines:
        m = _WARNING_RE.match(line)
        if m:
            out.append(m.group("msg").rstrip())
    return out


def parse(transcript: Transcript) -> OllamaErrorResult:
    """The error report of a failed ``ollama`` command; ``ParseError`` when there is none."""
    lines = clean_lines(transcript.text)
    report = find_error(lines)
    if report is None:
        if not any(line.strip() for line in lines):
            raise ParseError(COMMAND, "empty output: no error report")
        first = next(i for i, line in enumerate(lines) if line.strip())
        raise ParseError(COMMAND, "no 'Error: …' report in the output", first + 1, lines[first])
    return OllamaErrorResult(
        error=report.error,
        kind=report.kind,
        line_number=report.line_number,
        warnings=find_warnings(lines),
    )
