"""Tests of lmsdrive.parsers.lms_daemon_down."""

from __future__ import annotations

import pytest

from lmsdrive.parsers import parse
from lmsdrive.transcript import Transcript


@pytest.mark.parametrize(
    ("stderr", "outcome", "kind"),
    [
        ("Shutting down llmster...\nDone.\n", "stopped", None),
        ("Daemon is not running.\n", "not_running", "server_not_running"),
        (
            "The daemon is currently running as part of LM Studio. Please exit LM Studio to "
            "stop it.\n",
            "refused",
            "unknown",
        ),
    ],
)
def test_daemon_down(stderr: str, outcome: str, kind: str | None) -> None:
    r = parse("lms daemon down", Transcript(stderr=stderr)).to_dict()
    assert (r["outcome"], r["kind"]) == (outcome, kind)
    assert r["message"] == stderr.strip().splitlines()[-1]
