"""Every fixture through its parser: the `expected` facts of its provenance, and a
syrupy JSON snapshot of the whole result (tests/__snapshots__/test_fixtures/)."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion

from lmsdrive.golden import expected_mismatches, iter_fixtures
from lmsdrive.parsers import PARSERS, parse_transcript, resolve

FIXTURES = list(iter_fixtures())


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.case_id for f in FIXTURES])
def test_fixture(fx, snapshot_json: SnapshotAssertion) -> None:
    assert fx.meta.get("source") or (fx.meta.get("synthetic") and fx.meta.get("reason")), (
        "a fixture needs provenance: 'source', or 'synthetic': true with a 'reason'"
    )
    info = resolve(fx.parser)
    assert info.name == fx.parser, f"{fx.parser!r} is not a registered parser name"
    result = parse_transcript(info, fx.transcript(), strict=True).to_dict()
    if fx.expected:
        assert expected_mismatches(fx.expected, result) == []
    assert result == snapshot_json


@pytest.mark.parametrize("info", PARSERS, ids=[p.name for p in PARSERS])
def test_every_parser_has_a_fixture(info) -> None:
    assert any(resolve(f.parser) == info for f in FIXTURES), f"no fixture reads {info.name}"
