"""``lms daemon status`` and ``lms daemon status --json``: whether LM Studio's headless daemon
(llmster) or the app runs (docs/reference/runtimes-2026.md §1.3).

Usage::

    from lmsdrive.parsers import parse
    parse("lms daemon status", "llmster v0.0.20+1 is running (PID: 4242)\\n").to_dict()

Lines read (stdout, exit code 0 in both cases):

* ``LM Studio is not running`` → ``running: false``;
* ``llmster v<version> is running (PID: <n>)`` / ``LM Studio v<version> is running (PID: <n>)``
  (lms PR #388, 2025-12-02, onwards) and the earlier ``llmster is running (PID: <n>)`` (no
  version) → ``running: true``, ``is_daemon`` true for llmster, false for the app;
* ``--json``: ``{"status":"not-running"}``, ``{"status":"running","pid":<n>,"isDaemon":<bool>}``
  (no ``version`` key; read when a build prints one).

Error reports of lms (``Error: …``) fill ``error``/``kind``.

JSON Schema::

    {
      "running":   boolean        # llmster or the LM Studio app is up
      "pid":       integer|null   # its process id
      "version":   string|null    # null where not printed (--json, the pre-#388 text)
      "is_daemon": boolean|null   # true: llmster; false: the GUI app; null: not running
      "format":    "text"|"json"
      "error", "kind": string|null
    }

Noise skipped: blank lines, ``W`` warnings, ``D``/``I`` log lines, ``Waking up LM Studio
service...``. Empty output raises ParseError (nothing to read).

Example::

    llmster v0.0.20+1 is running (PID: 4242)

    {"running": true, "pid": 4242, "version": "0.0.20+1", "is_daemon": true,
     "format": "text", "error": null, "kind": null}
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .._text import clean_lines
from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._json import find_json, json_field
from ._lms import error_or_raise, is_noise
from .lms_error import strip_log_prefix

__all__ = ["DaemonInfo", "DaemonStatusResult", "parse", "read_daemon_json"]

COMMAND = "lms daemon status"

_NOT_RUNNING_RE = re.compile(r"^LM Studio is not running\.?$")
_RUNNING_RE = re.compile(
    r"^(?P<name>llmster|LM Studio)(?: v(?P<version>\S+))? is running \(PID: (?P<pid>\d+)\)\.?$"
)


@dataclass(frozen=True)
class DaemonInfo:
    """What a daemon JSON line says: ``{"status", "pid", "isDaemon", "version"}``."""

    running: bool
    pid: int | None
    is_daemon: bool | None
    version: str | None


def read_daemon_json(command: str, lines: list[str]) -> tuple[DaemonInfo, range] | None:
    """The daemon JSON object among ``lines`` and the lines it spans; None without one."""
    found = find_json(lines, command)
    if found is None:
        return None
    value, start, end = found
    status = value.get("status") if isinstance(value, dict) else None
    if status not in ("running", "not-running"):
        raise ParseError(
            command, 'expected {"status": "running"|"not-running", ...}', start + 1, lines[start]
        )
    info = DaemonInfo(
        running=status == "running",
        pid=json_field(value, "pid", int, command, start + 1),
        is_daemon=json_field(value, "isDaemon", bool, command, start + 1),
        version=json_field(value, "version", str, command, start + 1),
    )
    return info, range(start, end)


@dataclass(frozen=True, kw_only=True)
class DaemonStatusResult(Result):
    """Whether LM Studio's daemon (or app) runs, its PID and version."""

    running: bool
    pid: int | None = None
    version: str | None = None
    is_daemon: bool | None = None
    format: str = "text"


def parse(transcript: Transcript) -> DaemonStatusResult:
    """Parse ``lms daemon status`` text or ``--json`` output."""
    lines = clean_lines(transcript.text)
    info: DaemonInfo | None = None
    fmt = "text"
    skip: range = range(0)
    found = read_daemon_json(COMMAND, lines)
    if found is not None:
        info, skip = found
        fmt = "json"
    unknown: list[int] = []
    for i, line in enumerate(lines):
        if i in skip or is_noise(line):
            continue
        level, text = strip_log_prefix(line)
        if level == "warn":
            continue
        s = text.strip()
        if level is None and _NOT_RUNNING_RE.match(s):
            info = DaemonInfo(False, None, None, None)
            continue
        if level is None and (m := _RUNNING_RE.match(s)) is not None:
            info = DaemonInfo(True, int(m["pid"]), m["name"] == "llmster", m["version"])
            continue
        unknown.append(i)
    err = error_or_raise(COMMAND, lines, unknown)
    if info is None:
        if err is None:
            raise ParseError(COMMAND, "no daemon status in the output")
        info = DaemonInfo(False, None, None, None)
    return DaemonStatusResult(
        running=info.running,
        pid=info.pid,
        version=info.version,
        is_daemon=info.is_daemon,
        format=fmt,
        error=err[0] if err else None,
        kind=err[1] if err else None,
    )
