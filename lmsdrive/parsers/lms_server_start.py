"""``lms server start [-p N] [--cors] [--bind ADDR]`` (docs/reference/lms-cli.md §4.2), every era.

Usage::

    from lmsdrive.parsers import parse
    parse("lms server start", "Success! Server is now running on port 1234\\n").to_dict()

Lines read (all on stderr; ``I``/``W``/``E``/``D``/``Error: `` prefixes stripped):

* E0/E1: ``Attempting to start the server on port N...``, ``Launching LM Studio
  minimized...`` (→ ``launched_app``), ``Requested the server to be started on port N.``,
  ``Verifying the server is running...``, readiness ``Verification succeeded. The server is
  running on port N.``; first-run prompt ``About to Launch LM Studio`` / ``Type "OK" to
  acknowledge:``; auto-start ``LM Studio is not running in server mode. Starting the
  server...`` / ``Successfully started the server and verified it is running.``;
* E2+: ``Starting server...``, ``Waking up LM Studio service...`` (→ ``woke_service``),
  readiness ``Success! Server is now running on port N``; warnings ``CORS is enabled…``
  (→ ``cors``), ``Server will accept connections from the network…`` (→ ``network``);
* ``--verbose`` debug lines: ``Read from last status: port=N`` and the E0/E1 lines above
  give the port; other debug lines are skipped;
* failures → ``running: false``, ``error``, ``kind``: ``Failed to verify the server is
  running. Please try to use another port.`` (bind_failed), ``Failed to start the server on
  port N`` (bind_failed), ``Failed to start LM Studio service…`` / ``LM Studio is not
  running…`` / cannot connect (server_not_running), ``ENOENT …http-server-config.json``
  (lms#314) and any other error report.

A pasted terminal session is reduced to this command's output by the pre-pass every parser
gets (``_session``): a later command's output is not read here.

JSON Schema::

    {
      "running":       boolean|null   # true: readiness line seen; false: failed;
                                      # null: output ends before either (complete false)
      "port":          integer|null
      "complete":      boolean        # a readiness line or an error report ends the output
      "launched_app":  boolean        # E0: LM Studio was launched (minimized)
      "woke_service":  boolean        # E2+: the headless LM Studio service was woken
      "cors":          boolean        # the CORS warning was printed
      "network":       boolean        # the "accept connections from the network" warning
      "warnings":      [string]
      "second_command": null          # kept for the schema; a paste's other commands are
                                      # split off by the pre-pass (always null)
      "exit_code":     integer|null   # the transcript's exit code when recorded
      "error", "kind": string|null
    }

Noise skipped: blank lines, debug lines other than those above, ``Verifying the server is
running...``, ``Starting server...``, first-run acknowledgement prompts. Empty output raises
ParseError (``--quiet`` prints nothing; the exit code alone then tells).

Example::

    Waking up LM Studio service...
    Success! Server is now running on port 1234

    {"running": true, "port": 1234, "complete": true, "woke_service": true, ...}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .._text import clean_lines
from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._lms import error_or_raise
from .lms_error import classify, strip_log_prefix

COMMAND = "lms server start"

_PORT_LINES = (
    re.compile(r"^Attempting to start the server on port (?P<port>\d+)"),
    re.compile(r"^Requested the server to be started on port (?P<port>\d+)"),
    re.compile(r"^Read from last status: port=(?P<port>\d+)"),
)
_READY = (
    re.compile(r"^Success! Server is now running on port (?P<port>\d+)"),
    re.compile(r"^Verification succeeded\. The server is running on port (?P<port>\d+)"),
    re.compile(r"^Successfully started the server and verified it is running"),
)
_FAILURES = (
    re.compile(r"^Failed to verify the server is running\b.*"),
    re.compile(r"^Failed to start the server on port (?P<port>\d+)\b.*"),
    re.compile(r"^Failed to start LM Studio service\b.*"),
    re.compile(r"^LM Studio is not running\. Please start LM Studio\b.*"),
)
_LAUNCH_RE = re.compile(r"^Launching LM Studio\b")
_WAKING_RE = re.compile(r"^Waking up LM Studio(?: service)?\.\.\.")
_CORS_RE = re.compile(r"^CORS is enabled\b")
_NETWORK_RE = re.compile(r"^Server will accept connections from the network\b")
_PROGRESS_RE = re.compile(
    r"^(?:Starting server\.\.\.|Verifying the server is running\.\.\.|About to Launch LM Studio"
    r"|Type \"OK\" to acknowledge:?.*|LM Studio is not running in server mode\. Starting the"
    r" server\.\.\.)\s*$"
)


@dataclass(frozen=True, kw_only=True)
class ServerStartResult(Result):
    """The outcome of ``lms server start``."""

    running: bool | None = None
    port: int | None = None
    complete: bool = False
    launched_app: bool = False
    woke_service: bool = False
    cors: bool = False
    network: bool = False
    warnings: list[str] = field(default_factory=list)
    second_command: None = None
    exit_code: int | None = None


def parse(transcript: Transcript) -> ServerStartResult:
    """Parse ``lms server start`` output."""
    lines = clean_lines(transcript.text)
    st: dict[str, Any] = {
        "running": None, "port": None, "complete": False, "launched_app": False,
        "woke_service": False, "cors": False, "network": False,
    }  # fmt: skip
    warnings: list[str] = []
    failure: tuple[str, str] | None = None
    unknown: list[int] = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        level, text = strip_log_prefix(line)
        s = text.strip()
        if _WAKING_RE.match(s):
            st["woke_service"] = True
            continue
        if _LAUNCH_RE.match(s):
            st["launched_app"] = True
            continue
        if _PROGRESS_RE.match(s):
            continue
        m = next((m for p in _PORT_LINES if (m := p.match(s))), None)
        if m:
            st["port"] = int(m.group("port"))
            continue
        m = next((m for p in _READY if (m := p.match(s))), None)
        if m:
            st["running"], st["complete"] = True, True
            if m.groupdict().get("port"):
                st["port"] = int(m.group("port"))
            continue
        m = next((m for p in _FAILURES if (m := p.match(s))), None)
        if m:
            st["running"], st["complete"] = False, True
            if m.groupdict().get("port"):
                st["port"] = int(m.group("port"))
            kind = classify(s)
            failure = (s, "server_not_running" if kind == "unknown" else kind)
            continue
        if level in ("debug", "info"):
            continue
        if level == "warn":
            warnings.append(s)
            st["cors"] = st["cors"] or bool(_CORS_RE.match(s))
            st["network"] = st["network"] or bool(_NETWORK_RE.match(s))
            continue
        unknown.append(i)
    if not any(line.strip() for line in lines):
        raise ParseError(COMMAND, "empty output: nothing tells whether the server started")
    err = error_or_raise(COMMAND, lines, unknown) or failure
    if err is not None and failure is None:
        st["running"], st["complete"] = False, True
    return ServerStartResult(
        **st,
        warnings=warnings,
        exit_code=transcript.exit_code,
        error=err[0] if err else None,
        kind=err[1] if err else None,
    )
