"""Terminal pastes hold more than the command's output: the shell prompt with the command
typed, a bare prompt after it, sometimes the next command and its output. This pre-pass,
applied by :func:`lmsdrive.parsers.parse` and ``lmsdrive parse`` before a parser runs,
removes exactly that:

* leading blank lines and lines that echo a command, with or without a prompt
  (``$ ollama list``, ``jolly@pop-os:~$ lms -v``, ``PS C:\\> ollama run x``, ``❯ lms get y``,
  a bare ``lms ls --variants``, ``~/.lmstudio/bin/lms status``, the ``user@host MSYSTEM path``
  line of a two-line prompt); a bare command line counts only as the first line, and one
  that reads as a sentence or holds a version number (``ollama version is 0.5.7``,
  ``ollama version 0.1.13``, ``lms - LM Studio CLI - v0.0.28``) is output, not an echo;
* a later prompt line that runs a command (of either tool), and everything after it: that is
  the next command's output, not this one's (a parser that reads the whole session, such as
  ``lms server start`` for its ``second_command``, keeps the prompt lines and what follows);
* trailing bare prompts (``user@host:~$``, ``ezra@mbp ~ %``, ``$``).

Output lines are never touched: a line only counts as a prompt when a prompt marker
(``$ # % > ❯ ➜ »``, or ``PS …>``) stands before the tool's name, or when it is a leading echo
of the command itself.
"""

from __future__ import annotations

import re

from ._text import strip_ansi

_TOOL = r"(?:\S*[/\\])?(?:lms|ollama)(?:\.exe)?(?=\s|$)"
_MARKER = r"(?:PS [^>]*>|[^\n]*?[$#%>❯➜»])"
#: A prompt marker (anything up to $ # % > ❯ ➜ », or PowerShell's ``PS …>``) then a command.
_PROMPT_CMD = re.compile(rf"^\s*{_MARKER}\s*(?:\S+\s+)??{_TOOL}")
#: A leading echo of the command without a prompt (``lms ls --variants``).
_ECHO = re.compile(rf"^\s*{_TOOL}")
#: The first line of a two-line prompt (Git Bash / MSYS2: ``user@host MSYSTEM ~/path``).
_USER_HOST = re.compile(r"^\S+@\S+(?:\s+\S+)*\s*$")
#: Output lines that begin with the tool's name (``ollama version is 0.5.7``,
#: ``lms - LM Studio CLI - v0.0.28``, ``lms is LM Studio's CLI utility``) are not echoes.
_OUTPUT_WORDS = re.compile(r"\s(?:is|-)\s|\sv?\d+\.\d+(?:\.\d+)*(?:\s|$)")
#: A prompt with nothing typed after it.
_BARE_PROMPT = re.compile(
    r"^\s*(?:\([^)]*\)\s*)?(?:\S+@\S+(?:\s+\S+)?|PS [^>]*|[\w~./:-]*)\s*[$#%>❯➜»]\s*$"
)


def _is_prompt_command(line: str) -> bool:
    return bool(_PROMPT_CMD.match(line))


def strip_shell_session(text: str, *, keep_commands: bool = False) -> str:
    """``text`` without the shell session around the command's output (see module doc).

    ``keep_commands`` keeps every prompt line that runs a command, and what follows it, for
    a parser that reads the session itself (chained and following commands); the bare echo
    at the top and trailing bare prompts still go.
    """
    lines = text.split("\n")
    plain = [strip_ansi(line).replace("\r", "") for line in lines]

    def leading(i: int) -> bool:
        line = plain[i]
        if not line.strip() or (_is_prompt_command(line) and not keep_commands):
            return True
        if i == 0 and _ECHO.match(line) and not _OUTPUT_WORDS.search(line):
            return True  # a bare command line at the top of a paste
        return bool(
            _USER_HOST.match(line) and i + 1 < len(plain) and _is_prompt_command(plain[i + 1])
        )

    start = 0
    while start < len(lines) and leading(start):
        start += 1
    if start == len(lines):  # nothing but prompts: leave it to the parser
        return text
    end = len(lines)
    if not keep_commands:
        for i in range(start, len(lines)):
            if _is_prompt_command(plain[i]):
                end = i
                break
    while end > start and (not plain[end - 1].strip() or _BARE_PROMPT.match(plain[end - 1])):
        end -= 1
    if start == 0 and end == len(lines):
        return text
    kept = "\n".join(lines[start:end])
    return kept + "\n" if end > start and (end < len(lines) or text.endswith("\n")) else kept
