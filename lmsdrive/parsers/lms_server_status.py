"""``lms server status`` and ``lms server status --json`` (docs/reference/lms-cli.md §4.1).

Usage::

    from lmsdrive.parsers import parse
    parse("lms server status", "The server is running on port 1234.\\n").to_dict()

Lines read (stderr, exit code 0 in both cases): ``The server is running on port N.``,
``The server is not running.``; ``--json``: ``{"running":true,"port":1234}``,
``{"running":false}`` (port key omitted, Sep 2025+) or ``{"running":false,"port":null}``;
before Feb 2026 ``--json`` also printed the text line on stderr (read, must agree). With
``--host``/``--port``: ``The server does not appear to be running at H:P…`` (exit 1) →
``running: false`` and the error report.

JSON Schema::

    {
      "running":   boolean        # the server answers /lmstudio-greeting at its port
      "port":      integer|null   # null when not running (or the config never existed)
      "host":      string|null    # --host form only
      "format":    "text"|"json"
      "error", "kind": string|null
    }

Noise skipped: blank lines, ``W`` warnings, ``D`` debug lines (``--verbose``), ``I`` info lines,
``Waking up LM Studio service...``. Empty output raises ParseError (``--quiet`` without
``--json`` prints nothing: nothing to read).

Example::

    The server is running on port 1234.

    {"running": true, "port": 1234, "host": null, "format": "text", ...}
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .._text import clean_lines
from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._json import find_json, json_field
from ._lines import LineTemplate
from ._lms import error_or_raise, is_noise
from .lms_error import strip_log_prefix

COMMAND = "lms server status"

_RUNNING = LineTemplate("The server is running on port {port:d}")
_NOT_RUNNING = LineTemplate("The server is not running")
_REMOTE_RE = re.compile(
    r"^The server does not appear to be running at (?P<host>\S+?):(?P<port>\d+)\b.*$"
)


@dataclass(frozen=True, kw_only=True)
class ServerStatusResult(Result):
    """Whether the LM Studio HTTP server runs, and on which port."""

    running: bool
    port: int | None = None
    host: str | None = None
    format: str = "text"


def parse(transcript: Transcript) -> ServerStatusResult:
    """Parse ``lms server status`` text or ``--json`` output."""
    lines = clean_lines(transcript.text)
    running: bool | None = None
    port: int | None = None
    host: str | None = None
    fmt = "text"
    skip: range = range(0)
    found = find_json(lines, COMMAND)
    if found is not None:
        value, start, end = found
        skip = range(start, end)
        if not isinstance(value, dict) or not isinstance(value.get("running"), bool):
            raise ParseError(
                COMMAND, "expected {running: bool, port: int|null}", start + 1, lines[start]
            )
        running, fmt = value["running"], "json"
        port = json_field(value, "port", int, COMMAND, start + 1)
    unknown: list[int] = []
    for i, line in enumerate(lines):
        if i in skip or is_noise(line):
            continue
        level, text = strip_log_prefix(line)
        if level == "warn":
            continue  # warnings carry no status
        s = text.strip()
        if (fields := _RUNNING.match(s)) is not None:
            if running is False:
                raise ParseError(COMMAND, "text and JSON disagree", i + 1, line)
            running, port = True, fields["port"]
            continue
        if _NOT_RUNNING.match(s) is not None:
            if running is True:
                raise ParseError(COMMAND, "text and JSON disagree", i + 1, line)
            running = False
            continue
        m = _REMOTE_RE.match(s)
        if m:
            running, host, port = False, m.group("host"), int(m.group("port"))
            unknown.append(i)
            continue
        unknown.append(i)
    err = error_or_raise(COMMAND, lines, unknown)
    if running is None:
        if err is None:
            raise ParseError(COMMAND, "no server status in the output")
        running = False if err[1] == "server_not_running" else running
        if running is None:
            first = next(i for i, line in enumerate(lines) if line.strip())
            raise ParseError(COMMAND, "no server status in the output", first + 1, lines[first])
    return ServerStatusResult(
        running=running,
        port=port,
        host=host,
        format=fmt,
        error=err[0] if err else None,
        kind=err[1] if err else None,
    )
