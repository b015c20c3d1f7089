"""``lms load``: load a model into memory (and ``lms load --estimate-only``), streamed.

Reads every era of docs/reference/lms-cli.md §6.1: stderr ``Loading model "<path>"...`` with the
old 50-cell percent bar on stdout (E0 – Dec 2025, frames redrawn with ``\\r`` and
``ESC[s``/``ESC[u``), the spinner ``Loading <key> ⠋`` (Dec 2025+) and ``Loading <key> 65% ⠦``
(May 2026+; ``on <device>`` for remote devices; cleared with ``\\r ESC[K``), the success
lines ``Model loaded successfully in 13.59s. (5.86 GB)`` (one line, base 1000, until Feb
2026) or ``Model loaded successfully in 22.12s.`` + ``(27.50 GiB)`` on the next line
(since Feb 2026), ``… successfully on <device> in 3.10s.``, the identifier line (printed only
after a load, so it alone reads as ``loaded`` when an author cut the timing line), the
``--estimate-only`` block (locale-grouped context length ``32,768`` / ``32.768`` /
``32 768``, GB or GiB), the interactive notices (``! Cannot find a model matching …``,
``? Select a model to load``, ``W N models match …``) and errors (``Model not found``
titled report, ``W Load cancelled.``).

Usage::

    from lmsdrive.parsers import lms_load
    result = lms_load.parse(transcript)
    for event in lms_load.stream(chunks):   # Progress(phase="loading", percent=...) per frame
        ...

``stream`` yields :class:`~lmsdrive.parsers._base.Progress` events (``loading`` for every
bar/spinner frame, ``percent`` ``None`` for a spinner without percent; ``done`` on success;
``error``) and *returns* (generator return value) the final :class:`LmsLoadResult`.

JSON Schema::

    {
      "outcome": string,          # loaded | estimate | loading (ended mid-load) |
                                  # awaiting_selection | cancelled | error | no_output
      "identifier": string|null,  # API identifier ("google/gemma-3n-e4b:2")
      "model_key": string|null,   # model key, or the model path before Feb 2026
                                  # ('Loading model "<path>"'); without either line, the
                                  # identifier minus its ":N" instance suffix (unless
                                  # --identifier is in argv)
      "model_path": string|null,  # path of 'Loading model "<path>"...'
      "device": string|null,      # "on <device>" (LM Link remote device)
      "size_bytes": integer|null, "size_text": string|null,  # "(5.86 GB)" / "(27.50 GiB)"
      "load_time_seconds": number|null, "load_time_text": string|null,  # "13.59s", "1m 3.20s"
      "percentages": [number],    # percents of the bar/spinner, strictly increasing
      "gpu_memory_bytes": integer|null, "gpu_memory_text": string|null,      # estimate
      "total_memory_bytes": integer|null, "total_memory_text": string|null,  # estimate
      "context_length": integer|null,      # estimate "Context Length: 32,768"
      "gpu_offload_percent": number|null,  # estimate "GPU Offload: 50%"
      "confidence": string|null,           # estimate "Confidence: LOW"
      "passes_guardrails": boolean|null,   # "may be loaded" → true, "will fail" → false
      "warnings": [string],
      "exit_code": integer|null,
      "error": string|null, "kind": string|null
    }

Noise skipped on purpose: blank lines (lms prints one on stdout before resolving), spinner
and bar redraws (events only), ``To set a custom identifier, use the --identifier …``,
picker hints and entries (``! …`` lines, indented/pointer lines under ``? Select a model to
load``), ``Waking up LM Studio service...``, ``D`` debug lines. Other lines raise ParseError
unless the output holds an lms error report (:func:`lms_error.find_error`), whose hint
lines then belong to the report.

Empty output: ``outcome`` ``no_output`` (``--quiet`` prints nothing on success).

Example::

    $ lms load google/gemma-3n-e4b
    Loading model "google/gemma-3n-e4b"...
    Model loaded successfully in 13.59s. (5.86 GB)
    To use the model in the API/SDK, use the identifier "google/gemma-3n-e4b:2".

    {"outcome": "loaded", "identifier": "google/gemma-3n-e4b:2",
     "model_key": "google/gemma-3n-e4b", "size_bytes": 5860000000, "size_text": "5.86 GB",
     "load_time_seconds": 13.59, "percentages": [], ...}
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field

from .._text import SIZE_PATTERN, parse_size
from ..transcript import Transcript
from ._base import Progress, Result
from ._lms_stream import (
    PROMPT_RE,
    SPINNER,
    Bar,
    Frame,
    FrameReader,
    elapsed_seconds,
)
from ._stream import drive, read_all

__all__ = ["LmsLoadResult", "LoadReader", "parse", "stream"]

COMMAND = "lms load"


@dataclass(frozen=True, kw_only=True)
class LmsLoadResult(Result):
    """What ``lms load`` printed (see the module docstring for every field)."""

    outcome: str
    identifier: str | None = None
    model_key: str | None = None
    model_path: str | None = None
    device: str | None = None
    size_bytes: int | None = None
    size_text: str | None = None
    load_time_seconds: float | None = None
    load_time_text: str | None = None
    percentages: list[float] = field(default_factory=list)
    gpu_memory_bytes: int | None = None
    gpu_memory_text: str | None = None
    total_memory_bytes: int | None = None
    total_memory_text: str | None = None
    context_length: int | None = None
    gpu_offload_percent: float | None = None
    confidence: str | None = None
    passes_guardrails: bool | None = None
    warnings: list[str] = field(default_factory=list)
    exit_code: int | None = None


_TIME = r"(?:\d+h\s*)?(?:\d+m\s*)?\d+(?:\.\d+)?(?:ms|s)"
_LOADING_PATH_RE = re.compile(r'^Loading model "(?P<path>.*)"\s*\.*$')
_SPINNER_RE = re.compile(
    rf"^Loading (?P<key>\S+)(?: on (?P<dev>.+?))?(?:\s+(?P<pct>\d+(?:\.\d+)?)\s?%)?"
    rf"(?:\s*[{SPINNER}])?(?:\s*\.\.\.)?$"
)
_SUCCESS_RE = re.compile(
    rf"^Model loaded successfully(?: on (?P<dev>.+?))? in (?P<t>{_TIME})\.?"
    rf"(?:\s*\((?P<size>{SIZE_PATTERN})\))?$"
)
_SIZE_LINE_RE = re.compile(rf"^\((?P<size>{SIZE_PATTERN})\)$")
#: Where a frame of the load's spinner starts: what the pre-pass splits a line on when a log
#: collector dropped the ``\r``/escapes and left the frames on one line (``_decor``).
REDRAW_UNIT = re.compile(r"Loading |Model loaded successfully ")
_IDENT_RE = re.compile(r'^To use the model in the API/SDK, use the identifier "(?P<id>.*)"\.?$')
_MODEL_RE = re.compile(r"^Model:\s+(?P<key>\S.*)$")
_CTX_RE = re.compile(r"^Context Length:\s*(?P<n>\d[\d,.'\s\u00a0\u202f]*)$")
_OFFLOAD_RE = re.compile(r"^GPU Offload:\s*(?P<n>\d+(?:\.\d+)?)\s?%$")
_GPU_MEM_RE = re.compile(rf"^Estimated GPU Memory:\s*(?P<size>{SIZE_PATTERN})$")
_TOTAL_MEM_RE = re.compile(rf"^Estimated Total Memory:\s*(?P<size>{SIZE_PATTERN})$")
_CONFIDENCE_RE = re.compile(r"^Confidence:\s*(?P<c>\S+)$")
_VERDICT_RE = re.compile(r"^Estimate:\s*(?P<text>.+)$")
_CANCELLED_RE = re.compile(r"^Load cancell?ed\.?$", re.IGNORECASE)
_NOISE_RE = re.compile(
    r"^(?:To set a custom identifier, use the --identifier .*"
    r"|Waking up LM Studio(?: service)?\.\.\."
    r"|\(Use arrow keys.*|\(Move up and down.*)$"
)
_INSTANCE_RE = re.compile(r":\d+$")


class LoadReader(FrameReader[LmsLoadResult]):
    """Incremental ``lms load`` reader: :meth:`feed` chunks, :meth:`close`, then :meth:`result`."""

    def __init__(self, exit_code: int | None = None, argv: tuple[str, ...] = ()) -> None:
        super().__init__(COMMAND)
        self._exit_code = exit_code
        self._custom_identifier = any(a.startswith("--identifier") for a in argv)
        self.values: dict[str, object] = {}
        self._state: str | None = None
        self._loading = False
        self._estimate = False
        self._expect_size = False

    def _own(self, text: str, msg: str) -> list[Progress] | None:
        if m := _SPINNER_RE.match(msg):
            self.values.setdefault("model_key", m.group("key"))
            if m.group("dev"):
                self.values["device"] = m.group("dev")
            pct = m.group("pct")
            return [self._progress(float(pct) if pct is not None else None)]
        expect_size, self._expect_size = self._expect_size, False
        if expect_size and (m := _SIZE_LINE_RE.match(msg)):
            self.values["size_text"] = m.group("size")
            return []
        return None

    def _bar(self, bar: Bar) -> Progress:
        return self._progress(bar.percent)

    def _progress(self, pct: float | None) -> Progress:
        self._loading = True
        self._prompt = None
        self._track(pct)
        key = self.values.get("model_key")
        return Progress(
            phase="loading",
            item=key if isinstance(key, str) else None,
            percent=pct,
            overall_percent=self.overall,
        )

    def _message(self, level: str | None, msg: str, frame: Frame) -> Progress | None:
        v = self.values
        if _CANCELLED_RE.match(msg):
            self._state = "cancelled"
            self.error, self.kind = msg, "unknown"
            return Progress(phase="error", message=msg)
        if level == "warn":
            self.warnings.append(msg)
            return None
        if level == "error":
            self._residue.add(frame)
            return None
        if m := _LOADING_PATH_RE.match(msg):
            v["model_path"] = m.group("path")
            v.setdefault("model_key", m.group("path"))
            self._loading = True
            return Progress(phase="loading", item=m.group("path"), message=msg)
        if m := _SUCCESS_RE.match(msg):
            self._state = "loaded"
            self._prompt = None
            v["load_time_text"] = m.group("t")
            if m.group("dev"):
                v["device"] = m.group("dev")
            if m.group("size"):
                v["size_text"] = m.group("size")
            else:
                self._expect_size = True
            return Progress(phase="done", item=self._key(), message=msg)
        if m := _IDENT_RE.match(msg):
            v["identifier"] = m.group("id")
            if self._state is None:
                self._state = "loaded"  # printed only after a load: its timing line may be cut
            return None
        if m := _MODEL_RE.match(msg):
            v["model_key"] = m.group("key").strip()
            self._estimate = True
            return None
        if m := _CTX_RE.match(msg):
            v["context_length"] = int(re.sub(r"\D", "", m.group("n")))
            self._estimate = True
            return None
        if m := _OFFLOAD_RE.match(msg):
            v["gpu_offload_percent"] = float(m.group("n"))
            return None
        if m := _GPU_MEM_RE.match(msg):
            v["gpu_memory_text"] = m.group("size")
            self._estimate = True
            return None
        if m := _TOTAL_MEM_RE.match(msg):
            v["total_memory_text"] = m.group("size")
            self._estimate = True
            return None
        if m := _CONFIDENCE_RE.match(msg):
            v["confidence"] = m.group("c")
            return None
        if m := _VERDICT_RE.match(msg):
            verdict = m.group("text").lower()
            if "may be loaded" in verdict or "can be loaded" in verdict:
                v["passes_guardrails"] = True
            elif "fail" in verdict or "not be loaded" in verdict:
                v["passes_guardrails"] = False
            else:
                self._residue.add(frame)
                return None
            self._estimate = True
            return None
        if PROMPT_RE.match(msg):
            self._picker = True
            self._prompt = "awaiting_selection"  # cleared by the load that follows
            return None
        if msg.startswith("! "):
            self._picker = True
            self.warnings.append(msg[2:])
            return None
        if _NOISE_RE.match(msg):
            return None
        self._residue.add(frame)
        return None

    def _key(self) -> str | None:
        key = self.values.get("model_key")
        return key if isinstance(key, str) else None

    def _outcome(self) -> str:
        if self._state == "cancelled":
            return "cancelled"
        if self.error is not None:
            return "error"
        if self._state is not None:
            return self._state
        if self._estimate:
            return "estimate"
        if self._prompt is not None:
            return self._prompt
        if self._loading:
            return "loading"
        return "no_output" if not self._seen else "incomplete"

    def _result(self) -> LmsLoadResult:
        v = self.values

        def s(name: str) -> str | None:
            val = v.get(name)
            return val if isinstance(val, str) else None

        identifier = s("identifier")
        key = s("model_key")
        if key is None and identifier is not None and not self._custom_identifier:
            key = _INSTANCE_RE.sub("", identifier)
        seconds = None
        if s("load_time_text") is not None:
            seconds = elapsed_seconds(s("load_time_text") or "")
        ctx = v.get("context_length")
        offload = v.get("gpu_offload_percent")
        guard = v.get("passes_guardrails")
        return LmsLoadResult(
            outcome=self._outcome(),
            identifier=identifier,
            model_key=key,
            model_path=s("model_path"),
            device=s("device"),
            size_bytes=parse_size(s("size_text")),
            size_text=s("size_text"),
            load_time_seconds=seconds,
            load_time_text=s("load_time_text"),
            percentages=list(self.percentages),
            gpu_memory_bytes=parse_size(s("gpu_memory_text")),
            gpu_memory_text=s("gpu_memory_text"),
            total_memory_bytes=parse_size(s("total_memory_text")),
            total_memory_text=s("total_memory_text"),
            context_length=ctx if isinstance(ctx, int) else None,
            gpu_offload_percent=offload if isinstance(offload, float) else None,
            confidence=s("confidence"),
            passes_guardrails=guard if isinstance(guard, bool) else None,
            warnings=list(self.warnings),
            exit_code=self._exit_code,
            error=self.error,
            kind=self.kind,
        )


def stream(chunks: Iterable[str]) -> Generator[Progress, None, LmsLoadResult]:
    """Progress events of ``lms load`` output as each frame completes; returns the result."""
    return (yield from drive(LoadReader(), chunks))


def parse(transcript: Transcript) -> LmsLoadResult:
    """The result of one ``lms load`` run (both streams)."""
    return read_all(LoadReader(transcript.exit_code, transcript.argv), transcript.text)
