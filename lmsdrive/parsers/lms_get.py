"""``lms get``: download a model from the LM Studio Hub or Hugging Face, streamed.

Reads every era of docs/reference/lms-cli.md §5: the Hugging Face search flow (Oct 2024 – Mar
2026: ``Searching for models with the term X``, pickers, ``Based on your hardware, choosing
the recommended option: <file> [Q4_K_M] (4.92 GB)``, ``Downloading <file> [Q] (size)``), the
Hub-artifact plan tree (Apr 2025+, and the unified planner since Apr 2026: ``↓ To download:
<type> <name> - <size>``, ``✓ Satisfied <name>``, ``⧗ <name> - Pending...``, branches
``├─ └─ │``), the footers ``About to download <size>.`` / ``Resolution completed.
Downloading <size>...``, prompts (``Continue? (Y/N):``, ``? Start download?``), the progress
bar (§5.4; every frame, also when a captured stdout holds them all on one line joined by
``\\r`` and ``ESC[s``/``ESC[u``/``ESC[2K``/``ESC[?25l``), ``Finalizing download...``,
``Download completed.`` (+ load hint), ``You already have this model...``, ``Model already
downloaded. To use, run: lms load X``, ``Everything is already downloaded``, and errors.

Usage::

    from lmsdrive.parsers import lms_get
    result = lms_get.parse(transcript)          # whole output
    for event in lms_get.stream(chunks):        # live: Progress events as frames complete
        ...

``stream`` yields :class:`~lmsdrive.parsers._base.Progress` events and *returns* (generator
return value) the final :class:`LmsGetResult`. Phases: ``manifest`` (resolving the plan),
``downloading`` (one event per bar frame: ``item`` file, ``completed``/``total`` bytes,
``percent`` of the bar, ``overall_percent`` never going backwards, ``speed``, ``eta``),
``writing`` (``Finalizing download...``), ``done`` (completed or already there), ``error``.

JSON Schema::

    {
      "outcome": string,    # downloaded | already_downloaded | awaiting_confirmation |
                            # awaiting_selection | downloading (stream ended mid-download) |
                            # finalizing | resolving | already_in_progress | background |
                            # cancelled | error | no_output (nothing printed)
      "search_term": string|null,   # term of "Searching ... with the term X"
      "artifact": string|null,      # root of the plan tree (hub artifact / model, without
                                    # its type word), else the chosen file (HF flow)
      "file": string|null,          # "Downloading <file> [Q] (size)" / recommended option
      "quantization": string|null,  # its [Q]
      "download_size_bytes": integer|null,  # footer, "Downloading" line or bar total
      "download_size_text": string|null,    # as printed ("171.39 KB")
      "satisfied": [string],        # plan nodes "✓ Satisfied <name>", first-seen order
      "to_download": [string],      # plan nodes "↓ To download: <type> <name>" (no size)
      "plan": [{"state": "satisfied"|"to_download"|"pending"|"resolving",
                "name": string, "type": string|null, "size_text": string|null,
                "size_bytes": integer|null, "depth": integer}],  # latest state per node
      "percentages": [number],      # the bar's percent values as shown, strictly increasing
                                    # (redraws at the same percent collapse); [] without bar
      "last_percent": number|null,
      "completed_bytes": integer|null, "total_bytes": integer|null,  # last bar frame
      "load_hint_identifier": string|null,  # "lms load <id>" of the final hint
      "warnings": [string],         # W lines and interactive notices
      "exit_code": integer|null,
      "error": string|null, "kind": string|null
    }

Noise skipped on purpose: blank lines and redraws, spinner lines ``⠋ Resolving download
plan... (<size>)`` and ``Finding options based on your system... (k/n)`` (phase events
only), picker hints and entries (``! Use the arrow keys…``, lines under a ``? …`` prompt
that start with a pointer or indentation, ``(Use arrow keys)``), ``No exact match found…``,
``Multiple models found. Automatically selecting…`` / ``Multiple staff picks found.
Automatically selecting the first one due to --yes.`` (``lms get <term> --yes``), the
picker footer ``↑↓ navigate • ⏎ select``, ``Invalid selection. Please enter Y
or N.``, ``If you wish to download a variant, run: …``, ``Exiting because of the --yes
flag.``, option lists after an error (``- <file> [Q] (size)``), ``Waking up LM Studio
service...``, ``D`` debug lines. A line none of this explains raises ParseError, unless the
output holds an lms error report (found with :func:`lms_error.find_error`); its hint lines
then belong to the report.

Empty output: ``outcome`` ``no_output`` (``--quiet`` with nothing to transfer prints nothing).

Example::

    $ lms get mistralai/ministral-3-3b
       ✓ Satisfied mistralai/ministral-3-3b
       └─ ✓ Satisfied Ministral 3 3B Instruct 2512 Q4_K_M [GGUF]

    {"outcome": "already_downloaded", "artifact": "mistralai/ministral-3-3b",
     "satisfied": ["mistralai/ministral-3-3b", "Ministral 3 3B Instruct 2512 Q4_K_M [GGUF]"],
     "to_download": [], "percentages": [], ...}
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field

from .._text import SIZE_PATTERN, parse_size
from ..errors import ParseError
from ..transcript import Transcript
from ._base import Progress, Result
from ._lms_stream import (
    PROMPT_RE,
    SPINNER,
    Bar,
    Frame,
    FrameReader,
)
from ._stream import drive, read_all

__all__ = ["GetReader", "LmsGetResult", "PlanNode", "parse", "stream"]

COMMAND = "lms get"


@dataclass(frozen=True, kw_only=True)
class PlanNode:
    """A node of the download-plan tree, in its latest drawn state."""

    state: str
    name: str
    type: str | None = None
    size_text: str | None = None
    size_bytes: int | None = None
    depth: int = 0


@dataclass(frozen=True, kw_only=True)
class LmsGetResult(Result):
    """What ``lms get`` printed (see the module docstring for every field)."""

    outcome: str
    search_term: str | None = None
    artifact: str | None = None
    file: str | None = None
    quantization: str | None = None
    download_size_bytes: int | None = None
    download_size_text: str | None = None
    satisfied: list[str] = field(default_factory=list)
    to_download: list[str] = field(default_factory=list)
    plan: list[PlanNode] = field(default_factory=list)
    percentages: list[float] = field(default_factory=list)
    last_percent: float | None = None
    completed_bytes: int | None = None
    total_bytes: int | None = None
    load_hint_identifier: str | None = None
    warnings: list[str] = field(default_factory=list)
    exit_code: int | None = None


_S = f"[{SPINNER}]"
_TREE_RE = re.compile(r"^(?P<indent>[\s├└│─┬┼╰╭]*?)(?P<node>(?:✓|↓|🡇|⧗|" + _S + r")\s.*)$")
_SATISFIED_RE = re.compile(r"^✓\s+Satisfied\s+(?P<name>.+)$")
_TO_DOWNLOAD_RE = re.compile(
    rf"^[↓🡇]\s+To download:\s+(?P<what>.+?)(?:\s+-\s+(?P<size>{SIZE_PATTERN}))?$"
)
_PENDING_RE = re.compile(r"^⧗\s+(?P<name>.+?)\s+-\s+Pending\.*$")
_RESOLVING_NODE_RE = re.compile(rf"^{_S}\s+(?P<name>.+?)\s+-\s+Resolving\.*$")
_PLAN_SPINNER_RE = re.compile(
    rf"^{_S}?\s*(?P<msg>Resolving download plan\.*(?:\s*\((?P<size>{SIZE_PATTERN})\))?"
    r"|Finding options based on your system\.*(?:\s*\(\d+/\d+\))?)$"
)
_SEARCH_RE = re.compile(
    r"^Searching (?:for models|staff picks|for staff picks) with the term (?P<term>.+?)\s*$"
)
_RECOMMENDED_RE = re.compile(
    r"^Based on your hardware, choosing the recommended option:\s+(?P<file>.+?)"
    rf"(?:\s+\[(?P<q>[^\]]+)\])?(?:\s+\((?P<size>{SIZE_PATTERN})\))?$"
)
_DOWNLOADING_RE = re.compile(
    rf"^Downloading\s+(?P<file>.+?)(?:\s+\[(?P<q>[^\]]+)\])?\s+\((?P<size>{SIZE_PATTERN})\)\.*$"
)
_ABOUT_RE = re.compile(rf"^About to download (?P<size>{SIZE_PATTERN})\.?$")
_RESOLUTION_RE = re.compile(rf"^Resolution completed\. Downloading (?P<size>{SIZE_PATTERN})\.*$")
_CONTINUE_RE = re.compile(r"^Continue\? \(Y/N\):\s*(?P<a>\S*)$", re.IGNORECASE)
_BACKGROUND_Q_RE = re.compile(
    r"^Continue to download in the background\? \(Y/N\):\s*(?P<a>\S*)$", re.IGNORECASE
)
_COMPLETED_RE = re.compile(r"^Download completed\.(?P<rest>.*)$")
_ALREADY_RE = re.compile(
    r"^(?:You already have this model\.(?P<rest>.*)"
    r"|Model already downloaded\.(?:\s*To use, run:\s*lms load\s+(?P<id>\S+))?\.?"
    r"|Everything is already downloaded\.?)$"
)
_HINT_RE = re.compile(r"^\s*lms load\s+(?P<id>\S+)\s*$")
_CONFIRM_Q_RE = re.compile(
    r"^(?:Start download|Follow the download)\?(?:\s+(?P<a>Yes|No|Change variant selection))?$"
)
_CANCELLED_RE = re.compile(r"^Download cancell?ed\.?$", re.IGNORECASE)
_NOISE_RE = re.compile(
    r"^(?:No exact match found\..*"
    r"|Multiple (?:models|staff picks) found\. Automatically selecting.*"
    r"|Invalid selection\. Please enter Y or N\.?"
    r"|If you wish to download a variant, run:.*"
    r"|Exiting because of the --yes flag\.?"
    r"|Waking up LM Studio(?: service)?\.\.\."
    r"|! .*"
    r"|\(Use arrow keys.*|\(Move up and down.*|↑↓ navigate\b.*)$"
)
_NOTICE_RE = re.compile(
    r"^(?:Cannot find a download option with quantization .*"
    r"|Cannot find variant .+, please select one from below\.?)$"
)
_KNOWN_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^No (?:models|staff picks) found with the specified search criteria\.?$"),
        "model_not_found",
    ),
    (
        re.compile(r"^No compatible download options available for this model\.?$"),
        "model_not_found",
    ),
    (re.compile(r"^Cannot find variant .+\.$"), "model_not_found"),
    (re.compile(r"^You have specified a quantization that does not exist\..*$"), "model_not_found"),
    (re.compile(r"^You cannot use the --yes flag with .*$"), "usage"),
)
_OPTION_RE = re.compile(r"^-\s+\S.*$")
_TYPE_WORD_RE = re.compile(r"^[a-z][a-z_-]*$")


class GetReader(FrameReader[LmsGetResult]):
    """Incremental ``lms get`` reader: :meth:`feed` chunks, :meth:`close`, then :meth:`result`."""

    def __init__(self, exit_code: int | None = None) -> None:
        super().__init__(COMMAND)
        self._exit_code = exit_code
        self.search_term: str | None = None
        self.file: str | None = None
        self.quantization: str | None = None
        self.size_text: str | None = None
        self.plan: dict[str, PlanNode] = {}
        self.root: str | None = None
        self.last_percent: float | None = None
        self.completed: int | None = None
        self.total: int | None = None
        self.hint: str | None = None
        self._state: str | None = None  # final states: downloaded, already_downloaded, …
        self._after_error = False
        self._finalizing = False
        self._in_progress = False
        self._resolving = False
        self._footer = False
        #: ``Searching for models with the term X``: the Hugging Face search of an lms before
        #: Apr 2026, which downloads an exact match without asking first.
        self.searched_hf = False

    @property
    def asking(self) -> str | None:
        """Mid-stream: what lms waits on or is about to ask (``awaiting_confirmation``: a
        question, or the footer ``About to download <size>.`` that comes before it;
        ``awaiting_selection``: a picker), else ``None``."""
        if self._prompt is None and self._footer and not self._in_progress:
            return "awaiting_confirmation"
        return self._prompt

    # -- one frame -----------------------------------------------------------------------
    def _own(self, text: str, msg: str) -> list[Progress] | None:
        tree = _TREE_RE.match(text)
        if tree is None or not self._tree(tree.group("node"), tree.group("indent")):
            return None
        if self._resolving_event():
            return [Progress(phase="manifest", item=self.root, message="Resolving download plan")]
        return []

    def _resolving_event(self) -> bool:
        return any(n.state in ("pending", "resolving") for n in self.plan.values())

    def _bar(self, bar: Bar) -> Progress:
        self._in_progress = True
        self._prompt = None
        self._picker = False
        pct = bar.percent
        if pct is not None:
            self.last_percent = pct
        self._track(pct)
        if bar.completed is not None:
            self.completed = bar.completed
        if bar.total is not None:
            self.total = bar.total
        return Progress(
            phase="downloading",
            item=self.file or self.root,
            completed=bar.completed,
            total=bar.total,
            percent=pct,
            overall_percent=self.overall,
            speed_bytes_per_s=bar.speed_bytes_per_s,
            speed=bar.speed,
            eta=bar.eta,
            message=bar.extra,
        )

    def _tree(self, node: str, indent: str) -> bool:
        depth = sum(indent.count(c) for c in "├└│")  # approximate below a last child
        if m := _SATISFIED_RE.match(node):
            self._node(PlanNode(state="satisfied", name=m.group("name").strip(), depth=depth))
        elif m := _TO_DOWNLOAD_RE.match(node):
            what = m.group("what").strip()
            type_, _, name = what.partition(" ")
            if not name or not _TYPE_WORD_RE.match(type_):  # "model x/y" vs "Gemma 3 1B …"
                type_, name = "", what
            size = m.group("size")
            self._node(
                PlanNode(
                    state="to_download",
                    name=what,
                    type=type_ or None,
                    size_text=size,
                    size_bytes=parse_size(size),
                    depth=depth,
                ),
                artifact=name,
            )
        elif m := _PENDING_RE.match(node):
            self._node(PlanNode(state="pending", name=m.group("name").strip(), depth=depth))
        elif m := _RESOLVING_NODE_RE.match(node):
            self._node(PlanNode(state="resolving", name=m.group("name").strip(), depth=depth))
        elif m := _PLAN_SPINNER_RE.match(node):
            self._resolving = True
            if m.group("size") and self.size_text is None:
                self.size_text = m.group("size")
        else:
            return False
        self._prompt = None
        return True

    def _node(self, node: PlanNode, artifact: str | None = None) -> None:
        key = artifact or node.name
        # a node drawn earlier as pending/resolving under its bare name is the same node
        for old_key in (key, node.name):
            if old_key in self.plan:
                del self.plan[old_key]
        self.plan[key] = node
        if node.depth == 0 and (self.root is None or node.state in ("satisfied", "to_download")):
            self.root = key
        if len(self.plan) > 10_000:
            raise ParseError(COMMAND, "download plan larger than 10000 nodes")

    def _message(self, level: str | None, msg: str, frame: Frame) -> Progress | None:
        if level == "warn":
            if _CANCELLED_RE.match(msg):
                self._state = "cancelled"
                self.error, self.kind = msg, "pull_failed"
                return Progress(phase="error", message=msg)
            self.warnings.append(msg)
            return None
        for rx, kind in _KNOWN_ERRORS:
            if rx.match(msg):
                if self.error is None:
                    self.error, self.kind = msg, kind
                self._after_error = True
                return Progress(phase="error", message=msg)
        if level == "error":
            self._residue.add(frame)
            return None
        if m := _SEARCH_RE.match(msg):
            self.search_term = m.group("term")
            self.searched_hf = msg.startswith("Searching for models")
            return None
        if m := _RECOMMENDED_RE.match(msg):
            self._file(m.group("file"), m.group("q"), m.group("size"))
            return None
        if m := _DOWNLOADING_RE.match(msg):
            self._file(m.group("file"), m.group("q"), m.group("size"))
            self._in_progress = True
            self._prompt = None
            return Progress(
                phase="downloading", item=self.file, total=parse_size(m.group("size")), message=msg
            )
        if m := _ABOUT_RE.match(msg):
            self.size_text = m.group("size")
            self._footer = True
            return None
        if m := _RESOLUTION_RE.match(msg):
            self.size_text = m.group("size")
            self._in_progress = True
            return Progress(phase="downloading", item=self.root, total=parse_size(self.size_text))
        if m := _CONTINUE_RE.match(msg):
            answer = m.group("a").lower()
            if answer.startswith("n"):
                self._state = "cancelled"
                self._prompt = None
            else:
                self._prompt = None if answer.startswith("y") else "awaiting_confirmation"
            return None
        if m := _BACKGROUND_Q_RE.match(msg):
            self._prompt = None if m.group("a") else "awaiting_confirmation"
            return None
        if msg.startswith("Download will continue in the background"):
            self._state = "background"
            self._prompt = None
            return None
        if _CANCELLED_RE.match(msg):
            self._state = "cancelled"
            self.error, self.kind = msg, "pull_failed"
            return Progress(phase="error", message=msg)
        if msg.startswith("Finalizing download"):
            self._finalizing = True
            self._prompt = None
            return Progress(
                phase="writing",
                item=self.file or self.root,
                overall_percent=self.overall,
                message=msg,
            )
        if m := _COMPLETED_RE.match(msg):
            self._state = "downloaded"
            self._prompt = None
            self.overall = 100.0
            return Progress(
                phase="done", item=self.file or self.root, overall_percent=100.0, message=msg
            )
        if m := _ALREADY_RE.match(msg):
            self._state = "already_downloaded"
            self._prompt = None
            if m.group("id"):
                self.hint = m.group("id")
            return Progress(phase="done", item=self.file or self.root, message=msg)
        if msg.startswith("This download is already in progress"):
            self._state = self._state or "already_in_progress"
            return None
        if m := _HINT_RE.match(msg):
            self.hint = m.group("id")
            return None
        if m := PROMPT_RE.match(msg):
            self._picker = True
            q = m.group("q")
            if c := _CONFIRM_Q_RE.match(q):
                answer = c.group("a")
                if answer == "No":
                    self._state = "cancelled"
                    self._prompt = None
                elif answer is None or answer.startswith("Change"):
                    self._prompt = "awaiting_confirmation" if answer is None else None
                else:
                    self._prompt = None
            elif q.startswith("Select"):
                self._prompt = "awaiting_selection"
            else:
                self._prompt = "awaiting_confirmation"
            return None
        if _NOTICE_RE.match(msg):
            self.warnings.append(msg)
            self._picker = True
            return None
        if _NOISE_RE.match(msg):
            if msg.startswith(("No exact match", "!")):
                self._picker = True
            return None
        if self._after_error and _OPTION_RE.match(msg):
            return None
        self._residue.add(frame)
        return None

    def _file(self, file: str, quant: str | None, size: str | None) -> None:
        self.file = file.strip()
        self.quantization = quant or self.quantization
        if size:
            self.size_text = size

    # -- result --------------------------------------------------------------------------
    def _outcome(self) -> str:
        if self._state == "cancelled":
            return "cancelled"
        if self.error is not None:
            return "error"
        if self._state is not None:
            return self._state
        if self._prompt is not None:
            return self._prompt
        if self._finalizing:
            return "finalizing"
        if self._in_progress:
            return "downloading"
        nodes = list(self.plan.values())
        if nodes and not self._resolving_event():
            if all(n.state == "satisfied" for n in nodes):
                return "already_downloaded"
            if self.size_text is not None:
                return "awaiting_confirmation"
        if nodes or self._resolving:
            return "resolving"
        return "no_output" if not self._seen else "incomplete"

    def _result(self) -> LmsGetResult:
        nodes = list(self.plan.values())
        size_text = self.size_text
        size = parse_size(size_text)
        if size is None and self.total is not None:
            size = self.total
        artifact = self.root if self.root is not None else self.file
        return LmsGetResult(
            outcome=self._outcome(),
            search_term=self.search_term,
            artifact=artifact,
            file=self.file,
            quantization=self.quantization,
            download_size_bytes=size,
            download_size_text=size_text,
            satisfied=[n.name for n in nodes if n.state == "satisfied"],
            to_download=[n.name for n in nodes if n.state == "to_download"],
            plan=nodes,
            percentages=list(self.percentages),
            last_percent=self.last_percent,
            completed_bytes=self.completed,
            total_bytes=self.total,
            load_hint_identifier=self.hint,
            warnings=list(self.warnings),
            exit_code=self._exit_code,
            error=self.error,
            kind=self.kind,
        )


def stream(chunks: Iterable[str]) -> Generator[Progress, None, LmsGetResult]:
    """Progress events of ``lms get`` output as each frame completes; returns the result."""
    return (yield from drive(GetReader(), chunks))


def parse(transcript: Transcript) -> LmsGetResult:
    """The result of one ``lms get`` run (both streams)."""
    return read_all(GetReader(transcript.exit_code), transcript.text)
