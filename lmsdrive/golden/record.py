"""Record a real runtime command as a new fixture (``lmsdrive record``).

A user with a real Ollama or LM Studio runs::

    lmsdrive record --name my-case -- ollama list

which runs the command (argv, never a shell), saves what it printed as
``<dir>/<tool>/<command>/<case>.txt`` and its provenance beside it as ``<case>.json``
in the fixture format of :mod:`lmsdrive.golden.tree`, so the recording becomes a
golden for the runtime's version.

What the ``.txt`` holds
-----------------------
* Commands whose parser reads a stream of progress (``ollama pull``/``run``, ``lms get``,
  ``lms load``) run on a pseudo-terminal (40x120, as the streaming runner runs them), as a
  person sees them: both streams merged in the order the terminal showed them, redraw
  escapes included. ``"stream": "terminal (pty 40x120, stdout and stderr merged)"``.
* Every other command runs with pipes, its streams captured apart, as the real-cli
  recordings are kept: the ``.txt`` is stdout and ``<case>.stderr`` beside it stderr (when
  the command wrote any). ``"stream": "stdout (stderr in the .stderr file beside it),
  captured apart"``.

The ``.json``: ``source`` ("recorded with lmsdrive record"), ``synthetic`` false,
``command``, ``parser`` (the registry's name for argv), ``argv`` (as given), ``exit_code``,
``http_status`` (null), ``stream``, ``version`` (the runtime's),
``os``, ``date`` (UTC, ISO 8601), ``duration`` (seconds), ``lmsdrive_version``, ``expected``
(null: ``lmsdrive fixtures accept`` writes it from what parses, or a user writes the facts a
correct parser must read) and ``parsed`` (what the parsers read from it when it was recorded,
or the parse error). A case recorded again (``overwrite``) keeps its baseline
(``expected``), so ``lmsdrive fixtures check`` shows what the new output reads differently.
"""

from __future__ import annotations

import json
import platform
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from ..errors import LmsdriveError, ParseError
from ..transcript import Transcript
from .tree import STDERR_SUFFIX

__all__ = ["RecordedFixture", "command_dir", "record_fixture", "runtime_version"]

Tool = Literal["ollama", "lms"]
#: What a re-recorded case keeps of its old ``.json``: the baseline ``fixtures check`` reads.
BASELINE_KEYS = ("expected", "expected_complete", "unreadable_expected")
_CASE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
TERMINAL = "terminal (pty 40x120, stdout and stderr merged)"
APART = "stdout (stderr in the .stderr file beside it), captured apart"


@dataclass(frozen=True)
class RecordedFixture:
    """What :func:`record_fixture` wrote, and what the parser read from it."""

    text_path: Path
    meta_path: Path
    meta: dict[str, Any]
    transcript: Transcript
    parse_error: ParseError | None = None


def runtime_version(tool: Tool, binary: str) -> str | None:
    """The version the runtime's CLI reports (one short process), or ``None``."""
    from ..runner import run

    try:
        if tool == "ollama":
            from ..parsers import ollama_version

            v = ollama_version.parse(run([binary, "--version"], timeout=10))
            return v.server_version or v.client_version
        from ..parsers import lms_version

        lv = lms_version.parse(run([binary, "version"], timeout=10))
        return lv.semver or lv.cli_commit
    except (LmsdriveError, OSError):
        return None


def command_dir(parser: str) -> str:
    """The fixture folder for a parser below its tool's: ``"lms server status"`` →
    ``server-status``, ``"ollama --version"`` → ``version`` (``ParserInfo.folder``'s rule)."""
    from ..parsers import resolve

    return resolve(parser).folder.split("/", 1)[1]


def _default_case(now: datetime) -> str:
    return "recorded-" + now.strftime("%Y%m%d-%H%M%S")


def record_fixture(
    argv: Sequence[str],
    dest: Path | str,
    *,
    name: str | None = None,
    timeout: float = 600.0,
    overwrite: bool = False,
) -> RecordedFixture:
    """Run ``argv`` (``ollama ...`` or ``lms ...``) and save it as a fixture under ``dest``.

    Raises ``ValueError`` for a command that is not a runtime command, an HTTP path, or a bad
    case name; ``FileExistsError`` when the fixture exists (unless ``overwrite``);
    :class:`~lmsdrive.errors.NotInstalledError` when the runtime is not found; and
    :class:`~lmsdrive.errors.CommandTimeoutError` after ``timeout`` seconds. Whatever the
    command's exit status, the fixture is written (failures are goldens too); a parser
    that cannot read the output is reported in ``parse_error`` (the fixture is kept).
    """
    from ..discovery import find_binary
    from ..parsers import get_module, resolve
    from ..runner import run, stream

    words = list(argv)
    info = resolve(words)  # ValueError for an unknown tool
    if len(words) > 1 and words[1].startswith(("/", "http://", "https://")):
        raise ValueError("record runs runtime commands; an HTTP body is not a command")
    now = datetime.now(timezone.utc)
    case = name or _default_case(now)
    if not _CASE_RE.match(case):
        raise ValueError(f"case name {case!r}: use letters, digits, '.', '_' and '-'")
    tool: Tool = "ollama" if info.tool == "ollama" else "lms"
    folder = Path(dest) / tool / command_dir(info.name)
    text_path = folder / f"{case}.txt"
    meta_path = text_path.with_suffix(".json")
    if not overwrite and (text_path.exists() or meta_path.exists()):
        raise FileExistsError(
            f"{text_path} already exists: choose another --name, or --force to record it "
            "again (its baseline is kept)"
        )
    binary = str(find_binary(tool))
    command = [binary, *words[1:]]
    if info.streaming:
        with stream(command, timeout=timeout, idle_timeout=None) as proc:
            for _ in proc:
                pass
        transcript = proc.transcript()
        kind = TERMINAL
    else:
        transcript = run(command, timeout=timeout)
        kind = APART
    transcript = Transcript(
        stdout=transcript.stdout,
        stderr=transcript.stderr,
        argv=tuple(words),
        exit_code=transcript.exit_code,
        meta=transcript.meta,
    )
    parse_error: ParseError | None = None
    parsed: Any
    try:
        parsed = get_module(info).parse(transcript).to_dict()
    except ParseError as exc:
        parse_error = exc
        parsed = {"parse_error": str(exc)}
    meta: dict[str, Any] = {
        "source": "recorded with lmsdrive record",
        "synthetic": False,
        "command": shlex.join(words),
        "parser": info.name,
        "argv": words,
        "exit_code": transcript.exit_code,
        "http_status": None,
        "stream": kind,
        "version": runtime_version(tool, binary),
        "os": platform.platform(),
        "date": now.isoformat(timespec="seconds"),
        "duration": transcript.meta.get("duration"),
        "lmsdrive_version": _lmsdrive_version(),
        "expected": None,
        "parsed": parsed,
    }
    if meta_path.exists():  # re-recorded (--force): its baseline stays, for `fixtures check`
        old = json.loads(meta_path.read_text(encoding="utf-8"))
        meta.update({k: old[k] for k in BASELINE_KEYS if k in old})
    folder.mkdir(parents=True, exist_ok=True)
    err_path = text_path.with_suffix(STDERR_SUFFIX)
    if kind == APART:
        text_path.write_bytes(transcript.stdout.encode("utf-8"))
        if transcript.stderr:
            err_path.write_bytes(transcript.stderr.encode("utf-8"))
        else:
            err_path.unlink(missing_ok=True)  # (an overwritten case's)
    else:
        text_path.write_bytes(transcript.text.encode("utf-8"))
        err_path.unlink(missing_ok=True)
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return RecordedFixture(text_path, meta_path, meta, transcript, parse_error)


def _lmsdrive_version() -> str:
    from .._version import __version__

    return __version__
