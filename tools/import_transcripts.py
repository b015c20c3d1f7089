"""Build fixtures/ from a tree of real transcripts (NAME.txt + NAME.json, or a recording:
NAME.stdout.txt + NAME.stderr.txt + NAME.pty.txt + NAME.json).

Usage: python tools/import_transcripts.py SOURCE_DIR [DEST_DIR]

A recording (its streams captured apart on pipes, and once more on a pseudo-terminal)
becomes two cases: ``<case>.txt`` (stdout) + ``<case>.stderr`` (stderr) with the pipe
run's facts (``expected_pipe`` when the recording has one), and ``<case>-pty.txt`` (what
the terminal showed, both streams merged) with ``expected``. The recording's provenance is
kept: ``source``, ``argv``, ``exit_code``, version, OS, its ``stream_notes`` as ``notes``, and
how it was made under ``recorded_with``. Facts a recording leaves unchecked (null facts of a
recording with a ``review`` note) and facts lmsdrive does not read (``RECORDING_UNREAD``)
go to ``unreadable_expected`` with the reason; facts lmsdrive reads in its own words (another
field, word or case, a rounding) to ``expected_read_as`` with how to compare them.

Each pasted transcript becomes ``DEST/<folder>/<case>.txt`` (``<folder>``: its parser's,
``ParserInfo.folder``: ``ollama/api-tags``, ``lms/server-status``) with its shell-prompt lines
(``non_output_lines``) removed, and a ``.json`` beside it that keeps the provenance
(``source``, version, OS, notes, ``expected``) and adds what a replay needs: the parser that
reads it, ``argv``, ``exit_code``, ``http_status`` and which stream the text came from.
Existing fixtures are overwritten; synthetic ones (not in SOURCE) are left alone.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lmsdrive.golden.tree import STDERR_SUFFIX
from lmsdrive.parsers import resolve

# Directories whose recorded command is not the runtime's own command line.
DIR_PARSER = {
    "lms/rest-api-v0-models": "lms /api/v0/models",
    "lms/rest-openai-chat-completions": "lms /v1/chat/completions",
    "lms/rest-openai-chat-stream": "lms /v1/chat/completions",
    "lms/rest-openai-error": "lms /error",
    "lms/rest-openai-v1-models": "lms /v1/models",
    "lms/server-status-json": "lms server status",
    "lms/version": "lms version",
    "ollama/serve": "ollama serve",
    "ollama/version": "ollama --version",
    "ollama/pull": "ollama pull",
    "ollama/list": "ollama list",
    "ollama/ps": "ollama ps",
}
# Expected facts that the fixture's text cannot show once the shell-prompt lines are
# removed (the fact lives in, or right after, a removed prompt line). The harness skips them
# and says why; the parsers do read them from the whole paste (see the synthetic
# "paste-with-second-command" fixture).
UNREADABLE = {
    "lms/server-start/docs-lmstudio-ai-server-status-page": {
        "second_command": "the second command's line is listed in non_output_lines, so the "
        "output of `lms server status` is not in the fixture"
    },
    "lms/server-start/lms-44-windows-0.2-launch-minimized": {
        "second_command": "the chained `lms load` exists only in the removed prompt line, and "
        "'hung' is the reporter's reading, not output"
    },
}
# Facts of the real-CLI recordings that lmsdrive does not read, by recording
# (directory/name) and fact: the gap. Only a fact's own field is dropped, never a record list.
_GET_PLAN = (
    "lmsdrive lists every plan node as printed: the root 'model <key>' too, and the file "
    "node with its [GGUF] format tag"
)
_GET_SUCCESS = {
    "new_models": "not in lms get's output (a following lms ls shows it)",
    "to_download": _GET_PLAN,
}
_LOAD = {
    "context_length": "comes from the command line (--context-length), lms load does not print it",
    "ttl_ms": "comes from the command line (--ttl), lms load does not print it",
    "last_percent": "lms load's result has no last_percent (its progress is streamed as events)",
}
RECORDING_UNREAD: dict[str, dict[str, str]] = {
    "lms/daemon-up/real-cli-already-running": {
        "already_running": "no such field: outcome 'already_running' says it",
        "daemon": "no such field: is_daemon true says llmster",
    },
    "lms/get/real-cli-already-downloaded": {
        "download_size_bytes": "nothing to download and no size printed: lmsdrive reads null"
    },
    "lms/get/real-cli-download-fails-half-way": {"to_download": _GET_PLAN},
    "lms/get/real-cli-no-yes-confirmation": _GET_SUCCESS,
    "lms/get/real-cli-quant-suffix": _GET_SUCCESS,
    "lms/get/real-cli-search-several-staff-picks": _GET_SUCCESS,
    "lms/load/real-cli-context-length-ttl": _LOAD,
    "lms/load/real-cli-fuzzy-key-no-yes": _LOAD,
    "lms/load/real-cli-key-yes-progress": _LOAD,
    "lms/load/real-cli-second-instance": _LOAD,
    "lms/server-start/real-cli-already-running": {
        "bind": "not printed by lms server start (the --bind default)"
    },
    "lms/server-start/real-cli-cors": {"bind": "not printed by lms server start"},
    "lms/server-start/real-cli-port": {"bind": "not printed by lms server start"},
}
# Facts of the real-CLI recordings that lmsdrive reads in its own words: how to compare
# each (lmsdrive.golden.expected_mismatches: field, words, casefold, within, contains).
_ROUNDED = {
    "within": 1,
    "why": "a 2-decimal GiB figure: lmsdrive rounds to the nearest byte, the facts floor",
}
_DOWNLOADED = {"words": {"success": "downloaded"}, "why": "lmsdrive's word is 'downloaded'"}
_LOAD_READ_AS = {"size_bytes": _ROUNDED}
RECORDING_READ_AS: dict[str, dict[str, dict[str, Any]]] = {
    "lms/daemon-down/real-cli-not-running": {
        "outcome": {
            "words": {"error": "not_running"},
            "why": "lmsdrive's outcome is 'not_running' (error and kind agree)",
        }
    },
    "lms/daemon-up/real-cli-json-already-running": {
        "outcome": {
            "words": {"running": "already_running"},
            "why": "lmsdrive's outcome is started|already_running: the JSON form reads as "
            "already_running when no wake-up notice precedes it",
        }
    },
    "lms/get/real-cli-no-yes-confirmation": {"outcome": _DOWNLOADED},
    "lms/get/real-cli-quant-suffix": {"outcome": _DOWNLOADED},
    "lms/get/real-cli-search-several-staff-picks": {"outcome": _DOWNLOADED},
    "lms/load/real-cli-context-length-ttl": _LOAD_READ_AS,
    "lms/load/real-cli-fuzzy-key-no-yes": _LOAD_READ_AS,
    "lms/load/real-cli-key-yes-progress": _LOAD_READ_AS,
    "lms/load/real-cli-second-instance": _LOAD_READ_AS,
    "lms/load/real-cli-estimate-only-context-gpu": {
        "gpu_memory_bytes": _ROUNDED,
        "total_memory_bytes": _ROUNDED,
    },
    "lms/ps/real-cli-json-one-loaded": {
        "models[].status": {
            "casefold": True,
            "why": "lmsdrive keeps the status as lms ps's table prints it ('IDLE')",
        }
    },
    "lms/server-stop/real-cli-not-running": {
        "running": {"field": "stopped", "why": "lms server stop's result says stopped: false"}
    },
    "lms/unload/real-cli-all-none-loaded": {
        "outcome": {
            "words": {"nothing_to_unload": "nothing_loaded"},
            "why": "lmsdrive's word is 'nothing_loaded'",
        }
    },
    "lms/unload/real-cli-missing": {
        "outcome": {
            "words": {"error": "not_found"},
            "why": "lmsdrive's outcome is 'not_found' (kind model_not_found agrees)",
        },
        "error": {
            "contains": True,
            "why": "lmsdrive's message keeps the titled error whole: 'Model Not Found: Cannot "
            "find a model … To see a list of loaded models, run: lms ps'",
        },
    },
    "lms/version/real-cli-json": {
        "version": {"field": "cli_commit", "why": "lmsdrive reads the commit as cli_commit"}
    },
}
API_BY_WORD = {
    "/api/generate": "ollama /api/generate",
    "/api/ps": "ollama /api/ps",
    "/api/pull": "ollama /api/pull",
    "/api/tags": "ollama /api/tags",
}


def parser_for(rel_dir: str, command: str | None) -> str:
    if rel_dir in DIR_PARSER:
        return DIR_PARSER[rel_dir]
    if rel_dir == "ollama/api":
        for word, name in API_BY_WORD.items():
            if command and word in command:
                return name
        raise SystemExit(f"no HTTP parser for {command!r}")
    if not command:
        return "ollama error" if rel_dir.startswith("ollama") else "lms error"
    return resolve(command).name


def argv_of(command: str | None) -> list[str] | None:
    if not command or command.split()[0] not in ("lms", "ollama", "ollama.exe"):
        return None
    try:
        return shlex.split(command.split("|")[0])
    except ValueError:
        return None


def write_case(out: Path, stdout: bytes, stderr: bytes | None, fixture: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(stdout)
    err_path = out.with_suffix(STDERR_SUFFIX)
    if stderr:
        err_path.write_bytes(stderr)
    elif err_path.exists():
        err_path.unlink()
    out.with_suffix(".json").write_text(
        json.dumps(fixture, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def unread_facts(case: str, meta: dict[str, Any], expected: object) -> dict[str, str]:
    """The recording's facts the fixture test skips, each with the reason."""
    if not isinstance(expected, dict):
        return {}
    skip = {k: str(meta["review"]) for k, v in expected.items() if v is None and meta.get("review")}
    for key, why in RECORDING_UNREAD.get(case, {}).items():
        if key in expected:
            skip[key] = why
    return skip


def import_recording(meta_path: Path, rel_dir: str, dest: Path) -> None:
    """One real-CLI recording as two fixture cases: its pipe run and its terminal run."""
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    base = meta_path.with_suffix("")
    command = meta.get("command")
    parser = parser_for(rel_dir, command)
    recorded_with = {
        k: meta[k]
        for k in ("daemon", "setup", "terminal", "env", "recorded_at", "verified", "review")
        if k in meta
    }
    runs = (
        ("pipes", f"{base.name}.txt", meta.get("expected_pipe", meta.get("expected"))),
        ("pty", f"{base.name}-pty.txt", meta.get("expected")),
    )
    for run, name, expected in runs:
        pipes = run == "pipes"
        fixture = {
            "source": meta["source"],
            "synthetic": False,
            "command": command,
            "parser": parser,
            "argv": meta.get("argv") or argv_of(command),
            "exit_code": meta.get(f"exit_code_{'pipe' if pipes else 'pty'}"),
            "http_status": None,
            "stream": (
                "stdout (stderr in the .stderr file beside it), captured apart on pipes"
                if pipes
                else f"terminal (pty {meta.get('terminal', {}).get('pty', '?')}, "
                "stdout and stderr merged)"
            ),
            "version": meta.get("lms_version") or meta.get("ollama_version"),
            "os": meta.get("os"),
            "notes": meta.get("stream_notes"),
            "recorded_with": {"run": run, **recorded_with},
            "expected": expected,
        }
        if skip := unread_facts(f"{rel_dir}/{base.name}", meta, expected):
            fixture["unreadable_expected"] = skip
        if read_as := RECORDING_READ_AS.get(f"{rel_dir}/{base.name}"):
            fixture["expected_read_as"] = read_as
        if pipes:
            stdout = base.with_suffix(".stdout.txt").read_bytes()
            stderr = base.with_suffix(".stderr.txt").read_bytes()
        else:
            stdout, stderr = base.with_suffix(".pty.txt").read_bytes(), None
        write_case(dest / resolve(parser).folder / name, stdout, stderr, fixture)
        print(f"{rel_dir}/{name}: {parser} ({run})")


def main() -> None:
    src = Path(sys.argv[1])
    dest = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("fixtures")
    for meta_path in sorted(src.rglob("*.json")):
        rel_dir = meta_path.parent.relative_to(src).as_posix()
        if meta_path.with_suffix(".stdout.txt").exists():
            import_recording(meta_path, rel_dir, dest)
            continue
        txt_path = meta_path.with_suffix(".txt")
        if not txt_path.exists():
            continue
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        drop = set(meta.get("non_output_lines") or [])
        lines = txt_path.read_bytes().decode("utf-8").splitlines(keepends=True)
        text = "".join(line for i, line in enumerate(lines, 1) if i not in drop)
        command = meta.get("command")
        parser = parser_for(rel_dir, command)
        expected = meta.get("expected")
        http = "/" in parser
        fixture = {
            "source": meta["source"],
            "synthetic": False,
            "command": command,
            "parser": parser,
            "argv": argv_of(command),
            "exit_code": expected.get("exit_code") if isinstance(expected, dict) else None,
            "http_status": expected.get("http_status")
            if http and isinstance(expected, dict)
            else None,
            "stream": "http body" if http else "terminal (stdout and stderr as displayed)",
            "version": meta.get("lms_version") or meta.get("ollama_version"),
            "os": meta.get("os"),
            "notes": meta.get("notes"),
            "removed_prompt_lines": sorted(drop),
            "expected": expected,
        }
        case = f"{rel_dir}/{txt_path.stem}"
        if case in UNREADABLE:
            fixture["unreadable_expected"] = UNREADABLE[case]
        write_case(
            dest / resolve(parser).folder / txt_path.name, text.encode("utf-8"), None, fixture
        )
        print(f"{rel_dir}/{txt_path.name}: {parser}")


if __name__ == "__main__":
    main()
