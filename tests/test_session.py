"""Terminal pastes: the shell prompt, the typed command and a trailing prompt around the
output change nothing that ``lmsdrive parse`` reads (lmsdrive/parsers/_session.py)."""

from __future__ import annotations

import pytest

from lmsdrive.golden import Fixture, iter_fixtures
from lmsdrive.parsers import parse, parse_transcript, resolve
from lmsdrive.parsers._session import read_paste
from lmsdrive.transcript import Transcript


def strip_shell_session(text: str) -> str:
    """The pre-pass on a paste of one command."""
    return read_paste(text).text


# Plain outputs (a fixture that is itself a pasted session is checked by its own parser).
CLI_FIXTURES = [
    f
    for f in iter_fixtures()
    if "/" not in f.parser and f.text.strip() and strip_shell_session(f.text) == f.text
]
PROMPTS = ["$ ", "jolly@pop-os:~$ ", "PS C:\\Users\\me> ", "❯ ", "ezra@mbp ~ % "]


@pytest.mark.parametrize("fx", CLI_FIXTURES, ids=[f.case_id for f in CLI_FIXTURES])
def test_prompt_and_command_around_a_fixture_change_nothing(fx: Fixture) -> None:
    info = resolve(fx.parser)
    bare = parse_transcript(info, fx.transcript()).to_dict()
    command = " ".join(fx.meta.get("argv") or [fx.parser])
    prompt = PROMPTS[len(fx.case_id) % len(PROMPTS)]
    text = fx.text if fx.text.endswith("\n") else fx.text + "\n"
    pasted = f"{prompt}{command}\n{text}{prompt.rstrip()}\n"
    assert (
        parse_transcript(info, Transcript.of(pasted, exit_code=fx.meta.get("exit_code"))).to_dict()
        == bare
    )


def test_next_command_and_its_output_are_not_read() -> None:
    paste = (
        "PS C:\\Users\\me> ollama run gemma4:12b\n"
        "pulling manifest\n"
        "Error: pull model manifest: file does not exist\n"
        "PS C:\\Users\\me> ollama --version\n"
        "ollama version is 0.30.3\n"
    )
    result = parse("ollama run", paste).to_dict()
    assert result["error"] == "pull model manifest: file does not exist"
    assert result["kind"] == "model_not_found"


@pytest.mark.parametrize(
    "line",
    [
        "ollama version is 0.5.7",
        "lms - LM Studio CLI - v0.0.28",
        "lms is LM Studio's CLI utility for your models, server, and inference runtime.",
    ],
)
def test_output_that_begins_with_the_tool_name_is_kept(line: str) -> None:
    assert strip_shell_session(line + "\n") == line + "\n"


def test_two_line_msys2_prompt() -> None:
    paste = "me@box CLANGARM64 /c/src\n$ ollama.exe serve\nline one\n"
    assert strip_shell_session(paste) == "line one\n"


def test_output_lines_mentioning_the_tool_mid_text_are_kept() -> None:
    text = "Download completed. You can load the model with: \n\n    lms load qwen3\n"
    assert strip_shell_session(text) == text


def test_old_client_version_line_is_output() -> None:
    assert strip_shell_session("$ ollama -v\nollama version 0.1.13\n") == "ollama version 0.1.13\n"
