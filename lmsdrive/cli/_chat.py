"""``lmsdrive chat`` on a terminal: a conversation REPL that behaves like ``ollama run``.

- Ctrl-C while an answer streams stops it and returns to the prompt. The cancelled turn is
  dropped from the conversation: neither the question nor the partial answer is sent to the
  model again (the question stays in the line history: ↑ recalls it to edit and resend).
- Ctrl-C at the prompt clears the line and says how to leave; Ctrl-D or ``/bye`` leaves.
- An error (the server stopped, a request refused) is printed and the prompt returns; the
  failed turn is dropped like a cancelled one.
- The line history (readline) is kept across sessions in ``chat_history`` under the user's
  data directory (:func:`lmsdrive._platform.data_dir`), the last 1000 lines.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._platform import data_dir
from ._commands import Failure
from ._ui import error

PROMPT = "> "
LEAVE = ("/bye", "/exit", "/quit")
HISTORY_LINES = 1000

Message = dict[str, str]


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class LineHistory:
    """readline's line history, read from ``path`` at the start and written after each line
    (nothing is kept where readline is missing, e.g. on Windows without pyreadline)."""

    def __init__(self, path: Path) -> None:
        self.path: Path | None = path
        self.readline: Any = None
        try:
            import readline
        except ImportError:
            return
        self.readline = readline
        readline.set_history_length(HISTORY_LINES)
        try:
            readline.read_history_file(str(path))
        except FileNotFoundError:
            pass
        except OSError as exc:
            self._give_up(exc)

    def _give_up(self, exc: OSError) -> None:
        error(f"chat: the line history {self.path} is not kept ({exc.strerror or exc})")
        self.path = None

    def keep(self) -> None:
        """Save the history (with the line just read: ``input`` added it)."""
        if self.readline is None or self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.readline.write_history_file(str(self.path))
        except OSError as exc:
            self._give_up(exc)


def run_repl(title: str, messages: list[Message], answer: Callable[[list[Message]], str]) -> None:
    """Read lines until Ctrl-D or ``/bye``; ``answer(conversation)`` streams one answer
    and returns its text (it raises :class:`Failure` for an error to show)."""
    history = LineHistory(data_dir() / "chat_history")
    _say(f"{title}. Ctrl-C stops an answer; Ctrl-D or /bye leaves.")
    while True:
        try:
            line = input(PROMPT)
        except KeyboardInterrupt:
            _say("\nuse Ctrl-D or /bye to leave")
            continue
        except EOFError:
            _say("")
            return
        text = line.strip()
        if not text:
            continue
        history.keep()
        if text in LEAVE:
            return
        turn = [*messages, {"role": "user", "content": line}]
        try:
            reply = answer(turn)
        except KeyboardInterrupt:
            print(flush=True)
            _say("(answer stopped; this question and answer are left out of the conversation)")
            continue
        except Failure as exc:
            error(str(exc))
            continue
        messages[:] = [*turn, {"role": "assistant", "content": reply}]
