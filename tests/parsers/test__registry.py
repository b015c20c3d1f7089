"""The parser registry: which parser reads a command (lmsdrive.parsers.resolve)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmsdrive.parsers import PARSERS, ParserInfo, resolve


@pytest.mark.parametrize("verb", ["up", "status", "down"])
def test_resolve_names_the_daemon_parsers(verb: str) -> None:
    assert resolve(f"lms daemon {verb} --json").name == f"lms daemon {verb}"
    assert resolve(["lms", "daemon", verb]).module == f"lms_daemon_{verb}"


def test_registry_names() -> None:
    assert resolve("ollama run llama3.2").module == "ollama_pull"
    assert resolve("ollama create x -f Modelfile").module == "ollama_pull"
    assert resolve("ollama /api/pull").module == "ollama_api_pull"
    assert resolve("ollama http://127.0.0.1:11434/api/tags").module == "ollama_api_tags"
    assert resolve("ollama /api/nope").module == "ollama_api_error"


@pytest.mark.parametrize("info", PARSERS, ids=[p.name for p in PARSERS])
def test_every_parser_module_has_its_test_module(info: ParserInfo) -> None:
    """One test module per parser module (jc style): tests/parsers/test_<module>.py."""
    path = Path(__file__).with_name(f"test_{info.module}.py")
    assert path.exists(), (
        f"{info.name!r} (lmsdrive/parsers/{info.module}.py) has no tests/parsers/{path.name}: "
        "move its unit tests there"
    )
