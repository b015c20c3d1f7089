"""Every fixture through its parser: the `expected` facts of its provenance, and a
syrupy JSON snapshot of the whole result (tests/__snapshots__/test_fixtures/)."""

from __future__ import annotations

import json
from typing import Any

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
        assert expected_mismatches(fx.expected, result, fx.expected_read_as) == []
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


RULED = [f for f in FIXTURES if f.meta.get("unreadable_expected") or f.expected_read_as]


@pytest.mark.parametrize("fx", RULED, ids=[f.case_id for f in RULED])
def test_a_fact_is_dropped_alone_and_only_when_unread(fx: Fixture) -> None:
    """``unreadable_expected`` drops one fact, never a list of records over one of its
    fields (``expected_read_as`` compares that field instead), and only a fact lmsdrive
    reads differently: a dropped fact that agrees is checked again. Every ``expected_read_as``
    path names an expected fact."""
    facts = fx.meta["expected"]
    result = parse_transcript(resolve(fx.parser), fx.transcript(), strict=True).to_dict()
    for key in fx.meta.get("unreadable_expected") or {}:
        want = facts[key]
        assert not (isinstance(want, list) and any(isinstance(w, dict) for w in want)), key
        if want is not None:  # a null fact is one the recording's review left unchecked
            assert expected_mismatches({key: want}, result) != [], f"{key} agrees: check it"
    for path in fx.expected_read_as:
        head, _, rest = path.partition("[].")
        assert head in facts, path
        if rest:
            assert all(rest in item for item in facts[head]), path


def test_expected_read_as_compares_the_one_field_its_way() -> None:
    got = {
        "outcome": "downloaded",
        "cli_commit": "07b7252",
        "size_bytes": 12111807775,
        "error": "Model Not Found: Cannot find it. Run: lms ps",
        "models": [{"status": "IDLE", "queued": 0}],
    }
    facts = {
        "outcome": "success",
        "version": "07b7252",
        "size_bytes": 12111807774,
        "error": "Cannot find it.",
        "models": [{"status": "idle", "queued": 0}],
    }
    rules: dict[str, dict[str, Any]] = {
        "outcome": {"words": {"success": "downloaded"}},
        "version": {"field": "cli_commit"},
        "size_bytes": {"within": 1},
        "error": {"contains": True},
        "models[].status": {"casefold": True},
    }
    assert expected_mismatches(facts, got, rules) == []
    assert expected_mismatches(facts, got) == [
        "outcome: got 'downloaded', expected 'success'",
        "version: missing (expected '07b7252')",
        "size_bytes: got 12111807775, expected 12111807774",
        "error: got 'Model Not Found: Cannot find it. Run: lms ps', expected 'Cannot find it.'",
        "models[0].status: got 'IDLE', expected 'idle'",
    ]
    wrong = {**got, "outcome": "failed", "size_bytes": 12111807777, "cli_commit": "x"}
    wrong["models"] = [{"status": "LOADING", "queued": 1}]
    assert expected_mismatches(facts, wrong, rules) == [
        "outcome: got 'failed', expected 'success'",
        "version: got 'x', expected '07b7252'",
        "size_bytes: got 12111807777, expected 12111807774",
        "models[0].status: got 'LOADING', expected 'idle'",
        "models[0].queued: got 1, expected 0",
    ]
