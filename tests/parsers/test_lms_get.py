"""Tests of lmsdrive.parsers.lms_get."""

from __future__ import annotations

from pathlib import Path

import pytest
from _support_lmsstream import E, _drain, _frame

from lmsdrive.errors import ParseError
from lmsdrive.parsers import (
    lms_get,
)
from lmsdrive.parsers._base import Progress
from lmsdrive.transcript import Transcript


def test_get_empty_is_no_output() -> None:
    assert lms_get.parse(Transcript.of("")).outcome == "no_output"


def test_get_garbage_raises() -> None:
    with pytest.raises(ParseError) as info:
        lms_get.parse(Transcript.of("hello there\nthis is not lms\n"))
    assert info.value.line_number == 1


def test_get_frames_on_one_line_are_all_events_and_lazy() -> None:
    parser = lms_get.GetReader()
    first = list(parser.feed(_frame("24.51", "1.21 GB / 4.92 GB | 35.12 MB/s | ETA 01:45")))
    assert len(first) == 1  # yielded as soon as the restore-cursor arrived
    ev = first[0]
    assert isinstance(ev, Progress)
    assert (ev.phase, ev.percent, ev.completed, ev.total) == (
        "downloading",
        24.51,
        1210000000,
        4920000000,
    )
    assert ev.speed == "35.12 MB/s" and ev.speed_bytes_per_s == 35120000 and ev.eta == "01:45"
    more = list(parser.feed(_frame("10.00", "0.49 GB / 4.92 GB") + _frame("30.00", "x")))
    assert [e.overall_percent for e in more] == [24.51, 30.0]  # never backwards
    list(parser.close())
    result = parser.result()
    assert result.outcome == "downloading"  # truncated mid-download
    assert result.percentages == [24.51, 30.0]


def test_get_chunked_equals_whole() -> None:
    text = (
        "Downloading f.gguf [Q4_K_M] (4.92 GB)\n"
        + _frame("1.00", "49.20 MB / 4.92 GB")
        + _frame("100.00", "4.92 GB / 4.92 GB")
        + f"{E}[2K{E}[1G{E}[?25hFinalizing download...\r\nDownload completed.\r\n"
    )
    whole = lms_get.parse(Transcript.of(text)).to_dict()
    events, result = _drain(lms_get.stream(list(text)))
    assert result.to_dict() == whole
    assert whole["outcome"] == "downloaded"
    assert whole["quantization"] == "Q4_K_M"
    assert [e.phase for e in events] == ["downloading"] * 3 + ["writing", "done"]


def test_get_cancelled_and_prompt_answers() -> None:
    r = lms_get.parse(Transcript.of(_frame("5.00", "x") + "\nW Download canceled.\n"))
    assert (r.outcome, r.error, r.kind) == ("cancelled", "Download canceled.", "pull_failed")
    r = lms_get.parse(Transcript.of("About to download 1.00 GB.\n\nContinue? (Y/N): n\n"))
    assert r.outcome == "cancelled"
    r = lms_get.parse(Transcript.of("About to download 1.00 GB.\n\nContinue? (Y/N): \n"))
    assert r.outcome == "awaiting_confirmation"
    assert r.download_size_bytes == 1000000000


def test_get_hf_picker_and_errors() -> None:
    text = (
        "Searching for models with the term llama\n"
        "No exact match found. Please choose a model from the list below.\n"
        "! Use the arrow keys to navigate, and press enter to select.\n"
        "? Select a model to download (Use arrow keys)\n"
        "❯ [Staff Pick] lmstudio-community/Meta-Llama-3.1-8B-Instruct-GGUF\n"
        "  [Exact Match] someone/llama-GGUF\n"
    )
    r = lms_get.parse(Transcript.of(text))
    assert (r.outcome, r.search_term) == ("awaiting_selection", "llama")
    r = lms_get.parse(Transcript.of("No models found with the specified search criteria.\n"))
    assert (r.outcome, r.kind) == ("error", "model_not_found")
    r = lms_get.parse(
        Transcript.of("Error: No staff picks found with the specified search criteria.\n")
    )
    assert r.kind == "model_not_found"


def test_get_plan_redraws_keep_latest_state() -> None:
    text = (
        "   ⧗ qwen/qwen3-8b - Pending...\n"
        "\r   ⠙ qwen/qwen3-8b - Resolving...\x1b[0K\n"
        "\r   ↓ To download: model qwen/qwen3-8b - 5.03 GB\x1b[0K\n"
        "   └─ ↓ To download: Qwen3 8B Q4_K_M [GGUF] - 5.03 GB\n"
        "\nResolution completed. Downloading 5.03 GB...\n"
    )
    r = lms_get.parse(Transcript.of(text))
    assert r.to_download == ["model qwen/qwen3-8b", "Qwen3 8B Q4_K_M [GGUF]"]
    assert [n.state for n in r.plan] == ["to_download", "to_download"]
    assert r.artifact == "qwen/qwen3-8b"
    assert r.outcome == "downloading"
    assert r.download_size_bytes == 5030000000


def test_get_resolving_leftover_only_is_resolving() -> None:
    assert lms_get.parse(Transcript.of("⠋ Resolving download plan...\n")).outcome == "resolving"


_GET_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "lms" / "get"


def test_get_asking_mid_stream_comes_with_the_footer_of_the_real_plan() -> None:
    # real-cli-no-yes-confirmation-pty, fed line by line as a terminal delivers it: lms is
    # about to ask once "About to download 5.03 GB." is read, never before.
    text = (_GET_FIXTURES / "real-cli-no-yes-confirmation-pty.txt").read_text()
    reader = lms_get.GetReader()
    seen: list[str | None] = []
    for line in text.splitlines(keepends=True):
        list(reader.feed(line))
        seen.append(reader.asking)
    footer = next(i for i, line in enumerate(text.splitlines()) if "About to download" in line)
    assert set(seen[:footer]) == {None}
    assert set(seen[footer:]) == {"awaiting_confirmation"}
    assert not reader.searched_hf
    list(reader.close())
    assert reader.result().download_size_bytes == 5_030_000_000


def test_get_asking_ends_when_the_download_starts() -> None:
    reader = lms_get.GetReader()
    list(reader.feed("About to download 1.00 GB.\n"))
    assert reader.asking == "awaiting_confirmation"
    list(reader.feed("Continue? (Y/N): y\n" + _frame("1.00", "10.00 MB / 1.00 GB")))
    assert reader.asking is None


def test_get_the_old_hugging_face_search_is_told_apart_from_staff_picks() -> None:
    old, new = lms_get.GetReader(), lms_get.GetReader()
    list(old.feed("Searching for models with the term llama\n"))
    list(new.feed("Searching staff picks with the term llama\n"))
    assert (old.searched_hf, new.searched_hf) == (True, False)
    assert old.asking is None and new.asking is None
