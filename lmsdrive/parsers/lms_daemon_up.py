"""``lms daemon up`` and ``lms daemon up --json``: start LM Studio's headless daemon (llmster),
or find it running (docs/reference/runtimes-2026.md §1.2, §1.6).

Usage::

    from lmsdrive.parsers import parse
    parse("lms daemon up", "The daemon is already running (PID: 4242).\\n").to_dict()

Lines read (stdout, exit code 0; texts stable since lms PR #387, 2025-12-02):

* ``llmster started (PID: <n>).`` / ``LM Studio started (PID: <n>).`` (only the app is
  installed) → ``outcome: "started"``;
* ``The daemon is already running (PID: <n>).`` / ``LM Studio is already running (PID: <n>);
  not starting a second daemon.`` → ``outcome: "already_running"``;
* ``Waking up LM Studio service...`` (stderr, before a start) → ``woke_service: true``;
* ``--json``: one line ``{"status":"running","pid":<n>,"isDaemon":<bool>,"version":"…"}``
  whatever the case; the outcome is ``started`` when the wake-up notice is in the output,
  ``already_running`` otherwise.

Failures (stderr, exit 1): ``Error: LM Studio daemon is not running and no valid installation
could be found or installed.``, ``Error: Timed out waiting for LM Studio daemon to start.``,
then ``Error: Failed to start or connect to local LM Studio API server.`` → ``outcome: null``
and ``error``/``kind`` (``server_not_running``).

JSON Schema::

    {
      "outcome":      "started"|"already_running"|null   # null: it failed (see error)
      "pid":          integer|null
      "version":      string|null    # --json only (the text does not print it)
      "is_daemon":    boolean|null   # true: llmster; false: the GUI app
      "woke_service": boolean        # "Waking up LM Studio service..." was printed
      "format":       "text"|"json"
      "error", "kind": string|null
    }

Noise skipped: blank lines, ``W`` warnings, ``D``/``I`` log lines. Empty output raises
ParseError (``--quiet`` prints nothing: nothing to read).

Example::

    Waking up LM Studio service...
    llmster started (PID: 4242).

    {"outcome": "started", "pid": 4242, "version": null, "is_daemon": true,
     "woke_service": true, "format": "text", "error": null, "kind": null}
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .._text import clean_lines
from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._lms import error_or_raise, is_noise
from .lms_daemon_status import read_daemon_json
from .lms_error import strip_log_prefix

__all__ = ["DaemonUpResult", "parse"]

COMMAND = "lms daemon up"

_WAKING_RE = re.compile(r"^Waking up LM Studio(?: service)?\.\.\.$")
_STARTED_RE = re.compile(r"^(?P<name>llmster|LM Studio) started \(PID: (?P<pid>\d+)\)\.?$")
_ALREADY_RE = re.compile(
    r"^(?:The daemon|(?P<app>LM Studio)) is already running \(PID: (?P<pid>\d+)\)"
    r"(?:; not starting a second daemon)?\.?$"
)


@dataclass(frozen=True, kw_only=True)
class DaemonUpResult(Result):
    """The outcome of ``lms daemon up``."""

    outcome: str | None = None
    pid: int | None = None
    version: str | None = None
    is_daemon: bool | None = None
    woke_service: bool = False
    format: str = "text"


def parse(transcript: Transcript) -> DaemonUpResult:
    """Parse ``lms daemon up`` text or ``--json`` output."""
    lines = clean_lines(transcript.text)
    outcome: str | None = None
    pid: int | None = None
    version: str | None = None
    is_daemon: bool | None = None
    woke = False
    fmt = "text"
    skip: range = range(0)
    found = read_daemon_json(COMMAND, lines)
    if found is not None:
        info, skip = found
        if not info.running:
            raise ParseError(COMMAND, "daemon up printed a not-running status", skip[0] + 1)
        pid, version, is_daemon, fmt = info.pid, info.version, info.is_daemon, "json"
    unknown: list[int] = []
    for i, line in enumerate(lines):
        if i in skip:
            continue
        level, text = strip_log_prefix(line)
        s = text.strip()
        if level is None and _WAKING_RE.match(s):
            woke = True
            continue
        if is_noise(line) or level == "warn":
            continue
        if level is None and (m := _STARTED_RE.match(s)) is not None:
            outcome, pid, is_daemon = "started", int(m["pid"]), m["name"] == "llmster"
            continue
        if level is None and (m := _ALREADY_RE.match(s)) is not None:
            outcome, pid, is_daemon = "already_running", int(m["pid"]), m["app"] is None
            continue
        unknown.append(i)
    err = error_or_raise(COMMAND, lines, unknown)
    if fmt == "json" and outcome is None:
        outcome = "started" if woke else "already_running"
    if outcome is None and err is None:
        raise ParseError(COMMAND, "no outcome of lms daemon up in the output")
    return DaemonUpResult(
        outcome=None if err else outcome,
        pid=pid,
        version=version,
        is_daemon=is_daemon,
        woke_service=woke,
        format=fmt,
        error=err[0] if err else None,
        kind=err[1] if err else None,
    )
