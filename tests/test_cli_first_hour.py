"""The command line as a new user meets it in the first hour (issue 20 items 7 and 8):
install and entry points, and the same rules on every subcommand. Against the fakes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from importlib.metadata import entry_points, metadata
from pathlib import Path

import pexpect
import pytest

from lmsdrive import __version__
from lmsdrive.cli import build_parser, main
from lmsdrive.demo import next_steps
from lmsdrive.testing.runtime import FakeRuntime

Factory = Callable[..., FakeRuntime]
REPO = Path(__file__).resolve().parent.parent
MODEL = "llama3.2:1b"


def help_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run ``argv``, expect exit 2 (argparse or the command), return stderr."""
    try:
        status = main(list(argv))
    except SystemExit as done:
        status = int(done.code or 0)
    assert status == 2
    return capsys.readouterr().err


# -- item 8: CLI consistency ---------------------------------------------------------------
def test_pull_load_unload_take_the_model_from_model_or_model_name(
    fake_runtime: Factory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = fake_runtime(server_running=True)
    assert main(["pull", "--model", MODEL]) == 0
    assert f"OK Downloaded {MODEL}" in capsys.readouterr().out
    monkeypatch.setenv("MODEL_NAME", MODEL)
    assert main(["load"]) == 0
    assert f"OK Loaded {MODEL}" in capsys.readouterr().out
    assert [m.name for m in rt.state().ollama.live_loaded()] == [MODEL]
    assert main(["unload"]) == 0
    assert f"OK Unloaded {MODEL}" in capsys.readouterr().out
    monkeypatch.delenv("MODEL_NAME")
    assert main(["load"]) == 2  # no model anywhere: the usage status, saying what to set
    assert "MODEL_NAME is not set" in capsys.readouterr().err


def test_only_the_top_level_help_has_the_exit_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert "130  interrupted" in help_of(capsys)
    commands = ["status", "init", "pull", "load", "unload", "daemon", "generate", "chat"]
    for command in [*commands, "embed", "record", "fixtures", "parse"]:
        shown = help_of(capsys, command)
        assert "130  interrupted" not in shown and "model not found" not in shown, command
    assert "exit statuses: see `lmsdrive --help`" in help_of(capsys, "generate")


def test_record_and_fixtures_list_no_server_flags(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("record", "fixtures"):
        shown = help_of(capsys, command)
        for flag in ("--backend", "--url", "--token-file", "--model"):
            assert flag not in shown, (command, flag)
    assert "--token-file" in help_of(capsys, "generate")


def test_sampling_flags_have_help_and_ranges(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("generate", "chat"):
        shown = help_of(capsys, command)
        assert "sampling temperature, >= 0" in shown and "after N tokens, >= 1" in shown
    for flag, value, why in (
        ("--temperature", "-1", "a number >= 0"),
        ("--temperature", "nan", "a number >= 0"),
        ("--max-tokens", "0", "a whole number >= 1"),
        ("--max-tokens", "-5", "a whole number >= 1"),
        ("--max-tokens", "1.5", "a whole number >= 1"),
    ):
        err = usage_error(capsys, "generate", "hi", flag, value)
        assert f"argument {flag}: {value}" in err and why in err
    args = build_parser().parse_args(["chat", "--temperature", "0", "--max-tokens", "1"])
    assert (args.temperature, args.max_tokens) == (0.0, 1)


def test_generate_of_an_empty_prompt_is_a_usage_error(
    fake_runtime: Factory, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = fake_runtime(server_running=True, models_loaded=[MODEL])
    for prompt in ("", "  \n"):
        err = usage_error(capsys, "generate", "--model", MODEL, prompt)
        assert "the prompt is empty" in err
    assert not [r for r in rt.requests() if r["path"] == "/api/generate"]


@pytest.mark.parametrize(
    ("words", "listed"),
    [(["ollama"], "ollama list, ollama ps"), (["lms", "frobnicate"], "lms ls, lms ps")],
)
def test_parse_of_an_unknown_command_lists_the_known_ones(
    capsys: pytest.CaptureFixture[str], words: list[str], listed: str
) -> None:
    err = usage_error(capsys, "parse", *words)
    assert f"unknown command {' '.join(words)!r}" in err and listed in err


def test_parse_on_a_terminal_says_paste_then_ctrl_d() -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "lmsdrive", "parse", "ollama", "list"],
        cwd=str(REPO),
        encoding="utf-8",
        timeout=20,
    )
    try:
        child.expect_exact("paste the output of `ollama list`, then Ctrl-D")
        child.send("NAME    ID    SIZE    MODIFIED\r")
        child.send("llama3.2:1b    baf6a787fdff    1.3 GB    2 days ago\r")
        child.sendeof()
        child.expect_exact('"name": "llama3.2:1b"')
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


# -- item 7: install and entry points ------------------------------------------------------
def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"lmsdrive {__version__}"


def test_lmsdrive_mcp_without_mcp_says_one_line() -> None:
    """The console script ``lmsdrive-mcp`` with the ``mcp`` package missing (an import hook
    makes every ``mcp`` import fail as an uninstalled package does)."""
    (script,) = entry_points(group="console_scripts", name="lmsdrive-mcp")
    module, _, function = script.value.partition(":")
    code = textwrap.dedent(
        f"""
        import importlib.abc, sys

        class NoMcp(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "mcp" or name.startswith("mcp."):
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name="mcp")
                return None

        sys.meta_path.insert(0, NoMcp())
        from {module} import {function}
        sys.exit({function}())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "pip install 'lmsdrive[mcp]'" in lines[0] and "Traceback" not in done.stderr


def test_readme_says_what_each_extra_adds() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    extras = [e for e in metadata("lmsdrive").get_all("Provides-Extra") or [] if e != "dev"]
    assert extras
    for extra in extras:
        assert f"pip install 'lmsdrive[{extra}]'" in readme, extra


def test_demo_closing_advice_works_as_printed(fake_runtime: Factory, tmp_path: Path) -> None:
    """The commands the demo ends with, pasted into a shell as printed, against the fakes."""
    fake_runtime()
    advice = next_steps()
    blocks = advice.split("or with LM Studio:")
    assert len(blocks) == 2
    bin_dir = str(Path(sys.executable).parent)  # where `lmsdrive` is installed
    env = {**os.environ, "PATH": os.environ["PATH"] + os.pathsep + bin_dir}
    for block in blocks:
        commands = [line.strip() for line in block.splitlines() if line.startswith("  ")]
        assert len(commands) == 2 and commands[0].startswith("export BACKEND="), block
        done = subprocess.run(
            ["sh", "-ec", "\n".join(commands)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "reply to: Hello" in done.stdout, done.stdout


def test_llama_server_build_says_how_long_up_front(tmp_path: Path) -> None:
    """The first `make demo` compiles llama-cpp-python: the script's first words say so (a
    build that fails at once stands in for the compile)."""
    done = subprocess.run(
        [str(REPO / "tools" / "llama-server.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LMSDRIVE_CACHE": str(tmp_path), "LMSDRIVE_BUILD_PYTHON": "false"},
    )
    assert done.returncode != 0
    first = done.stderr.splitlines()[0]
    assert "compiling llama-cpp-python" in first and "5 to 15 minutes" in first, first
    assert "cached" in first
