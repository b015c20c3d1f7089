"""``lms unload [identifier] [--all]`` (docs/reference/lms-cli.md §6.2).

Usage::

    from lmsdrive.parsers import parse
    parse("lms unload", 'Model "qwen/qwen3-8b" unloaded.\\n').to_dict()

Lines read:

* ``Model "<id>" unloaded.`` → ``outcome: "unloaded"``;
* ``--all``: ``Unloading "<id>"...`` per model, then ``Unloaded N models.`` /
  ``Unloaded 1 model.``; ``No models to unload.`` → ``outcome: "nothing_loaded"``;
* nothing loaded (no argument): ``You don't have any models loaded. Use "lms load" to load a
  model.`` (exit 1; E0 hint ``lms load --gpu max``) → ``outcome: "nothing_loaded"``;
* unknown identifier: titled ``Model Not Found`` / ``Cannot find a model with the identifier
  "<id>".`` (exit 0) → ``outcome: "not_found"``, ``kind: "model_not_found"``;
* the interactive picker (no argument, several models loaded): ``! To unload all models,
  use the --all flag.``, ``! Use the arrow keys…`` (E2), ``? Select a model to unload``
  then one choice per line (``❯`` marks the cursor) → ``interactive: true``, ``choices``;
  an answered picker (``? Select a model to unload <id>``) records ``selected``.

JSON Schema::

    {
      "outcome":     "unloaded"|"nothing_loaded"|"not_found"|null  # null: picker not answered
      "identifiers": [string]      # the unloaded (or not found) identifiers
      "count":       integer|null  # N of "Unloaded N models."
      "interactive": boolean       # the picker was shown
      "choices":     [string]      # the picker's entries, in order
      "cursor":      string|null   # the entry under the ❯ cursor
      "selected":    string|null   # the answered entry
      "error", "kind": string|null
    }

Noise skipped: blank lines, ``D``/``I`` log lines, ``Waking up LM Studio service...``, the
picker's ``!`` hint lines. Empty output raises ParseError.

Example::

    Model "mistralai/ministral-3-3b" unloaded.

    {"outcome": "unloaded", "identifiers": ["mistralai/ministral-3-3b"], "count": null,
     "interactive": false, "choices": [], ...}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .._text import clean_lines
from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._lines import LineTemplate
from ._lms import error_or_raise, is_noise
from .lms_error import strip_log_prefix

COMMAND = "lms unload"

_UNLOADED = LineTemplate('Model "{id}" unloaded')
_UNLOADING = LineTemplate('Unloading "{id}"..')  # "..." : the template's own period is optional
_COUNT = (LineTemplate("Unloaded {n:d} models"), LineTemplate("Unloaded {n:d} model"))
_NONE_RE = re.compile(r"^(?:No models to unload\.?|You don't have any models loaded\b.*)\s*$")
_HINT_RE = re.compile(r"^!\s+.*$")
_PICKER_RE = re.compile(r"^\?\s*Select a model to unload\b\s*(?P<rest>.*?)\s*$")
_CHOICE_RE = re.compile(r"^(?P<cursor>[❯>›])?\s*(?P<id>\S+)\s*$")
_NOT_FOUND_ID_RE = re.compile(r'identifier "(?P<id>[^"]+)"')


@dataclass(frozen=True, kw_only=True)
class UnloadResult(Result):
    """The outcome of ``lms unload``."""

    outcome: str | None = None
    identifiers: list[str] = field(default_factory=list)
    count: int | None = None
    interactive: bool = False
    choices: list[str] = field(default_factory=list)
    cursor: str | None = None
    selected: str | None = None


def parse(transcript: Transcript) -> UnloadResult:
    """Parse ``lms unload`` output."""
    lines = clean_lines(transcript.text)
    outcome: str | None = None
    ids: list[str] = []
    count: int | None = None
    interactive = False
    choices: list[str] = []
    cursor = selected = None
    in_picker = False
    unknown: list[int] = []
    for i, line in enumerate(lines):
        if is_noise(line):
            continue
        level, text = strip_log_prefix(line)
        s = text.strip()
        if (fields := _UNLOADED.match(s)) is not None:
            outcome, in_picker = "unloaded", False
            if fields["id"] not in ids:
                ids.append(fields["id"])
            continue
        if (fields := _UNLOADING.match(s)) is not None:
            ids.append(fields["id"])
            continue
        if (fields := _COUNT[0].match(s) or _COUNT[1].match(s)) is not None:
            outcome, count = "unloaded", fields["n"]
            continue
        if _NONE_RE.match(s):
            outcome = "nothing_loaded"
            continue
        if _HINT_RE.match(s):
            interactive = True
            continue
        if (m := _PICKER_RE.match(s)) is not None:
            interactive, in_picker = True, True
            rest = m.group("rest")
            if rest and not rest.startswith(("|", "(")) and " " not in rest:
                selected, in_picker = rest, False
            continue
        if in_picker and level is None and (m := _CHOICE_RE.match(s)) is not None:
            choices.append(m.group("id"))
            if m.group("cursor"):
                cursor = m.group("id")
            continue
        unknown.append(i)
    err = error_or_raise(COMMAND, lines, unknown)
    if err is not None and err[1] == "model_not_found":
        outcome = "not_found"
        m = _NOT_FOUND_ID_RE.search(err[0])
        if m and m.group("id") not in ids:
            ids.append(m.group("id"))
    if outcome is None and not interactive and err is None:
        raise ParseError(COMMAND, "no outcome of lms unload in the output")
    return UnloadResult(
        outcome=outcome,
        identifiers=ids,
        count=count,
        interactive=interactive,
        choices=choices,
        cursor=cursor,
        selected=selected,
        error=err[0] if err else None,
        kind=err[1] if err else None,
    )
