"""Parser of the body of ``POST /api/pull`` (NDJSON progress, or one object).

The server streams one JSON object per line (docs/reference/ollama-cli.md §3.1)::

    {"status":"pulling manifest"}
    {"status":"pulling 8eeb52dfb3bb","digest":"sha256:8eeb…","total":4661211424,"completed":123}
    {"status":"verifying sha256 digest"}
    {"status":"writing manifest"}
    {"status":"removing any unused layers"}     (≤ v0.3.6; v0.3.7+: "removing unused layers",
                                                 only when needed)
    {"status":"success"}

``completed``/``total`` are omitted while 0; an error after the stream started is a last
line ``{"error":"…"}`` with HTTP 200; with ``"stream": false`` the body is one object
(``{"status":"success"}`` or ``{"error":"…"}`` with 4xx/5xx). Safetensors models pull as one
aggregate ``{"status":"pulling model","digest":"sha256:model",…}``. The v0.6.0 – v0.6.5
``client2`` puller reported errors as ``{"status":"error: …"}`` (read as an error too).

Usage::

    from lmsdrive.parsers import parse
    parse("ollama /api/pull", body).to_dict()

    from lmsdrive.parsers.ollama_api_pull import stream
    for event in stream(response.iter_text()):
        print(event.phase, event.item, event.overall_percent)

Schema (``OllamaApiPullResult.to_dict()``)::

    {
      "http_status":     integer | null,  # from the transcript, when known
      "outcome":         "success" | "error" | null,  # null: stream cut before the end
      "final_status":    string | null,   # the last "status" received
      "error":           string | null,   # {"error": …} (or "error: …" status)
      "kind":            string | null,   # one of ERROR_KINDS
      "digests":         [string],        # full "sha256:…" digests, order of first appearance
      "statuses":        [string],        # distinct statuses, order of first appearance
      "overall_percent": number | null,   # bytes-weighted over the layers seen; monotonic
      "layers": [{
        "digest":    string,              # "sha256:…" ("sha256:model" for the aggregate)
        "total":     integer | null,      # bytes
        "completed": integer,             # bytes (0 while omitted)
        "percent":   number | null
      }]
    }

Events (``stream``): ``Progress`` with ``phase`` (manifest, downloading, verifying,
writing, done, error), ``item`` (the full digest), ``completed``/``total`` (exact bytes),
``percent``, ``overall_percent`` (never goes back; 100 at ``success``), ``message``
(the status or the error). One event per object received.

Noise: blank lines between objects are skipped. Empty body: no object yet (``outcome``
null). A line that is not a JSON object, an object without ``status`` or ``error``, JSON
nested deeper than 64 levels and a body cut inside an object raise ``ParseError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError
from ..transcript import Transcript
from ._base import Progress, Result
from ._ollama_api import (
    JsonValues,
    error_of,
    get_int,
    get_str,
    is_plain_text,
    plain_error,
)
from ._policy import not_understood
from ._stream import drive, read_all

__all__ = ["ApiPullLayer", "ApiPullReader", "OllamaApiPullResult", "parse", "stream"]

COMMAND = "ollama /api/pull"

#: Distinct statuses kept (memory bound on hostile input).
MAX_STATUSES = 4096


@dataclass(frozen=True)
class ApiPullLayer:
    """One layer as last reported."""

    digest: str
    total: int | None = None
    completed: int = 0
    percent: float | None = None


@dataclass(frozen=True, kw_only=True)
class OllamaApiPullResult(Result):
    """What a ``/api/pull`` body reported."""

    http_status: int | None = None
    outcome: str | None = None
    final_status: str | None = None
    digests: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    overall_percent: float | None = None
    layers: list[ApiPullLayer] = field(default_factory=list)


def _phase(status: str) -> str:
    if status == "success":
        return "done"
    if status.startswith("verifying"):
        return "verifying"
    if status.startswith(("writing", "removing", "couldn't remove")):
        return "writing"
    if status.startswith("pulling manifest"):
        return "manifest"
    if status.startswith("pulling"):
        return "downloading"
    return "manifest"


class ApiPullReader:
    """Incremental reader: :meth:`feed` chunks, :meth:`close`, then :meth:`result`."""

    def __init__(self, http_status: int | None = None) -> None:
        self._json = JsonValues(COMMAND)
        self._status = http_status
        self._layers: dict[str, ApiPullLayer] = {}
        self._statuses: dict[str, None] = {}
        self._final: str | None = None
        self._error: tuple[str, str] | None = None
        self._overall: float | None = None

    def feed(self, chunk: str) -> Iterator[Progress]:
        for line_number, value in self._json.feed(chunk):
            read = self._value(line_number, value)
            if read is not None:
                yield read

    def close(self) -> Iterator[Progress]:
        for line_number, value in self._json.close():
            read = self._value(line_number, value)
            if read is not None:
                yield read

    def result(self) -> OllamaApiPullResult:
        error, kind = self._error if self._error else (None, None)
        outcome = "error" if error else "success" if self._final == "success" else None
        return OllamaApiPullResult(
            http_status=self._status,
            outcome=outcome,
            final_status=self._final,
            error=error,
            kind=kind,
            digests=[d for d in self._layers if d != "sha256:model"],
            statuses=list(self._statuses),
            overall_percent=self._overall,
            layers=list(self._layers.values()),
        )

    def _value(self, line_number: int, value: Any) -> Progress | None:
        if not isinstance(value, dict):
            not_understood(COMMAND, "not a JSON object", line_number, repr(value)[:200])
            return None
        err = error_of(value, self._status)
        if err is not None:
            if self._error is None:
                self._error = (err.error, err.kind)
            return Progress(phase="error", overall_percent=self._overall, message=err.error)
        status = get_str(value, "status", COMMAND, line_number)
        if status is None:
            not_understood(COMMAND, "an object without 'status'", line_number, str(value)[:200])
            return None
        self._final = status
        if status not in self._statuses and len(self._statuses) < MAX_STATUSES:
            self._statuses[status] = None
        digest = get_str(value, "digest", COMMAND, line_number)
        if digest is None:
            if status == "success":
                self._overall = 100.0
            return Progress(phase=_phase(status), overall_percent=self._overall, message=status)
        total = get_int(value, "total", COMMAND, line_number)
        completed = get_int(value, "completed", COMMAND, line_number) or 0
        percent = round(100.0 * completed / total, 2) if total else None
        self._layers[digest] = ApiPullLayer(digest, total, completed, percent)
        self._overall = self._overall_now()
        return Progress(
            phase="downloading",
            item=digest,
            completed=completed,
            total=total,
            percent=percent,
            overall_percent=self._overall,
            message=status,
        )

    def _overall_now(self) -> float | None:
        layers = [x for x in self._layers.values() if x.total]
        if not layers:
            return self._overall
        total = sum(x.total or 0 for x in layers)
        done = sum(min(x.completed, x.total or 0) for x in layers)
        value = round(100.0 * done / total, 2)
        if self._overall is not None and value < self._overall:
            return self._overall
        return value


def stream(chunks: Iterable[str], http_status: int | None = None) -> Iterator[Progress]:
    """Progress events of a ``/api/pull`` body, one per object, as soon as it is complete."""
    yield from drive(ApiPullReader(http_status), chunks)


def parse(transcript: Transcript) -> OllamaApiPullResult:
    """Outcome, statuses, layers and error of a ``/api/pull`` body."""
    text = transcript.text
    status = transcript.http_status
    if is_plain_text(text):
        perr = plain_error(text, status)
        if perr is None:
            raise ParseError(COMMAND, "not a JSON body", 1, text.strip().split("\n", 1)[0])
        return OllamaApiPullResult(
            http_status=status, outcome="error", error=perr.error, kind=perr.kind
        )
    return read_all(ApiPullReader(status), text)
