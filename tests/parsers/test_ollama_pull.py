"""Tests of lmsdrive.parsers.ollama_pull."""

from __future__ import annotations

import contextlib
import random
import time

import pytest
from _support import parse
from _support_ollamastream import FIXTURES, TEXT, bar, chunked, pull, sync_frame
from hypothesis import given, settings
from hypothesis import strategies as st

from lmsdrive._types import Progress
from lmsdrive.errors import ParseError
from lmsdrive.parsers import Result, ollama_pull
from lmsdrive.transcript import Transcript


def test_pull_empty_is_incomplete() -> None:
    d = pull("")
    assert d["outcome"] is None and d["digests"] == [] and d["error"] is None
    assert d["statuses"] == [] and d["overall_percent"] is None


def test_pull_garbage_raises_with_line_number() -> None:
    with pytest.raises(ParseError) as e:
        pull("pulling manifest\nNAME  ID  SIZE\n")
    assert e.value.line_number == 2 and e.value.line == "NAME  ID  SIZE"


def test_pull_new_bar_sizes_rate_eta() -> None:
    events = list(
        ollama_pull.stream(
            ["pulling bdb11b0699e0...  38% ▕███   ▏  10 GB/ 26 GB  2.1 MB/s   2h11m\n"]
        )
    )
    (ev,) = events
    assert ev.item == "bdb11b0699e0" and ev.completed == 10_000_000_000
    assert ev.total == 26_000_000_000 and ev.percent == 38.0
    assert ev.speed == "2.1 MB/s" and ev.speed_bytes_per_s == 2_100_000 and ev.eta == "2h11m"


def test_pull_old_pipe_bar() -> None:
    line = "pulling 6ae280299950...  61% |████    | (2.5/4.1 GB, 2.8 MB/s) [25m56s:9m27s]\n"
    (ev,) = list(ollama_pull.stream([line]))
    assert ev.completed == 2_500_000_000 and ev.total == 4_100_000_000
    assert ev.eta == "9m27s" and ev.speed_bytes_per_s == 2_800_000
    assert pull(line)["era"] == "<=0.1.10"


def test_pull_stalled_bar_without_rate() -> None:
    d = pull("pulling dde5aa3fc5ff...   0% ▕                ▏    0 B/2.0 GB                  \n")
    assert d["layers"][0]["completed_bytes"] == 0 and d["layers"][0]["total_bytes"] == 2_000_000_000


def test_pull_spinner_frame_removed_from_status() -> None:
    d = pull("pulling manifest ⠙ \nverifying sha256 digest ⠹\n")
    assert d["statuses"] == ["pulling manifest", "verifying sha256 digest"]
    assert d["phase"] == "verifying" and d["outcome"] is None


def test_pull_multiline_error_keeps_inner_blank_lines() -> None:
    d = pull("pulling manifest\nError: pull model manifest: 412:\n\nfirst\n\nsecond\n\n")
    assert d["error"] == "pull model manifest: 412:\n\nfirst\n\nsecond"
    assert d["outcome"] == "error" and d["kind"] == "pull_failed"


def test_pull_error_ends_at_a_status_line() -> None:
    d = pull("Error: pull model manifest: 400\ntransferring model data\ncreating model layer ⠴\n")
    assert d["error"] == "pull model manifest: 400"
    assert "creating model layer" in d["statuses"]


def test_pull_run_answer_after_success_is_skipped() -> None:
    d = pull("pulling manifest\nsuccess\nThe sky is blue.\n>>> Send a message (/? for help)\n")
    assert d["outcome"] == "success"
    with pytest.raises(ParseError):
        pull("pulling manifest\nThe sky is blue.\n")


def test_pull_run_reads_stderr_when_streams_are_apart() -> None:
    t = Transcript(
        stdout="Hello! How can I help?\n",
        stderr="pulling manifest\nsuccess\n",
        argv=("ollama", "run", "x", "hi"),
    )
    assert ollama_pull.parse(t).to_dict()["outcome"] == "success"


def test_pull_prompts_and_warnings_are_noise() -> None:
    paste = "$ ollama pull x\npulling manifest\nWarning: client version is 0.9.0\nsuccess\n%\n"
    d = parse("ollama pull", paste).to_dict()  # the prompts go in the pre-pass
    assert d["warnings"] == ["client version is 0.9.0"] and d["outcome"] == "success"


def test_pull_safetensors_aggregate() -> None:
    d = pull("pulling model: 100% ▕██▏ 8.1 GB\nsuccess\n")
    assert d["digests"] == [] and d["layers"][0]["digest"] == "model"


def test_pull_bar_with_unreadable_sizes_raises() -> None:
    with pytest.raises(ParseError):
        pull("pulling dde5aa3fc5ff:  10% ▕█ ▏ lots/of bytes\n")


@pytest.mark.parametrize(
    "name",
    [
        "synthetic-raw-v03-erase-redraw",
        "synthetic-raw-v09-sync-redraw-error",
        "synthetic-raw-v0110-cr-bars",
    ],
)
def test_pull_stream_independent_of_chunking(name: str) -> None:
    text = (FIXTURES / "pull" / f"{name}.txt").read_bytes().decode()
    whole = ollama_pull.PullReader()
    ev_whole = list(whole.feed(text)) + list(whole.close())
    for seed in range(3):
        r = ollama_pull.PullReader()
        ev = [e for c in chunked(text, seed) for e in r.feed(c)] + list(r.close())
        assert r.result() == whole.result()
        assert ev == ev_whole


def test_pull_stream_events_of_a_raw_capture() -> None:
    text = (FIXTURES / "pull" / "synthetic-raw-v03-erase-redraw.txt").read_text()
    events = list(ollama_pull.stream([text]))
    assert all(isinstance(e, Progress) for e in events)
    phases = [e.phase for e in events]
    assert phases[0] == "manifest" and phases[-1] == "done"
    assert "downloading" in phases and "verifying" in phases and "writing" in phases
    overall = [e.overall_percent for e in events if e.overall_percent is not None]
    assert overall == sorted(overall) and overall[-1] == 100.0
    # frames that only turn the spinner yield nothing
    assert len(events) < 15


def test_pull_truncated_stream_is_incomplete() -> None:
    text = (FIXTURES / "pull" / "synthetic-raw-v03-erase-redraw.txt").read_text()
    cut = text[: text.index("verifying")]
    d = pull(cut)
    assert d["outcome"] is None and d["error"] is None
    assert d["digests"] == ["8eeb52dfb3bb", "73b313b5552d"]


def test_pull_long_stream_monotonic_and_bounded() -> None:
    """A long v0.5.12+ stream: overall never goes back, state stays small."""
    layers = [f"pulling {i:012x}:" for i in range(4)]
    reader = ollama_pull.PullReader()
    pos, last, n_bytes, events = 0, -1.0, 0, 0
    rnd = random.Random(7)
    pct = [0, 0, 0, 0]
    frames = 6000
    start = time.perf_counter()
    for k in range(frames):
        i = rnd.randrange(4)
        pct[i] = min(100, pct[i] + rnd.choice([0, 0, 1]))
        if k == frames // 2:
            layers.append("pulling 0000000000ff:")  # a layer that shows up late
            pct.append(0)
        lines = [f"pulling manifest {'⠋⠙⠹⠸'[k % 4]} "]
        for lab, p in zip(layers, pct, strict=True):
            cur = f"{p * 47 // 100 / 10:.1f} GB"
            lines.append(bar(lab, p, "4.7 GB", cur, "50 MB") if p < 100 else bar(lab, p, "4.7 GB"))
        chunk = sync_frame(lines, pos)
        pos = len(lines)
        n_bytes += len(chunk)
        for ev in reader.feed(chunk):
            events += 1
            if ev.overall_percent is None:
                assert last < 0  # unknown only before the first bar
                continue
            assert ev.overall_percent >= last
            last = ev.overall_percent
    elapsed = time.perf_counter() - start
    list(reader.close())
    assert events > 100
    assert len(reader.result().digests) == 5
    assert reader._screen.size < 2000  # one screen's worth of cells
    assert len(reader._statuses) == 1
    assert n_bytes > 2_000_000 and elapsed < 30


@settings(max_examples=200)
@given(TEXT)
def test_property_pull_only_result_or_parse_error(text: str) -> None:
    with contextlib.suppress(ParseError):
        assert isinstance(ollama_pull.parse(Transcript.of(text)), Result)


@settings(max_examples=100)
@given(st.lists(st.integers(0, 100), min_size=1, max_size=30))
def test_property_pull_overall_never_goes_back(pcts: list[int]) -> None:
    lines = "".join(
        f"pulling {i % 3:012x}: {p:3d}% ▕█▏ {p} MB/100 MB\n" for i, p in enumerate(pcts)
    )
    overall = [
        e.overall_percent for e in ollama_pull.stream([lines]) if e.overall_percent is not None
    ]
    assert overall == sorted(overall)
