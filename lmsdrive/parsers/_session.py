"""The pre-pass every parser gets: a capture as people make it, reduced to one command's output.

:func:`read_paste` is the one paste/prompt reader of the package. :func:`lmsdrive.parsers.parse`
(and ``lmsdrive parse``, the fixture tests, ``lmsdrive fixtures check``) run it on stdout and
stderr before the parser, which then sees only the command's own output. In this order:

1. **Log wrappers** are cut from the start of each line that has one (on all lines or all
   but some): the ``docker compose logs`` service column (``ollama-1  | ``, with or without
   ``--timestamps``), the RFC 3339 timestamp of ``docker logs -t`` / ``kubectl logs
   --timestamps`` (``2026-01-21T01:46:34.123456789Z ``), and journalctl's short and
   short-iso prefixes (``host unit[pid]: ``: ``Nov 30 10:00:01 host ollama[123]: ``,
   ``2024-11-30T10:00:01+0100 host ollama[123]: ``), where a long line the pager cut ends
   in ``>`` (that marker goes too). The log system's own lines go too (``Attaching to
   ollama-1``, ``ollama-1 exited with code 0``, journalctl's ``-- Boot … --``), and so do
   Markdown fences (```` ```console ````) and a UTF-8 BOM.
2. **Commands** are found: a line where a shell prompt runs ``lms``/``ollama`` (bash, zsh,
   fish, PowerShell ``PS C:\\>``, cmd ``C:\\Users\\me>``, starship ``❯``, ``➜``, conda
   ``(base) $``; also via ``sudo``/``docker exec``/``kubectl exec``), a labelled command
   (``input: ollama run x``), a bare echo of the command on the first line (and the same
   echo again later: a repeated run). A line that reads as a sentence or holds a version
   (``ollama version is 0.5.7``, ``lms - LM Studio CLI - v0.0.28``) is output, not an echo.
   ``output:`` labels, the first line of a two-line prompt (``user@host MSYSTEM ~/path``)
   and bare prompts (``$``, ``user@host:~$``, ``PS C:\\>``, ``➜  ~``, ``~/p on  main ❯``)
   go too. A prompt that runs another program (``$ nvidia-smi``) starts that program's run.
3. The paste is **split into runs**, one per command line. The result is the last run of
   the command being parsed (with output); earlier runs of the same command are
   ``attempts``; runs of other commands, and text before a run of this command (the author's
   sentence), are not this command's output and are left out.
4. **Author's marks** go: a line that is only ``...``, ``…``, ``[...]``, ``(truncated)``,
   ``<snip>`` or ``[... 12 lines omitted ...]`` (lines cut), and a note after a row
   (``   <--- we load this one``, ``<- this``, ``<==``, ``←``, ``⬅``, ``  # this one``).
5. **Server log noise** goes when the parser does not read server logs itself (all
   ``ollama`` text parsers but ``ollama serve``): Gin request lines (``[GIN] 2026/01/21 -
   01:46:34 | 200 | …``), slog lines (``time=… level=INFO …``), Go log lines
   (``2024/08/19 22:32:14 routes.go:1125: …``), llama.cpp/ggml/SYCL lines
   (``llama_model_loader: …``, ``ggml_cuda_init: …``, ``  Device 0: …``, ``|ID| Device
   Type|…|``) — a terminal that runs ``ollama serve`` in the background interleaves them.

Output lines are otherwise never touched, and every kept line remembers its line number in
the input (``Paste.origin``), so a lenient parse reports skipped lines where the user sees
them. Wrappers this list does not name are inferred before it runs (``_decor``: a prefix
every line shares by shape, a flattened redraw, an ``lms`` report read from the end); the
wrappers of step 1, like the inferred ones, are reported in the result's ``removed``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .._text import _ANSI_RE, strip_ansi

__all__ = ["Paste", "command_of", "is_command_line", "read_paste", "unwrap"]

# -- 1. log wrappers ----------------------------------------------------------------------

_RFC3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)"
_JOURNAL = (
    rf"(?:[A-Z][a-z]{{2}} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?|{_RFC3339}) "
    r"[\w.-]+ (?P<unit>[\w.@/-]+)\[\d+\]: "
)
#: ``svc-1  | `` or kubectl's ``[pod/name/container] `` then a timestamp, or a journal
#: prefix, or a timestamp alone.
_WRAPPER_RE = re.compile(
    r"^(?:(?P<svc>[A-Za-z0-9][\w.-]*\s+\| ?)|\[pod/[^\]\s]+\] )?"
    rf"(?:(?P<journal>{_JOURNAL})|{_RFC3339} )?"
)
_JOURNAL_CUT_WIDTH = 79


def cut_visible(raw: str, n: int) -> str:
    """``raw`` without its first ``n`` visible characters (escape sequences among them
    go too; the rest keeps its escapes)."""
    if "\x1b" not in raw:
        return raw[n:]
    pos = 0
    while n > 0 and pos < len(raw):
        m = _ANSI_RE.match(raw, pos)
        if m:
            pos = m.end()
            continue
        pos += 1
        n -= 1
    while (m := _ANSI_RE.match(raw, pos)) is not None:
        pos = m.end()
    return raw[pos:]


def unwrap(raw: str) -> tuple[str, str | None]:
    """One line without its log wrapper (step 1), and the journal unit that logged it
    (``ollama``, ``systemd``; ``None`` without a journal prefix)."""
    plain = strip_ansi(raw) if "\x1b" in raw else raw
    m = _WRAPPER_RE.match(plain)
    if m is None or m.end() == 0:
        return raw, None
    return _rest(raw, plain, m), m.group("unit")


def _rest(raw: str, plain: str, m: re.Match[str]) -> str:
    """``raw`` after the wrapper ``m`` matched on ``plain`` (its ANSI-free form)."""
    out = raw[m.end() :] if raw is plain else cut_visible(raw, m.end())
    if len(plain) >= _JOURNAL_CUT_WIDTH and out.endswith(">") and m.group("journal"):
        out = out[:-1]
    return out


def unwrap_all(lines: Sequence[str]) -> list[str]:
    """:func:`unwrap` of every line, without the unit (the pre-pass's hot loop)."""
    match = _WRAPPER_RE.match
    out = []
    for raw in lines:
        plain = strip_ansi(raw) if "\x1b" in raw else raw
        m = match(plain)
        out.append(raw if m is None or not m.end() else _rest(raw, plain, m))
    return out


def unwrap_text(text: str) -> tuple[str, list[int], str]:
    """``text`` without the listed log wrappers (step 1), the 1-based numbers of the lines
    that had one, and the first wrapper removed (what the result reports)."""
    lines = text.removeprefix("\ufeff").split("\n")
    out = unwrap_all(lines)
    changed = [i for i, (a, b) in enumerate(zip(lines, out, strict=True)) if a is not b]
    if not changed:
        return text, [], ""
    first = strip_ansi(lines[changed[0]])
    example = first[: len(first) - len(strip_ansi(out[changed[0]]))]
    return "\n".join(out), [i + 1 for i in changed], example


# -- 2. commands ----------------------------------------------------------------------------

_TOOL = r"(?:\S*[/\\])?(?:lms|ollama)(?:\.exe)?(?=\s|$)"
_VIA = (
    r"(?:(?:sudo|doas|time|env|wsl|(?:docker|podman)(?: compose)? exec|kubectl exec)\b[^\n]*?\s)?"
)
_MARKER = r"(?:PS [^>]*>|[^\n]*?[$#%>❯➜»])"
#: A prompt marker (anything up to $ # % > ❯ ➜ », or PowerShell's ``PS …>``) then a command.
_PROMPT_CMD = re.compile(rf"^\s*{_MARKER}\s*(?:\S+\s+)??{_VIA}{_TOOL}")
#: A labelled command (``input: ollama run x``).
_LABEL_CMD = re.compile(rf"^\s*(?:input|command|cmd|in)\s*:\s*{_VIA}{_TOOL}", re.IGNORECASE)
_OUTPUT_LABEL = re.compile(r"^\s*(?:output|out|result)\s*:\s*$", re.IGNORECASE)
#: A leading echo of the command without a prompt (``lms ls --variants``).
_ECHO = re.compile(rf"^\s*{_VIA}{_TOOL}")
#: The first line of a two-line prompt (Git Bash / MSYS2: ``user@host MSYSTEM ~/path``).
_USER_HOST = re.compile(r"^\S+@\S+(?:\s+\S+)*\s*$")
#: Output lines that begin with the tool's name (``ollama version is 0.5.7``,
#: ``lms - LM Studio CLI - v0.0.28``, ``lms is LM Studio's CLI utility``) are not echoes.
_OUTPUT_WORDS = re.compile(r"\s(?:is|-)\s|\sv?\d+\.\d+(?:\.\d+)*(?:\s|$)")
#: A prompt with nothing typed after it.
_BARE_PROMPT = re.compile(
    r"^\s*(?:\([^)]*\)\s*)?(?:\S+@\S+(?:\s+\S+)?|PS [^>]*|[\w~./:\\-]*)\s*[$#%>❯➜»]\s*$"
    r"|^\s*➜\s+\S+(?:\s+git:\(\S+\))?(?:\s+✗)?\s*$"  # oh-my-zsh: `➜  ~`, `➜  app git:(main)`
    r"|^[^\n]*\s❯\s*$"  # starship: `~/proj on  main ❯`
)
#: A prompt running some other program (``$ nvidia-smi``): a line of the paste that starts
#: another command's output. Only unmistakable prompts: ``$``/``%`` (alone or after
#: ``user@host:path`` or a conda/venv name), ``PS C:\>``, ``C:\>`` (not ``❯ x``: a
#: selection menu draws that).
_OTHER_PROMPT = re.compile(
    r"^\s*(?:\([^)]*\)\s*)?(?:\S+@\S+(?:\s+\S+)?\s*)?[$%]\s+[\w./~-]"
    r"|^\s*PS [A-Za-z]:\\[^>]*>\s*\S|^\s*[A-Za-z]:\\[^>\s]*>\s*\w"
)
_COMMAND_TEXT = re.compile(rf"{_TOOL}.*$")

# -- 4. author's marks, 5. server log noise --------------------------------------------------

_CUT_MARK = re.compile(
    r"^\s*(?:\.{3,}|…|\[\.{3}\]|\[…\]"
    r"|(?:\.{3}|…)?\s*[(\[<]\s*(?:\.{3}|…)?\s*(?:\d+\s+)?(?:(?:output|more|lines?|rest)\s+)*"
    r"(?:truncated|snipped|snip|cut|omitted)"
    r"[^()\[\]<>]{0,40}[)\]>]\s*(?:\.{3}|…)?)\s*$",
    re.IGNORECASE,
)
_CUT_WORDS = ("...", "…", "runcated", "snip", "cut", "omitted")
_NOTE = re.compile(r"(?:\s+(?:<-+|<=+|<<+|←|⬅)(?:\s.*)?|(?: {2,}|\t)#\s.*)$")
#: A Markdown code fence around a paste (```` ``` ````, ```` ```console ````, ``~~~``).
_FENCE = re.compile(r"^\s*(?:`{3,}|~{3,})\s*[\w+.-]*\s*$")
#: The log system's own lines: docker compose's ``Attaching to a-1, b-1`` and ``a-1 exited
#: with code 0``, journalctl's ``-- Boot 0f3c… --`` / ``-- Logs begin at … --`` markers.
_LOG_SYSTEM = re.compile(
    r"^\s*(?:Attaching to [\w.-]+(?:, [\w.-]+)*|[\w.-]+ exited with code \d+"
    r"|-- (?:Boot [0-9a-f]+|Reboot|No entries|(?:Logs|Journal) begins? at .*) --)\s*$"
)
_SERVER_LOG = re.compile(
    r"^\s*(?:\[GIN(?:-debug)?\] "  # Gin request and debug lines
    r"|time=\S+ level=[A-Z]+ "  # slog
    r"|\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (?:\S+\.go:\d+: )?"  # Go log
    r"|[a-z][a-z0-9]*_[a-z0-9_]*:(?:\s|$)"  # llama.cpp / ggml: `llama_model_loader: …`
    r"|Device \d+: "  # the device list after ggml_cuda_init
    r"|\|.*\|\s*$"  # the SYCL device table of ipex-llm builds
    r"|Found \d+ SYCL devices?:?\s*$)"
)


@dataclass(frozen=True)
class Paste:
    """One command's output read from a capture: the text the parser reads, the 1-based
    input line of each of its lines, and the earlier runs of the same command."""

    text: str
    origin: tuple[int, ...]
    attempts: tuple[Paste, ...] = field(default=())


def command_of(line: str) -> str | None:
    """The command typed on a prompt, label or echo line (``$ ollama list | head`` →
    ``ollama list``), or ``None`` for any other line."""
    plain = strip_ansi(line).replace("\r", "")
    if not (_PROMPT_CMD.match(plain) or _LABEL_CMD.match(plain) or _ECHO.match(plain)):
        return None
    m = _COMMAND_TEXT.search(plain)
    return re.split(r"\s(?:&&|\|\|?|;)\s?", m.group())[0].strip() if m else None


#: A command that shows a server's log (``docker logs -f ollama``, ``journalctl -u ollama``).
_LOG_COMMAND = re.compile(
    r"^\s*(?:\S*[$#%>❯➜]\s*)?(?:sudo\s+)?(?:docker|podman|journalctl|systemctl|kubectl)\b"
)


def is_command_line(line: str) -> bool:
    """Whether a line is a typed command: one of ``lms``/``ollama`` (:func:`command_of`) or
    one that shows a server's log (for ``ollama serve``, which reads logs line by line)."""
    return command_of(line) is not None or _LOG_COMMAND.match(line) is not None


def _is_command(plain: str, first: bool, echo: str | None) -> bool:
    if "lms" not in plain and "ollama" not in plain:
        return False  # every command form names the tool (the common, fast case)
    if _PROMPT_CMD.match(plain) or _LABEL_CMD.match(plain):
        return True
    if echo is not None and plain.strip() == echo:
        return True
    return first and bool(_ECHO.match(plain)) and not _OUTPUT_WORDS.search(plain)


def _other_command(plain: str) -> str | None:
    """The command of a prompt line that runs another program (``$ nvidia-smi`` →
    ``nvidia-smi``), or ``None``."""
    m = _OTHER_PROMPT.match(plain)
    return plain[m.end() - 1 :].strip() if m else None


def _is_skippable(plain: str) -> bool:
    """A line before the output that is neither a command nor output: blank, a fence."""
    return not plain.strip() or _FENCE.match(plain) is not None


def _is_wrapping(plain: str) -> bool:
    return not plain.strip() or bool(_BARE_PROMPT.match(plain) or _OUTPUT_LABEL.match(plain))


@dataclass
class _Run:
    command: str | None
    lines: list[int]  # 0-based indices into the input


def _runs(plain: Sequence[str]) -> list[_Run]:
    head = next((i for i, line in enumerate(plain) if not _is_skippable(line)), 0)
    echo = plain[head].strip() if plain and _is_command(plain[head], True, None) else None
    if echo is not None and (_PROMPT_CMD.match(plain[head]) or _LABEL_CMD.match(plain[head])):
        echo = None  # a prompt line: later runs have their own prompt
    runs = [_Run(None, [])]
    for i, line in enumerate(plain):
        if _is_command(line, i == head, echo):
            runs[-1].lines = _without_user_host(plain, runs[-1].lines)
            runs.append(_Run(command_of(line) or "", []))
        elif (other := _other_command(line)) is not None:
            runs[-1].lines = _without_user_host(plain, runs[-1].lines)
            runs.append(_Run(other, []))
        else:
            runs[-1].lines.append(i)
    return runs


def _without_user_host(plain: Sequence[str], lines: list[int]) -> list[int]:
    """A run without the first line of the next two-line prompt at its end."""
    while lines and not plain[lines[-1]].strip():
        lines = lines[:-1]
    if lines and _USER_HOST.match(plain[lines[-1]]):
        return lines[:-1]
    return lines


def read_paste(
    text: str,
    *,
    same: Callable[[str], str] = str,
    drop_server_log: bool = False,
    target: str | None = None,
) -> Paste:
    """The output of the first command in a capture, from its last run (see the module doc).

    ``same`` names a command's identity: runs whose commands it maps to the same name are
    runs of one command (``parse_transcript`` names them by parser, so ``ollama run x`` and
    ``ollama pull x`` are one command). With no command line in ``text``, the whole text
    (wrappers removed). ``target`` (a name ``same`` gives): when text without a command
    comes first (a sentence of the author's) and a run of ``target`` follows, that run.
    """
    if not text:
        return Paste(text, ())
    raw = unwrap_all(text.removeprefix("\ufeff").split("\n"))
    plain = [strip_ansi(line).replace("\r", "") for line in raw]
    runs = [r for r in _runs(plain) if any(plain[i].strip() for i in r.lines)]
    if not runs:  # nothing but prompts: leave it to the parser
        return Paste(text, tuple(range(1, len(raw) + 1)))
    first = _identity(same, runs[0].command)
    if (
        first is None
        and target is not None
        and any(_identity(same, r.command) == target for r in runs)
    ):
        first = target  # the text before the command is the author's, not its output
    *earlier, last = [r for r in runs if _identity(same, r.command) == first]
    attempts = tuple(_paste(raw, plain, r.lines, drop_server_log, True) for r in earlier)
    final = _paste(raw, plain, last.lines, drop_server_log, text.endswith("\n"))
    return Paste(final.text, final.origin, attempts)


def _identity(same: Callable[[str], str], command: str | None) -> str | None:
    if not command:
        return None
    try:
        return same(command)
    except ValueError:
        return command


def _paste(
    raw: Sequence[str], plain: Sequence[str], lines: Sequence[int], drop_log: bool, newline: bool
) -> Paste:
    kept: list[int] = []
    for i in lines:
        line = plain[i]
        if _is_dropped(line, drop_log):
            continue
        kept.append(i)
    start, end = 0, len(kept)
    while start < end and _is_wrapping(plain[kept[start]]):
        start += 1
    while end > start and _is_wrapping(plain[kept[end - 1]]):
        end -= 1
    kept = kept[start:end]
    out = [_NOTE.sub("", raw[i]) if _has_note_mark(raw[i]) else raw[i] for i in kept]
    body = "\n".join(out)
    if out and (newline or kept[-1] < len(raw) - 1):
        body += "\n"
    return Paste(body, tuple(i + 1 for i in kept))


def _has_note_mark(line: str) -> bool:
    return "<" in line or "←" in line or "⬅" in line or "#" in line


def _is_dropped(line: str, drop_log: bool) -> bool:
    """A line of step 4 or 5, or a fence or the log system's own line (cheap tests first)."""
    if any(w in line for w in _CUT_WORDS) and _CUT_MARK.match(line):
        return True
    if drop_log and _SERVER_LOG.match(line):
        return True
    if ("`" in line or "~" in line) and _FENCE.match(line):
        return True
    return ("Attaching" in line or "exited" in line or "-- " in line) and bool(
        _LOG_SYSTEM.match(line)
    )
