"""Parsers of what ``lms`` and ``ollama`` print, and of their HTTP bodies.

One module per command (jc style). Each module has:

* ``parse(transcript) -> Result``: the whole output into one typed result;
* for streaming outputs (``ollama pull``, ``lms get``, ``lms load``, ``/api/pull``,
  SSE chat streams) also ``stream(chunks) -> Iterator[event]``, which yields typed
  progress events as soon as each frame is complete and holds memory flat.

The module docstring carries the JSON schema of its result. :func:`resolve` maps the words
of a command line (``["ollama", "run", "llama3"]``, ``["lms", "ls", "--json"]``,
``["ollama", "/api/pull"]``) to the parser that reads its output.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Protocol, cast

from .._text import clean_lines
from ..errors import ParseError
from ..transcript import Transcript
from ._base import ERROR_KINDS, ErrorKind, Result
from ._policy import SkippedLine, reading

_log = logging.getLogger("lmsdrive")

__all__ = [
    "ERROR_KINDS",
    "PARSERS",
    "ErrorKind",
    "ParseError",
    "ParserInfo",
    "Result",
    "SkippedLine",
    "by_folder",
    "get_module",
    "log_skipped",
    "parse",
    "parse_transcript",
    "resolve",
]


class ParserModule(Protocol):
    def parse(self, transcript: Transcript) -> Result: ...


@dataclass(frozen=True)
class ParserInfo:
    """One registered parser: its command name, module and accepted spellings."""

    name: str
    module: str
    aliases: tuple[str, ...] = ()
    streaming: bool = False
    #: The parser reads the runtime's server log itself (``ollama serve``), so the pre-pass
    #: keeps Gin/slog/llama.cpp lines in its input.
    reads_server_log: bool = False

    @property
    def tool(self) -> str:
        return self.name.split()[0]

    @property
    def folder(self) -> str:
        """Its fixture folder below ``fixtures/``: ``<tool>/<command>``, the command being
        the module's name without the tool, ``_`` → ``-`` (``ollama_api_tags`` →
        ``ollama/api-tags``, ``lms_server_status`` → ``lms/server-status``, ``ollama_error``
        → ``ollama/error``). The one rule between fixture folders and parsers (as in
        ntc-templates, the folder is the key): :func:`by_folder` is its inverse."""
        return f"{self.tool}/{self.module.removeprefix(self.tool + '_').replace('_', '-')}"


PARSERS: tuple[ParserInfo, ...] = (
    # lms, text and --json
    ParserInfo("lms ls", "lms_ls"),
    ParserInfo("lms ps", "lms_ps"),
    ParserInfo("lms server status", "lms_server_status"),
    ParserInfo("lms server start", "lms_server_start"),
    ParserInfo("lms server stop", "lms_server_stop"),
    ParserInfo("lms daemon up", "lms_daemon_up"),
    ParserInfo("lms daemon status", "lms_daemon_status"),
    ParserInfo("lms daemon down", "lms_daemon_down"),
    ParserInfo("lms status", "lms_status"),
    ParserInfo("lms get", "lms_get", streaming=True),
    ParserInfo("lms load", "lms_load", streaming=True),
    ParserInfo("lms unload", "lms_unload"),
    ParserInfo("lms version", "lms_version", aliases=("lms -v", "lms --version", "lms")),
    ParserInfo("lms error", "lms_error"),
    # LM Studio HTTP bodies
    ParserInfo("lms /v1/models", "lms_api_models"),
    ParserInfo("lms /v1/chat/completions", "lms_api_chat", streaming=True),
    ParserInfo("lms /api/v0/models", "lms_api_v0_models"),
    ParserInfo("lms /error", "lms_api_error"),
    # ollama, text
    ParserInfo("ollama list", "ollama_list", aliases=("ollama ls",)),
    ParserInfo("ollama ps", "ollama_ps"),
    ParserInfo(
        "ollama pull", "ollama_pull", aliases=("ollama run", "ollama create"), streaming=True
    ),
    ParserInfo("ollama serve", "ollama_serve", streaming=True, reads_server_log=True),
    ParserInfo("ollama --version", "ollama_version", aliases=("ollama -v", "ollama version")),
    ParserInfo("ollama error", "ollama_error"),
    # Ollama HTTP bodies
    ParserInfo("ollama /api/tags", "ollama_api_tags"),
    ParserInfo("ollama /api/ps", "ollama_api_ps"),
    ParserInfo("ollama /api/pull", "ollama_api_pull", streaming=True),
    ParserInfo("ollama /api/generate", "ollama_api_generate", streaming=True),
    ParserInfo("ollama /api/version", "ollama_api_version"),
    ParserInfo("ollama /error", "ollama_api_error"),
)

_BY_NAME: dict[str, ParserInfo] = {}
for _info in PARSERS:
    for _n in (_info.name, *_info.aliases):
        _BY_NAME[_n] = _info

_TOOLS = {
    "lms": "lms",
    "lms.exe": "lms",
    "lmstudio": "lms",
    "ollama": "ollama",
    "ollama.exe": "ollama",
}


def resolve(words: Sequence[str] | str) -> ParserInfo:
    """The parser for a command line's output.

    ``ollama run`` and ``ollama create`` read as ``ollama pull``; flags and model names after
    the subcommand are ignored; an HTTP path (``/api/tags``, ``/v1/models``) names a body
    parser; anything else of a known tool falls back to that tool's error-report parser.

    >>> resolve("ollama run llama3.2").name
    'ollama pull'
    >>> resolve(["lms", "ls", "--json"]).name
    'lms ls'
    >>> resolve("lms server status --json --quiet").name
    'lms server status'
    >>> resolve("ollama /api/pull").name
    'ollama /api/pull'
    """
    if isinstance(words, str):
        words = words.split()
    if not words:
        raise ValueError("name a command, e.g. 'ollama list' or 'lms ls'")
    tool = _TOOLS.get(words[0].rsplit("/", 1)[-1].lower())
    if tool is None:
        known = ", ".join(sorted({i.tool for i in PARSERS}))
        raise ValueError(f"unknown tool {words[0]!r}; lmsdrive parses the output of: {known}")
    rest = list(words[1:])
    if rest and rest[0].startswith(("/", "http://", "https://")):
        path = rest[0]
        if "://" in path:
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        path = path.split("?", 1)[0].rstrip("/") or "/"
        info = _BY_NAME.get(f"{tool} {path}")
        if info is not None and info.module.startswith(f"{tool}_api"):
            return info
        return _BY_NAME[f"{tool} /error"]
    if tool == "ollama" and any(w in ("-v", "--version") for w in rest[:1]):
        return _BY_NAME["ollama --version"]
    if tool == "lms" and rest[:1] in (["-v"], ["--version"]):
        return _BY_NAME["lms version"]
    plain = [w for w in rest if not w.startswith("-")]
    for n in range(min(len(plain), 2), -1, -1):
        info = _BY_NAME.get(" ".join([tool, *plain[:n]]))
        if info is not None and (n > 0 or not rest):
            return info
    return _BY_NAME[f"{tool} error"]


def by_folder(folder: str) -> ParserInfo:
    """The parser whose fixtures live in ``folder`` (``"ollama/api-tags"``; the inverse of
    :attr:`ParserInfo.folder`)."""
    for info in PARSERS:
        if info.folder == folder:
            return info
    raise ValueError(f"no parser reads fixtures/{folder}/ (a folder names its parser module)")


def get_module(info: ParserInfo | str) -> ModuleType:
    """Import a parser's module (lazily: ``import lmsdrive`` stays cheap)."""
    if isinstance(info, str):
        info = resolve(info)
    return importlib.import_module(f"{__name__}.{info.module}")


def parse_transcript(info: ParserInfo, transcript: Transcript, *, strict: bool = False) -> Result:
    """Run ``info``'s parser on a capture, which may be a terminal paste or a container or
    service log: the pre-pass (``_session``) first reduces it to the command's own output.

    ``strict``: a line the parser does not understand raises :class:`ParseError` (the
    fixture tests). Lenient (the default): such lines are listed in the result's
    ``skipped`` with their line number in the input; a capture of which nothing at all is
    understood still raises. Earlier runs of the same command in a paste are parsed into
    ``attempts``.
    """
    from ._session import read_paste

    def same(command: str) -> str:
        return resolve(command).name

    drop_log = info.tool == "ollama" and "/" not in info.name and not info.reads_server_log
    out, err = (
        read_paste(text, same=same, drop_server_log=drop_log)
        for text in (transcript.stdout, transcript.stderr)
    )
    stdout_lines = len(transcript.stdout.split("\n")) if transcript.stdout else 0
    origin = out.origin + tuple(stdout_lines + n for n in err.origin)
    result = _read(info, replace(transcript, stdout=out.text, stderr=err.text), origin, strict)
    attempts = tuple(_read(info, Transcript.of(a.text), a.origin, strict) for a in out.attempts)
    return replace(result, attempts=attempts) if attempts else result


def _read(info: ParserInfo, transcript: Transcript, origin: Sequence[int], strict: bool) -> Result:
    """One parse in the given mode; skipped lines numbered as in the input (``origin``)."""
    module = cast(ParserModule, get_module(info))
    with reading(strict=strict) as state:
        result = module.parse(transcript)
    if not state.skipped:
        return result
    read = sum(1 for line in clean_lines(transcript.text) if line.strip())
    if state.whole_lines and state.whole_lines >= read:
        first = state.skipped[0]
        raise ParseError(info.name, "nothing in the output was understood", first.line, first.text)
    skipped = tuple(
        replace(s, line=origin[s.line - 1]) if 0 < s.line <= len(origin) else s
        for s in state.skipped
    )
    return replace(result, skipped=skipped)


def parse(
    command: Sequence[str] | str, output: str | Transcript, *, strict: bool = False
) -> Result:
    """Parse ``output`` as printed by ``command`` (a capture, a terminal paste, a log).

    Lenient by default (lines not understood are listed in ``skipped``); ``strict=True``
    raises :class:`ParseError` at the first such line.

    >>> text = "$ ollama list\\nNAME    ID    SIZE    MODIFIED \\n$ \\n"
    >>> parse("ollama list", text).to_dict()["models"]
    []
    """
    info = resolve(command)
    transcript = output if isinstance(output, Transcript) else Transcript.of(output)
    return parse_transcript(info, transcript, strict=strict)


def log_skipped(result: Result, command: Sequence[str] | str) -> None:
    """Log the lines a lenient parse of ``command``'s output skipped, one WARNING each on
    the ``lmsdrive`` logger (for the live driver: a new runtime version's new line shows
    in the log instead of failing the run)."""
    if not result.skipped:
        return
    shown = command if isinstance(command, str) else " ".join(command)
    for s in result.skipped:
        _log.warning("%s: line %d not understood, skipped: %r", shown, s.line, s.text)
