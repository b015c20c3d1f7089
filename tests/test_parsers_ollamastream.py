"""ollama pull (screen replay, streaming) and the Ollama HTTP body parsers."""

from __future__ import annotations

import contextlib
import json
import math
import random
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmsdrive._types import Progress
from lmsdrive.errors import ParseError
from lmsdrive.parsers import Result, ollama_pull, resolve
from lmsdrive.parsers import ollama_api_error as api_error
from lmsdrive.parsers import ollama_api_generate as api_generate
from lmsdrive.parsers import ollama_api_ps as api_ps
from lmsdrive.parsers import ollama_api_pull as api_pull
from lmsdrive.parsers import ollama_api_tags as api_tags
from lmsdrive.parsers import ollama_api_version as api_version
from lmsdrive.parsers import parse as parse_any
from lmsdrive.parsers._vtscreen import ScreenReplay
from lmsdrive.transcript import Transcript


def parse(command: str, output: str | Transcript) -> Result:
    """These tests pin the strict mode: a line not understood raises ParseError."""
    return parse_any(command, output, strict=True)


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ollama"
ESC = "\x1b"
W = 80


def pull(text: str) -> dict[str, Any]:
    return ollama_pull.parse(Transcript.of(text)).to_dict()


def body(module: ModuleType, text: str, status: int | None = None) -> dict[str, Any]:
    result: Result = module.parse(Transcript.of(text, http_status=status))
    return result.to_dict()


def bar(label: str, pct: int, total: str, cur: str | None = None, rate: str | None = None) -> str:
    p = f"{pct:3.0f}%"
    f = W - len(label + p) - 36
    filled = math.floor(f * pct / 100)
    if cur is None:
        suffix = f"{total:>6}" + " " * 25
    elif rate is None:
        suffix = f"{cur:>6}/{total:>6}" + " " * 18
    else:
        suffix = f"{cur:>6}/{total:>6}  {rate:>6}/s  {'1m2s':>6}"
    return f"{label} {p} ▕{'█' * filled}{' ' * (f - filled)}▏ {suffix}"


def sync_frame(lines: list[str], pos: int) -> str:
    s = ESC + "[?2026h" + ESC + "[?25l" + (ESC + "[A") * max(pos - 1, 0) + ESC + "[1G"
    s += "\n".join(line + ESC + "[K" for line in lines)
    return s + ESC + "[?25h" + ESC + "[?2026l"


def chunked(text: str, seed: int) -> list[str]:
    rnd = random.Random(seed)
    out, i = [], 0
    while i < len(text):
        n = rnd.randint(1, 9)
        out.append(text[i : i + n])
        i += n
    return out


# -- the registry ------------------------------------------------------------------------


def test_registry_names() -> None:
    assert resolve("ollama run llama3.2").module == "ollama_pull"
    assert resolve("ollama create x -f Modelfile").module == "ollama_pull"
    assert resolve("ollama /api/pull").module == "ollama_api_pull"
    assert resolve("ollama http://127.0.0.1:11434/api/tags").module == "ollama_api_tags"
    assert resolve("ollama /api/nope").module == "ollama_api_error"


# -- screen replay -----------------------------------------------------------------------


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


# -- ollama pull: whole outputs ----------------------------------------------------------


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


# -- ollama pull: streams ----------------------------------------------------------------


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


# -- /api/pull ---------------------------------------------------------------------------

PULL_LINES = [
    '{"status":"pulling manifest"}',
    '{"status":"pulling aaaaaaaaaaaa","digest":"sha256:' + "a" * 64 + '","total":1000}',
    '{"status":"pulling aaaaaaaaaaaa","digest":"sha256:'
    + "a" * 64
    + '","total":1000,"completed":400}',
    '{"status":"pulling bbbbbbbbbbbb","digest":"sha256:' + "b" * 64 + '","total":3000}',
    '{"status":"pulling aaaaaaaaaaaa","digest":"sha256:'
    + "a" * 64
    + '","total":1000,"completed":1000}',
    '{"status":"pulling bbbbbbbbbbbb","digest":"sha256:'
    + "b" * 64
    + '","total":3000,"completed":3000}',
    '{"status":"verifying sha256 digest"}',
    '{"status":"writing manifest"}',
    '{"status":"success"}',
]


def test_api_pull_events_and_monotonic_overall() -> None:
    text = "\n".join(PULL_LINES) + "\n"
    events = list(api_pull.stream(chunked(text, 1)))
    assert len(events) == len(PULL_LINES)
    overall = [e.overall_percent for e in events if e.overall_percent is not None]
    assert overall == sorted(overall) and overall[-1] == 100.0
    assert events[2].item == "sha256:" + "a" * 64 and events[2].percent == 40.0
    assert [e.phase for e in events][-3:] == ["verifying", "writing", "done"]


def test_api_pull_empty_and_truncated() -> None:
    assert body(api_pull, "")["outcome"] is None
    cut = "\n".join(PULL_LINES[:3]) + "\n"
    d = body(api_pull, cut)
    assert d["outcome"] is None and d["final_status"] == "pulling aaaaaaaaaaaa"
    with pytest.raises(ParseError, match="truncated"):
        body(api_pull, cut + '{"status":"pulling manifest",')
    with pytest.raises(ParseError):
        body(api_pull, cut + '{"status":"pul\n')


def test_api_pull_error_shapes() -> None:
    d = body(api_pull, '{"status":"error: model \\"x\\" not found"}\n')
    assert d["error"] == 'model "x" not found' and d["kind"] == "model_not_found"
    d = body(api_pull, "404 page not found", 404)
    assert d["outcome"] == "error" and d["kind"] == "usage"


def test_api_pull_garbage() -> None:
    for text in ("hello", "[1, 2]\n", '{"foo": 1}\n', "42\n", '{"status": 5}\n'):
        with pytest.raises(ParseError):
            body(api_pull, text)


# -- /api/generate -----------------------------------------------------------------------


def test_generate_stream_yields_tokens() -> None:
    lines = [
        '{"model":"m","created_at":"t","response":"Hel","done":false}',
        '{"model":"m","created_at":"t","response":"lo","thinking":"hmm","done":false}',
        '{"model":"m","created_at":"t","response":"","done":true,"done_reason":"length"}',
    ]
    chunks = list(api_generate.stream(chunked("\n".join(lines), 3)))
    assert [c.response for c in chunks] == ["Hel", "lo", ""]
    assert chunks[1].thinking == "hmm" and chunks[-1].done and chunks[-1].done_reason == "length"
    d = body(api_generate, "\n".join(lines))
    assert d["response"] == "Hello" and d["thinking"] == "hmm" and d["done_reason"] == "length"


def test_generate_pretty_printed_object() -> None:
    obj = {"model": "m", "response": "hi", "done": True, "done_reason": "stop"}
    assert body(api_generate, json.dumps(obj, indent=2))["response"] == "hi"


def test_generate_empty_garbage_and_types() -> None:
    for text in (
        "",
        "   \n",
        "hello world",
        '{"model": "m"}',
        '{"response": 5, "done": true}',
        '{"response": "", "done": true, "context": ["x"]}',
    ):
        with pytest.raises(ParseError):
            body(api_generate, text)


def test_generate_error_body_with_status() -> None:
    d = body(api_generate, '{"error":"model \'x\' not found"}', 404)
    assert d["error"] == "model 'x' not found" and d["kind"] == "model_not_found"
    assert d["http_status"] == 404


# -- /api/tags, /api/ps, /api/version, errors --------------------------------------------


def test_tags_models_and_unknown_keys_kept() -> None:
    text = json.dumps(
        {
            "models": [
                {"name": "a:1", "size": 5, "new_field": [1], "details": {"family": "x", "novel": 2}}
            ]
        }
    )
    (m,) = body(api_tags, text)["models"]
    assert m["extra"] == {"new_field": [1]} and m["details"]["extra"] == {"novel": 2}
    assert body(api_tags, '{"models":null}')["models"] == []


def test_tags_rejects_wrong_shapes() -> None:
    for text in (
        "",
        "{}",
        '{"models": {}}',
        '{"models": [1]}',
        '{"models":[{"size":1}]}',
        '{"models":[{"name":"a","size":"big"}]}',
        '{"models":[{"name":"a","size":true}]}',
        "nope",
    ):
        with pytest.raises(ParseError):
            body(api_tags, text)


def test_tags_error_body() -> None:
    d = body(api_tags, '{"error":"something"}', 500)
    assert d["models"] == [] and d["kind"] == "server_error"


def test_ps_context_length_absent_is_null() -> None:
    (m,) = body(api_ps, '{"models":[{"name":"a","size":1,"size_vram":0}]}')["models"]
    assert m["context_length"] is None and m["size_vram"] == 0
    with pytest.raises(ParseError):
        body(api_ps, "")


def test_version() -> None:
    assert body(api_version, '{"version":"0.6.0-rc1"}')["version"] == "0.6.0-rc1"
    assert body(api_version, "404 page not found")["error"] == "404 page not found"
    for text in ("", "{}", '{"version": 7}', "Ollama is running"):
        with pytest.raises(ParseError):
            body(api_version, text)


def test_error_bodies() -> None:
    d = body(
        api_error, '{"error":{"message":"bad","type":"invalid_request_error","code":400}}', 400
    )
    assert d == {
        "error": "bad",
        "kind": "usage",
        "http_status": 400,
        "error_type": "invalid_request_error",
        "code": "400",
    }
    d = body(api_error, '{"status":"pulling manifest"}\n{"error":"EOF"}\n', 200)
    assert d["error"] == "EOF" and d["kind"] == "pull_failed"
    assert body(api_error, '{"error":"request canceled"}', 499)["kind"] == "unknown"
    assert body(api_error, '{"error":"server busy"}', 503)["kind"] == "server_error"
    for text in ("", '{"status":"success"}', "Ollama is running"):
        with pytest.raises(ParseError):
            body(api_error, text)


@pytest.mark.parametrize(
    "module", [api_pull, api_generate, api_tags, api_ps, api_version, api_error]
)
def test_deep_nesting_rejected_without_recursion(module: ModuleType) -> None:
    for text in ("[" * 100_000, '{"a":' * 65 + "1" + "}" * 65, "[" * 70 + "]" * 70):
        with pytest.raises(ParseError, match="deeper"):
            body(module, text)
    ok = '{"error":' + "[" * 60 + "]" * 60 + "}"
    body(module, ok)  # 61 levels: read


# -- properties --------------------------------------------------------------------------

_TOKENS = [
    "\x1b[",
    "\x1b[?25l",
    "\x1b[?25h",
    "\x1b[A",
    "\x1b[2K",
    "\x1b[K",
    "\x1b[1G",
    "▕",
    "▏",
    "█",
    "⠋",
    "Error: ",
    "pulling ",
    "success",
    " GB",
    '{"status":',
    '{"error":',
    '"models":',
    "}\n",
]
ALPHABET = st.sampled_from([*"abcdeEfgilmnoprstuvwxyz :.%/|()[]{}\"',0123456789\n\r\t ", *_TOKENS])
TEXT = st.lists(ALPHABET, max_size=60).map("".join) | st.text(max_size=200)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_property_pull_only_result_or_parse_error(text: str) -> None:
    with contextlib.suppress(ParseError):
        assert isinstance(ollama_pull.parse(Transcript.of(text)), Result)


@settings(max_examples=200, deadline=None)
@given(
    TEXT,
    st.sampled_from(
        ["/api/pull", "/api/generate", "/api/tags", "/api/ps", "/api/version", "/error"]
    ),
    st.sampled_from([None, 200, 404, 500]),
)
def test_property_bodies_only_result_or_parse_error(
    text: str, path: str, status: int | None
) -> None:
    with contextlib.suppress(ParseError):
        assert isinstance(parse(f"ollama {path}", Transcript.of(text, http_status=status)), Result)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 100), min_size=1, max_size=30))
def test_property_pull_overall_never_goes_back(pcts: list[int]) -> None:
    lines = "".join(
        f"pulling {i % 3:012x}: {p:3d}% ▕█▏ {p} MB/100 MB\n" for i, p in enumerate(pcts)
    )
    overall = [
        e.overall_percent for e in ollama_pull.stream([lines]) if e.overall_percent is not None
    ]
    assert overall == sorted(overall)


def test_serve_stream_unwraps_each_line_with_the_pre_pass() -> None:
    """stream() has no whole paste: each line goes through _session.unwrap on its own."""
    from lmsdrive.parsers import ollama_serve

    lines = [
        "$ kubectl logs --prefix pod/ollama-0",
        "Aug 19 22:32:14 host systemd[1]: Started Ollama Service.",
        "[pod/ollama-0/ollama] time=2026-01-21T01:46:34Z level=INFO source=routes.go:1"
        ' msg="Listening on [::]:11434 (version 0.9.0)"',
        'ollama-1  | [GIN] 2026/01/21 - 01:46:34 | 200 |  1.2ms |  127.0.0.1 | HEAD "/"',
    ]
    events = list(ollama_serve.stream("\n".join(lines) + "\n"))
    kinds = [getattr(e, "category", type(e).__name__) for e in events]
    assert kinds == ["command", "supervisor", "ServeReady", "gin"]
    ready = events[2]
    assert isinstance(ready, ollama_serve.ServeReady) and ready.version == "0.9.0"
