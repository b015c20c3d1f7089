"""Parser of the body of ``GET /api/tags`` (Ollama's downloaded models).

Usage::

    from lmsdrive.parsers import parse
    parse("ollama /api/tags", body).to_dict()

Schema (``OllamaApiTagsResult.to_dict()``)::

    {
      "http_status": integer | null,     # from the transcript, when known
      "error":       string | null,      # an error body ({"error": …} or plain text)
      "kind":        string | null,      # one of ERROR_KINDS
      "models": [{
        "name":         string,          # "llama3.2:3b", "hf.co/user/Repo-GGUF:Q4_K_M"
        "model":        string | null,   # same as name
        "size":         integer | null,  # bytes (a few hundred for cloud references)
        "digest":       string | null,   # 64 hex, no "sha256:" (12 hex on ollama.com)
        "modified_at":  string | null,   # RFC 3339, nanoseconds and local offset, as sent
        "details": {
          "parent_model": string | null, "format": string | null, "family": string | null,
          "families": [string] | null, "parameter_size": string | null,
          "quantization_level": string | null,
          "extra": object                # detail keys this parser does not know
        } | null,
        "remote_model": string | null,   # v0.12.0+ cloud references
        "remote_host":  string | null,
        "capabilities": [string] | null, # v0.30.0+
        "extra":        object           # model keys this parser does not know (kept)
      }]
    }

Bodies: ``{"models": [...]}``; ``{"models": []}`` or ``{"models": null}`` is no model
(an empty model store). Plain JSON or pretty-printed (``jq``). Empty body: ``ParseError``
(a server always answers an object). An error body (``{"error": "…"}``, ``404 page not
found``) gives ``error``/``kind`` and no models. Nothing is skipped; JSON nested deeper than
64 levels, other JSON and garbage raise ``ParseError``.

Example::

    {"models":[{"name":"gemma3:latest","model":"gemma3:latest",
      "modified_at":"2025-08-07T23:54:10.5+02:00","size":3338801804,
      "digest":"a2af6cc3eb7fa8be8504abaf9b04e88f17a119ec3f04a3addf55f92841195f5a",
      "details":{"parent_model":"","format":"gguf","family":"gemma3",
                 "families":["gemma3"],"parameter_size":"4.3B","quantization_level":"Q4_K_M"}}]}

    {"http_status": 200, "error": null, "kind": null,
     "models": [{"name": "gemma3:latest", "model": "gemma3:latest", "size": 3338801804,
                 "digest": "a2af…195f5a", "modified_at": "2025-08-07T23:54:10.5+02:00",
                 "details": {"parent_model": "", "format": "gguf", "family": "gemma3",
                             "families": ["gemma3"], "parameter_size": "4.3B",
                             "quantization_level": "Q4_K_M", "extra": {}},
                 "remote_model": null, "remote_host": null, "capabilities": null,
                 "extra": {}}]}
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
    get_list,
    get_str,
    models_of,
    single_body,
)

__all__ = ["OllamaApiTagsResult", "TagsModel", "parse"]

COMMAND = "ollama /api/tags"

_KNOWN = (
    "name",
    "model",
    "size",
    "digest",
    "modified_at",
    "details",
    "remote_model",
    "remote_host",
    "capabilities",
)


@dataclass(frozen=True)
class TagsModel:
    """One downloaded model."""

    name: str
    model: str | None = None
    size: int | None = None
    digest: str | None = None
    modified_at: str | None = None
    details: ModelDetails | None = None
    remote_model: str | None = None
    remote_host: str | None = None
    capabilities: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class OllamaApiTagsResult(Result):
    """The models of ``/api/tags``."""

    http_status: int | None = None
    models: list[TagsModel] = field(default_factory=list)


def _model(obj: dict[str, Any]) -> TagsModel:
    name = get_str(obj, "name", COMMAND) or get_str(obj, "model", COMMAND)
    if not name:
        raise ParseError(COMMAND, f"a model without 'name': {obj!r:.200}")
    caps = get_list(obj, "capabilities", COMMAND)
    if caps is not None and not all(isinstance(c, str) for c in caps):
        raise ParseError(COMMAND, "'capabilities' should be a list of strings")
    return TagsModel(
        name=name,
        model=get_str(obj, "model", COMMAND),
        size=get_int(obj, "size", COMMAND),
        digest=get_str(obj, "digest", COMMAND),
        modified_at=get_str(obj, "modified_at", COMMAND),
        details=details_of(get_dict(obj, "details", COMMAND), COMMAND),
        remote_model=get_str(obj, "remote_model", COMMAND),
        remote_host=get_str(obj, "remote_host", COMMAND),
        capabilities=caps,
        extra={k: v for k, v in obj.items() if k not in _KNOWN},
    )


def parse(transcript: Transcript) -> OllamaApiTagsResult:
    """The models of a ``/api/tags`` body, or the error it reports."""
    status, value, err = single_body(COMMAND, transcript)
    if err is not None:
        return OllamaApiTagsResult(http_status=status, error=err.error, kind=err.kind)
    return OllamaApiTagsResult(
        http_status=status, models=[_model(m) for m in models_of(value, COMMAND)]
    )
