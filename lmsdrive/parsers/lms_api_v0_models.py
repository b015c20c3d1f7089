"""LM Studio ``GET /api/v0/models`` (REST API v0, beta since 0.3.6): models with details.

See docs/reference/lms-cli.md §7.2: ``{"object": "list", "data": [{"id", "object": "model", "type":
"llm"|"vlm"|"embeddings", "publisher", "arch", "compatibility_type": "gguf"|"mlx",
"quantization", "state": "loaded"|"not-loaded", "max_context_length",
"loaded_context_length" (loaded models only, undocumented), "capabilities": ["tool_use"]
(0.3.16+)}]}``. ``GET /api/v0/models/{id}`` (one object) is read as a one-model list.
Fields a later version adds are kept in ``extra``.

Usage::

    from lmsdrive.parsers import parse
    parse("lms /api/v0/models", body).to_dict()["models"]

JSON Schema::

    {
      "ids":    [string],
      "object": string|null,
      "models": [{
        "id": string, "object": string|null,
        "type": string|null,               # llm | vlm | embeddings
        "publisher": string|null, "arch": string|null,
        "compatibility_type": string|null, # gguf | mlx
        "quantization": string|null,
        "state": string|null,              # loaded | not-loaded
        "max_context_length": integer|null,
        "loaded_context_length": integer|null,
        "capabilities": [string]|null,
        "extra": object                    # unknown fields, as sent
      }],
      "http_status": integer|null,
      "error": string|null, "kind": string|null   # when the body is an error body
    }

Empty body, non-JSON text, JSON that is neither a model list nor a model, or nesting
deeper than 64 levels raise ParseError.

Example::

    {"data": [{"id": "google/gemma-3-4b", "object": "model", "type": "vlm", "publisher":
     "google", "arch": "gemma3", "compatibility_type": "gguf", "quantization": "Q4_K_M",
     "state": "loaded", "max_context_length": 131072, "loaded_context_length": 12918}],
     "object": "list"}

    {"ids": ["google/gemma-3-4b"], "models": [{"id": "google/gemma-3-4b", "type": "vlm",
     "state": "loaded", "max_context_length": 131072, "loaded_context_length": 12918, ...}]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._json import json_field
from ._lms_json import api_error, parse_body

__all__ = ["LmsApiV0ModelsResult", "V0Model", "parse"]

COMMAND = "lms /api/v0/models"

_STR_FIELDS = ("object", "type", "publisher", "arch", "compatibility_type", "quantization", "state")
_INT_FIELDS = ("max_context_length", "loaded_context_length")


@dataclass(frozen=True, kw_only=True)
class V0Model:
    """One model of ``/api/v0/models``."""

    id: str
    object: str | None = None
    type: str | None = None
    publisher: str | None = None
    arch: str | None = None
    compatibility_type: str | None = None
    quantization: str | None = None
    state: str | None = None
    max_context_length: int | None = None
    loaded_context_length: int | None = None
    capabilities: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class LmsApiV0ModelsResult(Result):
    """The models ``/api/v0/models`` lists."""

    ids: list[str] = field(default_factory=list)
    object: str | None = None
    models: list[V0Model] = field(default_factory=list)
    http_status: int | None = None


def _model(entry: object) -> V0Model:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise ParseError(COMMAND, f"model entry without a string id: {entry!r}"[:200])
    values: dict[str, Any] = {k: json_field(entry, k, str, COMMAND) for k in _STR_FIELDS}
    values.update({k: json_field(entry, k, int, COMMAND) for k in _INT_FIELDS})
    caps = entry.get("capabilities")
    if caps is not None and not (isinstance(caps, list) and all(isinstance(c, str) for c in caps)):
        raise ParseError(COMMAND, f"capabilities is not a list of strings: {caps!r}"[:200])
    known = {"id", "capabilities", *_STR_FIELDS, *_INT_FIELDS}
    return V0Model(
        id=entry["id"],
        capabilities=list(caps) if caps is not None else None,
        extra={k: v for k, v in entry.items() if k not in known},
        **values,
    )


def parse(transcript: Transcript) -> LmsApiV0ModelsResult:
    """The models of a ``/api/v0/models`` body (or the error body the server sent)."""
    obj, status = parse_body(COMMAND, transcript.text, transcript.http_status)
    err = api_error(obj, status)
    if err is not None:
        return LmsApiV0ModelsResult(http_status=status, error=err.message, kind=err.kind)
    if isinstance(obj, dict) and isinstance(obj.get("data"), list):
        models = [_model(e) for e in obj["data"]]
        kind_of_list = obj.get("object")
        list_object = kind_of_list if isinstance(kind_of_list, str) else None
    elif isinstance(obj, dict) and isinstance(obj.get("id"), str):
        models, list_object = [_model(obj)], None
    else:
        raise ParseError(COMMAND, 'not a model list: expected {"data": [...], "object": "list"}')
    return LmsApiV0ModelsResult(
        ids=[m.id for m in models], object=list_object, models=models, http_status=status
    )
