"""LM Studio ``POST /api/v1/models/load`` and ``POST /api/v1/models/unload`` (REST API v1,
LM Studio 0.4.0+).

Reference docs/reference/runtimes-2026.md §2.4–2.5 (docs ``2_rest/load.md``, ``unload.md``):
load answers
``{"type": "llm"|"embedding", "instance_id", "load_time_seconds", "status": "loaded",
"load_config": {...}}`` (``load_config`` only with ``echo_load_config``); unload answers
``{"instance_id"}``.

Usage::

    from lmsdrive.parsers import parse
    parse("lms /api/v1/models/load", body).to_dict()["instance_id"]

JSON Schema::

    {
      "instance_id": string|null,
      "type": string|null, "status": string|null,
      "load_time_seconds": number|null,
      "context_length": integer|null,     # load_config.context_length
      "load_config": object|null,
      "http_status": integer|null,
      "error": string|null, "kind": string|null
    }

Empty body, non-JSON text, an object without a string ``instance_id`` (and not an error
body) raise ParseError; a field of the wrong type too (a lenient read lists it in
``skipped``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._lms_json import api_error, parse_body
from ._lms_v1 import field_of, number

__all__ = ["LmsApiV1LoadResult", "parse"]

COMMAND = "lms /api/v1/models/load"


@dataclass(frozen=True, kw_only=True)
class LmsApiV1LoadResult(Result):
    """A loaded (or unloaded) instance."""

    instance_id: str | None = None
    type: str | None = None
    status: str | None = None
    load_time_seconds: float | None = None
    context_length: int | None = None
    load_config: dict[str, Any] | None = None
    http_status: int | None = None


def parse(transcript: Transcript) -> LmsApiV1LoadResult:
    """The instance of a load or unload body (or the error body the server sent)."""
    obj, status = parse_body(COMMAND, transcript.text, transcript.http_status)
    err = api_error(obj, status)
    if err is not None:
        return LmsApiV1LoadResult(http_status=status, error=err.message, kind=err.kind)
    if not isinstance(obj, dict) or not isinstance(obj.get("instance_id"), str):
        raise ParseError(COMMAND, 'not a load/unload answer: expected {"instance_id": ...}')
    config = field_of(COMMAND, obj, "load_config", (dict,))
    seconds = field_of(COMMAND, obj, "load_time_seconds", (float, int))
    return LmsApiV1LoadResult(
        instance_id=obj["instance_id"],
        type=field_of(COMMAND, obj, "type", (str,)),
        status=field_of(COMMAND, obj, "status", (str,)),
        load_time_seconds=None if seconds is None else float(seconds),
        context_length=None if config is None else number(COMMAND, config, "context_length"),
        load_config=config,
        http_status=status,
    )
