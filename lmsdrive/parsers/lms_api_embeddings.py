"""LM Studio ``POST /v1/embeddings`` (OpenAI-compatible; also ``/api/v0/embeddings``).

Shape (docs/reference/runtimes-2026.md §6.2 and §2.7, docs ``embeddings.md`` and
``endpoints.mdx``): ``{"object": "list", "data": [{"object": "embedding", "embedding":
[float, …], "index": 0}, …], "model", "usage": {"prompt_tokens", "total_tokens"}}``; one
``data`` item per input, put back in ``index`` order here. An error body instead:
``{"error": {"message", "type", "param", "code"}}`` (HTTP 4xx) or LM Studio's HTTP 200
``{"error": "…"}``. llama.cpp's server answers the same shape.

Usage::

    from lmsdrive.parsers import parse
    parse("lms /v1/embeddings", body).embeddings

JSON Schema::

    {
      "http_status":   integer|null,
      "error": string|null, "kind": string|null,
      "object":        string|null,     # "list"
      "model":         string|null,
      "embeddings":    [[number]],      # by index
      "dimensions":    integer|null,    # length of the first vector
      "prompt_tokens": integer|null, "total_tokens": integer|null
    }

Empty body, non-JSON text, a body without a ``data`` list, an item without a numeric
``embedding`` list (a per-token list of lists, as llama.cpp sends for a model without
pooling, included) or with a repeated ``index`` raise ParseError; a field of the wrong
type too (a lenient read lists it in ``skipped`` and reads ``None``; an ``index`` then
counts as absent).

Example::

    {"object": "list", "data": [{"object": "embedding", "embedding": [0.1, -0.2],
     "index": 0}], "model": "text-embedding-nomic-embed-text-v1.5",
     "usage": {"prompt_tokens": 5, "total_tokens": 5}}

    {"object": "list", "model": "text-embedding-nomic-embed-text-v1.5",
     "embeddings": [[0.1, -0.2]], "dimensions": 2, "prompt_tokens": 5, "total_tokens": 5}
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._json import json_field
from ._lms_json import api_error, parse_body
from ._vectors import vector

__all__ = ["LmsApiEmbeddingsResult", "parse"]

COMMAND = "lms /v1/embeddings"


@dataclass(frozen=True, kw_only=True)
class LmsApiEmbeddingsResult(Result):
    """The vectors of an embeddings answer."""

    http_status: int | None = None
    object: str | None = None
    model: str | None = None
    embeddings: list[list[float]] = field(default_factory=list)
    dimensions: int | None = None
    prompt_tokens: int | None = None
    total_tokens: int | None = None


def parse(transcript: Transcript) -> LmsApiEmbeddingsResult:
    """The embeddings of a ``/v1/embeddings`` body (or the error body the server sent)."""
    obj, status = parse_body(COMMAND, transcript.text, transcript.http_status)
    err = api_error(obj, status)
    if err is not None:
        return LmsApiEmbeddingsResult(http_status=status, error=err.message, kind=err.kind)
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise ParseError(COMMAND, 'not an embeddings list: expected {"data": [...]}')
    by_index: dict[int, list[float]] = {}
    for n, item in enumerate(obj["data"]):
        if not isinstance(item, dict):
            raise ParseError(COMMAND, f"data[{n}] is not an object")
        index = json_field(item, "index", int, COMMAND)
        index = n if index is None else index
        if index in by_index:
            raise ParseError(COMMAND, f"data[{n}] repeats index {index}")
        by_index[index] = vector(COMMAND, item.get("embedding"), f"data[{n}].embedding")
    vecs = [by_index[i] for i in sorted(by_index)]
    usage = json_field(obj, "usage", dict, COMMAND) or {}
    return LmsApiEmbeddingsResult(
        http_status=status,
        object=json_field(obj, "object", str, COMMAND),
        model=json_field(obj, "model", str, COMMAND),
        embeddings=vecs,
        dimensions=len(vecs[0]) if vecs else None,
        prompt_tokens=json_field(usage, "prompt_tokens", int, COMMAND),
        total_tokens=json_field(usage, "total_tokens", int, COMMAND),
    )
