"""Parser of ``ollama --version`` / ``ollama -v`` / ``ollama version``.

Every era (docs/reference/ollama-cli.md §5.2):

* v0.1.0 – v0.1.13: cobra's template ``ollama version 0.1.13`` — the client's own version
  only; the server is not asked, so ``server_version`` and ``server_reachable`` are null.
* v0.1.14+: ``ollama version is 0.5.7`` — the *server's* version (``GET /api/version``);
  ``Warning: client version is 0.9.0`` follows when the CLI's own version differs. Without
  that warning the client has the server's version, so ``client_version`` equals
  ``server_version``.
* server unreachable: ``Warning: could not connect to a running Ollama instance`` then
  ``Warning: client version is X`` → ``server_reachable: false``, ``server_version: null``.

Always exit status 0. Versions are free-form (``0.6.0-rc1``, ``0.0.0``, ``0.1.47-amd``).

Usage::

    from lmsdrive.parsers import parse
    parse("ollama --version", "ollama version is 0.5.7\\n").to_dict()

Schema (``OllamaVersionResult.to_dict()``)::

    {
      "error":            string | null,  # an error report instead of a version
      "kind":             string | null,  # one of ERROR_KINDS
      "server_version":   string | null,  # "0.5.7"; null when unreachable or not asked
      "client_version":   string | null,  # the CLI's own version
      "server_reachable": boolean | null, # false after "could not connect"; null when the
                                          # CLI did not ask (v0.1.0 – v0.1.13)
      "warnings":         [string]        # every "Warning: …" message, prefix removed
    }

Noise skipped on purpose: blank lines; shell prompts and the command line itself
(``$ ollama -v``, ``PS C:\\> ollama --version``) go in the pre-pass (``_session``). Other
``Warning:`` lines are kept in ``warnings``. Any other line is not understood. Empty output
raises ``ParseError`` (the command always prints at least one line).

Example::

    ollama version is 0.7.1
    Warning: client version is 0.8.0

    {"error": null, "kind": null, "server_version": "0.7.1", "client_version": "0.8.0",
     "server_reachable": true, "warnings": ["client version is 0.8.0"]}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .._text import clean_lines
from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._policy import not_understood
from .ollama_error import read_error, warning_message

__all__ = ["OllamaVersionResult", "parse"]

COMMAND = "ollama --version"

_VERSION = r"v?(?P<v>[0-9A-Za-z][0-9A-Za-z.+_~-]*)"
_SERVER_RE = re.compile(rf"^\s*ollama version is {_VERSION}\s*$", re.I)
_OLD_RE = re.compile(rf"^\s*ollama version (?!is\b){_VERSION}\s*$", re.I)
_CLIENT_RE = re.compile(rf"^client version is {_VERSION}$", re.I)
_NO_SERVER_RE = re.compile(r"could not connect to a running Ollama instance", re.I)


@dataclass(frozen=True, kw_only=True)
class OllamaVersionResult(Result):
    """Server and client versions reported by ``ollama --version``."""

    server_version: str | None = None
    client_version: str | None = None
    server_reachable: bool | None = None
    warnings: list[str] = field(default_factory=list)


def parse(transcript: Transcript) -> OllamaVersionResult:
    """The versions of an ``ollama --version`` output."""
    lines = clean_lines(transcript.text)
    server: str | None = None
    client: str | None = None
    old: str | None = None
    unreachable = False
    warnings: list[str] = []
    error = None
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        m = _SERVER_RE.match(line)
        if m:
            server = m.group("v")
            continue
        m = _OLD_RE.match(line)
        if m:
            old = m.group("v")
            continue
        warning = warning_message(line)
        if warning is not None:
            warnings.append(warning)
            wm = _CLIENT_RE.match(warning)
            if wm:
                client = wm.group("v")
            elif _NO_SERVER_RE.search(warning):
                unreachable = True
            continue
        found = read_error(lines, i - 1)
        if found is not None:
            error = error or found[0]
            i = found[1]
            continue
        not_understood(COMMAND, "not a version line", i, line)
    if server is None and client is None and old is None and not unreachable and error is None:
        raise ParseError(COMMAND, "no version in the output")
    reachable: bool | None
    if unreachable:
        reachable = False
    elif server is not None:
        reachable = True
    else:
        reachable = None
    if client is None:
        client = old if old is not None else server
    return OllamaVersionResult(
        error=error.error if error else None,
        kind=error.kind if error else None,
        server_version=server,
        client_version=client,
        server_reachable=reachable,
        warnings=warnings,
    )
