"""The live driver reads leniently: a line lmsdrive does not know (a new runtime version's)
is kept in the result's ``skipped`` and logged at WARNING on the ``lmsdrive`` logger,
never fatal, never silently dropped; output of which nothing is understood still raises."""

from __future__ import annotations

import logging
import sys

import pytest

from lmsdrive.backends._pull import PullOutcome, live, stream_progress
from lmsdrive.errors import ParseError
from lmsdrive.parsers import lms_get, lms_server_status
from lmsdrive.transcript import Transcript

# `lms server status` as lms prints it (docs/reference/lms-cli.md §3), plus one line no version of
# lms printed: what a new release might add.
STATUS = "The server is running on port 1234.\nTip: try the new model catalog\n"


def test_live_read_keeps_and_logs_the_unknown_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="lmsdrive"):
        result = live(lms_server_status.parse, Transcript(stdout=STATUS), "lms server status")
    assert result.running is True and result.port == 1234
    assert [(s.line, s.text) for s in result.skipped] == [(2, "Tip: try the new model catalog")]
    assert [r.getMessage() for r in caplog.records] == [
        "lms server status: line 2 not understood, skipped: 'Tip: try the new model catalog'"
    ]
    with pytest.raises(ParseError):  # strict, as the fixture tests read
        lms_server_status.parse(Transcript(stdout=STATUS))


def test_live_read_of_nothing_understood_raises() -> None:
    with pytest.raises(ParseError, match="no server status in the output"):
        live(lms_server_status.parse, Transcript(stdout="%%% garbage %%%\n"), "lms server status")


def test_streamed_download_keeps_going_past_an_unknown_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`lms get` through a real pseudo-terminal (a child printing the lines): the new line
    is logged and listed, the download's result is still read."""
    script = (
        "import sys\n"
        "w = sys.stderr.write\n"
        "w('A brand-new notice from a future lms\\n')\n"
        "w('Finalizing download...\\n')\n"
        "w('Download completed.\\n')\n"
    )
    outcome = PullOutcome()
    with caplog.at_level(logging.WARNING, logger="lmsdrive"):
        events = list(
            stream_progress(
                [sys.executable, "-c", script],
                lms_get.GetReader(),
                outcome,
                idle_timeout=20,
                command="lms get",
            )
        )
    assert outcome.exit_code == 0 and outcome.parse_error is None, outcome.parse_error
    assert outcome.result is not None
    assert [s.text for s in outcome.result.skipped] == ["A brand-new notice from a future lms"]
    assert [r.getMessage() for r in caplog.records] == [
        "lms get: line 1 not understood, skipped: 'A brand-new notice from a future lms'"
    ]
    assert [e.phase for e in events] == ["writing", "done"]  # the download read on
    assert outcome.result.to_dict()["outcome"] == "downloaded"
