"""Build fixtures/ from a tree of real transcripts (NAME.txt + NAME.json).

Usage: python tools/import_transcripts.py SOURCE_DIR [DEST_DIR]

Each transcript becomes ``DEST/<backend>/<command>/<case>.txt`` with its shell-prompt lines
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
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


def main() -> None:
    src = Path(sys.argv[1])
    dest = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("fixtures")
    for meta_path in sorted(src.rglob("*.json")):
        txt_path = meta_path.with_suffix(".txt")
        if not txt_path.exists():
            continue
        rel_dir = meta_path.parent.relative_to(src).as_posix()
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
        out = dest / rel_dir / txt_path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(text.encode("utf-8"))
        out.with_suffix(".json").write_text(
            json.dumps(fixture, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        print(f"{rel_dir}/{txt_path.name}: {parser}")


if __name__ == "__main__":
    main()
