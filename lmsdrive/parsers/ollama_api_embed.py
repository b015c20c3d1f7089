"""Parser of the body of ``POST /api/embed`` (Ollama v0.2.6+).

Shape (docs/reference/runtimes-2026.md §5.7; ollama ``docs/api.md`` "Generate Embeddings"):
``{"model", "embeddings": [[float, …], …], "total_duration", "load_duration",
"prompt_eval_count"}`` (one vector per input, in order; durations in nanoseconds); an error
body ``{"error": "…"}`` instead (404 ``model 'x' not found``, 400 when an input is too long
with ``truncate: false``).

Usage::

    from lmsdrive.parsers import parse
    parse("ollama /api/embed", body).embeddings

Schema (``OllamaApiEmbedResult.to_dict()``)::

    {
      "http_status":       integer | null,
      "error":             string | null,
      "kind":              string | null,
      "model":             string | null,
      "embeddings":        [[number]],     # one vector per input
      "dimensions":        integer | null, # length of the first vector
      "total_duration":    integer | null, # nanoseconds
      "load_duration":     integer | null,
      "prompt_eval_count": integer | null,
      "extra":             object          # unknown keys, as sent
    }

Empty body, non-JSON text (other than an HTTP error text), a body without ``embeddings``,
a vector that is empty or holds a non-number raise ``ParseError``.

Example::

    {"model":"all-minilm","embeddings":[[0.010071029,-0.0017594862]],"prompt_eval_count":8}

    {"model": "all-minilm", "embeddings": [[0.010071029, -0.0017594862]], "dimensions": 2,
     "prompt_eval_count": 8, ...}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._ollama_api import get_int, get_str, single_body
from ._vectors import vectors

__all__ = ["OllamaApiEmbedResult", "parse"]

COMMAND = "ollama /api/embed"

_COUNTERS = ("total_duration", "load_duration", "prompt_eval_count")


@dataclass(frozen=True, kw_only=True)
class OllamaApiEmbedResult(Result):
    """The vectors of an ``/api/embed`` answer."""

    http_status: int | None = None
    model: str | None = None
    embeddings: list[list[float]] = field(default_factory=list)
    dimensions: int | None = None
    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_count: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse(transcript: Transcript) -> OllamaApiEmbedResult:
    """The embeddings of an ``/api/embed`` body, or the error it reports."""
    status, value, err = single_body(COMMAND, transcript)
    if err is not None:
        return OllamaApiEmbedResult(http_status=status, error=err.error, kind=err.kind)
    if not isinstance(value, dict) or "embeddings" not in value:
        raise ParseError(COMMAND, "expected an object with 'embeddings'")
    vecs = vectors(COMMAND, value["embeddings"], "'embeddings'")
    known = ("model", "embeddings", *_COUNTERS)
    return OllamaApiEmbedResult(
        http_status=status,
        model=get_str(value, "model", COMMAND),
        embeddings=vecs,
        dimensions=len(vecs[0]) if vecs else None,
        total_duration=get_int(value, "total_duration", COMMAND),
        load_duration=get_int(value, "load_duration", COMMAND),
        prompt_eval_count=get_int(value, "prompt_eval_count", COMMAND),
        extra={k: v for k, v in value.items() if k not in known},
    )
