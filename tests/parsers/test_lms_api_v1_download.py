"""Tests of lmsdrive.parsers.lms_api_v1_download (``POST /api/v1/models/download`` and
``GET /api/v1/models/download/status/{job_id}``, LM Studio 0.4+)."""

from __future__ import annotations

import json

import pytest
from _support import fixture, parse, parse_as, refused, wrong_type

from lmsdrive.parsers import resolve
from lmsdrive.parsers.lms_api_v1_download import LmsApiV1DownloadResult
from lmsdrive.transcript import Transcript

CMD = "lms /api/v1/models/download"


def job(**fields: object) -> LmsApiV1DownloadResult:
    return parse_as(LmsApiV1DownloadResult, CMD, json.dumps(fields))


def test_both_routes_read_by_one_parser() -> None:
    assert resolve("lms /api/v1/models/download/status").module == "lms_api_v1_download"
    assert resolve(CMD).module == "lms_api_v1_download"


def test_docs_download_started() -> None:
    r = parse_as(LmsApiV1DownloadResult, CMD, fixture("lms/api-v1-download/docs-download"))
    assert (r.job_id, r.status, r.total_size_bytes) == ("job_493c7c9ded", "downloading", 2279145003)
    assert (r.downloaded_bytes, r.percent, r.finished) == (None, None, False)
    assert r.started_at == "2025-10-03T15:33:23.496Z" and r.completed_at is None
    assert r.extra == {} and r.http_status == 200


def test_docs_status_completed() -> None:
    r = parse_as(LmsApiV1DownloadResult, CMD, fixture("lms/api-v1-download/docs-status-completed"))
    assert (r.status, r.percent, r.finished) == ("completed", 100.0, True)
    assert r.downloaded_bytes == r.total_size_bytes == 2279145003
    assert r.completed_at == "2025-10-03T15:43:12.102Z"


def test_status_while_downloading() -> None:
    r = parse_as(
        LmsApiV1DownloadResult, CMD, fixture("lms/api-v1-download/synthetic-status-downloading")
    )
    assert r.percent == pytest.approx(50.0) and not r.finished
    assert (r.bytes_per_second, r.estimated_completion) == (3871234, "2025-10-03T15:43:12.102Z")


def test_already_downloaded_has_no_job() -> None:
    r = job(status="already_downloaded")
    assert (r.job_id, r.percent, r.finished, r.total_size_bytes) == (None, 100.0, True, None)


def test_percent_from_the_byte_counts() -> None:
    assert job(status="paused", total_size_bytes=400, downloaded_bytes=100).percent == 25.0
    assert not job(status="paused", total_size_bytes=400, downloaded_bytes=100).finished
    # A failed job is finished; its percent says how far it got.
    failed = job(status="failed", total_size_bytes=400, downloaded_bytes=300)
    assert (failed.finished, failed.percent) == (True, 75.0)
    # Never above 100, and no division by a zero or unknown total.
    assert job(status="downloading", total_size_bytes=10, downloaded_bytes=11).percent == 100.0
    assert job(status="downloading", total_size_bytes=0, downloaded_bytes=0).percent is None
    assert job(status="downloading", downloaded_bytes=5).percent is None
    # A whole float byte count (a JavaScript number) reads as an integer.
    assert job(status="downloading", downloaded_bytes=5.0).downloaded_bytes == 5


def test_unknown_status_and_fields_kept_as_sent() -> None:
    r = job(job_id="job_1", status="queued", error_message="disk full")
    assert (r.status, r.finished, r.percent) == ("queued", False, None)
    assert r.extra == {"error_message": "disk full"}


def test_error_bodies() -> None:
    r = parse(CMD, '{"error": "Unexpected endpoint or method. (POST /api/v1/models/download)"}')
    assert (r.kind, r.to_dict()["status"], r.to_dict()["job_id"]) == ("usage", None, None)
    body = '{"error": {"message": "Model not found: nope/nope", "type": "invalid_request_error"}}'
    r = parse(CMD, Transcript.of(body, http_status=404))
    assert (r.error, r.kind) == ("Model not found: nope/nope", "model_not_found")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("downloaded_bytes", '"5"'),
        ("total_size_bytes", "false"),
        ("bytes_per_second", "[1]"),
        ("job_id", "42"),
        ("started_at", "1696347203"),
    ],
)
def test_field_of_the_wrong_type(field: str, value: str) -> None:
    d = wrong_type(CMD, '{"status": "downloading", FIELD}', f'"{field}": {value}').to_dict()
    assert d["status"] == "downloading" and d[field] is None and d["percent"] is None


def test_other_shapes_are_refused() -> None:
    refused(
        CMD,
        "",
        "Not Found",
        "[]",
        "{}",
        '{"job_id": "job_1"}',
        '{"job_id": "job_1", "status": 3}',
        '{"status": "downloading"',
    )
