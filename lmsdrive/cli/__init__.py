"""The ``lmsdrive`` command line. Thin: every decision lives in the library.

Commands: ``status``, ``init [MODEL]``, ``check``, ``stop``, ``keep [MODEL...]``,
``pull [--update] [MODEL]``, ``load [MODEL]``, ``unload [MODEL]``, ``rm [MODEL]``,
``fit [MODEL]`` (MODEL defaults to ``--model`` / ``MODEL_NAME``),
``generate PROMPT``, ``chat``, ``embed TEXT...``,
``parse TOOL SUBCOMMAND...``, ``record -- COMMAND...``,
``fixtures check [DIR]``, ``fixtures accept [DIR] [--case NAME]``. Backend, model and
server URL come from the environment
(``BACKEND``, ``MODEL_NAME``, ``MODEL_SOURCE``, ``OLLAMA_HOST``, ``LMSTUDIO_URL``); the global
flags ``--backend``, ``--model`` and ``--url`` win over it (before or after the command).
The server's API token comes from ``LM_API_TOKEN``/``LMSTUDIO_API_TOKEN`` (LM Studio) or
``OLLAMA_API_KEY`` (Ollama), or from the file ``--token-file PATH`` names; it is never printed.
``init`` and ``load`` take ``--context-length N --gpu X --ttl S --identifier ID``.

Output: rich tables and live progress bars on a terminal; plain lines when stdout is not a
terminal (or rich is not installed); ``NO_COLOR`` honoured. ``--json`` on init, pull, load,
unload, rm, check, keep and status writes JSON lines (one event per line, ending with
``result``: :mod:`lmsdrive.cli._events`); on generate, fit, daemon and fixtures it prints one
JSON object (chat: one per answer). Nothing else goes to stdout then.
Errors go to stderr as the friendly per-backend message, without a traceback.

Exit statuses
-------------
===  ===========================================================================
0    success (``init``: the model is loaded and ready; ``status``: status shown, the server
     down included: ``check`` is the probe)
1    the operation failed (download, load, HTTP error, ...); ``fit``: the model does
     not fit (or it cannot be told); ``parse``: the output
     could not be parsed (kept from the first version); ``fixtures check``: some
     fixture now reads differently, or no longer parses
2    usage: bad arguments, bad configuration (``BACKEND``, URLs), invalid model name,
     no model named; ``parse``: its input was empty
3    the runtime is not installed (``ollama`` / ``lms`` not found)
4    the server is not running, or could not be started
5    the model was not found (locally or in the registry)
6    a runtime printed something lmsdrive cannot read (``record``: the fixture was
     saved, but its parser cannot read it)
7    a command or request timed out
8    the server refused the request for want of a valid API token (HTTP 401/403)
9    ``check``: the model is downloaded but not loaded
11   ``stop``: the running server was not started by lmsdrive; it is left running
130  interrupted (Ctrl-C); the runtime's child process was stopped
===  ===========================================================================
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import ParseError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_INSTALLED = 3
EXIT_NOT_RUNNING = 4
EXIT_MODEL_NOT_FOUND = 5
EXIT_PARSE_ERROR = 6
EXIT_TIMEOUT = 7
EXIT_AUTH = 8
EXIT_NOT_LOADED = 9
EXIT_NOT_STARTED_BY_LMSDRIVE = 11
EXIT_INTERRUPTED = 130

EPILOG = """\
exit statuses:
  0    success (init: the model is loaded and ready; status: shown, server down or not)
  1    the operation failed; fit: it does not fit; parse: unparsable output;
       fixtures check: a fixture differs
  2    usage or configuration error, invalid model name; parse: empty input
  3    the runtime is not installed
  4    the server is not running, or could not be started
  5    model not found
  6    a runtime printed something lmsdrive cannot read (record: saved anyway)
  7    timed out
  8    the server wants a valid API token (set it, or --token-file)
  9    check: the model is downloaded but not loaded
  11   stop: the server was not started by lmsdrive (left running)
  130  interrupted (Ctrl-C)
several models (init, check): the worst of theirs, in this order: 2 3 4 8 1 6 5 9 7

environment: BACKEND (ollama|lmstudio), MODEL_NAME, MODEL_SOURCE (ollama|huggingface),
OLLAMA_HOST, LMSTUDIO_URL, LM_API_TOKEN / LMSTUDIO_API_TOKEN, OLLAMA_API_KEY, NO_COLOR.
"""
SUB_EPILOG = "exit statuses: see `lmsdrive --help`"


def _read_input(file: str | None, command: Sequence[str]) -> str:
    if file and file != "-":
        return Path(file).read_bytes().decode("utf-8", errors="replace")
    if sys.stdin.isatty():  # a person at a terminal, not a pipe: say what to do
        end = "Ctrl-Z, Enter" if sys.platform == "win32" else "Ctrl-D"
        print(
            f"lmsdrive parse: paste the output of `{' '.join(command)}`, then {end}",
            file=sys.stderr,
            flush=True,
        )
    return sys.stdin.buffer.read().decode("utf-8", errors="replace")


def cmd_parse(args: argparse.Namespace) -> int:
    from ..parsers import parse_transcript, resolve
    from ..transcript import Transcript

    # `lmsdrive parse "ollama list"` (one quoted word) reads as `lmsdrive parse ollama list`
    words = [part for word in args.command for part in word.split()]
    if words and words[0] == "--":
        words = words[1:]
    try:
        info = resolve(words, known_only=True)
    except ValueError as exc:
        print(f"lmsdrive parse: {exc}", file=sys.stderr)
        return 2
    try:
        text = _read_input(args.file, words)
    except OSError as exc:
        print(f"lmsdrive parse: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if not text.strip():  # one rule for every parser: empty input is a usage error
        piped = not args.file or args.file == "-"
        print(
            f"lmsdrive parse: nothing to parse: {'stdin' if piped else args.file} was empty; "
            f"{'pipe' if piped else 'save'} the output of `{' '.join(words)}` into it "
            "(with `2>&1` to keep an error it prints)",
            file=sys.stderr,
        )
        return 2
    transcript = Transcript(
        stdout=text,
        argv=tuple(words),
        exit_code=args.exit_code,
        http_status=args.status,
    )
    try:
        result = parse_transcript(info, transcript, strict=args.strict)
    except ParseError as exc:
        print(f"lmsdrive parse: {exc}", file=sys.stderr)
        return 1
    indent = 2 if args.pretty else None
    print(json.dumps(result.to_dict(), ensure_ascii=False, indent=indent))
    return 0


_JSON_LINES = "write JSON lines (one event per line) instead of text"


def _global_flags(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    from ..runtimes import RUNTIMES

    parser.add_argument(
        "--backend", choices=tuple(RUNTIMES), default=default, help="overrides BACKEND"
    )
    parser.add_argument(
        "--model",
        action="append",
        default=default,
        help="overrides MODEL_NAME; repeat it for several models (init, check)",
    )
    parser.add_argument(
        "--url", default=default, help="the server URL (overrides OLLAMA_HOST / LMSTUDIO_URL)"
    )
    parser.add_argument(
        "--token-file",
        default=default,
        metavar="PATH",
        help="read the server's API token from this file (overrides LM_API_TOKEN / "
        "OLLAMA_API_KEY); never printed",
    )


def _at_least(
    kind: type[float] | type[int], low: float, what: str, *, strictly: bool = False
) -> Any:
    """An argparse ``type``: a number of ``kind`` that is ``>= low`` (``strictly``: ``> low``)."""

    def convert(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value < low or (strictly and value == low):
            raise argparse.ArgumentTypeError(f"{text}: it must be {what}")
        return value

    return convert


def _timeout_flag(parser: argparse.ArgumentParser, default: float, help: str) -> None:
    """``--timeout S``: seconds, > 0 (a bad one is a usage error, exit 2)."""
    parser.add_argument(
        "--timeout",
        type=_at_least(float, 0.0, "a number > 0", strictly=True),
        default=default,
        metavar="S",
        help=help,
    )


def _sampling_flags(parser: argparse.ArgumentParser) -> None:
    """``--temperature --max-tokens --keep-alive``, with help and their ranges checked;
    unset, nothing is sent: the model's own defaults."""
    parser.add_argument(
        "--temperature",
        type=_at_least(float, 0.0, "a number >= 0"),
        default=None,
        metavar="T",
        help="sampling temperature, >= 0 (0: the most likely tokens; default: the model's)",
    )
    parser.add_argument(
        "--max-tokens",
        type=_at_least(int, 1, "a whole number >= 1"),
        default=None,
        metavar="N",
        help="stop the answer after N tokens, >= 1 (default: the model's own limit); a cut "
        "answer is said on stderr",
    )
    parser.add_argument(
        "--keep-alive",
        metavar="D",
        help="keep the model loaded D after the answer: seconds or 10m, 1h; -1 for ever "
        "(Ollama keep_alive, LM Studio ttl)",
    )


def _load_flags(parser: argparse.ArgumentParser) -> None:
    """``--context-length --gpu --ttl --identifier`` (:class:`lmsdrive.LoadOptions`)."""
    parser.add_argument("--context-length", type=int, metavar="N", help="context length, tokens")
    parser.add_argument(
        "--gpu", metavar="X", help="GPU offload: a ratio 0-1, max or off (Ollama: max or off)"
    )
    parser.add_argument(
        "--ttl",
        type=int,
        metavar="S",
        help="unload after S seconds idle, -1 never (Ollama keep_alive)",
    )
    parser.add_argument(
        "--identifier", metavar="ID", help="the instance's API name (LM Studio only)"
    )


def build_parser() -> argparse.ArgumentParser:
    from . import _commands as c

    parser = argparse.ArgumentParser(
        prog="lmsdrive",
        description="Get a local LLM ready on Ollama or LM Studio, and read what they print.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _global_flags(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _global_flags(common, suppress=True)
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    def command(
        name: str, help: str, description: str | None = None, *, server: bool = True
    ) -> argparse.ArgumentParser:
        """A subcommand; ``server``: it talks to a runtime (``--backend --model --url
        --token-file``). The exit statuses are in ``lmsdrive --help`` only."""
        return sub.add_parser(
            name,
            help=help,
            description=description or help,
            parents=[common] if server else [],
            epilog=SUB_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    p = command("status", "show the backend: installed, server, models downloaded and loaded")
    p.add_argument("--json", action="store_true", help=_JSON_LINES)
    p.set_defaults(func=c.cmd_status)

    p = command(
        "init",
        "make the model ready: start the server, download and load the model",
        description="The init_llm flow: installed → server running (start it) → model "
        "downloaded (pull it, with progress) → loaded. Exit 0 only when ready.",
    )
    model_help = "the model (default: --model / MODEL_NAME)"
    p.add_argument("model_arg", nargs="?", metavar="MODEL", help=model_help)
    p.add_argument("--json", action="store_true", help=_JSON_LINES)
    _timeout_flag(p, 60.0, "server start timeout, seconds (default 60)")
    _load_flags(p)
    p.set_defaults(func=c.cmd_init)

    p.add_argument(
        "--check-fit",
        action="store_true",
        help="refuse (exit 1) a model that will not fit, before downloading it (see `fit`)",
    )
    p.add_argument(
        "--stop-after",
        action="store_true",
        help="stop the server init started once the model is ready (never one it found "
        "running): for a Dockerfile RUN step",
    )

    p = command(
        "stop",
        "stop the server lmsdrive started (never one it did not start)",
        description="Stop the local server that lmsdrive started (`init`, or any command "
        "that started it), as recorded in lmsdrive's state dir. A server lmsdrive did not "
        "start is left running: exit 11. Nothing running: exit 0.",
    )
    _timeout_flag(p, 30.0, "seconds before SIGKILL (default 30)")
    p.set_defaults(func=c.cmd_stop)

    p = command(
        "keep",
        "make the models ready, then hold them loaded (a service: systemd, a sidecar)",
        description="Make the models ready (download, load; never starts a server), then "
        "check every --interval seconds: reload a model that was unloaded, refresh one "
        "before the runtime's TTL unloads it. Logs each event; tells systemd READY=1 "
        "(NOTIFY_SOCKET) and pings its watchdog. SIGTERM: exit 0. After --max-failures "
        "failed checks in a row: exit with the last error's status.",
    )
    p.add_argument("models", nargs="*", metavar="MODEL", help="default: --model / MODEL_NAME")
    p.add_argument("--interval", type=float, default=30.0, help="seconds between checks")
    p.add_argument(
        "--max-failures",
        type=_at_least(int, 1, "a whole number >= 1"),
        default=5,
        metavar="N",
        help="give up after N failed checks in a row (default 5)",
    )
    p.add_argument(
        "--refresh-before",
        type=float,
        default=60.0,
        metavar="S",
        help="refresh a model S seconds before its runtime would unload it",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per event")
    _load_flags(p)
    p.set_defaults(func=c.cmd_keep)

    for name, help, func in (
        ("pull", "download a model (the server must be running on Ollama)", c.cmd_pull),
        ("load", "load a downloaded model into memory", c.cmd_load),
        ("unload", "unload a model from memory", c.cmd_unload),
        ("rm", "delete a downloaded model (Ollama; LM Studio has no delete)", c.cmd_rm),
    ):
        p = command(name, help)
        p.add_argument("model_arg", nargs="?", metavar="MODEL", help=model_help)
        if name == "load":
            _load_flags(p)
        if name == "pull":
            p.add_argument(
                "--update",
                action="store_true",
                help="pull again and say whether the model changed (digest before/after)",
            )
        p.add_argument("--json", action="store_true", help=_JSON_LINES)
        p.set_defaults(func=func)

    p = command(
        "check",
        "read-only health check: the server answers, the models are downloaded and loaded",
        description="Exit 0 only when the server answers and every model (--model, "
        "repeatable, or MODEL_NAME) is downloaded and loaded; with --answer, also when each "
        "answers a one-token generation within --timeout. Starts, downloads, loads and "
        "writes nothing: no process, at most two HTTP requests without --answer. For "
        "container health checks and Kubernetes probes.",
    )
    p.add_argument("--answer", action="store_true", help="also generate one token")
    _timeout_flag(p, 5.0, "seconds per request (default 5)")
    p.add_argument("--json", action="store_true", help=_JSON_LINES)
    p.set_defaults(func=c.cmd_check)

    p = command(
        "fit",
        "will the model fit? its memory against this machine's (or the server's)",
        description="The memory MODEL needs with --context-length and --gpu, against what "
        "the machine that loads it has free: Ollama from its size (before the download: the "
        "registry's manifest) and shape, with this machine's RAM/VRAM when the server runs "
        "here; LM Studio from `lms load --estimate-only` (before the download: the size in "
        "`lms get`'s plan, never confirmed). Exit 0: it fits (wholly or partly "
        "on the GPU); 1: it does not fit, or it cannot be told.",
    )
    p.add_argument("model_arg", nargs="?", metavar="MODEL", help=model_help)
    p.add_argument("--context-length", type=int, metavar="N", help="context length, tokens")
    p.add_argument(
        "--gpu", metavar="X", help="GPU offload: a ratio 0-1, max or off (Ollama: max or off)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=c.cmd_fit)

    p = command(
        "daemon",
        "LM Studio's headless daemon (llmster): up, down, status",
        description="Start, stop or look at LM Studio's headless daemon (llmster) with "
        "`lms daemon up|down|status`. Ollama has no daemon (its server is `ollama serve`).",
    )
    p.add_argument("action", choices=("up", "down", "status"))
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=c.cmd_daemon)

    p = command("generate", "generate an answer, streamed as it comes")
    p.add_argument("prompt", help="the text to answer (not empty)")
    _sampling_flags(p)
    p.add_argument("--json", action="store_true", help="wait for the whole answer; print JSON")
    p.set_defaults(func=c.cmd_generate)

    p = command("chat", "chat: a REPL on a terminal; the whole of stdin as one message if piped")
    p.add_argument("--system", help="the system prompt")
    p.add_argument("--json-schema", metavar="FILE", help="answer JSON that fits this schema")
    p.add_argument(
        "--image",
        action="append",
        metavar="PATH",
        help="send this image with the piped message (a vision model; repeatable)",
    )
    _sampling_flags(p)
    p.add_argument(
        "--think",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Ollama: turn the model's thinking on or off (default: the model's own)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print each whole answer as JSON (with --json-schema: parsed in its 'json')",
    )
    p.set_defaults(func=c.cmd_chat)

    p = command("embed", "print each TEXT's embedding as a JSON array, one line each")
    p.add_argument("texts", nargs="+", metavar="TEXT")
    p.set_defaults(func=c.cmd_embed)

    p = sub.add_parser(
        "parse",
        help="parse a runtime command's output (stdin) into JSON",
        description=(
            "Read the output of a runtime command on stdin and print one JSON object. "
            "Name the command after the options; put '--' before it when it holds flags: "
            "`ollama list | lmsdrive parse ollama list`, "
            "`lms ls --json | lmsdrive parse -- lms ls --json`, "
            "`curl -s localhost:11434/api/tags | lmsdrive parse ollama /api/tags`."
        ),
    )
    p.add_argument("--file", "-f", help="read this file instead of stdin")
    p.add_argument("--pretty", "-p", action="store_true", help="indent the JSON")
    p.add_argument("--exit-code", type=int, help="the command's exit status, if known")
    p.add_argument("--status", type=int, help="the HTTP status of a body, if known")
    p.add_argument(
        "--strict",
        action="store_true",
        help="fail on the first line not understood (default: list such lines in 'skipped')",
    )
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="TOOL SUBCOMMAND...")
    p.set_defaults(func=cmd_parse)

    p = command(
        "record",
        "run a runtime command and save its output as a new fixture",
        description="Run a real `ollama ...` or `lms ...` command (never through a shell) "
        "and save what it printed as DIR/<tool>/<command>/CASE.txt with its provenance in "
        "CASE.json. Progress commands (pull, get, load) run on a terminal and are saved as "
        "shown; others are saved with their streams apart (CASE.txt stdout, CASE.stderr). "
        "Example: lmsdrive record --name my-mac -- ollama list",
        server=False,
    )
    p.add_argument("--name", help="the case name (default: recorded-<date>-<time>)")
    p.add_argument("--dir", default="fixtures", help="the fixture tree (default: fixtures)")
    _timeout_flag(p, 600.0, "seconds (default 600)")
    p.add_argument("--force", action="store_true", help="overwrite an existing case")
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND...")
    p.set_defaults(func=c.cmd_record)

    p = command("fixtures", "work with a fixture tree", server=False)
    fx = p.add_subparsers(dest="fixtures_cmd", required=True, metavar="ACTION")
    check = fx.add_parser(
        "check",
        help="re-parse fixtures; report what reads differently from the snapshots",
        description="Re-parse every fixture under DIR and report, per fixture, what the "
        "parsers now read differently from its stored snapshot (tests/__snapshots__/"
        "test_fixtures/test_fixture[<id>].json), or from its expected facts when it has no "
        "snapshot. Exit 1 when anything differs or no longer parses.",
    )
    check.add_argument("dir", nargs="?", help="the fixture tree (default: ./fixtures)")
    check.add_argument("--snapshots", help="the snapshot directory (default: found beside DIR)")
    check.add_argument("--json", action="store_true", help="one JSON object")
    check.add_argument("--verbose", "-v", action="store_true", help="list unchanged ones too")
    check.set_defaults(func=c.cmd_fixtures_check)
    accept = fx.add_parser(
        "accept",
        help="write baselines from what parses now (cases without one, or --case NAME)",
        description="Write the baseline `fixtures check` compares with, from what the parsers "
        "read now: of every case under DIR that has none, or of the --case ones (replacing "
        "theirs, e.g. after a runtime upgrade whose new output is right). The baseline is the "
        "whole result, as `expected` in the case's .json (or its snapshot file, if it has one). "
        "Shows what it wrote. Exit 1 when a case no longer parses (it is not written).",
    )
    accept.add_argument("dir", nargs="?", help="the fixture tree (default: ./fixtures)")
    accept.add_argument(
        "--case",
        action="append",
        metavar="NAME",
        help="a case to (re-)baseline: its id, --name or path (repeatable)",
    )
    accept.add_argument("--snapshots", help="the snapshot directory (default: found beside DIR)")
    accept.add_argument("--show", type=int, default=12, help="facts shown per new baseline")
    accept.add_argument("--json", action="store_true", help="one JSON object")
    accept.set_defaults(func=c.cmd_fixtures_accept)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.cmd == "parse" and not [w for w in args.command if w != "--"]:
        parser.error(
            "parse: name the command whose output this is, e.g. `lmsdrive parse ollama list`"
        )
    if args.cmd == "record":
        words = list(args.argv)
        if words[:1] == ["--"]:
            words = words[1:]
        if not words:
            parser.error("record: name the command to run, e.g. `lmsdrive record -- ollama list`")
        args.argv = words
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("\nlmsdrive: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `lmsdrive status | head`
        return EXIT_FAILED


def mcp_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``lmsdrive-mcp``: the MCP server shim, or, when the ``mcp`` extra is not
    installed, one line saying how to install it (exit 2) instead of chained tracebacks."""
    try:
        from ..mcp_server import main as serve
    except ImportError as exc:
        if exc.name != "mcp":
            raise
        print(exc, file=sys.stderr, flush=True)
        return EXIT_USAGE
    return serve(argv)


if __name__ == "__main__":
    raise SystemExit(main())
