"""Parser of the body of ``GET /api/version`` (v0.1.14+).

Usage::

    from lmsdrive.parsers import parse
    parse("ollama /api/version", '{"version":"0.5.7"}').to_dict()

Schema (``OllamaApiVersionResult.to_dict()``)::

    {
      "http_status": integer | null,  # from the transcript, when known
      "version":     string | null,   # free-form: "0.5.7", "0.6.0-rc1", "0.0.0", "0.1.47-amd"
      "error":       string | null,   # an error body ({"error": …}, or "404 page not found"
                                      # from servers older than v0.1.14)
      "kind":        string | null    # one of ERROR_KINDS
    }

Empty body, an object without ``version``, deep nesting and garbage raise ``ParseError``.
Nothing is skipped (keys other than ``version`` are kept in ``extra``).

Example::

    {"version":"0.5.7"}

    {"http_status": null, "version": "0.5.7", "error": null, "kind": null, "extra": {}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._ollama_api import get_str, single_body

__all__ = ["OllamaApiVersionResult", "parse"]

COMMAND = "ollama /api/version"


@dataclass(frozen=True, kw_only=True)
class OllamaApiVersionResult(Result):
    """The server's version."""

    http_status: int | None = None
    version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse(transcript: Transcript) -> OllamaApiVersionResult:
    """The version of a ``/api/version`` body, or the error it reports."""
    status, value, err = single_body(COMMAND, transcript)
    if err is not None:
        return OllamaApiVersionResult(http_status=status, error=err.error, kind=err.kind)
    if not isinstance(value, dict) or "version" not in value:
        raise ParseError(COMMAND, "expected an object with 'version'")
    version = get_str(value, "version", COMMAND)
    extra = {k: v for k, v in value.items() if k != "version"}
    return OllamaApiVersionResult(http_status=status, version=version, extra=extra)
