"""Parser of ``ollama pull`` (also ``ollama run`` / ``ollama create`` when they pull).

The CLI draws its progress as a terminal animation, even when stderr is not a terminal:

* v0.1.11+: a block of lines (one spinner line per status, one bar line per layer) redrawn
  every 100 ms with ``ESC[A`` / ``ESC[1G`` / ``ESC[2K`` (v0.1.11 – v0.5.11) or ``ESC[A`` /
  ``ESC[1G`` / ``ESC[K`` inside ``ESC[?2026h … ESC[?2026l`` (v0.5.12+; from v0.7.0 only
  the last terminal-height lines), bars labelled ``pulling <12 hex>...`` up to v0.6.5 and
  ``pulling <12 hex>:`` from v0.6.6 (``pulling model:`` for safetensors aggregates);
* ≤ v0.1.10: status lines on stdout, ``|███   |`` bars on stderr redrawn with ``\\r``.

The bytes are replayed on a virtual screen (``pyte``, see ``_vtscreen``) and every finished
row is read, so a raw capture, a stream read live and a paste of the final screen all go
through the same path. ``stream`` yields a :class:`~lmsdrive.parsers._base.Progress` as
soon as a frame changes a layer or shows a new status; memory stays flat (one screen, one
entry per layer and per distinct status).

Usage::

    from lmsdrive.parsers import parse
    parse("ollama pull llama3.2", text).to_dict()

    from lmsdrive.parsers.ollama_pull import stream
    for event in stream(process_stderr_chunks):
        print(event.phase, event.item, event.overall_percent)

Schema (``OllamaPullResult.to_dict()``)::

    {
      "outcome":         "success" | "error" | null,  # null: still running / cut off
      "error":           string | null,    # the Error: message (multi-line kept), no prefix
      "kind":            string | null,    # one of ERROR_KINDS
      "digests":         [string],         # 12-hex layer digests, order of first appearance
      "last_percent":    integer | null,   # percent of the last bar line that changed
                                           # (of a paste: the last bar line)
      "overall_percent": number | null,    # all layers, bytes-weighted; never goes back
      "phase":           string | null,    # manifest|downloading|verifying|writing|done|error
      "statuses":        [string],         # spinner/status lines (frame removed), distinct,
                                           # in order of first appearance
      "layers": [{
        "digest":          string,         # 12 hex, or "model" (safetensors aggregate)
        "percent":         integer | null, # as printed (rounded)
        "completed_bytes": integer | null, # decimal units, lossy as printed
        "completed_text":  string | null,  # "10 GB"
        "total_bytes":     integer | null,
        "total_text":      string | null   # "26 GB"
      }],
      "warnings":        [string],         # "Warning: …" lines, prefix removed
      "era":             string | null     # from the bar style: "<=0.1.10",
                                           # "0.1.11-0.6.5", ">=0.6.6"
    }

Progress events: ``phase``, ``item`` (12-hex digest), ``completed`` / ``total`` (bytes as
printed), ``percent`` (the layer's), ``overall_percent`` (monotonic, 100 at ``success``),
``speed`` (``"2.1 MB/s"``) and ``speed_bytes_per_s``, ``eta`` (``"2h11m"``; the
remaining time of the ≤ v0.1.10 ``[elapsed:remaining]``), ``message`` (the status text or
the error message).

Lines read: status lines (``pulling manifest``, ``verifying sha256 digest``, ``writing
manifest``, ``removing any unused layers``, ``removing unused layers``, ``couldn't remove
unused layers: …``, ``success``, and the ``create`` statuses, all ``<verb>ing …``), with
or without a live spinner frame (Braille ``⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏``); bar lines of both styles;
``Error: …`` reports (with their continuation lines, see ``ollama_error``).

Noise skipped on purpose: blank rows (erased redraws), spinner frames, the ``>>>`` prompt
of ``ollama run``, ``Connecting to 'x' on 'ollama.com'`` (cloud
models), and after ``success`` any other line (the answer of ``ollama run``). For
``ollama run`` with stdout and stderr captured apart, only stderr is read (stdout holds the
model's answer). Only the first error report is kept (scripts that run several commands
print more). Shell prompts, and the server's own log lines (Gin ``[GIN] …``, slog
``time=… level=…``, Go log, llama.cpp/ggml) that a terminal running ``ollama serve`` in the
background interleaves, are removed by the pre-pass (``_session``) in both modes. Anything
else is not understood: ``ParseError`` when strict, listed in ``skipped`` when lenient.

Empty output: nothing pulled yet — ``outcome`` null and empty lists (a live stream that
has not printed anything).

Example::

    $ ollama pull llama3.2:3b
    pulling manifest
    pulling dde5aa3fc5ff: 100% ▕██████████████████▏ 2.0 GB
    verifying sha256 digest
    writing manifest
    success

    {"outcome": "success", "error": null, "kind": null, "digests": ["dde5aa3fc5ff"],
     "last_percent": 100, "overall_percent": 100.0, "phase": "done",
     "statuses": ["pulling manifest", "verifying sha256 digest", "writing manifest",
                  "success"],
     "layers": [{"digest": "dde5aa3fc5ff", "percent": 100, "completed_bytes": 2000000000,
                 "completed_text": "2.0 GB", "total_bytes": 2000000000,
                 "total_text": "2.0 GB"}],
     "warnings": [], "era": ">=0.6.6"}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .._text import NUMBER_PATTERN, SIZE_PATTERN, UNIT_PATTERN, parse_size
from ..transcript import Transcript
from ._base import Progress, Result
from ._policy import not_understood
from ._stream import drive, read_all
from ._vtscreen import ScreenReplay
from .ollama_error import find_error, is_error_start, is_stop_line

__all__ = ["OllamaPullResult", "PullLayer", "PullReader", "parse", "stream"]

COMMAND = "ollama pull"

#: Distinct statuses, warnings and error lines kept (memory bound on hostile input).
MAX_STATUSES = 4096
MAX_WARNINGS = 100
MAX_ERROR_LINES = 1000

_SIZE = rf"(?:{SIZE_PATTERN})"
_ITEM = r"(?P<item>(?:sha256:)?[0-9a-f]{12,64}|model)"
_LABEL = (
    rf"^(?P<verb>pulling|pushing|downloading) {_ITEM}(?P<sep>\.\.\.|:)?"
    r"\s+(?P<pct>\d{1,3})%\s*"
)
_NEW_BAR_RE = re.compile(_LABEL + r"▕(?P<bar>[^▏]*)▏\s*(?P<rest>.*)$")
_NEW_REST_RE = re.compile(
    rf"^(?:(?P<cur>{_SIZE})\s*/\s*)?(?P<total>{_SIZE})"
    rf"(?:\s+(?P<rate>{_SIZE}/s)(?:\s+(?P<eta>\S+))?)?$"
)
_NUM_UNIT = NUMBER_PATTERN
_UNIT = UNIT_PATTERN
_OLD_BAR_RE = re.compile(
    _LABEL + r"\|(?P<bar>[^|]*)\|\s*"
    rf"(?:\((?P<cur>{_NUM_UNIT})\s?(?P<cur_unit>{_UNIT})?\s*/\s*(?P<total>{_NUM_UNIT})\s?"
    rf"(?P<unit>{_UNIT})(?:,\s*(?P<rate>{_NUM_UNIT}\s?{_UNIT}/s))?\)\s*)?"
    r"(?:\[(?P<elapsed>[^:\]]*):(?P<eta>[^\]]*)\])?$"
)
_FRAME_RE = re.compile(r"\s*[\u2800-\u28ff]\s*$")
_STATUS_RE = re.compile(
    r"^(?:success|[a-z][a-z']*ing\b[^\x00-\x1f▕▏|]*|couldn't remove unused layers\b.*)$"
)
_WARNING_RE = re.compile(r"^\s*Warning: ?(?P<msg>.*)$")
#: The ``>>>`` prompt of ``ollama run`` after its pull (shell prompts go in the pre-pass).
_PROMPT_RE = re.compile(r"^\s*>>>(?:\s.*)?$")
_CONNECTING_RE = re.compile(r"^Connecting to '.*' on '.*'")

#: Where a frame of the pull's redraw starts: what the pre-pass splits a line on when a log
#: collector dropped the ``\r``/escapes and left the frames on one line (``_decor``).
REDRAW_UNIT = re.compile(
    r"(?:pulling|pushing|downloading) (?:manifest|[0-9a-f]{12}|model)|verifying sha256 digest"
    r"|writing manifest|removing (?:any )?unused layers|success\b|Error: "
)

_PHASE_BY_VERB = {
    "success": "done",
    "verifying": "verifying",
    "pulling": "manifest",
    "retrieving": "manifest",
    "looking": "manifest",
}


@dataclass(frozen=True)
class PullLayer:
    """One layer (blob) of the pull as its bar line last showed it."""

    digest: str
    percent: int | None = None
    completed_bytes: int | None = None
    completed_text: str | None = None
    total_bytes: int | None = None
    total_text: str | None = None


@dataclass(frozen=True, kw_only=True)
class OllamaPullResult(Result):
    """What ``ollama pull`` (or the pull of ``run``/``create``) showed."""

    outcome: str | None = None
    digests: list[str] = field(default_factory=list)
    last_percent: int | None = None
    overall_percent: float | None = None
    phase: str | None = None
    statuses: list[str] = field(default_factory=list)
    layers: list[PullLayer] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    era: str | None = None


def _short(item: str) -> str:
    if item == "model":
        return item
    return item.removeprefix("sha256:")[:12]


def _status_phase(status: str, current: str | None) -> str:
    verb = status.split(" ", 1)[0]
    if status.startswith("pulling model") or status.startswith("pulling manifest"):
        return "manifest"
    phase = _PHASE_BY_VERB.get(verb)
    if phase is not None:
        return phase
    if verb in ("writing", "removing", "couldn't", "creating", "using", "transferring"):
        return "writing"
    return current or "writing"


class PullReader:
    """Incremental reader: :meth:`feed` chunks, :meth:`close`, then :meth:`result`."""

    def __init__(self) -> None:
        self._screen = ScreenReplay()
        self._layers: dict[str, PullLayer] = {}
        self._statuses: dict[str, None] = {}
        self._warnings: list[str] = []
        self._last_percent: int | None = None
        self._overall: float | None = None
        self._phase: str | None = None
        self._success = False
        self._error_lines: list[str] | None = None
        self._error: tuple[str, str] | None = None
        self._era: str | None = None

    # -- input ---------------------------------------------------------------------------
    def feed(self, chunk: str) -> Iterator[Progress]:
        for line_number, row in self._screen.feed(chunk):
            yield from self._row(line_number, row)

    def close(self) -> Iterator[Progress]:
        for line_number, row in self._screen.close():
            yield from self._row(line_number, row)
        yield from self._close_error()

    # -- output --------------------------------------------------------------------------
    def result(self) -> OllamaPullResult:
        error, kind = self._error if self._error else (None, None)
        outcome = "error" if error is not None else "success" if self._success else None
        return OllamaPullResult(
            outcome=outcome,
            error=error,
            kind=kind,
            digests=[d for d in self._layers if d != "model"],
            last_percent=self._last_percent,
            overall_percent=self._overall,
            phase=self._phase,
            statuses=list(self._statuses),
            layers=list(self._layers.values()),
            warnings=list(self._warnings),
            era=self._era,
        )

    # -- rows ----------------------------------------------------------------------------
    def _row(self, line_number: int, row: str) -> Iterator[Progress]:
        line = row.strip()
        if self._error_lines is not None:
            if not is_stop_line(row):
                if len(self._error_lines) < MAX_ERROR_LINES:
                    self._error_lines.append(row)
                return
            yield from self._close_error()
        if not line:
            return
        if is_error_start(line):
            self._error_lines = [line]
            return
        m = _NEW_BAR_RE.match(line)
        if m:
            yield from self._new_bar(m, line_number, line)
            return
        m = _OLD_BAR_RE.match(line)
        if m:
            yield from self._old_bar(m)
            return
        status = _FRAME_RE.sub("", line)
        if _STATUS_RE.match(status):
            yield from self._status(status)
            return
        w = _WARNING_RE.match(line)
        if w:
            if len(self._warnings) < MAX_WARNINGS:
                self._warnings.append(w.group("msg").rstrip())
            return
        if _FRAME_RE.fullmatch(line) or _PROMPT_RE.match(line) or _CONNECTING_RE.match(line):
            return
        if self._success:
            return  # the answer of ``ollama run`` after the pull
        not_understood(COMMAND, "not a status, bar or error line", line_number, line)

    def _close_error(self) -> Iterator[Progress]:
        lines = self._error_lines
        if lines is None:
            return
        self._error_lines = None
        report = find_error(lines)
        if report is None or self._error is not None:
            return
        self._error = (report.error, report.kind)
        self._phase = "error"
        yield Progress(phase="error", overall_percent=self._overall, message=report.error)

    def _status(self, status: str) -> Iterator[Progress]:
        if status in self._statuses or len(self._statuses) >= MAX_STATUSES:
            return
        self._statuses[status] = None
        phase = _status_phase(status, self._phase)
        if phase == "done":
            self._success = True
            self._overall = 100.0
        self._phase = phase
        yield Progress(phase=phase, overall_percent=self._overall, message=status)

    def _new_bar(self, m: re.Match[str], line_number: int, line: str) -> Iterator[Progress]:
        rest = m.group("rest").strip()
        cur_text = total_text = rate = eta = None
        if rest:
            r = _NEW_REST_RE.match(rest)
            if r is None:
                not_understood(COMMAND, "bar line with unreadable sizes", line_number, line)
                return
            cur_text, total_text, rate, eta = r.group("cur", "total", "rate", "eta")
        if self._era is None:
            self._era = ">=0.6.6" if m.group("sep") == ":" else "0.1.11-0.6.5"
        yield from self._bar(m, cur_text, total_text, rate, eta)

    def _old_bar(self, m: re.Match[str]) -> Iterator[Progress]:
        cur_text = total_text = None
        if m.group("total"):
            unit = m.group("unit")
            cur_text = f"{m.group('cur')} {m.group('cur_unit') or unit}"
            total_text = f"{m.group('total')} {unit}"
        self._era = self._era or "<=0.1.10"
        eta = m.group("eta") or None
        yield from self._bar(m, cur_text, total_text, m.group("rate"), eta)

    def _bar(
        self,
        m: re.Match[str],
        cur_text: str | None,
        total_text: str | None,
        rate: str | None,
        eta: str | None,
    ) -> Iterator[Progress]:
        digest = _short(m.group("item"))
        percent = int(m.group("pct"))
        total = parse_size(total_text)
        if cur_text is None and total_text is not None:
            cur_text = total_text  # a finished bar shows only its size
        completed = parse_size(cur_text)
        layer = PullLayer(digest, percent, completed, cur_text, total, total_text)
        self._last_percent = percent
        if self._layers.get(digest) == layer:
            return
        self._layers[digest] = layer
        self._phase = "downloading"
        self._overall = self._overall_now()
        yield Progress(
            phase="downloading",
            item=digest,
            completed=completed,
            total=total,
            percent=float(percent),
            overall_percent=self._overall,
            speed=rate.strip() if rate else None,
            speed_bytes_per_s=parse_size(rate[:-2]) if rate else None,
            eta=eta.strip() if eta else None,
        )

    def _overall_now(self) -> float | None:
        layers = self._layers.values()
        if all(x.total_bytes and x.completed_bytes is not None for x in layers):
            total = sum(x.total_bytes or 0 for x in layers)
            done = sum(min(x.completed_bytes or 0, x.total_bytes or 0) for x in layers)
            value = 100.0 * done / total if total else None
        else:
            pcts = [x.percent or 0 for x in layers]
            value = sum(pcts) / len(pcts) if pcts else None
        if value is None:
            return self._overall
        value = round(min(value, 100.0), 2)
        if self._overall is not None and value < self._overall:
            return self._overall
        return value


def stream(chunks: Iterable[str]) -> Iterator[Progress]:
    """Progress events of a pull, as soon as each frame is complete."""
    yield from drive(PullReader(), chunks)


def _text_of(transcript: Transcript) -> str:
    argv = [w for w in transcript.argv[1:] if not w.startswith("-")]
    if argv[:1] == ["run"] and transcript.stdout and transcript.stderr:
        return transcript.stderr
    return transcript.text


def parse(transcript: Transcript) -> OllamaPullResult:
    """The outcome, layers and error of a pull (see the module docstring)."""
    return read_all(PullReader(), _text_of(transcript))
