"""Unit tests of the lmsstream group: ``lms get``, ``lms load`` and the LM Studio HTTP bodies."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmsdrive._text import parse_size as size_bytes
from lmsdrive.errors import ParseError
from lmsdrive.parsers import (
    lms_api_chat,
    lms_api_error,
    lms_api_models,
    lms_api_v0_models,
    lms_get,
    lms_load,
)
from lmsdrive.parsers._base import Progress, Result
from lmsdrive.parsers._lms_stream import FrameSplitter, elapsed_seconds, parse_bar
from lmsdrive.transcript import Transcript

E = "\x1b"


def _frame(pct: str, text: str) -> str:
    return f"{E}[?25l{E}[s\r⠙ [█████▍                ] {pct}% | {text}          {E}[u"


def _drain(gen):  # type: ignore[no-untyped-def]
    events = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as stop:
            return events, stop.value


# -- helpers ---------------------------------------------------------------------------------


def test_size_bytes_rounds_binary_sizes() -> None:
    assert size_bytes("2.78 GiB") == 2985002271
    assert size_bytes("171.39 KB") == 171390
    assert size_bytes("0 B") == 0
    assert size_bytes("-") is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("845.00ms", 0.845), ("5.22s", 5.22), ("1m 3.20s", 63.2), ("1h 0m 2.00s", 3602.0)],
)
def test_elapsed_formats(text: str, seconds: float) -> None:
    assert elapsed_seconds(text) == pytest.approx(seconds)


def test_bar_nan_and_infinity_eta() -> None:
    bar = parse_bar(
        "⠋ [                      ] NaN% |    0 B /    0 B | 0 B/s | ETA Infinity:NaN:NaN"
    )
    assert bar is not None
    assert bar.percent is None
    assert bar.eta == "Infinity:NaN:NaN"
    assert bar.total == 0


def test_splitter_crlf_split_across_chunks() -> None:
    sp = FrameSplitter("t")
    frames = [*sp.feed("a\r"), *sp.feed("\nb\rc"), *sp.close()]
    assert [(f.line_number, f.text) for f in frames] == [(1, "a"), (2, "b"), (2, "c")]


def test_splitter_refuses_endless_line() -> None:
    sp = FrameSplitter("t", max_frame=100)
    with pytest.raises(ParseError):
        list(sp.feed("x" * 200))


# -- lms get -------------------------------------------------------------------------------


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


# -- lms load ------------------------------------------------------------------------------


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


# -- HTTP bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize("module", [lms_api_models, lms_api_v0_models, lms_api_error, lms_api_chat])
@pytest.mark.parametrize(
    "body", ["", "  \n", "<html>502 Bad Gateway</html>", "{not json}", "[1, 2"]
)
def test_bodies_refuse_empty_and_garbage(module, body: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParseError):
        module.parse(Transcript.of(body))


@pytest.mark.parametrize("module", [lms_api_models, lms_api_v0_models, lms_api_error, lms_api_chat])
def test_bodies_refuse_deep_nesting(module) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParseError, match="deeper"):
        module.parse(Transcript.of('{"data": ' + "[" * 100_000 + "]" * 100_000 + "}"))


@pytest.mark.parametrize("module", [lms_api_models, lms_api_v0_models, lms_api_chat])
def test_bodies_read_error_bodies(module) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps({"error": {"message": "No models loaded.", "type": "invalid_request_error"}})
    r = module.parse(Transcript.of(body, http_status=400))
    assert (r.error, r.kind) == ("No models loaded.", "model_not_found")
    r = module.parse(Transcript.of('{"error":"Unexpected endpoint or method. (GET /v1/x)"}'))
    assert r.error == "Unexpected endpoint or method. (GET /v1/x)"


def test_error_parser_refuses_non_error_json() -> None:
    with pytest.raises(ParseError):
        lms_api_error.parse(Transcript.of('{"lmstudio": true}'))


def test_curl_i_headers_give_status() -> None:
    body = (
        "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n\r\n"
        '{"error":"boom"}'
    )
    r = lms_api_error.parse(Transcript.of(body))
    assert (r.http_status, r.kind, r.error_is_string) == (500, "server_error", True)


def test_models_unknown_fields_kept() -> None:
    body = (
        '{"data":[{"id":"a","object":"model","owned_by":"o","context_length":4096}],'
        '"object":"list"}'
    )
    r = lms_api_models.parse(Transcript.of(body))
    assert r.ids == ["a"] and r.models[0].extra == {"context_length": 4096}


def test_v0_single_model_object() -> None:
    r = lms_api_v0_models.parse(Transcript.of('{"id":"x","type":"llm","state":"loaded"}'))
    assert r.ids == ["x"] and r.models[0].state == "loaded"
    with pytest.raises(ParseError):
        lms_api_v0_models.parse(Transcript.of('{"data":[{"id":"x","max_context_length":"big"}]}'))


def _chunk(delta: dict, finish: str | None = None) -> str:
    d = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return "data: " + json.dumps(d) + "\n\n"


def test_sse_events_lazily_and_split_anywhere() -> None:
    text = (
        ": keep-alive\n\n"
        + _chunk({"role": "assistant", "reasoning": "hm"})
        + _chunk({"content": "Hé"})
        + _chunk({"content": "llo"}, "stop")
        + "data: [DONE]\n\n"
    )
    parser = lms_api_chat.ChatParser()
    second = _chunk({"content": "Hé"})
    cut = text.index(second) + len(second) - 1  # up to the newline ending its data line
    first = list(parser.feed(text[:cut]))
    assert [type(e).__name__ for e in first] == ["ChatDelta", "ChatDelta"]
    whole = lms_api_chat.parse(Transcript.of(text)).to_dict()
    for size in (1, 3, 17):
        events, result = _drain(
            lms_api_chat.stream([text[i : i + size] for i in range(0, len(text), size)])
        )
        assert result.to_dict() == whole
        assert isinstance(events[-1], lms_api_chat.ChatDone)
    assert (whole["content_text"], whole["reasoning_text"], whole["finish_reason"]) == (
        "Héllo",
        "hm",
        "stop",
    )
    assert whole["outcome"] == "complete" and whole["chunks"] == 3


def test_sse_truncated_and_midstream_error() -> None:
    r = lms_api_chat.parse(Transcript.of(_chunk({"content": "a"})))
    assert (r.outcome, r.complete, r.content_text) == ("incomplete", False, "a")
    text = _chunk({"content": "a"}) + 'event: error\ndata: {"message": "oops"}\n\n'
    r = lms_api_chat.parse(Transcript.of(text))
    assert (r.outcome, r.error) == ("error", "oops")
    with pytest.raises(ParseError):
        lms_api_chat.parse(Transcript.of('data: {"id": "c1", "choices": [\n\n'))
    with pytest.raises(ParseError):
        lms_api_chat.parse(Transcript.of('{\n  "id": "c1",\n  "choices": ['))


def test_sse_tool_call_arguments_concatenate() -> None:
    call1 = {
        "tool_calls": [
            {
                "index": 0,
                "id": "t1",
                "type": "function",
                "function": {"name": "f", "arguments": '{"a"'},
            }
        ]
    }
    call2 = {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}
    r = lms_api_chat.parse(
        Transcript.of(_chunk(call1) + _chunk(call2, "tool_calls") + "data: [DONE]\n")
    )
    assert [(t.id, t.name, t.arguments) for t in r.tool_calls] == [("t1", "f", '{"a": 1}')]
    assert r.content is None and r.finish_reason == "tool_calls"


def test_chat_rejects_other_json() -> None:
    with pytest.raises(ParseError):
        lms_api_chat.parse(Transcript.of('{"data": [], "object": "list"}'))


# -- property: any text → a Result or ParseError --------------------------------------------

_ALPHABET = st.sampled_from(
    [*'abc {}[]":,\n\r\x1b%|/.0123456789⠋█✓↓└─?', "data: ", "[DONE]", "Loading ", "GB", "GiB"]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_any_text_gives_result_or_parse_error(text: str) -> None:
    for module in (
        lms_get,
        lms_load,
        lms_api_models,
        lms_api_v0_models,
        lms_api_error,
        lms_api_chat,
    ):
        try:
            result = module.parse(Transcript.of(text))
        except ParseError:
            continue
        assert isinstance(result, Result)
        json.dumps(result.to_dict())


def test_model_crash_body_is_a_crash() -> None:
    from lmsdrive.parsers import parse

    body = '{"error":"The model has crashed without additional information. (Exit code: 11)"}'
    result = parse("lms /v1/chat/completions", Transcript.of(body, http_status=400)).to_dict()
    assert result["kind"] == "crash"
