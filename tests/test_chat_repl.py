"""``lmsdrive chat`` on a terminal, driven as a user drives it: the real process on a pty
(pexpect), keys typed, Ctrl-C (``\\x03``) sent mid-answer and at the prompt, against the
fake runtimes (a fake answer that streams slowly enough to be stopped)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest

from lmsdrive._platform import data_dir
from lmsdrive.cli._chat import run_repl
from lmsdrive.cli._commands import Failure
from lmsdrive.testing.fake_cli import kill_pid
from lmsdrive.testing.runtime import FakeRuntime

Factory = Callable[..., FakeRuntime]
MODEL = {"ollama": "llama3.2:3b", "lmstudio": "qwen/qwen3-4b"}
FAKE = {"ollama": "ollama", "lmstudio": "lms"}
REPO = Path(__file__).resolve().parent.parent
SLOW = "one two three four five six seven eight nine ten eleven twelve"
Spawn = Callable[..., pexpect.spawn]


@pytest.fixture
def spawn_chat(tmp_path: Path) -> Iterator[Spawn]:
    """Start ``lmsdrive chat ARGS...`` on a pty, in the environment the fakes set, with its
    own data directory (``XDG_DATA_HOME``); every child is killed at the end."""
    children: list[pexpect.spawn] = []

    def spawn(*args: str) -> pexpect.spawn:
        env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "TERM": "xterm"}
        child = pexpect.spawn(
            sys.executable,
            ["-m", "lmsdrive", "chat", *args],
            env=env,
            cwd=str(REPO),
            encoding="utf-8",
            timeout=20,
            dimensions=(24, 200),
        )
        children.append(child)
        return child

    yield spawn
    for child in children:
        child.close(force=True)


def started(child: pexpect.spawn) -> None:
    child.expect_exact("Ctrl-D or /bye leaves")
    child.expect_exact("> ")


def finished(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None, child.signalstatus
    return int(child.exitstatus)


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
def test_ctrl_c_stops_the_answer_and_at_the_prompt_does_not_leave(
    fake_runtime: Factory, spawn_chat: Spawn, backend: str
) -> None:
    rt = fake_runtime(
        server_running=True,
        models_loaded={FAKE[backend]: [MODEL[backend]]},
        token_seconds=0.5,
        generate_text=SLOW,
    )
    child = spawn_chat("--backend", backend, "--model", MODEL[backend])
    started(child)
    child.sendline("count to twelve")
    child.expect_exact("three")
    child.send("\x03")  # mid-answer
    child.expect_exact("answer stopped")
    child.expect_exact("> ")
    assert "twelve" not in child.before
    rt.set(token_seconds=0.0, generate_text=None)  # the fake answers "… reply to: PROMPT"
    child.sendline("again")
    child.expect_exact("reply to: again")
    child.expect_exact("> ")
    child.send("half a line")
    child.send("\x03")  # at the prompt: clears the line, a hint, the prompt again
    child.expect_exact("use Ctrl-D or /bye to leave")
    child.expect_exact("> ")
    child.sendline("last")
    child.expect(r"reply to: (.*?)\r\n")
    assert child.match.group(1) == "last"  # the cleared text was not sent with it
    child.expect_exact("> ")
    child.sendeof()
    assert finished(child) == 0


def test_bye_leaves_with_status_0(fake_runtime: Factory, spawn_chat: Spawn) -> None:
    fake_runtime(server_running=True, models_loaded={"ollama": [MODEL["ollama"]]})
    child = spawn_chat("--model", MODEL["ollama"])
    started(child)
    child.sendline("/bye")
    assert finished(child) == 0


def test_a_server_error_is_shown_and_the_prompt_returns(
    fake_runtime: Factory, spawn_chat: Spawn
) -> None:
    rt = fake_runtime(server_running=True, models_loaded={"lms": [MODEL["lmstudio"]]})
    child = spawn_chat("--backend", "lmstudio", "--model", MODEL["lmstudio"])
    started(child)
    rt.set(generate_dies=True)  # LM Studio answers with its error object
    child.sendline("hello")
    child.expect_exact("The model has crashed")
    child.expect_exact("> ")
    child.sendline("/bye")
    assert finished(child) == 0


def test_a_stopped_server_is_shown_and_the_prompt_returns(
    fake_runtime: Factory, spawn_chat: Spawn
) -> None:
    rt = fake_runtime(server_running=True, models_loaded={"ollama": [MODEL["ollama"]]})
    child = spawn_chat("--model", MODEL["ollama"])
    started(child)
    pid = rt.server_pid("ollama")
    assert pid is not None
    kill_pid(pid)
    child.sendline("hello")
    child.expect_exact("Ollama server at ")
    child.expect_exact(" does not answer")
    child.expect_exact("> ")
    child.sendeof()
    assert finished(child) == 0


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
def test_an_unknown_model_fails_before_the_first_prompt(
    fake_runtime: Factory, spawn_chat: Spawn, backend: str
) -> None:
    fake_runtime(server_running=True, models_loaded={FAKE[backend]: [MODEL[backend]]})
    missing = {"ollama": "nosuch:1b", "lmstudio": "nosuch/model"}[backend]
    child = spawn_chat("--backend", backend, "--model", missing)
    child.expect_exact(f"Model '{missing}' is not available")
    assert finished(child) == 5
    assert "> " not in (child.before or "")


def test_the_line_history_is_kept_across_sessions(
    fake_runtime: Factory, spawn_chat: Spawn, tmp_path: Path
) -> None:
    fake_runtime(server_running=True, models_loaded={"ollama": [MODEL["ollama"]]})
    first = spawn_chat("--model", MODEL["ollama"])
    started(first)
    first.sendline("what is a llama")
    first.expect_exact("reply to: what is a llama")
    first.expect_exact("> ")
    first.sendeof()
    assert finished(first) == 0
    saved = tmp_path / "data" / "lmsdrive" / "chat_history"
    assert "what is a llama" in saved.read_text(encoding="utf-8")
    second = spawn_chat("--model", MODEL["ollama"])
    started(second)
    second.send("\x1b[A")  # ↑ recalls the last session's line
    second.send("\r")
    second.expect_exact("reply to: what is a llama")
    second.expect_exact("> ")
    second.sendline("/bye")
    assert finished(second) == 0


# -- the conversation the REPL keeps (in process) --------------------------------------------
def test_a_stopped_or_failed_turn_is_left_out_of_the_conversation(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    lines = iter(["first", "second", "third", "/bye"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    seen: list[list[dict[str, str]]] = []

    def answer(conversation: list[dict[str, str]]) -> str:
        seen.append(conversation)
        if len(seen) == 1:
            raise KeyboardInterrupt  # Ctrl-C while the first answer streams
        if len(seen) == 2:
            raise Failure("the server went away", 4)
        return "an answer"

    system = {"role": "system", "content": "be brief"}
    messages = [system]
    run_repl("Chatting", messages, answer)
    assert [m["content"] for m in seen[2]] == ["be brief", "third"]
    assert messages == [
        system,
        {"role": "user", "content": "third"},
        {"role": "assistant", "content": "an answer"},
    ]


def test_data_dir_follows_xdg_data_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert data_dir() == tmp_path / "lmsdrive"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the XDG spec: absolute only
    monkeypatch.setattr("sys.platform", "linux")
    assert data_dir() == Path.home() / ".local" / "share" / "lmsdrive"
