"""The README: its parser schemas are what tools/gen_readme.py writes from the result types,
and every example in it runs as written."""

from __future__ import annotations

import dataclasses
import importlib
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from lmsdrive.parsers import PARSERS

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def test_readme_schemas_are_current() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_readme.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("info", PARSERS, ids=lambda i: i.name)
def test_every_parser_documents_every_field_of_its_result(info: typing.Any) -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("<!-- schemas:start -->", 1)[1].split("<!-- schemas:end -->", 1)[0]
    heading = re.search(rf"^#### `{re.escape(info.name)}`.*?```\n(.*?)```", section, re.M | re.S)
    assert heading is not None, f"no schema for {info.name} in the README"
    parse = importlib.import_module(f"lmsdrive.parsers.{info.module}").parse
    result = typing.get_type_hints(parse)["return"]
    fields = [f.name for f in dataclasses.fields(result) if f.name not in ("skipped", "attempts")]
    missing = [f for f in fields if f'"{f}":' not in heading.group(1)]
    assert missing == [], f"{info.name}: fields missing from the README: {missing}"


def test_readme_shows_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text
