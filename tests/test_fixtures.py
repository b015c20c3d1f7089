"""Every fixture through its parser: the `expected` facts of its provenance, and a
syrupy JSON snapshot of the whole result (tests/__snapshots__/test_fixtures/)."""

from __future__ import annotations

import json

import pytest
from syrupy.assertion import SnapshotAssertion

from lmsdrive.golden import DEFAULT_ROOT, Fixture, expected_mismatches, iter_fixtures
from lmsdrive.parsers import PARSERS, ParserInfo, by_folder, parse_transcript, resolve

FIXTURES = list(iter_fixtures())


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.case_id for f in FIXTURES])
def test_fixture(fx: Fixture, snapshot_json: SnapshotAssertion) -> None:
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
def test_every_parser_has_a_fixture(info: ParserInfo) -> None:
    assert any(resolve(f.parser) == info for f in FIXTURES), f"no fixture reads {info.name}"


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.case_id for f in FIXTURES])
def test_the_folder_names_the_parser(fx: Fixture) -> None:
    """``fixtures/<tool>/<command>/`` is the key (ntc-templates): the folder names the
    parser module that reads the case, by the one rule of ``ParserInfo.folder``."""
    folder = fx.path.parent.relative_to(DEFAULT_ROOT).as_posix()
    want = resolve(fx.parser).folder
    stem = fx.path.name.removesuffix(".txt")
    assert folder == want, (
        f"fixtures/{folder}/{stem} is read by {fx.parser!r}, whose fixtures live in "
        f"fixtures/{want}/: git mv fixtures/{folder}/{stem}.* fixtures/{want}/ "
        "(and its .stderr), then regenerate its snapshot"
    )
    assert by_folder(folder) == resolve(fx.parser)


def test_folder_rule_round_trips() -> None:
    folders = [p.folder for p in PARSERS]
    assert len(set(folders)) == len(folders)
    assert all(by_folder(p.folder) == p for p in PARSERS)
    assert resolve("ollama /api/tags").folder == "ollama/api-tags"
    assert resolve("lms server status").folder == "lms/server-status"
    assert resolve("ollama error").folder == "ollama/error"
    assert resolve("lms /error").folder == "lms/api-error"


def test_every_capture_file_has_its_provenance_beside_it() -> None:
    """No capture without provenance: every file of the tree is a ``.json``, or a capture
    (``<case>.txt``, ``<case>.stderr``) whose ``<case>.json`` names its ``source`` or says
    ``"synthetic": true`` and why (``iter_fixtures`` would otherwise pass over it silently)."""
    orphans = []
    for path in sorted(DEFAULT_ROOT.rglob("*")):
        if path.is_dir() or path.suffix == ".json":
            continue
        meta = path.with_suffix(".json")
        ok = meta.exists() and (
            (m := json.loads(meta.read_text(encoding="utf-8"))).get("source")
            or (m.get("synthetic") and m.get("reason"))
        )
        if not ok:
            orphans.append(str(path.relative_to(DEFAULT_ROOT)))
    assert orphans == []
