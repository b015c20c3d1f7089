"""LM Studio ``POST /api/v1/models/download`` and ``GET /api/v1/models/download/status/
{job_id}`` (REST API v1, LM Studio 0.4.0+): a download job and its progress.

Reference docs/reference/runtimes-2026.md §2.2–2.3 (docs ``2_rest/download.md``,
``download-status.md``):
``{"job_id", "status": "downloading"|"paused"|"completed"|"failed"|"already_downloaded",
"total_size_bytes", "downloaded_bytes", "bytes_per_second", "estimated_completion",
"started_at", "completed_at"}``; ``job_id`` is absent when ``already_downloaded``.

Usage::

    from lmsdrive.parsers import parse
    parse("lms /api/v1/models/download", body).to_dict()["status"]

JSON Schema::

    {
      "job_id": string|null,
      "status": string|null,          # downloading | paused | completed | failed |
                                      # already_downloaded (others kept as sent)
      "total_size_bytes": integer|null, "downloaded_bytes": integer|null,
      "bytes_per_second": integer|null, "percent": number|null,
      "estimated_completion": string|null, "started_at": string|null,
      "completed_at": string|null,
      "extra": object,                # other fields, as sent
      "http_status": integer|null,
      "error": string|null, "kind": string|null
    }

Empty body, non-JSON text, an object without a string ``status`` (and not an error body)
raise ParseError; a field of the wrong type too (a lenient read lists it in ``skipped``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._lms_json import api_error, parse_body
from ._lms_v1 import field_of, number

__all__ = ["FINISHED", "LmsApiV1DownloadResult", "parse"]

COMMAND = "lms /api/v1/models/download"
#: Statuses after which the job does not change any more.
FINISHED = ("completed", "failed", "already_downloaded")

_STR = ("job_id", "estimated_completion", "started_at", "completed_at")
_NUM = ("total_size_bytes", "downloaded_bytes", "bytes_per_second")


@dataclass(frozen=True, kw_only=True)
class LmsApiV1DownloadResult(Result):
    """A download job as the server reports it."""

    job_id: str | None = None
    status: str | None = None
    total_size_bytes: int | None = None
    downloaded_bytes: int | None = None
    bytes_per_second: int | None = None
    percent: float | None = None
    estimated_completion: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    http_status: int | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def parse(transcript: Transcript) -> LmsApiV1DownloadResult:
    """The job of a download or download-status body (or the error body the server sent)."""
    obj, status = parse_body(COMMAND, transcript.text, transcript.http_status)
    err = api_error(obj, status)
    if err is not None:
        return LmsApiV1DownloadResult(http_status=status, error=err.message, kind=err.kind)
    if not isinstance(obj, dict) or not isinstance(obj.get("status"), str):
        raise ParseError(COMMAND, 'not a download job: expected {"status": ..., "job_id": ...}')
    nums = {k: number(COMMAND, obj, k) for k in _NUM}
    total, done = nums["total_size_bytes"], nums["downloaded_bytes"]
    if obj["status"] in ("completed", "already_downloaded"):
        percent: float | None = 100.0
    elif total and done is not None:
        percent = min(100.0, done * 100.0 / total)
    else:
        percent = None
    text = {k: field_of(COMMAND, obj, k, (str,)) for k in _STR}
    return LmsApiV1DownloadResult(
        job_id=text["job_id"],
        status=obj["status"],
        total_size_bytes=total,
        downloaded_bytes=done,
        bytes_per_second=nums["bytes_per_second"],
        percent=percent,
        estimated_completion=text["estimated_completion"],
        started_at=text["started_at"],
        completed_at=text["completed_at"],
        extra={k: v for k, v in obj.items() if k not in {"status", *_STR, *_NUM}},
        http_status=status,
    )
