"""Tests of lmsdrive.parsers.lms_api_error."""

from __future__ import annotations

import pytest

from lmsdrive.errors import ParseError
from lmsdrive.parsers import (
    lms_api_error,
)
from lmsdrive.transcript import Transcript


def test_error_parser_refuses_non_error_json() -> None:
    with pytest.raises(ParseError):
        lms_api_error.parse(Transcript.of('{"lmstudio": true}'))


def test_curl_i_headers_give_status() -> None:
    body = (
        "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n\r\n"
        '{"error":"boom"}'
    )
    r = lms_api_error.parse(Transcript.of(body))
    assert (r.http_status, r.kind, r.error_is_string) == (500, "server_error", True)
