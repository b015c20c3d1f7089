"""Tests of lmsdrive.parsers._vtscreen."""

from __future__ import annotations

import time

import pytest
from _support_ollamastream import ESC

from lmsdrive.parsers._vtscreen import ScreenReplay


def test_replay_reads_finished_rows_only() -> None:
    r = ScreenReplay()
    rows = list(r.feed("pulling manifest \n" + ESC + "[?25l" + "pulling ab"))
    assert rows == [(1, "pulling manifest")]  # the half-drawn row is not read
    rows = list(r.feed("c" + ESC + "[?25h"))
    assert rows == [(2, "pulling abc")]


def test_replay_escape_split_across_chunks() -> None:
    r = ScreenReplay()
    got = list(r.feed("x" + ESC + "[?2")) + list(r.feed("5h"))
    assert got == [(1, "x")]


def test_replay_blank_lines_of_a_paste_are_read() -> None:
    r = ScreenReplay()
    rows = [t for _, t in r.feed("a\n\nb\n")]
    assert rows == ["a", "", "b"]


def test_replay_crlf_reads_once() -> None:
    r = ScreenReplay()
    assert [t for _, t in r.feed("Error: x\r\ny\r\n")] == ["Error: x", "y"]


def test_replay_cr_redraw_keeps_last_frame() -> None:
    r = ScreenReplay()
    rows = [t for _, t in r.feed("10%\r20%\r30%\n")]
    assert rows[-1] == "30%"


def test_replay_wide_lines_are_not_wrapped() -> None:
    url = "https://example.invalid/" + "a" * 3000
    r = ScreenReplay()
    assert [t for _, t in r.feed(f"Error: {url}\n")] == [f"Error: {url}"]


def test_replay_many_lines_keep_memory_flat() -> None:
    r = ScreenReplay()
    n = 0
    for _, _ in r.feed("".join(f"line {i}\n" for i in range(5000))):
        n += 1
    assert n == 5000
    assert r.size < 400 * 12  # rows far above the cursor were dropped


def test_replay_hostile_escapes_are_cheap() -> None:
    # width-sized operations (insert/delete chars, erase display, DECALN, 132-column mode)
    text = (ESC + "[9999@" + ESC + "[2J" + ESC + "#8" + ESC + "[?3h" + ESC + "[9999P") * 300
    start = time.perf_counter()
    list(ScreenReplay().feed(text + "ok\n"))
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("cut", [None, 1, 2, 3, 4])
def test_a_non_ascii_digit_inside_a_control_sequence_is_ignored(cut: int | None) -> None:
    """Found by fuzzing: "²".isdigit() is true and pyte then fails on int("²") inside a CSI;
    a terminal ignores such a character. Whole or cut anywhere, the row reads the same."""
    text = "abc\x1b[²2Kx\n"
    replay = ScreenReplay()
    chunks = [text] if cut is None else [text[: cut + 3], text[cut + 3 :]]
    rows = [row for chunk in chunks for row in replay.feed(chunk)] + list(replay.close())
    assert rows == [(1, "   x")]
