"""``lms server stop`` (docs/reference/lms-cli.md §4.3).

Usage::

    from lmsdrive.parsers import parse
    parse("lms server stop", "Stopped the server on port 1234.\\n").to_dict()

Lines read (stderr): ``Stopped the server on port N.``; when nothing runs, the error
``The server is not running.`` (exit 1; ``Error: ``/``E `` prefixed in the eras that
prefix errors) → ``stopped: false`` with ``error``/``kind: server_not_running``. E0 builds
wrote a control file: ``Requested the server to be stopped on port N.`` / ``Stopped the
server…`` read the same way. Any other runtime error report fills ``error``/``kind``.

JSON Schema::

    {
      "stopped":   boolean        # the server was running and is now stopped
      "port":      integer|null   # the port it ran on
      "error", "kind": string|null
    }

Noise skipped: blank lines, ``W`` warnings, ``D``/``I`` log lines,
``Waking up LM Studio service...``.
Empty output raises ParseError (``--quiet`` prints nothing: nothing to read).

Example::

    Stopped the server on port 1234.

    {"stopped": true, "port": 1234, "error": null, "kind": null}
"""

from __future__ import annotations

from dataclasses import dataclass

from .._text import clean_lines
from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._lines import LineTemplate
from ._lms import error_or_raise, is_noise
from .lms_error import strip_log_prefix

COMMAND = "lms server stop"

_STOPPED = LineTemplate("Stopped the server on port {port:d}")
_REQUESTED = LineTemplate("Requested the server to be stopped on port {port:d}")
_NOT_RUNNING = LineTemplate("The server is not running")


@dataclass(frozen=True, kw_only=True)
class ServerStopResult(Result):
    """The outcome of ``lms server stop``."""

    stopped: bool
    port: int | None = None


def parse(transcript: Transcript) -> ServerStopResult:
    """Parse ``lms server stop`` output."""
    lines = clean_lines(transcript.text)
    stopped: bool | None = None
    port: int | None = None
    error: tuple[str, str] | None = None
    unknown: list[int] = []
    for i, line in enumerate(lines):
        if is_noise(line):
            continue
        level, text = strip_log_prefix(line)
        if level == "warn":
            continue  # warnings carry no status
        s = text.strip()
        if (fields := _STOPPED.match(s)) is not None:
            stopped, port = True, fields["port"]
            continue
        if (fields := _REQUESTED.match(s)) is not None:
            port = fields["port"]
            continue
        if _NOT_RUNNING.match(s) is not None:
            stopped, error = False, (s, "server_not_running")
            continue
        unknown.append(i)
    err = error_or_raise(COMMAND, lines, unknown) or error
    if stopped is None:
        if err is None:
            raise ParseError(COMMAND, "no outcome of lms server stop in the output")
        stopped = False
    return ServerStopResult(
        stopped=stopped,
        port=port,
        error=err[0] if err else None,
        kind=err[1] if err else None,
    )
