"""Parser of the body of ``POST /api/show`` (a model's metadata and capabilities).

Shape (docs/reference/runtimes-2026.md §5.6; ollama ``docs/api.md`` "Show Model Information",
``api/types.go`` ``ShowResponse``): ``{"license", "modelfile", "parameters", "template",
"system", "details": {…}, "model_info": {"general.architecture": "llama",
"llama.context_length": 131072, "llama.embedding_length": 3072, …}, "projector_info",
"tensors", "capabilities": ["completion", "tools", "insert", "vision", "embedding",
"thinking", "image", "audio"], "modified_at", …}``. ``capabilities`` arrived in v0.6.4: an
older server omits it (``null`` here, meaning "unknown", not "none"). The large text fields
(license, modelfile, template) and tensor lists are not kept; their presence is listed in
``fields``.

Usage::

    from lmsdrive.parsers import parse
    parse("ollama /api/show", body).capabilities

Schema (``OllamaApiShowResult.to_dict()``)::

    {
      "http_status":      integer | null,
      "error":            string | null,
      "kind":             string | null,
      "capabilities":     [string] | null,  # null: the server predates the field
      "details":          {"parent_model", "format", "family", "families",
                           "parameter_size", "quantization_level", "extra"} | null,
      "architecture":     string | null,    # model_info["general.architecture"]
      "context_length":   integer | null,   # model_info["<arch>.context_length"]
      "embedding_length": integer | null,   # model_info["<arch>.embedding_length"]
      "block_count":      integer | null,   # model_info["<arch>.block_count"] (layers)
      "head_count":       integer | null,   # model_info["<arch>.attention.head_count"]
      "head_count_kv":    integer | null,   # model_info["<arch>.attention.head_count_kv"]
      "parameter_count":  integer | null,   # model_info["general.parameter_count"]
      "parameters":       string | null,    # the Modelfile PARAMETER lines
      "modified_at":      string | null,
      "fields":           [string]          # every top-level key sent, sorted
    }

Empty body, non-JSON text (other than an HTTP error text), a body that is not an object
raise ``ParseError``; a field of the wrong type too (``capabilities`` not a list of strings,
``model_info``'s lengths not integers; a lenient read lists it in ``skipped``, reads ``None``).

Example::

    {"details":{"format":"gguf","family":"llama"},"model_info":{"general.architecture":
    "llama","llama.context_length":131072},"capabilities":["completion","vision"]}

    {"capabilities": ["completion", "vision"], "architecture": "llama",
     "context_length": 131072, "fields": ["capabilities", "details", "model_info"], ...}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

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
    single_body,
)
from ._policy import not_understood

__all__ = ["OllamaApiShowResult", "parse"]

COMMAND = "ollama /api/show"


@dataclass(frozen=True, kw_only=True)
class OllamaApiShowResult(Result):
    """What ``/api/show`` tells of a model."""

    http_status: int | None = None
    capabilities: list[str] | None = None
    details: ModelDetails | None = None
    architecture: str | None = None
    context_length: int | None = None
    embedding_length: int | None = None
    block_count: int | None = None
    head_count: int | None = None
    head_count_kv: int | None = None
    parameter_count: int | None = None
    parameters: str | None = None
    modified_at: str | None = None
    fields: list[str] = field(default_factory=list)


def parse(transcript: Transcript) -> OllamaApiShowResult:
    """The capabilities and details of an ``/api/show`` body, or the error it reports."""
    status, value, err = single_body(COMMAND, transcript)
    if err is not None:
        return OllamaApiShowResult(http_status=status, error=err.error, kind=err.kind)
    if not isinstance(value, dict):
        raise ParseError(COMMAND, "expected a JSON object")
    caps = get_list(value, "capabilities", COMMAND)
    if caps is not None and not all(isinstance(c, str) for c in caps):
        shown = f'"capabilities": {json.dumps(caps)}'[:200]
        not_understood(COMMAND, "'capabilities' should be a list of strings", 1, shown, part=True)
        caps = None
    info = get_dict(value, "model_info", COMMAND) or {}
    arch = info.get("general.architecture")
    arch = arch if isinstance(arch, str) else None
    return OllamaApiShowResult(
        http_status=status,
        capabilities=caps,
        details=details_of(get_dict(value, "details", COMMAND), COMMAND),
        architecture=arch,
        context_length=get_int(info, f"{arch}.context_length", COMMAND) if arch else None,
        embedding_length=get_int(info, f"{arch}.embedding_length", COMMAND) if arch else None,
        block_count=get_int(info, f"{arch}.block_count", COMMAND) if arch else None,
        head_count=_count(info, f"{arch}.attention.head_count") if arch else None,
        head_count_kv=_count(info, f"{arch}.attention.head_count_kv") if arch else None,
        parameter_count=get_int(info, "general.parameter_count", COMMAND),
        parameters=get_str(value, "parameters", COMMAND),
        modified_at=get_str(value, "modified_at", COMMAND),
        fields=sorted(value),
    )


def _count(info: dict[str, object], key: str) -> int | None:
    """A head count: an integer, or (per-layer models such as gemma3n) the largest of a list."""
    value = info.get(key)
    if isinstance(value, list):
        counts = [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
        return max(counts) if counts else None
    return get_int(info, key, COMMAND)
