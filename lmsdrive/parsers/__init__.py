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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Protocol, cast

from ..errors import ParseError
from ..transcript import Transcript
from ._base import ERROR_KINDS, Result

__all__ = [
    "ERROR_KINDS",
    "PARSERS",
    "ParseError",
    "ParserInfo",
    "Result",
    "get_module",
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
    #: The parser reads the commands of a pasted shell session itself (chained and following
    #: commands), so ``_session`` keeps the prompt lines that run them.
    reads_following: bool = False

    @property
    def tool(self) -> str:
        return self.name.split()[0]


PARSERS: tuple[ParserInfo, ...] = (
    # lms, text and --json
    ParserInfo("lms ls", "lms_ls"),
    ParserInfo("lms ps", "lms_ps"),
    ParserInfo("lms server status", "lms_server_status"),
    ParserInfo("lms server start", "lms_server_start", reads_following=True),
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
    ParserInfo("lms /v1/embeddings", "lms_api_embeddings", aliases=("lms /api/v0/embeddings",)),
    # ollama, text
    ParserInfo("ollama list", "ollama_list", aliases=("ollama ls",)),
    ParserInfo("ollama ps", "ollama_ps"),
    ParserInfo(
        "ollama pull", "ollama_pull", aliases=("ollama run", "ollama create"), streaming=True
    ),
    ParserInfo("ollama serve", "ollama_serve", streaming=True),
    ParserInfo("ollama --version", "ollama_version", aliases=("ollama -v", "ollama version")),
    ParserInfo("ollama error", "ollama_error"),
    # Ollama HTTP bodies
    ParserInfo("ollama /api/tags", "ollama_api_tags"),
    ParserInfo("ollama /api/ps", "ollama_api_ps"),
    ParserInfo("ollama /api/pull", "ollama_api_pull", streaming=True),
    ParserInfo("ollama /api/generate", "ollama_api_generate", streaming=True),
    ParserInfo("ollama /api/version", "ollama_api_version"),
    ParserInfo("ollama /error", "ollama_api_error"),
    ParserInfo("ollama /api/chat", "ollama_api_chat", streaming=True),
    ParserInfo("ollama /api/embed", "ollama_api_embed"),
    ParserInfo("ollama /api/show", "ollama_api_show"),
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


def get_module(info: ParserInfo | str) -> ModuleType:
    """Import a parser's module (lazily: ``import lmsdrive`` stays cheap)."""
    if isinstance(info, str):
        info = resolve(info)
    return importlib.import_module(f"{__name__}.{info.module}")


def parse_transcript(info: ParserInfo, transcript: Transcript) -> Result:
    """Run ``info``'s parser on a transcript that may be a terminal paste: the shell
    prompts and command echoes around the output are removed first (``_session``)."""
    from ._session import strip_shell_session

    module = cast(ParserModule, get_module(info))

    def clean(text: str) -> str:
        return strip_shell_session(text, keep_commands=info.reads_following) if text else text

    return module.parse(
        replace(transcript, stdout=clean(transcript.stdout), stderr=clean(transcript.stderr))
    )


def parse(command: Sequence[str] | str, output: str | Transcript) -> Result:
    """Parse ``output`` as printed by ``command`` (a capture, or a terminal paste).

    >>> text = "$ ollama list\\nNAME    ID    SIZE    MODIFIED \\n$ \\n"
    >>> parse("ollama list", text).to_dict()["models"]
    []
    """
    info = resolve(command)
    transcript = output if isinstance(output, Transcript) else Transcript.of(output)
    return parse_transcript(info, transcript)
