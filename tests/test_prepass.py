"""The pre-pass every parser gets (lmsdrive/parsers/_session.py), the strict/lenient policy
(lmsdrive/parsers/_policy.py) and the error-kind mapping (lmsdrive.errors.error_for)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from lmsdrive._text import strip_ansi
from lmsdrive.errors import (
    APIError,
    CommandError,
    ModelNotFoundError,
    ParseError,
    PullError,
    ServerNotRunningError,
    ServerStartError,
    error_for,
)
from lmsdrive.golden import DEFAULT_ROOT
from lmsdrive.parsers import ERROR_KINDS, log_skipped, parse
from lmsdrive.parsers._policy import not_understood, reading
from lmsdrive.parsers._session import read_paste
from lmsdrive.parsers.ollama_list import OllamaListResult

TABLE = (
    "NAME               ID              SIZE      MODIFIED\n"
    "llama3.2:latest    a80c4f17acd5    2.0 GB    3 weeks ago\n"
)
MODELS = [{"name": "llama3.2:latest", "size_bytes": 2_000_000_000}]


def models(text: str, **kw: bool) -> list[dict[str, object]]:
    got = parse("ollama list", text, **kw).to_dict()
    return [{"name": m["name"], "size_bytes": m["size_bytes"]} for m in got["models"]]


def prefixed(prefix: str, text: str) -> str:
    return "".join(prefix + line + "\n" for line in text.splitlines())


@pytest.mark.parametrize(
    "prefix",
    [
        "ollama-1  | ",
        "ollama_1    | ",
        "ollama-1  | 2026-01-21T01:46:34.123456789Z ",
        "2026-01-21T01:46:34.123456789Z ",  # docker logs -t, kubectl logs --timestamps
        "Nov 30 10:00:01 host ollama[123]: ",  # journalctl short
        "2024-11-30T10:00:01+0100 host ollama[123]: ",  # journalctl short-iso
        "\x1b[36mollama-1  | \x1b[0m",  # compose colours the service column
    ],
)
def test_log_wrappers_are_removed_in_strict_mode(prefix: str) -> None:
    assert models(prefixed(prefix, TABLE), strict=True) == MODELS


def test_a_wrapper_on_all_lines_but_one() -> None:
    lines = TABLE.splitlines()
    assert models(lines[0] + "\n" + prefixed("ollama-1  | ", lines[1]), strict=True) == MODELS


def test_journalctl_cut_marker_goes() -> None:
    long = "x" * 70
    got = read_paste(f"Nov 30 10:00:01 host ollama[123]: {long}>\n").text
    assert got == long + "\n"


@pytest.mark.parametrize(
    "prompt",
    [
        "$ ",
        "user@host:~$ ",
        "ezra@mbp ~ % ",
        "user@host ~> ",  # fish
        "PS C:\\Users\\me> ",
        "C:\\Users\\me>",  # cmd
        "❯ ",  # starship
        "(base) user@host:~$ ",  # conda
        "input: ",
        "",  # a bare echo
    ],
)
def test_shell_prompts_labels_and_echo(prompt: str) -> None:
    assert models(f"{prompt}ollama list\n{TABLE}", strict=True) == MODELS


def test_repeated_runs_the_last_is_the_result_earlier_are_attempts() -> None:
    paste = (
        "$ ollama list\nError: could not connect to ollama app, is it running?\n\n"
        f"$ ollama ls\n{TABLE}$ ollama ps\nNAME    ID    SIZE    PROCESSOR    UNTIL\n"
    )
    result = parse("ollama list", paste, strict=True)
    assert isinstance(result, OllamaListResult)
    assert [m.name for m in result.models] == ["llama3.2:latest"]
    assert [a.kind for a in result.attempts] == ["server_not_running"]


def test_repeated_bare_echo_splits_runs() -> None:
    paste = f"ollama list\n{TABLE}\nollama list\n{TABLE}"
    result = parse("ollama list", paste, strict=True)
    assert len(result.attempts) == 1 and result.to_dict()["models"][0]["name"] == "llama3.2:latest"


def test_author_notes_and_cut_marks() -> None:
    lines = TABLE.splitlines()
    paste = f"{lines[0]}\n...\n{lines[1]}   <--- we load this one\n…\n"
    assert models(paste, strict=True) == MODELS


def test_server_log_noise_goes_inside_pull_output_but_not_for_ollama_serve() -> None:
    gin = '[GIN] 2026/01/21 - 01:46:34 | 200 |      21.948µs |       127.0.0.1 | HEAD     "/"'
    slog = 'time=2026-01-21T01:46:34.878Z level=INFO source=images.go:755 msg="total blobs: 13"'
    pull = f"pulling manifest\n{gin}\n{slog}\nllama_model_loader: loaded meta data\nsuccess\n"
    assert parse("ollama pull", pull, strict=True).to_dict()["outcome"] == "success"
    serve = read_paste(f"{gin}\n{slog}\n").text
    assert parse("ollama serve", serve, strict=True).to_dict()  # read by its own parser


def test_lenient_lists_skipped_lines_with_their_input_line_number() -> None:
    paste = prefixed("ollama-1  | ", "$ ollama list\n" + TABLE + "a new line from a new version")
    with pytest.raises(ParseError):
        parse("ollama list", paste, strict=True)
    result = parse("ollama list", paste)
    assert models(paste) == MODELS
    assert result.to_dict()["skipped"] == [{"line": 4, "text": "a new line from a new version"}]


def test_nothing_understood_is_a_parse_error_in_both_modes() -> None:
    for strict in (True, False):
        with pytest.raises(ParseError):
            parse("ollama list", "what is this\nand this\n", strict=strict)


def test_a_cut_last_row_is_kept_truncated() -> None:
    got = parse("ollama list", TABLE.rstrip("\n")[:-14] + "\n").to_dict()
    assert got["truncated"] is True and got["models"][0]["modified"] is None


def test_log_skipped_warns_on_the_lmsdrive_logger(caplog: pytest.LogCaptureFixture) -> None:
    result = parse("ollama list", TABLE + "something new\n")
    with caplog.at_level(logging.WARNING, logger="lmsdrive"):
        log_skipped(result, ["ollama", "list"])
    assert [r.getMessage() for r in caplog.records] == [
        "ollama list: line 3 not understood, skipped: 'something new'"
    ]


@pytest.mark.parametrize(
    ("kind", "api", "expected"),
    [
        ("model_not_found", False, ModelNotFoundError),
        ("model_not_found", True, ModelNotFoundError),
        ("server_not_running", False, ServerNotRunningError),
        ("pull_failed", False, PullError),
        ("bind_failed", False, ServerStartError),
        ("usage", False, CommandError),
        (None, False, CommandError),
        ("server_error", True, APIError),
    ],
)
def test_error_for(kind: str | None, api: bool, expected: type[Exception]) -> None:
    error = error_for(kind, "the message", api=api)
    assert type(error) is expected and str(error) == "the message"


def test_every_error_kind_maps_and_raise_for_error() -> None:
    assert all(error_for(k, "m") for k in ERROR_KINDS)
    result = parse("ollama list", "Error: could not connect to ollama app, is it running?\n")
    with pytest.raises(ServerNotRunningError, match="could not connect"):
        result.raise_for_error()
    parse("ollama list", TABLE).raise_for_error()  # no error report: nothing raised


@pytest.mark.parametrize(
    "paste",
    [
        f"```\n$ ollama list\n{TABLE}```\n",  # a Markdown fence around the paste
        f"```console\nollama list\n{TABLE}```",  # a fenced bare echo of the command
        f"Here is what I get:\n\n$ ollama list\n{TABLE}",  # prose before the first command
        f"\ufeff$ ollama list\n{TABLE}",  # a saved log's UTF-8 BOM
        f"\ufeff{TABLE}",
        f"$ ollama list\n{TABLE}$ nvidia-smi\nNo devices were found\n$ ",  # another program
        f"PS C:\\Users\\x> ollama list\n{TABLE}PS C:\\Users\\x> nvidia-smi\nNo devices\n",
        f"$ ollama list\n{TABLE}➜  ~ ",  # oh-my-zsh's trailing prompt
        f"$ ollama list\n{TABLE}~/proj on  main ❯ ",  # starship's
        f"Attaching to ollama-1\n{prefixed('ollama-1  | ', TABLE)}ollama-1 exited with code 0\n",
        f"-- Boot 0f3c2a --\n{prefixed('Nov 30 10:00:01 host ollama[123]: ', TABLE)}",
    ],
)
def test_wrappers_people_put_around_a_paste_go_in_strict_mode(paste: str) -> None:
    assert models(paste, strict=True) == MODELS


@pytest.mark.parametrize(
    "mark",
    [
        "(truncated)",
        "[output truncated]",
        "... (truncated)",
        "<snip>",
        "[... 12 lines omitted ...]",
    ],
)
def test_more_cut_marks(mark: str) -> None:
    lines = TABLE.splitlines()
    assert models(f"{lines[0]}\n{mark}\n{lines[1]}\n", strict=True) == MODELS


@pytest.mark.parametrize("note", ["  # this one", "\t# this one", "   <--- we load this one"])
def test_a_note_after_a_row_is_not_part_of_its_last_cell(note: str) -> None:
    lines = TABLE.splitlines()
    got = parse("ollama list", f"{lines[0]}\n{lines[1]}{note}\n", strict=True).to_dict()
    assert got["models"][0]["modified"] == "3 weeks ago"


def test_a_pull_error_does_not_swallow_the_log_systems_own_lines() -> None:
    pull = "pulling manifest\nError: pull model manifest: file does not exist\n"
    paste = f"{prefixed('ollama-pull-1  | ', pull)}ollama-pull-1 exited with code 1\n(truncated)\n"
    got = parse("ollama pull", paste, strict=True).to_dict()
    assert got["error"] == "pull model manifest: file does not exist"


def test_a_sentence_after_an_lms_ps_table_is_skipped_not_read_as_a_model() -> None:
    table = (
        "IDENTIFIER       MODEL            STATUS    SIZE       CONTEXT    DEVICE\n"
        "qwen/qwen3-4b    qwen/qwen3-4b    IDLE      2.50 GB    4096       Local\n"
    )
    for tail in ("\nThanks for any help!\n", "as you can see, nothing else is loaded\n"):
        got = parse("lms ps", table + tail).to_dict()
        assert [m["identifier"] for m in got["models"]] == ["qwen/qwen3-4b"]
        assert [s["text"] for s in got["skipped"]] == [tail.strip()]
    cut = parse("lms ps", table + "qwen/qwen3-4b    qwen/q\n").to_dict()  # a real cut row is kept
    assert cut["truncated"] is True and cut["models"][-1]["identifier"] == "qwen/qwen3-4b"
    assert cut["models"][-1]["model"] is None  # the partial cell is null, never "qwen/q"
    cut = parse("lms ps", table + "qwen/qwe\n").to_dict()  # cut inside the identifier: not read
    assert [m["identifier"] for m in cut["models"]] == ["qwen/qwen3-4b"]
    assert [s["text"] for s in cut["skipped"]] == ["qwen/qwe"]


def test_not_understood_raises_naming_the_command_or_records_the_line() -> None:
    """Strict (or outside any read): a ParseError naming the command, line and reason.
    Lenient: the line is recorded ("" when none is given), and counted as a whole line
    unless only a part of it was not understood."""
    with pytest.raises(ParseError) as e:
        not_understood("lms ls", "unrecognised line", 3, "x y")
    assert (e.value.command, e.value.reason, e.value.line_number, e.value.line) == (
        "lms ls",
        "unrecognised line",
        3,
        "x y",
    )
    with reading(strict=False) as state:
        not_understood("lms ls", "unrecognised line", 2, "a b")
        not_understood("lms ls", "unrecognised line", 4)
        not_understood("lms ls", "size is not a number", 5, '"size": "x"', part=True)
    assert [(s.line, s.text) for s in state.skipped] == [(2, "a b"), (4, ""), (5, '"size": "x"')]
    assert state.whole_lines == 2


def fixture_text(case: str) -> str:
    """A real capture of the in-repo fixture tree (``fixtures/<tool>/<command>/<case>.txt``)."""
    return (DEFAULT_ROOT / f"{case}.txt").read_text(encoding="utf-8")


def test_a_load_whose_author_cut_the_timing_line_is_still_loaded() -> None:
    real = fixture_text("lms/load/markwatson-book-second-instance")
    cut = "\n".join(x for x in real.split("\n") if not x.startswith("Model loaded")) + "\n"
    got = parse("lms load", cut, strict=True).to_dict()
    assert got["outcome"] == "loaded" and got["identifier"] == "google/gemma-3n-e4b:2"
    only = next(x for x in real.split("\n") if x.startswith("To use the model"))
    assert parse("lms load", only + "\n", strict=True).to_dict()["outcome"] == "loaded"


def test_a_complete_last_row_after_an_elision_line_is_a_row() -> None:
    lines = fixture_text("lms/ls/docs-lmstudio-ai-cli-ls").split("\n")
    got = parse("lms ls", "\n".join([*lines[:4], "...", lines[6]]) + "\n", strict=True).to_dict()
    assert [m["key"] for m in got["models"]] == [
        "lmstudio-community/meta-llama-3.1-8b-instruct",
        "zeta",
    ]
    assert got["models"][-1]["size_text"] == "4.09 GB" and not got.get("truncated")


@pytest.mark.parametrize("note", ["  <- this one", " <--- this one", "  <== here", "  ⬅ mine"])
def test_an_annotation_after_the_last_column_keeps_the_real_last_cell(note: str) -> None:
    lines = fixture_text("lms/ls/docs-lmstudio-ai-cli-ls").split("\n")
    got = parse("lms ls", "\n".join([*lines[:5], lines[5] + note]) + "\n", strict=True).to_dict()
    assert got["models"][-1]["size_text"] == "4.08 GB"
    assert models(TABLE.rstrip("\n") + note + "\n", strict=True) == MODELS


# -- decorations nobody listed, inferred (issue 16; lmsdrive/parsers/_decor.py) ------------


def bare_and(command: str, case: str, text: str, *, strict: bool = False) -> tuple[Any, Any]:
    """The facts of a real capture and of ``text`` (the capture decorated), without
    ``removed``; and the decorations the decorated reading reports."""
    want = parse(command, fixture_text(case), strict=True).to_dict()
    got = parse(command, text, strict=strict).to_dict()
    removed = got.pop("removed", [])
    assert got == want
    return want, removed


@pytest.mark.parametrize("mark", ["#", "# ", "> ", ">> "])
@pytest.mark.parametrize("blank", ["", "keep"])
def test_a_comment_or_quote_marker_on_every_line(mark: str, blank: str) -> None:
    real = fixture_text("lms/ls/markwatson-book-jan-aug-2025-layout")
    empty = mark if blank == "keep" else ""
    text = "".join(mark + line + "\n" if line else empty + "\n" for line in real.splitlines())
    _, removed = bare_and("lms ls", "lms/ls/markwatson-book-jan-aug-2025-layout", text, strict=True)
    assert [d["kind"] for d in removed] == ["comment" if "#" in mark else "quote"]
    assert removed[0]["text"] == mark


def test_a_commented_command_and_output() -> None:
    text = prefixed("# ", "$ ollama list\n" + TABLE)
    assert models(text, strict=True) == MODELS
    assert parse("ollama list", text).to_dict()["removed"][0]["lines"] == [[1, 3]]


def test_a_commented_crlf_paste_with_bare_markers_on_blank_lines() -> None:
    body = "".join(f"# {line}\r\n" for line in TABLE.splitlines())
    text = f"# $ ollama list\r\n# \r\n{body}#\r\n"
    assert models(text, strict=True) == MODELS


def test_a_log_viewers_timestamp_bar_before_slog_lines() -> None:
    real = fixture_text("ollama/serve/gh8533-v0.5.7-windows-proxy")
    text = "".join(
        f"2025-01-23 11:46:{n % 60:02d}.{n * 7 % 1000:03d} | {line}\n"
        for n, line in enumerate(real.splitlines())
    )
    _, removed = bare_and("ollama serve", "ollama/serve/gh8533-v0.5.7-windows-proxy", text)
    assert [d["kind"] for d in removed] == ["timestamp"]
    assert removed[0]["text"].endswith(" | ")


@pytest.mark.parametrize(
    "prefix",
    [
        "déc. 07 10:00:{s} gpu-box-01 ollama[4242]: ",  # French locale
        "07 Okt 10:00:{s} my-ollama-host ollama[7]: ",  # German, day first
        "mai 30 10:00:{s} srv-a-1 ollama-serve@gpu0[123456]: ",  # a templated unit
        "дек 07 10:00:{s} box ollama[99]: ",
    ],
)
def test_a_journal_prefix_in_a_locale_or_form_not_listed(prefix: str) -> None:
    real = fixture_text("ollama/serve/gh8533-v0.5.7-windows-proxy")
    text = "".join(
        prefix.format(s=f"{n:02d}") + line + "\n" for n, line in enumerate(real.splitlines())
    )
    _, removed = bare_and(
        "ollama serve", "ollama/serve/gh8533-v0.5.7-windows-proxy", text, strict=True
    )
    assert [d["kind"] for d in removed] == ["timestamp"]


SYSTEMCTL_HEAD = """\
● ollama.service - Ollama Service
     Loaded: loaded (/etc/systemd/system/ollama.service; enabled; preset: enabled)
     Active: active (running) since Mon 2026-12-07 10:00:00 CET; 5s ago
   Main PID: 4242 (ollama)
      Tasks: 12 (limit: 38092)
     Memory: 20.1M
        CPU: 80ms
     CGroup: /system.slice/ollama.service
             └─4242 /usr/local/bin/ollama serve

"""


def test_systemctl_status_header_above_journal_lines_in_a_locale() -> None:
    case = "ollama/serve/gh8533-v0.5.7-windows-proxy"
    real = fixture_text(case)
    journal = "".join(
        f"déc. 07 10:00:{n:02d} gpu-box-01 ollama[4242]: {line}\n"
        for n, line in enumerate(real.splitlines())
    )
    want = parse("ollama serve", real, strict=True).to_dict()
    got = parse("ollama serve", SYSTEMCTL_HEAD + journal).to_dict()
    assert (got["ready"], got["version"], got["log_lines"]) == (
        want["ready"],
        want["version"],
        want["log_lines"],
    )
    assert got["removed"][0]["kind"] == "timestamp" and got["removed"][0]["lines"] == [[11, 14]]


@pytest.mark.parametrize("tag", ["[entrypoint] ", "[ollama-7f9c6d-x2kq][42] ", "<init> "])
def test_a_containers_own_tag_on_every_line(tag: str) -> None:
    case = "ollama/pull/pingcap102-success-colon"
    text = prefixed(tag, fixture_text(case))
    _, removed = bare_and("ollama pull", case, text, strict=True)
    assert [d["kind"] for d in removed] == ["tag"] and removed[0]["text"] == tag


@pytest.mark.parametrize(
    ("command", "case"),
    [
        ("lms ls", "lms/ls/markwatson-book-jan-aug-2025-layout"),
        ("ollama pull", "ollama/pull/pingcap102-success-colon"),
    ],
)
@pytest.mark.parametrize("suffix", ["  [stdout]", " |", " (gpu-box-01)"])
def test_a_tag_around_every_line(command: str, case: str, suffix: str) -> None:
    real = fixture_text(case)
    text = "".join(f"2026-12-07 10:00:00.123 | {x}{suffix}\n" for x in real.splitlines() if x)
    _, removed = bare_and(command, case, text, strict=True)
    assert [d["kind"] for d in removed] == ["timestamp", "tag"]
    assert removed[1]["text"] == suffix.strip()


def test_a_sentence_before_a_quoted_table_is_left_aside() -> None:
    text = "Here is what I get:\n" + prefixed("> ", "$ ollama list\n" + TABLE)
    assert models(text, strict=True) == MODELS


def test_a_literal_prefix_on_every_line() -> None:
    case = "ollama/pull/pingcap102-success-colon"
    _, removed = bare_and("ollama pull", case, prefixed("worker-3 :: ", fixture_text(case)))
    assert [d["kind"] for d in removed] == ["literal"]


def test_a_flattened_pull_redraw_is_split_on_its_frames() -> None:
    case = "ollama/pull/pingcap102-success-colon"
    lines = [x for x in fixture_text(case).splitlines() if x.strip()]
    frames = " ".join(f"{x} ⠋ {x} ⠙ {x}" if not x.startswith("pulling ") else x for x in lines)
    _, removed = bare_and("ollama pull", case, frames + "\n", strict=True)
    assert [d["kind"] for d in removed] == ["redraw"] and removed[0]["lines"] == [[1, 1]]


def test_a_flattened_load_spinner_is_split_on_its_frames() -> None:
    case = "lms/load/real-cli-second-instance"
    frames = strip_ansi(fixture_text(case)).replace("\r", "").replace("\n", "")
    stderr = (DEFAULT_ROOT / f"{case}.stderr").read_text(encoding="utf-8")
    got = parse("lms load", frames + stderr, strict=True).to_dict()
    assert got["outcome"] == "loaded" and got["percentages"] == [17, 33, 50, 67, 83, 100]
    assert [d["kind"] for d in got["removed"]] == ["redraw"]


def test_a_server_log_reduced_to_its_msg_texts() -> None:
    real = fixture_text("ollama/serve/gh8533-v0.5.7-windows-proxy")
    want = parse("ollama serve", real, strict=True).to_dict()
    quoted = re.findall(r'msg="(?:[^"\\]|\\.)*"', real)
    for text in ("\n".join(quoted), "\n".join(q[5:-1] for q in quoted)):
        got = parse("ollama serve", text + "\n").to_dict()
        assert (got["ready"], got["listen_address"], got["version"]) == (
            want["ready"],
            want["listen_address"],
            want["version"],
        )


LMS_CLIENT_LOG = (
    "[LMStudioClient][LLM][ClientPort] Received communication warning from the server: "
    "Received invalid creationParameter for channel\n"
    "Error: Failed to load model\n"
    "      at LLMDynamicHandle.load (/$bunfs/root/lms:96:17543)\n"
    "      at processTicksAndRejections (native:7:39)\n"
)


@pytest.mark.parametrize("command", ["lms load", "lms error"])
def test_an_lms_error_report_is_read_from_the_end(command: str) -> None:
    report = 'Error: No model found that matches path "qwen/qwen-9b".\n'
    got = parse(command, LMS_CLIENT_LOG + report, strict=True).to_dict()
    assert got["kind"] == "model_not_found" and got["error"].startswith("No model found")
    assert got["removed"] == [
        {"kind": "log before the report", "text": LMS_CLIENT_LOG.split("\n")[0], "lines": [[1, 4]]}
    ]
    crash = parse("lms error", LMS_CLIENT_LOG, strict=True).to_dict()  # no report after it
    assert crash["kind"] == "crash" and "removed" not in crash


def test_strict_still_refuses_what_is_not_understood_after_a_decoration() -> None:
    text = prefixed("# ", TABLE + "a new line from a new version\n")
    with pytest.raises(ParseError):
        parse("ollama list", text, strict=True)
    got = parse("ollama list", text).to_dict()
    assert [s["line"] for s in got["skipped"]] == [3] and got["removed"][0]["kind"] == "comment"


def test_a_long_capture_is_inferred_on_a_sample_and_read_whole() -> None:
    row = TABLE.splitlines()[1]
    table = TABLE.splitlines()[0] + "\n" + "".join(row + "\n" for _ in range(3000))
    got = parse("ollama list", prefixed("> ", table), strict=True).to_dict()
    assert len(got["models"]) == 3000
    assert got["removed"] == [{"kind": "quote", "text": "> ", "lines": [[1, 3001]]}]
    assert "removed" not in parse("ollama list", table, strict=True).to_dict()
