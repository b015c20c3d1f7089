"""The README: its parser schemas are what tools/gen_readme.py writes from the result types,
and every example in it runs as written."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import os
import re
import shlex
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmsdrive.golden import DEFAULT_ROOT
from lmsdrive.parsers import PARSERS
from lmsdrive.testing.runtime import FakeRuntime

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def test_readme_schemas_are_current() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_readme.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("info", PARSERS, ids=lambda i: i.name)
def test_every_parser_documents_every_field_of_its_result(info: typing.Any) -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("<!-- schemas:start -->", 1)[1].split("<!-- schemas:end -->", 1)[0]
    heading = re.search(rf"^#### `{re.escape(info.name)}`.*?```\n(.*?)```", section, re.M | re.S)
    assert heading is not None, f"no schema for {info.name} in the README"
    parse = importlib.import_module(f"lmsdrive.parsers.{info.module}").parse
    result = typing.get_type_hints(parse)["return"]
    fields = [f.name for f in dataclasses.fields(result) if f.name not in ("skipped", "attempts")]
    missing = [f for f in fields if f'"{f}":' not in heading.group(1)]
    assert missing == [], f"{info.name}: fields missing from the README: {missing}"


def test_readme_shows_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text


# -- every example runs as written ----------------------------------------------------------
#
# Each ```python block runs as a script, each shell example (a ```sh block, or an untagged
# block of `lmsdrive …` lines or of `$ command` + its output) runs line by line in bash, against
# the fakes of lmsdrive.testing (both servers up, the README's models loaded, BACKEND=ollama,
# MODEL_NAME=llama3.2:1b as a user would have set them), in a directory of its own holding the
# files the examples name as the user's (FILES). A shell line must exit 0, or the status its
# comment names (`# exit 1`); a `$ command` must print the lines shown under it. ```json blocks
# must parse. A block that cannot run here says so on the line before its fence:
#     <!-- example not run: REASON -->
# and a single line that cannot is in NOT_RUN_LINES with its reason: both are reported as skips.

NOT_RUN_MARK = re.compile(r"^<!-- example not run: (?P<reason>.+?) -->$")
#: Lines of a shell example that cannot run here, with why.
NOT_RUN_LINES = {
    'lmsdrive chat --system "Be brief."': "an interactive REPL: needs a terminal and a person",
    "lmsdrive keep llama3.2:1b": (
        "a service: it runs until SIGTERM; tests/test_keep.py runs it as a process"
    ),
    "curl -s localhost:11434/api/tags | lmsdrive parse ollama /api/tags": (
        "asks Ollama's default port; the fake server listens on a free one"
    ),
    "curl -s localhost:1234/v1/models | lmsdrive parse lms /v1/models": (
        "asks LM Studio's default port; the fake server listens on a free one"
    ),
}
#: The user's own files that examples name.
FILES = {
    "person.json": json.dumps(
        {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"]}
    ),
    "question.txt": "Ollama is 22. How old is Ollama? JSON please.\n",
    "saved-output.txt": (
        DEFAULT_ROOT / "lms" / "server-status" / "cjoakim-not-running.txt"
    ).read_text(encoding="utf-8"),
}
MODELS = {
    "ollama": ["llama3.2:1b", "llama3.2:3b", "qwen3:0.6b", "nomic-embed-text"],
    "lms": ["qwen/qwen3-8b", "text-embedding-nomic-embed-text-v1.5"],
}
_EXIT_RE = re.compile(r"#.*?\bexit (\d+)")
#: The programs a shell example may run here: lmsdrive, the fakes, and plain text tools.
#: Anything else (pip, make, docker, kubectl, systemctl, …) fails the test until its block
#: is marked or its line listed in NOT_RUN_LINES: it is never run by accident.
RUNNABLE = {"lmsdrive", "lmsdrive-mcp", "ollama", "lms", "echo", "printf", "cat", "head", "jq"}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def programs(command: str) -> list[str]:
    """The programs a shell line runs (first word of each part of a pipeline or list)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = list(lexer)
    out: list[str] = []
    expect = True
    for word in words:
        if word in ("|", "||", "&&", ";"):
            expect = True
        elif expect and not _ASSIGNMENT.match(word):
            out.append(word)
            expect = False
    return out


@dataclasses.dataclass(frozen=True)
class Block:
    """A fenced block of the README: its opening line (1-based), language and text."""

    line: int
    lang: str
    text: str
    not_run: str | None

    @property
    def kind(self) -> str | None:
        """``python``, ``shell``, ``json``, or ``None`` (a diagram, output, a schema)."""
        if self.lang == "python":
            return "python"
        if self.lang == "json":
            return "json"
        lines = [ln for ln in self.text.splitlines() if ln.strip()]
        if self.lang in ("sh", "bash", "console") or (
            self.lang == "" and lines and all(_is_shell(ln) for ln in lines[:1])
        ):
            return "shell"
        return None


def _is_shell(line: str) -> bool:
    return line.startswith(("lmsdrive ", "$ "))


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block outside the generated schema section."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    in_schemas = False
    while i < len(lines):
        line = lines[i]
        if "<!-- schemas:start -->" in line:
            in_schemas = True
        elif "<!-- schemas:end -->" in line:
            in_schemas = False
        if line.startswith("```"):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            mark = NOT_RUN_MARK.match(lines[i - 1]) if i else None
            if not in_schemas:
                body = "\n".join(lines[i + 1 : end]) + "\n"
                blocks.append(Block(i + 1, line[3:].strip(), body, mark and mark["reason"]))
            i = end
        i += 1
    return blocks


EXAMPLES = [b for b in readme_blocks(README.read_text(encoding="utf-8")) if b.kind]


def shell_steps(text: str) -> list[tuple[str, list[str] | None]]:
    """``(command, expected output or None)`` of a shell example, in order: each line that is
    not a comment (``\\``-continued lines joined), or each ``$ command`` and the lines below it."""
    steps: list[tuple[str, list[str] | None]] = []
    pending = ""
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps and steps[-1][1] is not None and not pending and line.strip():
            out = steps[-1][1]
            out.append(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            pending += line
            if pending.endswith("\\"):
                pending = pending[:-1]
                continue
            steps.append((pending, None))
            pending = ""
    return steps


@contextlib.contextmanager
def user_machine(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The fakes up with the README's models loaded; the environment a user would have."""
    with FakeRuntime(
        patch_environ=False, server_running=True, models_loaded=MODELS, pull_seconds=0.2
    ) as rt:
        env = dict(rt.env)
        bin_dir, _, rest = env["PATH"].partition(os.pathsep)
        env["PATH"] = os.pathsep.join([bin_dir, str(Path(sys.executable).parent), rest])
        env.update({"BACKEND": "ollama", "MODEL_NAME": "llama3.2:1b", "NO_COLOR": "1"})
        for name, content in FILES.items():
            (tmp_path / name).write_text(content, encoding="utf-8")
        yield env


@pytest.mark.parametrize("block", EXAMPLES, ids=lambda b: f"README.md:{b.line}-{b.kind}")
def test_readme_example_runs_as_written(block: Block, tmp_path: Path) -> None:
    if block.not_run:
        pytest.skip(f"README.md:{block.line} not run here: {block.not_run}")
    if block.kind == "json":
        json.loads(block.text)
        return
    with user_machine(tmp_path) as env:

        def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                argv,
                capture_output=True,
                text=True,
                cwd=tmp_path,
                env=env,
                timeout=180,
                stdin=subprocess.DEVNULL,
                check=False,
            )

        if block.kind == "python":
            script = tmp_path / "example.py"
            script.write_text(block.text, encoding="utf-8")
            p = run([sys.executable, str(script)])
            assert p.returncode == 0, f"README.md:{block.line}\n{block.text}\n{p.stderr}"
            return
        for command, shown in shell_steps(block.text):
            if command.split("#")[0].strip() in NOT_RUN_LINES:
                continue  # listed, with why, in NOT_RUN_LINES
            foreign = [w for w in programs(command) if w not in RUNNABLE]
            assert not foreign, (
                f"README.md:{block.line}: `{command}` runs {foreign}, which the fakes cannot "
                "stand in for: mark the block <!-- example not run: REASON --> or list the "
                "line in NOT_RUN_LINES"
            )
            p = run(["bash", "-c", command])
            want = _EXIT_RE.search(command)
            status = int(want.group(1)) if want else 0
            where = f"README.md:{block.line}: `{command}`"
            assert p.returncode == status, f"{where} exited {p.returncode}\n{p.stdout}{p.stderr}"
            if shown is not None:
                assert p.stdout.strip().splitlines() == shown, where


@pytest.mark.parametrize("line", sorted(NOT_RUN_LINES))
def test_readme_line_not_run_here(line: str) -> None:
    """Each line the examples skip is one the README still has, reported with its reason."""
    commands = {
        c.split("#")[0].strip()
        for b in EXAMPLES
        if b.kind == "shell"
        for c, _ in shell_steps(b.text)
    }
    assert line in commands, f"NOT_RUN_LINES names a line the README no longer has: {line}"
    pytest.skip(f"README line not run here: {line}: {NOT_RUN_LINES[line]}")
