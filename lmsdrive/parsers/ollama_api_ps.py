"""Parser of the body of ``GET /api/ps`` (Ollama's loaded models).

Usage::

    from lmsdrive.parsers import parse
    parse("ollama /api/ps", body).to_dict()

Schema (``OllamaApiPsResult.to_dict()``)::

    {
      "http_status": integer | null,     # from the transcript, when known
      "error":       string | null,      # an error body ({"error": …} or plain text)
      "kind":        string | null,      # one of ERROR_KINDS
      "models": [{
        "name":           string,
        "model":          string | null,
        "size":           integer | null,  # bytes of memory in use
        "size_vram":      integer | null,  # bytes of it in GPU memory (v0.1.38+)
        "digest":         string | null,   # 64 hex
        "expires_at":     string | null,   # RFC 3339 as sent (≈ year 2318 = keep forever)
        "context_length": integer | null,  # v0.10.0+; null when the server omits it
        "details":        {…} | null,      # as in /api/tags (parent_model, format, family,
                                           # families, parameter_size, quantization_level,
                                           # extra)
        "extra":          object           # model keys this parser does not know (kept)
      }]
    }

Bodies: ``{"models": [...]}``; ``{"models": []}`` (or ``null``) means nothing is loaded.
Plain or pretty-printed JSON. Empty body: ``ParseError``. Error bodies give
``error``/``kind`` and no models. Nothing is skipped; deep nesting (> 64) and garbage raise
``ParseError``.

Example::

    {"models":[{"name":"gemma3:latest","model":"gemma3:latest","size":5964735424,
      "digest":"a2af6cc3eb7fa8be8504abaf9b04e88f17a119ec3f04a3addf55f92841195f5a",
      "details":{"format":"gguf","family":"gemma3"},
      "expires_at":"2025-08-08T00:07:26.817827822+02:00","size_vram":5964735424}]}

    {"http_status": null, "error": null, "kind": null,
     "models": [{"name": "gemma3:latest", "model": "gemma3:latest", "size": 5964735424,
                 "size_vram": 5964735424, "digest": "a2af…195f5a",
                 "expires_at": "2025-08-08T00:07:26.817827822+02:00",
                 "context_length": null, "details": {…}, "extra": {}}]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._ollama_api import (
    ModelDetails,
    details_of,
    get_dict,
    get_int,
    get_str,
    models_of,
    single_body,
)

__all__ = ["OllamaApiPsModel", "OllamaApiPsResult", "parse"]

COMMAND = "ollama /api/ps"

_KNOWN = (
    "name",
    "model",
    "size",
    "size_vram",
    "digest",
    "expires_at",
    "context_length",
    "details",
)


@dataclass(frozen=True)
class OllamaApiPsModel:
    """One loaded model."""

    name: str
    model: str | None = None
    size: int | None = None
    size_vram: int | None = None
    digest: str | None = None
    expires_at: str | None = None
    context_length: int | None = None
    details: ModelDetails | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class OllamaApiPsResult(Result):
    """The models of ``/api/ps``."""

    http_status: int | None = None
    models: list[OllamaApiPsModel] = field(default_factory=list)


def _model(obj: dict[str, Any]) -> OllamaApiPsModel:
    name = get_str(obj, "name", COMMAND) or get_str(obj, "model", COMMAND)
    if not name:
        raise ParseError(COMMAND, f"a model without 'name': {obj!r:.200}")
    return OllamaApiPsModel(
        name=name,
        model=get_str(obj, "model", COMMAND),
        size=get_int(obj, "size", COMMAND),
        size_vram=get_int(obj, "size_vram", COMMAND),
        digest=get_str(obj, "digest", COMMAND),
        expires_at=get_str(obj, "expires_at", COMMAND),
        context_length=get_int(obj, "context_length", COMMAND),
        details=details_of(get_dict(obj, "details", COMMAND), COMMAND),
        extra={k: v for k, v in obj.items() if k not in _KNOWN},
    )


def parse(transcript: Transcript) -> OllamaApiPsResult:
    """The loaded models of a ``/api/ps`` body, or the error it reports."""
    status, value, err = single_body(COMMAND, transcript)
    if err is not None:
        return OllamaApiPsResult(http_status=status, error=err.error, kind=err.kind)
    return OllamaApiPsResult(
        http_status=status, models=[_model(m) for m in models_of(value, COMMAND)]
    )
