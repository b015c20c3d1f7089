"""The ``lmsdrive`` command line against the fake runtimes: in-process (``main([...])``) and
as a real ``python -m lmsdrive`` subprocess."""

from __future__ import annotations

import io
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lmsdrive._types import Progress
from lmsdrive.cli import EPILOG, main
from lmsdrive.cli._commands import exit_status
from lmsdrive.cli._ui import ProgressView, Ui, human_bytes
from lmsdrive.errors import (
    CommandError,
    CommandTimeoutError,
    ConfigError,
    ModelNotFoundError,
    NotInstalledError,
    ParseError,
    ServerNotRunningError,
    ServerStartError,
)
from lmsdrive.golden import DEFAULT_ROOT, iter_fixtures
from lmsdrive.golden.check import diff_values
from lmsdrive.parsers import PARSERS, ParserInfo, get_module, resolve
from lmsdrive.runtimes import RUNTIMES
from lmsdrive.testing.fake_cli import pid_alive
from lmsdrive.testing.runtime import FakeRuntime

MakeRuntime = Callable[..., FakeRuntime]
REPO = Path(__file__).resolve().parent.parent
SNAPSHOTS = REPO / "tests" / "__snapshots__" / "test_fixtures"
OLLAMA_MODEL = "llama3.2:1b"
LMS_MODEL = "qwen/qwen3-8b"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("BACKEND", "MODEL_NAME", "MODEL_SOURCE", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "lmsdrive", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        cwd=REPO,
    )


def result_event(out: str) -> dict[str, Any]:
    """The last JSON line of a ``--json`` run: its ``result`` event."""
    event: dict[str, Any] = json.loads(out.splitlines()[-1])
    assert event["event"] == "result", event
    return event


# -- status ------------------------------------------------------------------------------
def test_status_table_plain(fake_runtime: MakeRuntime, capsys: pytest.CaptureFixture[str]) -> None:
    fake_runtime(models_loaded=[OLLAMA_MODEL], server_running=True)
    assert main(["status", "--model", OLLAMA_MODEL]) == 0
    out = capsys.readouterr().out
    assert "Ollama" in out and "(running)" in out and "0.12.3" in out
    assert f"{OLLAMA_MODEL}: downloaded yes, loaded yes (ready)" in out
    rows = [line.split() for line in out.splitlines()]
    assert ["NAME", "SIZE", "LOADED"] in rows
    assert any(r[:1] == [OLLAMA_MODEL] and r[-1] == "yes" for r in rows)
    assert "\x1b[" not in out  # not a terminal: plain lines


def test_status_json_lmstudio_not_running(
    fake_runtime: MakeRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = fake_runtime(models_downloaded={"lms": [LMS_MODEL]})
    assert main(["--backend", "lmstudio", "status", "--json", "--model", LMS_MODEL]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["backend"] == "lmstudio" and data["installed"] is True
    assert data["binary"] == str(rt.bin_dir / "lms")
    assert data["running"] is False and data["url"] == rt.lms_url
    assert data["model"] == LMS_MODEL and data["model_downloaded"] is True
    assert data["ready"] is False
    assert [m["name"] for m in data["downloaded"]] == [LMS_MODEL]


def test_status_not_installed(
    fake_runtime: MakeRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_runtime(backends=["lms"])
    assert main(["status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["installed"], data["binary"], data["running"]) == (False, None, False)
    assert data["downloaded"] is None


# -- init --------------------------------------------------------------------------------
def test_init_shows_steps_and_progress_lines(
    fake_runtime: MakeRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_runtime()
    assert main(["init", OLLAMA_MODEL]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    steps = [line for line in lines if line.startswith("-> ")]
    assert any("Starting the Ollama server" in s for s in steps)
    assert any(f"Downloading model {OLLAMA_MODEL}" in s for s in steps)
    assert any(f"Loading model {OLLAMA_MODEL}" in s for s in steps)
    bars = [line for line in lines if line.startswith("   ") and "%" in line and " / " in line]
    assert len(bars) >= 3, out
    percents = [float(b.split("%")[0].split()[-1]) for b in bars]
    assert percents[-1] == 100.0
    assert any("GB" in b for b in bars)
    assert lines[-1] == f"OK Ollama is ready: model {OLLAMA_MODEL} is loaded."
    # Idempotent: a second run is already ready, no download.
    assert main(["init", OLLAMA_MODEL]) == 0
    again = capsys.readouterr().out
    assert "Downloading" not in again and "already ready" in again


def test_init_json_lmstudio(fake_runtime: MakeRuntime, capsys: pytest.CaptureFixture[str]) -> None:
    fake_runtime(backends=["lms"])
    assert main(["init", "--json", "--backend", "lmstudio", LMS_MODEL]) == 0
    out = capsys.readouterr().out
    assert all(json.loads(line) for line in out.splitlines())  # nothing but JSON lines
    report = result_event(out)
    assert report["ok"] is True and report["exit_status"] == 0
    assert report["steps_performed"][-2:] == [
        f"Downloaded model {LMS_MODEL}",
        f"Loaded model {LMS_MODEL}",
    ]


def test_global_model_flag_reaches_init(
    fake_runtime: MakeRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    """`lmsdrive --model M init` (issue 9: init's optional MODEL overwrote the global flag
    with nothing, and the answer was "MODEL_NAME is not set")."""
    fake_runtime()
    assert main(["--model", OLLAMA_MODEL, "init", "--json"]) == 0
    report = result_event(capsys.readouterr().out)
    assert report["ok"] is True and OLLAMA_MODEL in report["message"]
    assert main(["init", "--json", "--model", OLLAMA_MODEL]) == 0  # after the command too
    assert result_event(capsys.readouterr().out)["ok"] is True


def test_init_without_a_model_is_a_usage_error(
    fake_runtime: MakeRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_runtime()
    assert main(["init"]) == 2
    captured = capsys.readouterr()
    assert "MODEL_NAME is not set" in captured.err and captured.out == ""
    assert main(["init", "--json"]) == 2
    report = result_event(capsys.readouterr().out)
    assert report["ok"] is False and "MODEL_NAME is not set" in report["message"]
    assert report["exit_status"] == 2


def test_init_not_installed_subprocess(fake_runtime: MakeRuntime) -> None:
    fake_runtime(backends=["lms"])
    p = run_cli("init", OLLAMA_MODEL)
    assert p.returncode == 3
    assert RUNTIMES["ollama"].install_hint in p.stderr
    assert "Traceback" not in p.stderr + p.stdout
    p = run_cli("init", OLLAMA_MODEL, "--json")
    assert p.returncode == 3
    report = result_event(p.stdout)
    assert (report["ok"], report["exit_status"]) == (False, 3)
    assert report["message"] == RUNTIMES["ollama"].install_hint
    assert report["steps_performed"] == []


def test_init_start_failure_is_exit_4(fake_runtime: MakeRuntime) -> None:
    # (Ollama's hanging `serve` is not used here: the driver's readiness probe then waits
    # for the HTTP read timeout, see the report.)
    fake_runtime(backends=["lms"], serve_hangs=True)
    p = run_cli("--backend", "lmstudio", "init", LMS_MODEL, "--timeout", "1")
    assert p.returncode == 4, p.stderr
    assert "`lms server start` did not finish within 1s" in p.stderr
    assert "Waking up LM Studio service" in p.stderr  # the server's last output
    assert "Traceback" not in p.stderr


# -- pull / load / unload / generate -----------------------------------------------------
def test_pull_load_unload(fake_runtime: MakeRuntime, capsys: pytest.CaptureFixture[str]) -> None:
    fake_runtime(server_running=True)
    assert main(["pull", OLLAMA_MODEL]) == 0
    assert main(["load", OLLAMA_MODEL]) == 0
    out = capsys.readouterr().out
    assert f"OK Downloaded {OLLAMA_MODEL}" in out and f"OK Loaded {OLLAMA_MODEL}" in out
    assert main(["status", "--json", "--model", OLLAMA_MODEL]) == 0
    assert json.loads(capsys.readouterr().out)["ready"] is True
    assert main(["unload", OLLAMA_MODEL]) == 0
    capsys.readouterr()
    assert main(["status", "--json", "--model", OLLAMA_MODEL]) == 0
    assert json.loads(capsys.readouterr().out)["model_loaded"] is False


def test_pull_unknown_model_is_exit_5(
    fake_runtime: MakeRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_runtime(server_running=True)
    assert main(["pull", "nosuch:model"]) == 5
    err = capsys.readouterr().err
    assert "Model 'nosuch:model' was not found in the Ollama library" in err


def test_bad_model_name_never_reaches_a_command(
    fake_runtime: MakeRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = fake_runtime(server_running=True)
    assert main(["pull", "bad name"]) == 2
    assert "invalid model name" in capsys.readouterr().err
    assert not any(s["argv"][1:2] == ["pull"] for s in rt.spawns())


def test_generate_in_process(fake_runtime: MakeRuntime, capsys: pytest.CaptureFixture[str]) -> None:
    fake_runtime(models_loaded=[OLLAMA_MODEL], server_running=True, generate_text="Blue sky.")
    assert main(["generate", "--model", OLLAMA_MODEL, "--max-tokens", "20", "Why?"]) == 0
    assert capsys.readouterr().out == "Blue sky.\n"
    assert main(["generate", "--json", "--model", OLLAMA_MODEL, "Why?"]) == 0
    gen = json.loads(capsys.readouterr().out)
    assert gen["text"] == "Blue sky." and gen["model"] == OLLAMA_MODEL


def test_generate_streams_tokens_as_they_come(fake_runtime: MakeRuntime) -> None:
    fake_runtime(
        backends=["lms"],
        models_loaded=[LMS_MODEL],
        server_running=True,
        generate_text="one two three four five six seven eight",
        token_seconds=0.15,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmsdrive", "--backend", "lmstudio", "generate", "Count"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "MODEL_NAME": LMS_MODEL},
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready
        first = os.read(proc.stdout.fileno(), 1024)
        assert first and proc.poll() is None  # a piece arrived while the answer goes on
        rest = proc.stdout.read()
    finally:
        proc.wait(20)
    assert proc.returncode == 0
    assert (first + rest).decode() == "one two three four five six seven eight\n"


def test_generate_server_down_is_exit_4(fake_runtime: MakeRuntime) -> None:
    fake_runtime()
    p = run_cli("generate", "--model", OLLAMA_MODEL, "hi")
    assert p.returncode == 4
    assert "Ollama server at http://127.0.0.1:" in p.stderr and "does not answer" in p.stderr
    assert "lmsdrive init" in p.stderr  # the fake ollama is installed: init can start it
    assert p.stdout == "" and "Traceback" not in p.stderr


def interrupt_pull(*flags: str, under_way: Callable[[str], bool]) -> tuple[int, str, str]:
    """Run ``lmsdrive pull MODEL FLAGS``, Ctrl-C it once a stdout line is ``under_way``:
    its exit status, and the rest of its stdout and its stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmsdrive", "pull", OLLAMA_MODEL, *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # wait for the download to be under way
            if under_way(proc.stdout.readline()):
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


def test_ctrl_c_during_pull_stops_the_child(fake_runtime: MakeRuntime) -> None:
    rt = fake_runtime(server_running=True, pull_seconds=30, pull_frames=300)
    pulls: list[dict[str, Any]] = []

    def under_way(line: str) -> bool:
        pulls[:] = [s for s in rt.spawns() if s["argv"][1:2] == ["pull"]]
        return "%" in line and bool(pulls) and pid_alive(pulls[0]["pid"])

    status, _, err = interrupt_pull(under_way=under_way)
    assert pulls, "the pull never got under way"
    assert status == 130
    assert "interrupted" in err and "Traceback" not in err
    deadline = time.monotonic() + 5
    while pid_alive(pulls[0]["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(pulls[0]["pid"])


def test_ctrl_c_during_pull_json_ends_with_the_model_and_result_events(
    fake_runtime: MakeRuntime,
) -> None:
    fake_runtime(server_running=True, pull_seconds=30, pull_frames=300)
    status, out, err = interrupt_pull(
        "--json", under_way=lambda line: '"event": "progress"' in line
    )
    assert status == 130 and "Traceback" not in err
    model = json.loads(out.splitlines()[-2])
    result = result_event(out)
    assert (model["event"], model["model"], model["ok"]) == ("model", OLLAMA_MODEL, False)
    assert model["exit_status"] == result["exit_status"] == 130
    assert result["command"] == "pull" and result["ok"] is False


@pytest.mark.parametrize("sent", [None, "sk-wrong-0123456789"], ids=["none", "wrong"])
def test_a_refused_token_names_the_variable_and_token_file(
    fake_runtime: MakeRuntime,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    sent: str | None,
) -> None:
    fake_runtime(server_running=True, api_token="sk-right-9876543210")
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    if sent is not None:
        monkeypatch.setenv("OLLAMA_API_KEY", sent)
    for command in (["generate", "hi"], ["check"]):
        assert main([*command, "--model", OLLAMA_MODEL]) == 8
        err = capsys.readouterr().err
        assert "OLLAMA_API_KEY" in err and "--token-file PATH" in err and "sk-" not in err


# -- parse (as before) -------------------------------------------------------------------
def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))


def test_parse_reads_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, "NAME    ID    SIZE    MODIFIED \n")
    assert main(["parse", "ollama", "list"]) == 0
    assert json.loads(capsys.readouterr().out)["models"] == []


@pytest.mark.parametrize(
    "command", [["ollama list"], ["ollama", "list"], ["--", "ollama  list"], [" ollama ls "]]
)
def test_parse_takes_the_command_as_one_word_or_several(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, "NAME    ID    SIZE    MODIFIED \n")
    assert main(["parse", *command]) == 0
    assert json.loads(capsys.readouterr().out)["models"] == []


def test_parse_error_is_exit_1_and_nothing_on_stdout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, "NAME ID SIZE MODIFIED\n garbage ][ line\n")
    assert main(["parse", "--strict", "ollama", "list"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("lmsdrive parse: ollama list: ")


def test_parse_is_lenient_by_default_and_lists_what_it_skipped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, "NAME ID SIZE MODIFIED\n garbage ][ line\n")
    assert main(["parse", "ollama", "list"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["models"] == [] and out["skipped"] == [{"line": 2, "text": " garbage ][ line"}]


def test_parse_of_nothing_understood_fails_in_both_modes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, "garbage ][ line\nmore garbage\n")
    assert main(["parse", "ollama", "list"]) == 1
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("info", PARSERS, ids=lambda i: i.name)
@pytest.mark.parametrize("text", ["", "\n  \n"], ids=["empty", "blank"])
def test_parse_of_empty_stdin_is_one_rule_for_every_parser(
    info: ParserInfo,
    text: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _stdin(monkeypatch, text)
    assert main(["parse", "--", *info.name.split()]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "lmsdrive parse: nothing to parse: stdin was empty; pipe the output of "
        f"`{info.name}` into it (with `2>&1` to keep an error it prints)\n"
    )


def test_parse_of_an_empty_file_says_which_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "out.txt"
    empty.write_text("")
    assert main(["parse", "--file", str(empty), "ollama", "list"]) == 2
    assert f"nothing to parse: {empty} was empty" in capsys.readouterr().err


def test_parse_usage_errors() -> None:
    p = run_cli("parse", "curl", "x")
    assert p.returncode == 2 and "unknown tool" in p.stderr
    assert "lmsdrive parses the output of: lms, ollama" in p.stderr
    p = run_cli("parse")
    assert p.returncode == 2 and "name the command" in p.stderr


def test_parse_subprocess_file(tmp_path: Path) -> None:
    body = tmp_path / "tags.json"
    body.write_text('{"models": []}')
    p = run_cli("parse", "-f", str(body), "ollama", "/api/tags")
    assert p.returncode == 0 and json.loads(p.stdout)["models"] == []


# -- record ------------------------------------------------------------------------------
def test_record_writes_a_fixture_that_parses_back(
    fake_runtime: MakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_runtime(models_downloaded=[OLLAMA_MODEL], server_running=True)
    dest = tmp_path / "fixtures"
    assert main(["record", "--name", "my-case", "--dir", str(dest), "--", "ollama", "list"]) == 0
    assert "Recorded `ollama list`" in capsys.readouterr().out
    txt = dest / "ollama" / "list" / "my-case.txt"
    meta = json.loads(txt.with_suffix(".json").read_text())
    assert meta["source"] == "recorded with lmsdrive record"
    assert (meta["parser"], meta["argv"], meta["exit_code"]) == (
        "ollama list",
        ["ollama", "list"],
        0,
    )
    assert meta["version"] == "0.12.3" and meta["os"] and meta["date"]
    assert meta["stream"].startswith("stdout (stderr in the .stderr file")
    assert "stdout_bytes" not in meta and not txt.with_suffix(".stderr").exists()  # none
    [fx] = list(iter_fixtures(dest))
    result = get_module(resolve(fx.parser)).parse(fx.transcript()).to_dict()
    assert [m["name"] for m in result["models"]] == [OLLAMA_MODEL]
    assert meta["parsed"] == json.loads(json.dumps(result))
    # The same case again is refused; --force overwrites.
    assert main(["record", "--name", "my-case", "--dir", str(dest), "--", "ollama", "list"]) == 1
    assert "already exists" in capsys.readouterr().err
    args = ["record", "--force", "--name", "my-case", "--dir", str(dest), "--", "ollama", "ls"]
    assert main(args) == 0


def test_record_failing_command_and_streamed_pull(
    fake_runtime: MakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_runtime(backends=["lms"])
    dest = tmp_path / "fx"
    assert main(["record", "--dir", str(dest), "--name", "bad", "--", "lms", "nosuchcmd"]) == 0
    meta = json.loads((dest / "lms" / "error" / "bad.json").read_text())
    assert meta["parser"] == "lms error" and meta["exit_code"] != 0
    assert meta["parsed"]["kind"] == "usage"
    fake_runtime(server_running=True, pull_seconds=0.2, backends=["ollama"])
    assert (
        main(["record", "--dir", str(dest), "--name", "p", "--", "ollama", "pull", OLLAMA_MODEL])
        == 0
    )
    meta = json.loads((dest / "ollama" / "pull" / "p.json").read_text())
    assert meta["stream"].startswith("terminal") and meta["parsed"]["outcome"] == "success"


def test_record_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", "--dir", str(tmp_path), "--", "curl", "x"]) == 2
    assert main(["record", "--dir", str(tmp_path), "--name", "../x", "--", "ollama", "ls"]) == 2
    assert main(["record", "--dir", str(tmp_path), "--", "ollama", "/api/tags"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["record", "--dir", str(tmp_path)])
    assert exc.value.code == 2
    assert not list(tmp_path.iterdir())


# -- fixtures check ----------------------------------------------------------------------
def _copy_fixtures(dest: Path, cases: list[str]) -> Path:
    """Copy fixtures (``ollama/list/gh4470-llama3``) and their snapshots into ``dest``."""
    root = dest / "fixtures"
    snaps = dest / "tests" / "__snapshots__" / "test_fixtures"
    snaps.mkdir(parents=True)
    for case in cases:
        for suffix in (".txt", ".json"):
            src = DEFAULT_ROOT / f"{case}{suffix}"
            (root / case).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, root / f"{case}{suffix}")
        snap = f"test_fixture[{case.replace('/', '-')}].json"
        shutil.copy(SNAPSHOTS / snap, snaps / snap)
    return root


CASES = ["ollama/list/gh4470-llama3", "lms/ls/lms-628-variants", "ollama/ps/gh10831-countdown"]


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Path:
    return _copy_fixtures(tmp_path, CASES)


def test_fixtures_check_untampered(fixture_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fixtures", "check", str(fixture_copy)]) == 0
    out = capsys.readouterr().out
    n = len(list(iter_fixtures(fixture_copy)))
    assert f"{n} fixtures: {n} same, 0 changed" in out


def test_fixtures_check_reports_a_tampered_snapshot(
    fixture_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snaps = fixture_copy.parent / "tests" / "__snapshots__" / "test_fixtures"
    snap = snaps / "test_fixture[ollama-list-gh4470-llama3].json"
    data = json.loads(snap.read_text())
    data["models"][0]["size_bytes"] += 1
    data["models"][0].pop("id")
    snap.write_text(json.dumps(data, indent=2))
    assert main(["fixtures", "check", str(fixture_copy)]) == 1
    out = capsys.readouterr().out
    assert "CHANGED   ollama-list-gh4470-llama3 (ollama list, against its snapshot)" in out
    before = data["models"][0]["size_bytes"]
    assert f"models[0].size_bytes: {before} → {before - 1}" in out
    assert "models[0].id: new key" in out
    assert "1 changed" in out
    assert main(["fixtures", "check", "--json", str(fixture_copy)]) == 1
    report = json.loads(capsys.readouterr().out)
    changed = [f for f in report["fixtures"] if f["status"] == "changed"]
    assert [f["case_id"] for f in changed] == ["ollama-list-gh4470-llama3"]


def test_fixtures_check_expected_facts_without_snapshot(
    fixture_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snaps = fixture_copy.parent / "tests" / "__snapshots__" / "test_fixtures"
    (snaps / "test_fixture[ollama-list-gh4470-llama3].json").unlink()
    meta_path = fixture_copy / "ollama" / "list" / "gh4470-llama3.json"
    meta = json.loads(meta_path.read_text())
    assert meta["expected"], "this fixture has expected facts"
    assert main(["fixtures", "check", "-v", str(fixture_copy)]) == 0
    assert "SAME      ollama-list-gh4470-llama3 (ollama list, against its expected)" in (
        capsys.readouterr().out
    )
    meta["expected"][0]["name"] = "other:model"
    meta_path.write_text(json.dumps(meta))
    assert main(["fixtures", "check", str(fixture_copy)]) == 1
    assert 'models[0].name: "other:model" → ' in capsys.readouterr().out


def test_fixtures_check_unparsable_and_missing_dir(
    fixture_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (fixture_copy / "ollama" / "list" / "gh4470-llama3.txt").write_text(
        "NAME ID SIZE MODIFIED\n garbage ][ line\n"
    )
    assert main(["fixtures", "check", str(fixture_copy)]) == 1
    assert "ERROR     ollama-list-gh4470-llama3" in capsys.readouterr().out
    assert main(["fixtures", "check", str(tmp_path / "nope")]) == 2


def test_fixtures_check_the_shipped_tree_subprocess() -> None:
    p = run_cli("fixtures", "check", "--json")
    report = json.loads(p.stdout)
    assert report["counts"]["same"] > 100
    assert p.returncode == (1 if report["counts"]["changed"] + report["counts"]["error"] else 0)


# -- usage, help, presentation -----------------------------------------------------------
def test_help_documents_exit_statuses() -> None:
    p = run_cli("--help")
    assert p.returncode == 0 and "exit statuses:" in p.stdout and "130" in p.stdout
    assert EPILOG.splitlines()[0] in p.stdout
    p = run_cli("status", "--help")
    assert "exit statuses:" in p.stdout


def test_bad_configuration_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--url", "ftp://x"]) == 2
    assert "--url" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["--backend", "vllm", "status"])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (NotInstalledError("x"), 3),
        (ServerNotRunningError("x"), 4),
        (ServerStartError("x"), 4),
        (ModelNotFoundError("x"), 5),
        (ParseError("ollama list", "x"), 6),
        (CommandTimeoutError("x"), 7),
        (ConfigError("x"), 2),
        (CommandError("x"), 1),
        (OSError("x"), 1),
    ],
)
def test_exit_status_per_error_kind(exc: BaseException, status: int) -> None:
    assert exit_status(exc) == status


def test_human_bytes() -> None:
    assert [human_bytes(n) for n in (0, 999, 1000, 1_300_000_000)] == [
        "0 B",
        "999 B",
        "1.0 kB",
        "1.3 GB",
    ]


def test_plain_progress_is_throttled_to_deciles() -> None:
    out = io.StringIO()
    view = ProgressView(Ui(out=out))
    total = 1000
    for done in range(0, total + 1, 10):  # 101 events
        pct = done * 100 / total
        view.update(
            Progress(
                phase="downloading",
                item="abc",
                completed=done,
                total=total,
                percent=pct,
                overall_percent=pct,
            )
        )
    lines = out.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[-1].split()[2] == "100.0%"


COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|9[0-7])[;m]")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_rich_on_a_terminal_and_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("NO_COLOR", "1")
    out = _Tty()
    ui = Ui(out=out)
    assert ui.fancy
    ui.table("Models", ["NAME"], [["llama3.2:1b"]])
    ui.ok("done")
    assert "┃" in out.getvalue() and "│ llama3.2:1b │\n" in out.getvalue()  # a boxed table
    assert not COLOUR.search(out.getvalue())  # styles (bold) stay, colours go
    monkeypatch.delenv("NO_COLOR")
    out2 = _Tty()
    Ui(out=out2).ok("done")
    assert COLOUR.search(out2.getvalue())


def test_diff_values() -> None:
    assert diff_values({"a": 1, "b": [1, 2]}, {"a": 1, "b": [1, 3], "c": None}) == [
        "b[1]: 2 → 3",
        "c: new key → null",
    ]
    assert diff_values({"a": 1}, {}) == ["a: 1 → no longer read"]
    assert diff_values([1], [1, 2]) == ["(result): 1 items → 2 items"]
    assert diff_values(1, 1.0) == ["(result): 1 → 1.0"]


def test_daemon_face_up_status_down(fake_runtime: MakeRuntime) -> None:
    """`lmsdrive daemon` on the fake lms whose llmster is down (built from the recordings)."""
    rt = fake_runtime(backends=("lms",), lms_daemon_down=True)
    env = {"BACKEND": "lmstudio"}
    down = json.loads(run_cli("daemon", "status", "--json", env=env).stdout)
    assert down == {
        "action": "status",
        "outcome": None,
        "daemon": {"running": False, "pid": None, "version": None, "is_daemon": None},
    }
    up = run_cli("daemon", "up", env=env)
    pid = rt.state().backend("lms").daemon_pid
    assert up.returncode == 0 and f"PID {pid}" in up.stdout and "llmster" in up.stdout
    status = run_cli("status", env=env)
    assert "Daemon" in status.stdout and f"PID {pid}" in status.stdout
    stopped = json.loads(run_cli("daemon", "down", "--json", env=env).stdout)
    assert stopped["outcome"] == "stopped" and stopped["daemon"]["running"] is False
    ollama = run_cli("daemon", "up", env={"BACKEND": "ollama"})
    assert ollama.returncode == 2 and "no daemon" in ollama.stderr


def test_record_keeps_the_streams_apart(
    fake_runtime: MakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like the real-cli recordings: stdout in CASE.txt, stderr in CASE.stderr, and the
    fixture reads back with both streams where they were."""
    fake_runtime(backends=["lms"])
    dest = tmp_path / "fixtures"
    args = ["record", "--name", "off", "--dir", str(dest), "--", "lms", "server", "stop"]
    main(args)
    capsys.readouterr()
    [fx] = list(iter_fixtures(dest))
    t = fx.transcript()
    assert t.stderr and t.stderr == fx.path.with_suffix(".stderr").read_text()
    assert fx.path.read_text() == t.stdout


# -- bad input: exit 2 with a message, never a traceback ---------------------------------
@pytest.mark.parametrize("command", ["check", "init", "stop", "record"])
@pytest.mark.parametrize("timeout", ["-1", "0", "nan", "soon"])
def test_a_timeout_that_is_not_positive_is_a_usage_error(
    command: str, timeout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rest = ["--", "ollama", "list"] if command == "record" else ["--model", OLLAMA_MODEL]
    with pytest.raises(SystemExit) as stop:
        main([command, "--timeout", timeout, *rest])
    assert stop.value.code == 2
    assert f"--timeout: {timeout}: it must be a number > 0" in capsys.readouterr().err


def test_check_with_a_negative_timeout_is_exit_2_as_a_process(fake_runtime: MakeRuntime) -> None:
    fake_runtime(server_running=True, models_loaded=[OLLAMA_MODEL])
    p = run_cli("check", "--model", OLLAMA_MODEL, "--timeout", "-1")
    assert (p.returncode, p.stdout) == (2, "")
    assert "it must be a number > 0" in p.stderr and "Traceback" not in p.stderr


NOT_UTF8 = "\udcff"  # the byte 0xff as argv and a surrogateescape'd stdin reach Python


@pytest.mark.parametrize(
    ("argv", "stdin", "what"),
    [
        (["chat"], b"\xff", "the message on stdin"),
        (["chat"], b"caf\xe9 au lait?", "the message on stdin"),
        (["generate", f"{NOT_UTF8} hi"], None, "the prompt"),
        (["embed", "fine", NOT_UTF8], None, "TEXT 2"),
        (["chat", "--system", NOT_UTF8], b"hi", "--system"),
    ],
)
@pytest.mark.parametrize("errors", ["surrogateescape", "strict"])
def test_text_that_is_not_utf8_is_exit_2_with_a_message(
    fake_runtime: MakeRuntime, argv: list[str], stdin: bytes | None, what: str, errors: str
) -> None:
    """Python reads invalid UTF-8 in argv (and, with surrogateescape, stdin) as lone
    surrogates that no request can encode: exit 2 saying so, not a UnicodeEncodeError."""
    fake_runtime(server_running=True, models_loaded=[OLLAMA_MODEL, "nomic-embed-text"])
    model = "nomic-embed-text" if argv[0] == "embed" else OLLAMA_MODEL
    p = subprocess.run(
        [sys.executable, "-m", "lmsdrive", *argv, "--model", model],
        input=stdin or b"",
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": f"utf-8:{errors}"},
        timeout=60,
        cwd=REPO,
    )
    err = p.stderr.decode("utf-8", "replace")
    assert (p.returncode, p.stdout) == (2, b""), err
    assert f"{what} is not valid UTF-8" in err and "Traceback" not in err
