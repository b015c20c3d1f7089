"""Tests of lmsdrive.parsers.lms_version."""

from __future__ import annotations

import pytest
from _support import parse

from lmsdrive.errors import ParseError


def test_version_forms() -> None:
    d = parse(
        "lms",
        "lms is LM Studio's CLI utility for your models, server, and inference runtime."
        " (v0.0.47)\n",
    ).to_dict()
    assert d["semver"] == "0.0.47" and d["layout"] == "tagline"
    with pytest.raises(ParseError):
        parse("lms version", "")
    with pytest.raises(ParseError):
        parse("lms version", "whatever\n")
