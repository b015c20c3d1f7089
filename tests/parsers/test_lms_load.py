"""Tests of lmsdrive.parsers.lms_load."""

from __future__ import annotations

import pytest
from _support_lmsstream import _drain

from lmsdrive.errors import ParseError
from lmsdrive.parsers import (
    lms_load,
)
from lmsdrive.transcript import Transcript


def test_load_empty_and_garbage() -> None:
    assert lms_load.parse(Transcript.of("")).outcome == "no_output"
    with pytest.raises(ParseError):
        lms_load.parse(Transcript.of("the quick brown fox\n"))


def test_load_spinner_events_and_truncation() -> None:
    text = "\rLoading qwen/q 10% ⠋\rLoading qwen/q 10% ⠙\rLoading qwen/q 40% ⠹\rLoading qwen/q ⠸"
    events, result = _drain(lms_load.stream([text]))
    assert [e.percent for e in events] == [10.0, 10.0, 40.0, None]
    assert all(e.phase == "loading" and e.item == "qwen/q" for e in events)
    assert events[-1].overall_percent == 40.0
    assert result.outcome == "loading"
    assert result.percentages == [10.0, 40.0]


def test_load_remote_device_success() -> None:
    text = (
        "Loading qwen/q on studio-mac 50% ⠦\r \x1b[K\n"
        "Model loaded successfully on studio-mac in 3.10s.\n(4.00 GiB)\n"
        'To use the model in the API/SDK, use the identifier "qwen/q".\n'
    )
    r = lms_load.parse(Transcript.of(text))
    assert (r.outcome, r.device, r.load_time_seconds, r.size_bytes) == (
        "loaded",
        "studio-mac",
        3.1,
        4 * 1024**3,
    )


@pytest.mark.parametrize(
    "ctx", ["32,768", "32.768", "32 768", "32\u00a0768", "32\u202f768", "32768"]
)
def test_load_estimate_locale_context(ctx: str) -> None:
    r = lms_load.parse(Transcript.of(f"Model: a/b\nContext Length: {ctx}\n"))
    assert (r.outcome, r.context_length) == ("estimate", 32768)


def test_load_custom_identifier_does_not_guess_key() -> None:
    text = (
        "Model loaded successfully in 1.00s.\n(1.00 GiB)\n"
        'To use the model in the API/SDK, use the identifier "mine".\n'
    )
    r = lms_load.parse(Transcript(stdout=text, argv=("lms", "load", "x", "--identifier", "mine")))
    assert r.model_key is None
    assert lms_load.parse(Transcript.of(text)).model_key == "mine"


def test_load_interactive_and_cancel() -> None:
    text = (
        "\n! Cannot find a model matching the provided model key (qwn). "
        "Please select one from the list below.\n? Select a model to load |\n"
        "❯ qwen/qwen3-8b (5.03 GB)\n  google/gemma-3-1b (720.43 MB)\n"
    )
    assert lms_load.parse(Transcript.of(text)).outcome == "awaiting_selection"
    r = lms_load.parse(Transcript.of("\rLoading a/b 5% ⠋\nW Load cancelled.\n"))
    assert (r.outcome, r.error) == ("cancelled", "Load cancelled.")
    r = lms_load.parse(
        Transcript.of(
            "W 2 models match the provided model key on the same device. Loading the first one.\n"
        )
    )
    assert r.warnings and r.outcome == "incomplete"
