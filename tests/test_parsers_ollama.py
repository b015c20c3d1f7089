"""Unit tests of the ollama text parsers: list, ps, --version, serve, error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmsdrive.errors import ParseError
from lmsdrive.parsers import (
    ERROR_KINDS,
    ollama_error,
    ollama_list,
    ollama_ps,
    ollama_serve,
    ollama_version,
)
from lmsdrive.parsers import parse as parse_any
from lmsdrive.parsers._base import Result
from lmsdrive.parsers.ollama_serve import ServeFailed, ServeLog, ServeOutput, ServeReady
from lmsdrive.transcript import Transcript


def parse(command: str, output: str | Transcript) -> Result:
    """These tests pin the strict mode: a line not understood raises ParseError."""
    return parse_any(command, output, strict=True)


T = Transcript.of


def models(command: str, text: str) -> list[dict[str, object]]:
    out: list[dict[str, object]] = parse(command, text).to_dict()["models"]
    return out


# --- ollama error ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("could not connect to ollama app, is it running?", "server_not_running"),
        (
            "could not connect to ollama server, run 'ollama serve' to start it",
            "server_not_running",
        ),
        (
            "ollama server not responding - timed out waiting for server to start",
            "server_not_running",
        ),
        ("timed out waiting for server to start", "server_not_running"),
        (
            'Head "http://127.0.0.1:11434/": dial tcp 127.0.0.1:11434: connect: connection refused',
            "server_not_running",
        ),
        ("pull model manifest: file does not exist", "model_not_found"),
        ("model 'llama9' not found", "model_not_found"),
        ('model "llama9" not found, try pulling it first', "model_not_found"),
        ('couldn\'t find model "llama9" to stop', "model_not_found"),
        ("listen tcp 127.0.0.1:11434: bind: address already in use", "bind_failed"),
        ("pull model manifest: 412:", "pull_failed"),
        ("pull model manifest: 400", "pull_failed"),
        ("max retries exceeded: unexpected EOF", "pull_failed"),
        ("digest mismatch, file must be downloaded again", "pull_failed"),
        ("EOF", "pull_failed"),
        ("unauthorized: access denied", "pull_failed"),
        ("something went wrong, please see the ollama server logs for details", "server_error"),
        ("llama runner process has terminated: exit status 2", "server_error"),
        ("500 Internal Server Error", "server_error"),
        ('unknown command "lst" for "ollama"', "usage"),
        ("unknown flag: --jsn", "usage"),
        ("unknown shorthand flag: 'x' in -x", "usage"),
        ("accepts 1 arg(s), received 0", "usage"),
        ("requires at least 1 arg(s), only received 0", "usage"),
        ("mkdir /nope: permission denied", "unknown"),
    ],
)
def test_classify(message: str, kind: str) -> None:
    assert ollama_error.classify(message) == kind
    assert kind in ERROR_KINDS


def test_error_multiline_stops_at_prompt_and_status() -> None:
    text = (
        "pulling manifest\n"
        "Error: pull model manifest: 412:\n"
        "The model requires a newer version of Ollama.\n"
        "\n"
        "Please see https://github.com/ollama/ollama/releases for more details.\n"
        "\n"
        "\n"
        "PS C:\\Users\\me> ollama -v\n"
        "ollama version is 0.9.0\n"
    )
    report = parse("ollama error", text).to_dict()  # the next command goes in the pre-pass
    assert report["error"] == (
        "pull model manifest: 412:\nThe model requires a newer version of Ollama.\n\n"
        "Please see https://github.com/ollama/ollama/releases for more details."
    )
    assert report["kind"] == "pull_failed"
    assert report["line_number"] == 2


def test_error_cloud_suggestion_keeps_indented_command() -> None:
    text = (
        "Error: pull model manifest: file does not exist\n\n"
        '"gpt-oss:cloud" is available as a cloud model. Try:\n'
        "  ollama pull gpt-oss:cloud\n"
    )
    result = ollama_error.parse(T(text))
    assert result.error is not None and result.error.endswith("  ollama pull gpt-oss:cloud")
    assert result.kind == "model_not_found"


def test_error_stops_at_next_status_line() -> None:
    text = "Error: pull model manifest: 400\ntransferring model data\ncreating model layer ⠴\n"
    assert ollama_error.parse(T(text)).error == "pull model manifest: 400"


def test_error_warning_is_not_an_error() -> None:
    with pytest.raises(ParseError):
        ollama_error.parse(T("Warning: unable to stop model 'x'\n"))
    result = ollama_error.parse(
        T("Warning: unable to stop model 'x'\nError: model 'x' not found\n")
    )
    assert result.warnings == ["unable to stop model 'x'"]
    assert result.line_number == 2


def test_error_after_spinner_frame_on_same_line() -> None:
    report = ollama_error.find_error(["pulling manifest ⠙ Error: EOF"])
    assert report is not None and report.error == "EOF"


def test_error_panic_is_crash() -> None:
    text = "panic: runtime error: invalid memory address\n\ngoroutine 1 [running]:\nmain.main()\n"
    result = ollama_error.parse(T(text))
    assert result.kind == "crash"
    assert result.error == "panic: runtime error: invalid memory address"


def test_error_crlf_and_ansi() -> None:
    result = ollama_error.parse(T("\x1b[31mError: EOF\x1b[0m\r\n"))
    assert (result.error, result.kind) == ("EOF", "pull_failed")


@pytest.mark.parametrize("text", ["", "\n\n", "deleted 'llama3'\n", "hello world"])
def test_error_without_report_raises(text: str) -> None:
    with pytest.raises(ParseError):
        ollama_error.parse(T(text))


# --- ollama list ----------------------------------------------------------------------


def test_list_empty_input_raises() -> None:
    with pytest.raises(ParseError):
        ollama_list.parse(T(""))


def test_list_header_only_is_empty() -> None:
    assert models("ollama list", "NAME\tID\tSIZE\tMODIFIED \n") == []
    assert models("ollama ls", "NAME    ID    SIZE    MODIFIED \r\n") == []


@pytest.mark.parametrize(
    "text",
    [
        "hello world\n",
        "NAME    ID    SIZE    MODIFIED\nllama3 not-a-row\n",
        "NAME    ID    SIZE    MODIFIED\nllama3:8b    zzzzzzzzzzzz    4.7 GB    2 days ago\n",
    ],
)
def test_list_garbage_raises(text: str) -> None:
    with pytest.raises(ParseError) as info:
        ollama_list.parse(T(text))
    assert info.value.line_number is not None


def test_list_headerless_and_single_space_gaps() -> None:
    got = models("ollama list", "llama3:8b a6990ed6be41 4.7 GB 2 weeks ago\n")
    assert got[0]["name"] == "llama3:8b"
    assert got[0]["size_bytes"] == 4_700_000_000
    assert got[0]["modified"] == "2 weeks ago"


def test_list_unknown_column_kept() -> None:
    text = (
        "NAME          ID              SIZE      CAPABILITIES      MODIFIED\n"
        "qwen3:4b      e55aed6fe643    2.5 GB    completion tools  3 days ago\n"
    )
    row = models("ollama list", text)[0]
    assert row["extra"] == {"capabilities": "completion tools"}
    assert row["modified"] == "3 days ago"


def test_list_cut_row_only_at_the_end() -> None:
    text = "NAME    ID    SIZE    MODIFIED\nllama3:8b    a6990ed6be41    4.7 GB\n"
    result = ollama_list.parse(T(text))
    assert result.truncated
    assert result.models[0].size_text == "4.7 GB" and result.models[0].modified is None
    with pytest.raises(ParseError):
        ollama_list.parse(T(text + "phi3:latest    4f2222927938    3.1 GB    1 day ago\n"))


def test_list_noise_and_prompt_lines() -> None:
    text = (
        "user@box:~$ ollama list\n"
        "ggml_sycl_init: found 1 SYCL devices:\n"
        "|ID| Device Type| Name|\n"
        "NAME    ID    SIZE    MODIFIED\n"
        "a:b    0123456789ab    1.4 KB    Less than a second ago\n"
        "user@box:~$\n"
    )
    got = models("ollama list", text)
    assert [(m["name"], m["size_bytes"]) for m in got] == [("a:b", 1400)]


def test_list_server_error() -> None:
    result = ollama_list.parse(T("Error: could not connect to ollama app, is it running?\n"))
    assert result.kind == "server_not_running"
    assert result.models == []


# --- ollama ps ------------------------------------------------------------------------


def test_ps_empty_input_raises() -> None:
    with pytest.raises(ParseError):
        ollama_ps.parse(T("   \n"))


def test_ps_single_space_processor_until() -> None:
    text = (
        "NAME            ID              SIZE    PROCESSOR       UNTIL\n"
        "llama3:70b      786f3184aec0    40 GB   42%/58% CPU/GPU 4 minutes from now\n"
    )
    row = models("ollama ps", text)[0]
    assert (row["cpu_percent"], row["gpu_percent"], row["until"]) == (42, 58, "4 minutes from now")


def test_ps_headerless_with_context() -> None:
    row = models(
        "ollama ps", "gpt-oss:20b    aa4295ac10c3    14 GB    100% GPU    8192    Forever\n"
    )[0]
    assert row["context"] == 8192 and row["until"] == "Forever" and row["gpu_percent"] == 100


def test_ps_headerless_garbage_raises() -> None:
    with pytest.raises(ParseError):
        ollama_ps.parse(T("gpt-oss:20b    aa4295ac10c3    14 GB    lots    soon\n"))


@pytest.mark.parametrize(
    ("text", "split"),
    [
        ("100% CPU", (100, 0)),
        ("100% GPU", (0, 100)),
        ("69%/31% CPU/GPU", (69, 31)),
        ("Unknown", (None, None)),
    ],
)
def test_ps_processor_split(text: str, split: tuple[int | None, int | None]) -> None:
    assert ollama_ps.processor_split(text) == split


def test_ps_several_tables_concatenated() -> None:
    table = (
        "NAME    ID    SIZE    PROCESSOR    UNTIL\n"
        "q:4b    e55aed6fe643    35 GB    100% GPU    {}\n\n"
    )
    text = table.format("6 seconds from now") + table.format("Stopping...")
    assert [m["until"] for m in models("ollama ps", text)] == ["6 seconds from now", "Stopping..."]


# --- ollama --version -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "server", "client", "reachable"),
    [
        ("ollama version is 0.5.7\n", "0.5.7", "0.5.7", True),
        ("ollama version is 0.5.7\nWarning: client version is 0.9.0\n", "0.5.7", "0.9.0", True),
        ("ollama version 0.1.13\n", None, "0.1.13", None),
        ("ollama version is 0.6.0-rc1\r\n", "0.6.0-rc1", "0.6.0-rc1", True),
        (
            "$ ollama -v\nWarning: could not connect to a running Ollama instance\n"
            "Warning: client version is 0.1.47-amd\n",
            None,
            "0.1.47-amd",
            False,
        ),
    ],
)
def test_version_forms(text: str, server: str | None, client: str, reachable: bool | None) -> None:
    r = parse("ollama --version", text).to_dict()  # through the pre-pass (the prompt line)
    assert (r["server_version"], r["client_version"], r["server_reachable"]) == (
        server,
        client,
        reachable,
    )


@pytest.mark.parametrize("text", ["", "version 1\n", "ollama version is\n"])
def test_version_garbage_raises(text: str) -> None:
    with pytest.raises(ParseError):
        ollama_version.parse(T(text))


# --- ollama serve ---------------------------------------------------------------------

SLOG_READY = (
    "time=2024-03-03T12:54:37.032-08:00 level=INFO source=routes.go:1019 "
    'msg="Listening on 127.0.0.1:11434 (version 0.1.27)"\n'
)


def test_serve_ready_only_when_line_completes() -> None:
    half = len(SLOG_READY) // 2
    events = ollama_serve.stream(iter([SLOG_READY[:half], SLOG_READY[half:-1]]))
    assert list(events) == [ServeReady("127.0.0.1:11434", "0.1.27", 1)]  # end of stream

    seen: list[object] = []

    def chunks() -> Iterator[str]:
        yield SLOG_READY[:half]
        assert seen == []  # nothing yet: the line is incomplete
        yield SLOG_READY[half:]
        assert any(isinstance(e, ServeReady) for e in seen)  # yielded before the next chunk
        yield '[GIN] 2024/01/12 - 00:51:32 | 200 |      21.948µs |       127.0.0.1 | HEAD     "/"\n'

    for event in ollama_serve.stream(chunks()):
        seen.append(event)
    assert isinstance(seen[-1], ServeOutput) and seen[-1].category == "gin"


def test_serve_bind_failure_event() -> None:
    text = "Error: listen tcp 127.0.0.1:11434: bind: Only one usage of each socket address\n"
    events = list(ollama_serve.stream([text]))
    assert events == [
        ServeFailed(
            "listen tcp 127.0.0.1:11434: bind: Only one usage of each socket address",
            "bind_failed",
            1,
        )
    ]


@pytest.mark.parametrize(
    ("line", "addr", "version"),
    [
        (
            "2023/08/01 10:00:00 routes.go:437: Listening on 127.0.0.1:11434",
            "127.0.0.1:11434",
            None,
        ),
        (
            "2024/01/25 10:00:00 routes.go:970: INFO Listening on [::]:11434 (version 0.1.22)",
            "[::]:11434",
            "0.1.22",
        ),
        (SLOG_READY.strip(), "127.0.0.1:11434", "0.1.27"),
        (
            "Aug 19 22:32:14 host ollama[1]: " + SLOG_READY.strip().replace("0.1.27", "0.0.0"),
            "127.0.0.1:11434",
            "0.0.0",
        ),
        ("ollama-1  | " + SLOG_READY.strip(), "127.0.0.1:11434", "0.1.27"),
        ("2025-03-01T10:00:00.123456789Z " + SLOG_READY.strip(), "127.0.0.1:11434", "0.1.27"),
    ],
)
def test_serve_readiness_eras(line: str, addr: str, version: str | None) -> None:
    r = ollama_serve.parse(T(line + "\n"))
    assert (r.ready, r.listen_address, r.version) == (True, addr, version)


def test_serve_runner_listening_is_not_ready() -> None:
    text = (
        "time=2025-01-01T00:00:00.000Z level=INFO source=runner.go:900 "
        'msg="Server listening on 127.0.0.1:38945"\n'
    )
    r = ollama_serve.parse(T(text))
    assert not r.ready and r.log_lines == 1


def test_serve_slog_fields_unescaped() -> None:
    text = (
        "time=2024-04-05T07:13:53.881-05:00 level=WARN source=payload.go:113 "
        'msg="Extracting to C:\\\\Users\\\\me \\"x\\"" extra=1\n'
    )
    (event,) = list(ollama_serve.stream([text]))
    assert isinstance(event, ServeLog)
    assert (event.level, event.source, event.message) == (
        "WARN",
        "payload.go:113",
        'Extracting to C:\\Users\\me "x"',
    )


def test_serve_unknown_lines_after_log_are_output() -> None:
    text = SLOG_READY + "some random library chatter\n"
    events = list(ollama_serve.stream([text]))
    assert isinstance(events[-1], ServeOutput) and events[-1].category == "unknown"
    assert ollama_serve.parse(T(text)).other_lines == 1


def test_serve_empty_and_garbage() -> None:
    r = ollama_serve.parse(T(""))
    assert (r.ready, r.error) == (False, None)
    with pytest.raises(ParseError) as info:
        ollama_serve.parse(T("\nhello\nworld\n"))
    assert info.value.line_number == 2


def test_serve_panic_before_ready_is_crash() -> None:
    r = ollama_serve.parse(T("panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n"))
    assert (r.kind, r.error, r.ready) == ("crash", "panic: boom", False)


def test_serve_long_stream_flat() -> None:
    gin = '[GIN] 2024/01/12 - 00:51:32 | 200 |      21.948µs |       127.0.0.1 | HEAD     "/"\n'

    def chunks() -> Iterator[str]:
        yield SLOG_READY
        for _ in range(20000):
            yield gin

    count = sum(1 for _ in ollama_serve.stream(chunks()))
    assert count == 20001


# --- every parser: any text is a result or a ParseError -------------------------------

_ALPHABET = st.sampled_from(
    [
        *list('abcNAMEIDSZUTLOP0123456789:.%/- \t\n\r\x1b[m"=⠙'),
        "Error: ",
        "Warning: ",
        "NAME ID SIZE MODIFIED",
        "4.7 GB",
        "a6990ed6be41",
        "100% GPU",
        "Listening on ",
        "time=x level=INFO msg=",
        "ollama version is ",
        "panic: ",
        "2 days ago",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_any_text_is_result_or_parse_error(text: str) -> None:
    for command in ("ollama list", "ollama ps", "ollama --version", "ollama serve", "ollama rm x"):
        try:
            result = parse(command, text)
        except ParseError:
            continue
        assert isinstance(result, Result)
        d = result.to_dict()
        assert d.get("kind") is None or d["kind"] in ERROR_KINDS
