"""The ``lmsdrive`` command line. Thin: every decision lives in the library.

Exit statuses: 0 success; 1 a parse error or a failed operation; 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import ParseError


def _read_input(file: str | None) -> str:
    data = Path(file).read_bytes() if file and file != "-" else sys.stdin.buffer.read()
    return data.decode("utf-8", errors="replace")


def cmd_parse(args: argparse.Namespace) -> int:
    from .parsers import get_module, resolve
    from .transcript import Transcript

    words = list(args.command)
    if words and words[0] == "--":
        words = words[1:]
    try:
        info = resolve(words)
    except ValueError as exc:
        print(f"lmsdrive parse: {exc}", file=sys.stderr)
        return 2
    transcript = Transcript(
        stdout=_read_input(args.file),
        argv=tuple(words),
        exit_code=args.exit_code,
        http_status=args.status,
    )
    try:
        result = get_module(info).parse(transcript)
    except ParseError as exc:
        print(f"lmsdrive parse: {exc}", file=sys.stderr)
        return 1
    indent = 2 if args.pretty else None
    print(json.dumps(result.to_dict(), ensure_ascii=False, indent=indent))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lmsdrive",
        description="Get a local LLM ready on Ollama or LM Studio, and read what they print.",
    )
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
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
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="TOOL SUBCOMMAND...")
    p.set_defaults(func=cmd_parse)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.cmd == "parse" and not [w for w in args.command if w != "--"]:
        parser.error("parse: name the command whose output this is, e.g. `lmsdrive parse ollama list`")
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
