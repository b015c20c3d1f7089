"""Tests of lmsdrive.parsers.lms_api_v1_load (``POST /api/v1/models/load`` and
``/unload``, LM Studio 0.4+)."""

from __future__ import annotations

import json

import pytest
from _support import fixture, parse, parse_as, refused, wrong_type

from lmsdrive.parsers import resolve
from lmsdrive.parsers.lms_api_v1_load import LmsApiV1LoadResult
from lmsdrive.transcript import Transcript

CMD = "lms /api/v1/models/load"


def loaded(**fields: object) -> LmsApiV1LoadResult:
    return parse_as(LmsApiV1LoadResult, CMD, json.dumps(fields))


def test_both_routes_read_by_one_parser() -> None:
    assert resolve("lms /api/v1/models/unload").module == resolve(CMD).module == "lms_api_v1_load"


def test_docs_load_with_echoed_config() -> None:
    r = parse_as(LmsApiV1LoadResult, CMD, fixture("lms/api-v1-load/docs-load"))
    assert (r.instance_id, r.type, r.status) == ("openai/gpt-oss-20b", "llm", "loaded")
    assert (r.load_time_seconds, r.context_length) == (9.099, 16384)
    assert r.load_config is not None and r.load_config["num_experts"] == 4
    assert r.load_config["flash_attention"] is True and r.http_status == 200


def test_docs_unload_is_only_the_instance() -> None:
    d = parse("lms /api/v1/models/unload", fixture("lms/api-v1-load/docs-unload")).to_dict()
    assert d["instance_id"] == "openai/gpt-oss-20b"
    assert [d[k] for k in ("type", "status", "load_time_seconds", "load_config")] == [None] * 4


def test_load_without_echo_and_embedding_model() -> None:
    r = loaded(type="embedding", instance_id="nomic", load_time_seconds=1, status="loaded")
    assert (r.load_time_seconds, r.load_config, r.context_length) == (1.0, None, None)
    assert isinstance(r.load_time_seconds, float)
    r = loaded(type="embedding", instance_id="nomic", load_config={"context_length": 2048})
    assert (r.type, r.context_length) == ("embedding", 2048)


def test_error_bodies() -> None:
    crash = '{"error": "The model has crashed without additional information. (Exit code: 11)"}'
    r = parse(CMD, Transcript.of(crash, http_status=400))
    assert (r.kind, r.to_dict()["instance_id"]) == ("crash", None)
    missing = {
        "error": {"message": "x", "type": "invalid_request_error", "code": "model_not_found"}
    }
    assert parse(CMD, Transcript.of(json.dumps(missing), http_status=404)).kind == "model_not_found"
    r = parse(CMD, '{"error": "Unexpected endpoint or method. (POST /api/v1/models/load)"}')
    assert r.kind == "usage"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("load_time_seconds", '"9.1s"'),
        ("load_time_seconds", "true"),
        ("type", "5"),
        ("status", "{}"),
        ("load_config", "[]"),
    ],
)
def test_field_of_the_wrong_type(field: str, value: str) -> None:
    d = wrong_type(CMD, '{"instance_id": "m", FIELD}', f'"{field}": {value}').to_dict()
    assert d["instance_id"] == "m" and d[field] is None


def test_context_length_of_the_wrong_type() -> None:
    body = '{"instance_id": "m", "load_config": {FIELD, "num_experts": 4}}'
    d = wrong_type(CMD, body, '"context_length": "16k"').to_dict()
    assert d["context_length"] is None and d["load_config"]["num_experts"] == 4


def test_other_shapes_are_refused() -> None:
    refused(
        CMD,
        "",
        "Internal error",
        "[]",
        '{"status": "loaded"}',
        '{"instance_id": 7}',
        '{"instance_id": "m",',
    )
