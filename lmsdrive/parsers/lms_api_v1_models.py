"""LM Studio ``GET /api/v1/models`` (REST API v1, LM Studio 0.4.0+): downloaded models and
their loaded instances.

Reference docs/reference/runtimes-2026.md §2.1 (docs ``1_developer/2_rest/list.md``):
``{"models": [{"type":
"llm"|"embedding", "publisher", "key", "display_name", "architecture", "quantization":
{"name", "bits_per_weight"}, "size_bytes", "params_string", "loaded_instances": [{"id",
"config": {"context_length", ...}}], "max_context_length", "format", "capabilities", ...}]}``.
An LM Studio older than 0.4 answers this route with HTTP 200 and ``{"error": "Unexpected
endpoint or method. (GET /api/v1/models)"}`` (§2.8): read as ``error`` with ``kind`` ``usage``.

Usage::

    from lmsdrive.parsers import parse
    parse("lms /api/v1/models", body).to_dict()["models"]

JSON Schema::

    {
      "keys":   [string],
      "models": [{
        "key": string, "type": string|null, "publisher": string|null,
        "display_name": string|null, "architecture": string|null,
        "quantization": string|null,          # quantization.name
        "size_bytes": integer|null, "params_string": string|null,
        "max_context_length": integer|null, "format": string|null,
        "loaded_instances": [{"id": string, "context_length": integer|null,
                              "config": object}],
        "extra": object                       # other fields, as sent
      }],
      "http_status": integer|null,
      "error": string|null, "kind": string|null
    }

Empty body, non-JSON text, a body that is neither ``{"models": [...]}`` nor an error body,
an entry without a string ``key`` raise ParseError; a field of the wrong type too (a
lenient read lists it in ``skipped``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._lms_json import api_error, parse_body
from ._lms_v1 import field_of, number

__all__ = ["LmsApiV1ModelsResult", "V1Instance", "V1Model", "parse"]

COMMAND = "lms /api/v1/models"

_STR = ("type", "publisher", "display_name", "architecture", "params_string", "format")
_KNOWN = {"key", "quantization", "size_bytes", "max_context_length", "loaded_instances", *_STR}


@dataclass(frozen=True, kw_only=True)
class V1Instance:
    """One loaded instance of a model (``loaded_instances[]``)."""

    id: str
    context_length: int | None = None
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class V1Model:
    """One downloaded model of ``/api/v1/models``."""

    key: str
    type: str | None = None
    publisher: str | None = None
    display_name: str | None = None
    architecture: str | None = None
    quantization: str | None = None
    size_bytes: int | None = None
    params_string: str | None = None
    max_context_length: int | None = None
    format: str | None = None
    loaded_instances: list[V1Instance] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class LmsApiV1ModelsResult(Result):
    """The models ``/api/v1/models`` lists."""

    keys: list[str] = field(default_factory=list)
    models: list[V1Model] = field(default_factory=list)
    http_status: int | None = None


def _instance(entry: object) -> V1Instance:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise ParseError(COMMAND, f"loaded instance without a string id: {entry!r}"[:200])
    config = field_of(COMMAND, entry, "config", (dict,)) or {}
    return V1Instance(
        id=entry["id"], context_length=number(COMMAND, config, "context_length"), config=config
    )


def _model(entry: object) -> V1Model:
    if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
        raise ParseError(COMMAND, f"model entry without a string key: {entry!r}"[:200])
    quant = field_of(COMMAND, entry, "quantization", (dict, str))
    quant_name = quant.get("name") if isinstance(quant, dict) else quant
    instances = field_of(COMMAND, entry, "loaded_instances", (list,)) or []
    return V1Model(
        key=entry["key"],
        quantization=quant_name if isinstance(quant_name, str) else None,
        size_bytes=number(COMMAND, entry, "size_bytes"),
        max_context_length=number(COMMAND, entry, "max_context_length"),
        loaded_instances=[_instance(i) for i in instances],
        extra={k: v for k, v in entry.items() if k not in _KNOWN},
        **{k: field_of(COMMAND, entry, k, (str,)) for k in _STR},
    )


def parse(transcript: Transcript) -> LmsApiV1ModelsResult:
    """The models of a ``/api/v1/models`` body (or the error body the server sent)."""
    obj, status = parse_body(COMMAND, transcript.text, transcript.http_status)
    err = api_error(obj, status)
    if err is not None:
        return LmsApiV1ModelsResult(http_status=status, error=err.message, kind=err.kind)
    if not isinstance(obj, dict) or not isinstance(obj.get("models"), list):
        raise ParseError(COMMAND, 'not a model list: expected {"models": [...]}')
    models = [_model(e) for e in obj["models"]]
    return LmsApiV1ModelsResult(keys=[m.key for m in models], models=models, http_status=status)
