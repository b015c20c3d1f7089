"""``lms status`` (docs/reference/lms-cli.md §4.4): server on/off, port, loaded models.

Usage::

    from lmsdrive.parsers import parse
    parse("lms status", text).to_dict()

Layouts read:

* boxed (until Aug 25 2025; boxen border with title ``Status``, stripped first):
  ``Server:  ON  (Port: 1234)`` / ``Server:  OFF``, ``Loaded Models`` then
  ``· <identifier> - <size>`` lines or ``· No Models Loaded``, the OFF hint
  ``(i) To start the server, run the following command:`` / ``lms server start``;
* unboxed (Aug 25 2025 – ): ``Server: ON (port: 1234)``, ``No Models Loaded`` or
  ``Loaded Models`` + ``  · <identifier> - <size>`` lines, the same OFF hint.

JSON Schema::

    {
      "server_running": boolean
      "port":           integer|null
      "loaded_models": [{
        "identifier": string
        "size_bytes": integer|null   # base 1000
        "size_text":  string|null    # "3.03 GB" as printed
      }]
      "boxed":          boolean      # the pre-Aug-2025 boxed layout
      "error", "kind":  string|null  # e.g. LM Studio cannot be reached
    }

Noise skipped: ``W`` warnings, box borders, blank lines, the ``(i)`` start hint and its
``lms server start`` line, ``D``/``I`` log lines, ``Waking up LM Studio service...``.
Empty output raises
ParseError.

Example::

    Server: ON (port: 1234)

    Loaded Models
      · google/gemma-3-4b - 3.03 GB

    {"server_running": true, "port": 1234, "loaded_models": [{"identifier":
      "google/gemma-3-4b", "size_bytes": 3030000000, "size_text": "3.03 GB"}], ...}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .._text import SIZE_PATTERN, clean_lines, parse_size
from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._lms import error_or_raise, is_noise
from .lms_error import strip_log_prefix

COMMAND = "lms status"

_SERVER_RE = re.compile(
    r"^Server:\s*(?P<state>ON|OFF)\s*(?:\(\s*[Pp]ort:\s*(?P<port>\d+)\s*\))?\s*$"
)
_MODEL_RE = re.compile(rf"^[·•*-]\s*(?P<id>\S.*?)\s+-\s+(?P<size>{SIZE_PATTERN})\s*$")
_NO_MODELS_RE = re.compile(r"^[·•*-]?\s*No Models Loaded\s*$", re.I)
_LOADED_TITLE_RE = re.compile(r"^Loaded Models\s*$")
_HINT_RE = re.compile(
    r"^(?:\(i\)\s*To start the server, run the following command:|lms server start)\s*$"
)
_BOX_EDGE_RE = re.compile(r"^\s*[┌╭└╰][─\s\w]*[┐╮┘╯]\s*$")
_BOX_SIDE_RE = re.compile(r"^\s*│(.*)│\s*$")


@dataclass(frozen=True)
class LmsStatusModel:
    identifier: str
    size_bytes: int | None = None
    size_text: str | None = None


@dataclass(frozen=True, kw_only=True)
class StatusResult(Result):
    """What ``lms status`` shows."""

    server_running: bool | None = None
    port: int | None = None
    loaded_models: list[LmsStatusModel] = field(default_factory=list)
    boxed: bool = False


def parse(transcript: Transcript) -> StatusResult:
    """Parse ``lms status`` output (boxed or not)."""
    raw = clean_lines(transcript.text)
    lines: list[str] = []
    boxed = False
    for line in raw:
        if _BOX_EDGE_RE.match(line):
            boxed = True
            lines.append("")
            continue
        m = _BOX_SIDE_RE.match(line)
        lines.append(m.group(1) if m else line)
    running: bool | None = None
    port: int | None = None
    models: list[LmsStatusModel] = []
    unknown: list[int] = []
    for i, line in enumerate(lines):
        if is_noise(line) or strip_log_prefix(line)[0] == "warn":
            continue
        s = line.strip()
        m = _SERVER_RE.match(s)
        if m:
            running = m.group("state") == "ON"
            port = int(m.group("port")) if m.group("port") else None
            continue
        m = _MODEL_RE.match(s)
        if m:
            size = m.group("size")
            models.append(LmsStatusModel(m.group("id"), parse_size(size), size))
            continue
        if _NO_MODELS_RE.match(s) or _LOADED_TITLE_RE.match(s) or _HINT_RE.match(s):
            continue
        unknown.append(i)
    err = error_or_raise(COMMAND, lines, unknown)
    if running is None and err is None:
        raise ParseError(COMMAND, "no 'Server:' line in the output")
    return StatusResult(
        server_running=running,
        port=port,
        loaded_models=models,
        boxed=boxed,
        error=err[0] if err else None,
        kind=err[1] if err else None,
    )
