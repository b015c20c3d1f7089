"""``lms daemon down``: stop LM Studio's headless daemon (llmster) (reference
docs/reference/runtimes-2026.md §1.4; lms PR #388, 2025-12-02, onwards; there is no ``--json``).

Usage::

    from lmsdrive.parsers import parse
    parse("lms daemon down", "Shutting down llmster...\\nDone.\\n").to_dict()

Lines read (all on stderr, info lines without a prefix):

* ``Shutting down llmster...`` then ``Done.`` (exit 0) → ``outcome: "stopped"``;
* ``Daemon is not running.`` (exit 1) → ``outcome: "not_running"``, ``kind:
  "server_not_running"``;
* ``The daemon is currently running as part of LM Studio. Please exit LM Studio to stop it.``
  (exit 1: the GUI app runs it) → ``outcome: "refused"``.

``message`` is the deciding line as printed. Any other lms error report fills
``error``/``kind`` with ``outcome: null``.

JSON Schema::

    {
      "outcome": "stopped"|"not_running"|"refused"|null   # null: another error (see error)
      "message": string|null    # "Done.", "Daemon is not running.", the refusal
      "error", "kind": string|null   # set for not_running, refused and other errors
    }

Noise skipped: blank lines, ``W`` warnings, ``D``/``I`` log lines, ``Waking up LM Studio
service...``. Empty output raises ParseError (``--quiet`` prints nothing: nothing to read).

Example::

    Shutting down llmster...
    Done.

    {"outcome": "stopped", "message": "Done.", "error": null, "kind": null}
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .._text import clean_lines
from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._lms import error_or_raise, is_noise
from .lms_error import strip_log_prefix

__all__ = ["DaemonDownResult", "parse"]

COMMAND = "lms daemon down"

_SHUTTING_RE = re.compile(r"^Shutting down (?:llmster|the daemon|LM Studio)\.*$")
_DONE_RE = re.compile(r"^Done\.?$")
_NOT_RUNNING_RE = re.compile(r"^Daemon is not running\.?$")
_REFUSED_RE = re.compile(r"^The daemon is currently running as part of LM Studio\b.*$")


@dataclass(frozen=True, kw_only=True)
class DaemonDownResult(Result):
    """The outcome of ``lms daemon down``."""

    outcome: str | None = None
    message: str | None = None


def parse(transcript: Transcript) -> DaemonDownResult:
    """Parse ``lms daemon down`` output."""
    lines = clean_lines(transcript.text)
    outcome: str | None = None
    message: str | None = None
    shutting = False
    own: tuple[str, str] | None = None
    unknown: list[int] = []
    for i, line in enumerate(lines):
        if is_noise(line):
            continue
        level, text = strip_log_prefix(line)
        if level == "warn":
            continue
        s = text.strip()
        if _SHUTTING_RE.match(s):
            shutting, message = True, s
            continue
        if shutting and _DONE_RE.match(s):
            outcome, message = "stopped", s
            continue
        if _NOT_RUNNING_RE.match(s):
            outcome, message, own = "not_running", s, (s, "server_not_running")
            continue
        if _REFUSED_RE.match(s):
            outcome, message, own = "refused", s, (s, "unknown")
            continue
        unknown.append(i)
    err = error_or_raise(COMMAND, lines, unknown)
    if err is not None:
        outcome = None
    err = err or own
    if outcome is None and err is None:
        raise ParseError(COMMAND, "no outcome of lms daemon down in the output")
    return DaemonDownResult(
        outcome=outcome,
        message=message,
        error=err[0] if err else None,
        kind=err[1] if err else None,
    )
