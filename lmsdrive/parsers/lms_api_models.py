"""LM Studio ``GET /v1/models`` (OpenAI-compatible): the models the server offers.

See docs/reference/lms-cli.md §7.1: ``{"data": [{"id", "object": "model", "owned_by":
"organization_owner"}, …], "object": "list"}``, pretty-printed by LM Studio. With
Just-In-Time loading on, every downloaded model is listed (embeddings too); with it off, only
loaded ones. Fields a later version adds to an entry are kept in ``extra``.

Usage::

    from lmsdrive.parsers import parse
    parse("lms /v1/models", body).to_dict()["ids"]

JSON Schema::

    {
      "ids":    [string],           # the models' ids, in the server's order
      "object": string|null,        # "list"
      "models": [{"id": string, "object": string|null, "owned_by": string|null,
                  "extra": object}],  # unknown fields of the entry, kept as sent
      "http_status": integer|null,  # transcript's status, or of a `curl -i` header
      "error":  string|null,        # an error body instead of a list (see lms /error)
      "kind":   string|null
    }

An error body (``{"error": "…"}`` with HTTP 200 or ``{"error": {"message": …}}``) gives
``error``/``kind`` and no models. A ``curl -i`` status line and headers before the body are
read (``http_status``). Empty body, non-JSON text, JSON that is not a model list, or nesting
deeper than 64 levels raise ParseError.

Example::

    {"data": [{"id": "qwen/qwen3.5-9b", "object": "model", "owned_by": "organization_owner"}],
     "object": "list"}

    {"ids": ["qwen/qwen3.5-9b"], "object": "list", "models": [{"id": "qwen/qwen3.5-9b",
     "object": "model", "owned_by": "organization_owner", "extra": {}}], ...}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._json import json_field
from ._lms_json import api_error, parse_body

__all__ = ["ApiModel", "LmsApiModelsResult", "parse"]

COMMAND = "lms /v1/models"


@dataclass(frozen=True, kw_only=True)
class ApiModel:
    """One entry of ``/v1/models``."""

    id: str
    object: str | None = None
    owned_by: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class LmsApiModelsResult(Result):
    """The models ``/v1/models`` lists."""

    ids: list[str] = field(default_factory=list)
    object: str | None = None
    models: list[ApiModel] = field(default_factory=list)
    http_status: int | None = None


def parse(transcript: Transcript) -> LmsApiModelsResult:
    """The model list of a ``/v1/models`` body (or the error body the server sent)."""
    obj, status = parse_body(COMMAND, transcript.text, transcript.http_status)
    err = api_error(obj, status)
    if err is not None:
        return LmsApiModelsResult(http_status=status, error=err.message, kind=err.kind)
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise ParseError(COMMAND, 'not a model list: expected {"data": [...], "object": "list"}')
    models = []
    for entry in obj["data"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise ParseError(COMMAND, f"model entry without a string id: {entry!r}"[:200])
        models.append(
            ApiModel(
                id=entry["id"],
                object=json_field(entry, "object", str, COMMAND),
                owned_by=json_field(entry, "owned_by", str, COMMAND),
                extra={k: v for k, v in entry.items() if k not in ("id", "object", "owned_by")},
            )
        )
    kind_of_list = obj.get("object")
    return LmsApiModelsResult(
        ids=[m.id for m in models],
        object=kind_of_list if isinstance(kind_of_list, str) else None,
        models=models,
        http_status=status,
    )
