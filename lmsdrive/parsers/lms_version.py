"""``lms version`` (also ``lms -v``, ``lms --version``, bare ``lms``) and
``lms version --json`` (docs/reference/lms-cli.md §6.3).

Usage::

    from lmsdrive.parsers import parse
    parse("lms -v", "CLI commit: ac18535\\n").to_dict()

Forms read:

* ASCII logo (4 lines, always coloured) + ``lms - LM Studio CLI - v0.0.28`` (2024–Nov 2025;
  E0 printed the LM Studio version, ``v0.2.22``) + ``GitHub: <url>``;
* ``lms is LM Studio's CLI utility for your models, server, and inference runtime.`` with
  ``(v0.0.47)`` appended (Nov 2025 – Jan 2026) and/or ``CLI commit: <hash>`` (2026);
* bare ``0.0.47`` (``lms -v``, Nov–Dec 2025), bare ``CLI commit: ac18535`` (2026);
* ``{"version": "0.0.47"}`` / ``{"version": "<hash>"}`` (``--json``).

JSON Schema::

    {
      "semver":     string|null   # "0.0.28" (the lms CLI's own counter, or E0's LM Studio
                                  #  version), without the "v"
      "cli_commit": string|null   # "ac18535"
      "format":     "semver"|"commit"   # which kind of version the output gives
      "layout":     "logo"|"tagline"|"bare"|"json"  # how it was printed
      "github":     string|null   # the GitHub line's URL
      "error", "kind": string|null
    }

Noise skipped: the logo lines, blank lines, and the help text that follows the version in
bare ``lms`` (``Usage``, subcommand lists, ``Docs:``/``Discord:``/``Contribute:`` links;
everything after the version information). Empty output raises ParseError.

Example::

    lms - LM Studio CLI - v0.0.28
    GitHub: https://github.com/lmstudio-ai/lmstudio-cli

    {"semver": "0.0.28", "cli_commit": null, "format": "semver", "layout": "logo", ...}
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .._text import clean_lines
from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._json import find_json
from ._lms import error_or_raise, is_noise

COMMAND = "lms version"

_SEMVER = r"\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?"
_CLASSIC_RE = re.compile(rf"^lms - LM Studio CLI - v(?P<v>{_SEMVER})\s*$")
_TAGLINE_RE = re.compile(rf"^lms is LM Studio's CLI utility\b.*?(?:\(v(?P<v>{_SEMVER})\))?\s*$")
_COMMIT_RE = re.compile(r"^CLI commit:?\s*(?P<c>[0-9a-f]{6,40})\s*$")
_BARE_RE = re.compile(rf"^v?(?P<v>{_SEMVER})\s*$")
_GITHUB_RE = re.compile(r"^GitHub:\s*(?P<url>\S+)\s*$")
_LOGO_RE = re.compile(r"^[\s_/\\|()',.`<>-]+$")
_HASH_RE = re.compile(r"^[0-9a-f]{6,40}$")


@dataclass(frozen=True, kw_only=True)
class VersionResult(Result):
    """The ``lms`` CLI's version."""

    semver: str | None = None
    cli_commit: str | None = None
    format: str | None = None
    layout: str | None = None
    github: str | None = None


def parse(transcript: Transcript) -> VersionResult:
    """Parse ``lms version`` / ``lms -v`` / bare ``lms`` / ``--json`` output."""
    lines = clean_lines(transcript.text)
    found = find_json(lines, COMMAND)
    if found is not None:
        value, start, _ = found
        v = value.get("version") if isinstance(value, dict) else None
        if not isinstance(v, str):
            raise ParseError(COMMAND, 'expected {"version": string}', start + 1, lines[start])
        if _HASH_RE.match(v) and not _BARE_RE.match(v):
            return VersionResult(cli_commit=v, format="commit", layout="json")
        return VersionResult(semver=v.lstrip("v"), format="semver", layout="json")
    semver = commit = github = layout = None
    logo = False
    unknown: list[int] = []
    for i, line in enumerate(lines):
        if is_noise(line):
            continue
        s = line.strip()
        if (m := _CLASSIC_RE.match(s)) is not None:
            semver, layout = m.group("v"), "logo"
            continue
        if (m := _TAGLINE_RE.match(s)) is not None:
            semver = m.group("v") or semver
            layout = "tagline"
            continue
        if (m := _COMMIT_RE.match(s)) is not None:
            commit = m.group("c")
            layout = layout or "bare"
            continue
        if (m := _GITHUB_RE.match(s)) is not None:
            github = m.group("url")
            continue
        if semver is None and commit is None:
            if (m := _BARE_RE.match(s)) is not None:
                semver, layout = m.group("v"), "bare"
                continue
            if _LOGO_RE.match(line):
                logo = True
                continue
            unknown.append(i)
        # after the version: help text and links (documented noise)
    err = error_or_raise(COMMAND, lines, unknown)
    if semver is None and commit is None:
        if err is None:
            raise ParseError(COMMAND, "no lms version in the output")
        return VersionResult(error=err[0], kind=err[1])
    if layout == "bare" and logo:
        layout = "logo"
    return VersionResult(
        semver=semver,
        cli_commit=commit,
        format="commit" if commit is not None and semver is None else "semver",
        layout=layout,
        github=github,
        error=err[0] if err else None,
        kind=err[1] if err else None,
    )
