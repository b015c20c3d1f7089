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
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Protocol, TypeVar, cast

from .._text import clean_lines
from ..errors import ParseError
from ..transcript import Transcript
from ._base import ERROR_KINDS, ErrorKind, Result
from ._decor import Decoration
from ._policy import SkippedLine, reading

_log = logging.getLogger("lmsdrive")

__all__ = [
    "ERROR_KINDS",
    "PARSERS",
    "Decoration",
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
    "read",
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
    #: Facts that change with the moment of capture, not with the runtime (relative times
    #: such as ``"24 seconds ago"``), by path (``models[].modified``): ``lmsdrive fixtures
    #: check`` does not compare them, so re-recording the same state reads the same.
    volatile: tuple[str, ...] = ()

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
    ParserInfo("lms /api/v1/models", "lms_api_v1_models"),
    ParserInfo(
        "lms /api/v1/models/download",
        "lms_api_v1_download",
        aliases=("lms /api/v1/models/download/status",),
    ),
    ParserInfo(
        "lms /api/v1/models/load", "lms_api_v1_load", aliases=("lms /api/v1/models/unload",)
    ),
    ParserInfo("lms /error", "lms_api_error"),
    ParserInfo("lms /v1/embeddings", "lms_api_embeddings", aliases=("lms /api/v0/embeddings",)),
    # ollama, text
    ParserInfo(
        "ollama list", "ollama_list", aliases=("ollama ls",), volatile=("models[].modified",)
    ),
    ParserInfo("ollama ps", "ollama_ps", volatile=("models[].until",)),
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
    ParserInfo("ollama /api/chat", "ollama_api_chat", streaming=True),
    ParserInfo("ollama /api/embed", "ollama_api_embed"),
    ParserInfo("ollama /api/show", "ollama_api_show"),
    ParserInfo("ollama /v2/manifests", "ollama_api_manifest"),
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


#: Programs people put before the command (``sudo``, ``time``, ``env``) and those that run it
#: in a container (``docker exec -it ollama ollama list``).
_WRAPPERS = frozenset({"sudo", "time", "command", "exec", "nohup", "env", "doas"})
_CONTAINER_TOOLS = frozenset({"docker", "podman", "kubectl", "nerdctl"})
#: HTTP clients (and the ``GET``/``POST`` a paste may start with) whose URL names the parser.
_HTTP_CLIENTS = frozenset({"curl", "wget", "http", "https", "xh", "get", "post", "put", "delete"})
#: The runtimes' default ports: a URL on one of them names its runtime.
_PORTS = {11434: "ollama", 1234: "lms"}
_ASSIGNMENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_HOSTPORT_RE = re.compile(r"^[\w.\-\[\]:]+:(\d+)(?:/|$)")


def _tool_name(word: str) -> str:
    return word.rsplit("/", 1)[-1].lower()


def _unwrap(words: list[str]) -> list[str]:
    """The runtime command inside what a person typed: ``OLLAMA_HOST=… ollama serve``,
    ``sudo lms ls``, ``docker exec -it ollama ollama list``, ``curl -s localhost:11434/api/tags``
    (→ ``ollama /api/tags``)."""
    while words:
        first = _tool_name(words[0])
        if _ASSIGNMENT_RE.match(words[0]) or first in _WRAPPERS:
            words = words[1:]
            while words and words[0].startswith("-"):  # the wrapper's own flags (sudo -E)
                words = words[1:]
        elif first in _CONTAINER_TOOLS and len(words) > 1 and words[1] == "exec" and "--" in words:
            words = words[words.index("--") + 1 :]  # kubectl exec POD -- ollama ps
        elif first in _CONTAINER_TOOLS and len(words) > 1 and words[1] == "exec":
            inner = next((i for i, w in enumerate(words[2:], 2) if _tool_name(w) in _TOOLS), None)
            if inner is None:
                break
            while inner + 1 < len(words) and _tool_name(words[inner + 1]) in _TOOLS:
                inner += 1  # `docker exec ollama ollama list`: the container, then the tool
            words = words[inner:]
        else:
            break
    if words and _tool_name(words[0]) in _HTTP_CLIENTS:
        url = next((w for w in words[1:] if _looks_like_url(w)), None)
        if url is not None:
            return list(_tool_for_url(url))
    return words


def _looks_like_url(word: str) -> bool:
    return "://" in word or word.startswith("/") or _HOSTPORT_RE.match(word) is not None


def _tool_for_url(url: str) -> tuple[str, str]:
    """(runtime, path) of a URL: the runtime by its port when it is a runtime's default, else
    the one runtime with a body parser at that path."""
    rest = url.split("://", 1)[-1]
    hostport, _, path = rest.partition("/") if not rest.startswith("/") else ("", "", rest[1:])
    port = hostport.rsplit(":", 1)[-1] if ":" in hostport.strip("[]") or "]:" in hostport else ""
    clean = "/" + path.split("?", 1)[0].strip("/")
    if port.isdigit() and int(port) in _PORTS:
        return _PORTS[int(port)], clean
    for candidate in (clean, clean.rsplit("/", 1)[0]):  # (a job id as the last segment)
        owners = {n.split(" ", 1)[0] for n in _BY_NAME if n.split(" ", 1)[-1] == candidate}
        if len(owners) == 1:
            return owners.pop(), clean
    raise ValueError(
        f"cannot tell whether {url!r} is Ollama's or LM Studio's: name the tool, e.g. "
        "`lmsdrive parse ollama /api/tags` or `lmsdrive parse lms /v1/models`"
    )


def resolve(words: Sequence[str] | str, *, known_only: bool = False) -> ParserInfo:
    """The parser for a command line's output.

    ``ollama run`` and ``ollama create`` read as ``ollama pull``; flags and model names after
    the subcommand are ignored; an HTTP path (``/api/tags``, ``/v1/models``) names a body
    parser; anything else of a known tool falls back to that tool's error-report parser (with
    ``known_only``, a command without a parser is a ``ValueError`` listing the known ones).
    What people type around a command is understood too: environment assignments, ``sudo``,
    ``docker exec …``, and ``curl``/``wget``/``GET`` with the runtime's URL.

    >>> resolve("ollama run llama3.2").name
    'ollama pull'
    >>> resolve(["lms", "ls", "--json"]).name
    'lms ls'
    >>> resolve("lms server status --json --quiet").name
    'lms server status'
    >>> resolve("ollama /api/pull").name
    'ollama /api/pull'
    >>> resolve("OLLAMA_HOST=0.0.0.0 ollama serve").name
    'ollama serve'
    >>> resolve("docker exec -it ollama ollama list").name
    'ollama list'
    >>> resolve("curl -s localhost:11434/api/tags").name
    'ollama /api/tags'
    >>> resolve("curl http://localhost:1234/v1/models").name
    'lms /v1/models'
    >>> resolve("POST /api/pull").name
    'ollama /api/pull'
    """
    if isinstance(words, str):
        words = words.split()
    words = _unwrap(list(words))
    if not words:
        raise ValueError("name a command, e.g. 'ollama list' or 'lms ls'")
    tool = _TOOLS.get(_tool_name(words[0]))
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
        if info is None and "/status/" in path:  # a job id as the last segment
            info = _BY_NAME.get(f"{tool} {path.rsplit('/', 1)[0]}")
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
    if known_only:
        raise ValueError(f"unknown command {' '.join(words)!r}; {_known_commands(tool)}")
    return _BY_NAME[f"{tool} error"]


def _known_commands(tool: str) -> str:
    """``lmsdrive parses the output of these ollama commands: ollama list, …``."""
    names = [i.name for i in PARSERS if i.tool == tool]
    commands = [n for n in names if not n.split(" ", 1)[-1].startswith("/")]
    bodies = [n for n in names if n not in commands]
    return (
        f"lmsdrive parses the output of these {tool} commands: {', '.join(commands)}; "
        f"and these HTTP bodies: {', '.join(bodies)}"
    )


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

    Decorations nobody listed (a comment or quote marker, a log viewer's timestamp, a tag on
    every line, a flattened redraw, a client's log before an error report) are inferred
    (``_decor``): each way of removing one is read too, and the reading the parser
    understands best is kept -- fewest lines not understood, then most removed by
    decorations of a known shape, then most facts -- with what was removed in ``removed``.
    """
    from ._choose import parse_reading, undecorated

    return parse_reading(info, transcript, undecorated(info, transcript), strict)


def _read(info: ParserInfo, transcript: Transcript, origin: Sequence[int], strict: bool) -> Result:
    """One parse in the given mode; skipped lines numbered as in the input (``origin``)."""
    module = cast(ParserModule, get_module(info))
    return read(module.parse, transcript, command=info.name, strict=strict, origin=origin)


R = TypeVar("R", bound=Result)


def read(
    parse: Callable[[Transcript], R],
    transcript: Transcript,
    *,
    command: str,
    strict: bool = False,
    origin: Sequence[int] = (),
) -> R:
    """``parse(transcript)`` in the given mode, with the lines a lenient read did not
    understand in the result's ``skipped`` (numbered as in the input when ``origin`` maps
    them). A capture of which nothing at all is understood raises :class:`ParseError` in
    both modes. The live driver reads every command's output this way, then
    :func:`log_skipped`."""
    with reading(strict=strict) as state:
        result = parse(transcript)
    if not state.skipped:
        return result
    read_lines = sum(1 for line in clean_lines(transcript.text) if line.strip())
    if state.whole_lines and state.whole_lines >= read_lines:
        first = state.skipped[0]
        raise ParseError(command, "nothing in the output was understood", first.line, first.text)
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
