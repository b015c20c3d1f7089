"""The golden-fixture workflow as a user runs it (issue 20 item 5): record → check → accept →
check passes → a runtime upgrade changes an output → check fails showing the diff → accept.

Real ``lmsdrive`` processes, the fakes of ``lmsdrive.testing`` as the runtime, a project
directory and HOME of the test's own."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from lmsdrive.golden import DEFAULT_ROOT
from lmsdrive.testing.runtime import FakeRuntime

MakeRuntime = Callable[..., FakeRuntime]
REPO = Path(__file__).resolve().parent.parent
SNAPSHOTS = REPO / "tests" / "__snapshots__" / "test_fixtures"
_SCRIPT = Path(sys.executable).parent / "lmsdrive"
LMSDRIVE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "lmsdrive"]


#: The walk-through, as the README shows it: (the upgrade happens after the fifth command).
WALKTHROUGH = [
    ["record", "--name", "mine", "--", "ollama", "list"],
    ["record", "--name", "mine", "--", "ollama", "--version"],
    ["fixtures", "check"],
    ["fixtures", "accept"],
    ["fixtures", "check"],
    ["record", "--force", "--name", "mine", "--", "ollama", "list"],
    ["record", "--force", "--name", "mine", "--", "ollama", "--version"],
    ["fixtures", "check"],
    ["fixtures", "accept", "--case", "ollama-version-mine"],
    ["fixtures", "check"],
]


def test_the_readme_walkthrough_is_the_one_tested() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### Golden-fixture regression after a runtime upgrade", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    commands = [
        shlex.split(line, comments=True)[1:]
        for line in block.group(1).splitlines()
        if line.startswith("lmsdrive ")
    ]
    assert commands == WALKTHROUGH


def _shown_output(after: list[str]) -> list[str]:
    """The output the README's walk-through shows (``#   `` lines) under the command
    ``after``."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### Golden-fixture regression after a runtime upgrade", 1)[1]
    lines = section.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    at = next(
        i
        for i, line in enumerate(lines[:-1])
        if shlex.split(line, comments=True)[1:] == after and lines[i + 1].startswith("#   ")
    )
    shown = []
    for line in lines[at + 1 :]:
        if not line.startswith("#   "):
            break
        shown.append(line[4:])
    return shown


def lmsdrive(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``lmsdrive ARGS`` in ``cwd``, in the environment the fakes set (PATH, HOME, …)."""
    return subprocess.run(
        [*LMSDRIVE, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=120,
        check=False,
    )


def test_record_check_accept_upgrade_check_accept(
    fake_runtime: MakeRuntime, tmp_path: Path
) -> None:
    rt = fake_runtime(models_downloaded=["llama3.2:1b"], server_running=["ollama"])
    project = tmp_path / "project"
    project.mkdir()
    assert Path(os.environ["HOME"]).is_relative_to(rt.dir)

    steps = iter(WALKTHROUGH)
    for _ in range(2):
        p = lmsdrive(project, *next(steps))
        assert p.returncode == 0, p.stderr
        assert "`lmsdrive fixtures accept` makes what it read the baseline" in p.stdout

    p = lmsdrive(project, *next(steps))
    assert p.returncode == 0, p.stderr
    assert "2 fixtures: 0 same, 0 changed, 0 no longer parse, 2 without a baseline" in p.stdout
    assert "`lmsdrive fixtures accept` writes them" in p.stdout

    p = lmsdrive(project, *next(steps))
    assert p.returncode == 0, p.stderr
    assert "ACCEPTED  ollama-version-mine → fixtures/ollama/version/mine.json" in p.stdout
    assert 'server_version: "0.12.3"' in p.stdout
    assert 'models[0].name: "llama3.2:1b"' in p.stdout
    assert "2 baselines written, 0 not written." in p.stdout

    p = lmsdrive(project, *next(steps))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "2 fixtures: 2 same, 0 changed" in p.stdout

    rt.set(ollama_version="0.13.1")  # the runtime is upgraded; its outputs are recorded again
    for _ in range(2):
        p = lmsdrive(project, *next(steps))
        assert p.returncode == 0, p.stderr
        assert "It kept its baseline" in p.stdout

    p = lmsdrive(project, *next(steps))
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stdout.splitlines() == _shown_output(["fixtures", "check"])  # as the README shows
    assert p.stdout.splitlines()[:3] == [
        "CHANGED   ollama-version-mine (ollama --version, against its expected)",
        '          server_version: "0.12.3" → "0.13.1"',
        '          client_version: "0.12.3" → "0.13.1"',
    ]
    assert "2 fixtures: 1 same, 1 changed" in p.stdout
    assert "`lmsdrive fixtures accept --case ollama-version-mine`" in p.stdout
    assert "{" not in p.stdout  # the facts that changed, not a wall of JSON

    p = lmsdrive(project, *next(steps))
    assert p.returncode == 0, p.stderr
    assert '          server_version: "0.12.3" → "0.13.1"' in p.stdout
    assert "1 baseline written, 0 not written." in p.stdout

    p = lmsdrive(project, *next(steps))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "2 fixtures: 2 same, 0 changed" in p.stdout
    assert next(steps, None) is None


def test_accept_a_named_case_by_its_name_or_path_and_nothing_else(
    fake_runtime: MakeRuntime, tmp_path: Path
) -> None:
    fake_runtime(models_downloaded=["llama3.2:1b"], server_running=["ollama"])
    tree = tmp_path / "fx"
    for argv in (["ollama", "list"], ["ollama", "ps"]):
        assert (
            lmsdrive(tmp_path, "record", "--dir", "fx", "--name", "a", "--", *argv).returncode == 0
        )
    p = lmsdrive(tmp_path, "fixtures", "accept", "fx", "--case", "ollama/ps/a", "--json")
    assert p.returncode == 0, p.stderr
    [written] = json.loads(p.stdout)["accepted"]
    assert written["case_id"] == "ollama-ps-a" and written["replaced"] is False
    assert written["facts"]["models"] == []
    meta = json.loads((tree / "ollama" / "ps" / "a.json").read_text())
    assert meta["expected"] == written["facts"] and meta["expected_complete"] is True
    assert json.loads((tree / "ollama" / "list" / "a.json").read_text())["expected"] is None
    # "a" names two cases; an unknown name is no case at all: both refused, nothing written
    p = lmsdrive(tmp_path, "fixtures", "accept", "fx", "--case", "a")
    assert p.returncode == 2 and "names several fixtures (ollama-list-a, ollama-ps-a)" in p.stderr
    p = lmsdrive(tmp_path, "fixtures", "accept", "fx", "--case", "nope")
    assert p.returncode == 2 and "no fixture named 'nope'" in p.stderr
    assert json.loads((tree / "ollama" / "list" / "a.json").read_text())["expected"] is None
    # without DIR it is ./fixtures, never lmsdrive's own tree
    p = lmsdrive(tmp_path, "fixtures", "accept")
    assert p.returncode == 2 and "no ./fixtures here" in p.stderr


def test_a_whole_baseline_reports_a_key_that_appears_later(tmp_path: Path) -> None:
    case = tmp_path / "fixtures" / "ollama" / "list" / "c"
    case.parent.mkdir(parents=True)
    shutil.copy(DEFAULT_ROOT / "ollama" / "list" / "gh4470-llama3.txt", case.with_suffix(".txt"))
    meta = json.loads((DEFAULT_ROOT / "ollama" / "list" / "gh4470-llama3.json").read_text())
    meta.pop("expected")
    case.with_suffix(".json").write_text(json.dumps(meta))
    assert lmsdrive(tmp_path, "fixtures", "accept").returncode == 0
    accepted = json.loads(case.with_suffix(".json").read_text())
    accepted["expected"]["models"][0].pop("id")
    accepted["expected"]["models"][0]["size_bytes"] = 1
    case.with_suffix(".json").write_text(json.dumps(accepted))
    p = lmsdrive(tmp_path, "fixtures", "check")
    assert p.returncode == 1
    assert "models[0].size_bytes: 1 → " in p.stdout
    assert "models[0].id: new key → " in p.stdout


def test_a_relative_time_is_not_a_change(tmp_path: Path) -> None:
    """``ollama list`` prints MODIFIED relative to now ("3 weeks ago"): the same models
    recorded a minute later read the same; a size that changed still does not."""
    case = tmp_path / "fixtures" / "ollama" / "list" / "c"
    case.parent.mkdir(parents=True)
    real = (DEFAULT_ROOT / "ollama" / "list" / "gh4470-llama3.txt").read_text(encoding="utf-8")
    case.with_suffix(".txt").write_text(real, encoding="utf-8")
    meta = json.loads((DEFAULT_ROOT / "ollama" / "list" / "gh4470-llama3.json").read_text())
    meta.pop("expected")
    case.with_suffix(".json").write_text(json.dumps(meta))
    assert lmsdrive(tmp_path, "fixtures", "accept").returncode == 0
    ago = re.compile(r"\b(\d+|About an?|an?) (second|minute|hour|day|week|month|year)s? ago\b")
    assert ago.search(real), "the capture shows a relative time"
    case.with_suffix(".txt").write_text(ago.sub("2 seconds ago", real), encoding="utf-8")
    p = lmsdrive(tmp_path, "fixtures", "check")
    assert p.returncode == 0, p.stdout
    case.with_suffix(".txt").write_text(real.replace(" GB", " TB", 1), encoding="utf-8")
    p = lmsdrive(tmp_path, "fixtures", "check")
    assert p.returncode == 1 and "size_bytes" in p.stdout, p.stdout


def test_accept_rewrites_a_snapshot_baseline_as_syrupy_writes_it(tmp_path: Path) -> None:
    case = "ollama/ps/gh10831-countdown"
    root = tmp_path / "fixtures"
    snaps = tmp_path / "tests" / "__snapshots__" / "test_fixtures"
    snaps.mkdir(parents=True)
    (root / case).parent.mkdir(parents=True)
    for suffix in (".txt", ".json"):
        shutil.copy(DEFAULT_ROOT / f"{case}{suffix}", root / f"{case}{suffix}")
    snap = f"test_fixture[{case.replace('/', '-')}].json"
    original = (SNAPSHOTS / snap).read_text(encoding="utf-8")
    (snaps / snap).write_text(original.replace('"35 GB"', '"34 GB"', 1), encoding="utf-8")
    assert lmsdrive(tmp_path, "fixtures", "check").returncode == 1
    p = lmsdrive(tmp_path, "fixtures", "accept", "--case", "gh10831-countdown")
    assert p.returncode == 0, p.stderr
    assert 'size_text: "34 GB" → "35 GB"' in p.stdout
    assert (snaps / snap).read_text(encoding="utf-8") == original


def test_a_case_that_no_longer_parses_is_not_accepted(tmp_path: Path) -> None:
    case = tmp_path / "fixtures" / "ollama" / "list" / "broken"
    case.parent.mkdir(parents=True)
    case.with_suffix(".txt").write_text("NAME ID SIZE MODIFIED\n garbage ][ line\n")
    case.with_suffix(".json").write_text(json.dumps({"parser": "ollama list", "expected": None}))
    p = lmsdrive(tmp_path, "fixtures", "accept")
    assert p.returncode == 1
    assert "NOT WRITTEN ollama-list-broken: it does not parse" in p.stdout
    assert json.loads(case.with_suffix(".json").read_text())["expected"] is None
    p = lmsdrive(tmp_path, "fixtures", "check")
    assert "needs the parser fixed, not accepted" in p.stdout


@pytest.mark.parametrize("status", ["changed", "unchecked"])
def test_check_says_how_to_accept_even_for_another_tree(tmp_path: Path, status: str) -> None:
    case = tmp_path / "my tree" / "ollama" / "list" / "c"
    case.parent.mkdir(parents=True)
    shutil.copy(DEFAULT_ROOT / "ollama" / "list" / "gh4470-llama3.txt", case.with_suffix(".txt"))
    meta = json.loads((DEFAULT_ROOT / "ollama" / "list" / "gh4470-llama3.json").read_text())
    if status == "changed":
        meta["expected"][0]["name"] = "other:model"
    else:
        meta.pop("expected")
    case.with_suffix(".json").write_text(json.dumps(meta))
    p = lmsdrive(tmp_path, "fixtures", "check", "my tree")
    if status == "changed":
        assert p.returncode == 1
        assert 'models[0].name: "other:model" → ' in p.stdout
        assert "`lmsdrive fixtures accept 'my tree' --case ollama-list-c`" in p.stdout
    else:
        assert p.returncode == 0
        assert "`lmsdrive fixtures accept 'my tree'` writes them" in p.stdout


def test_the_same_workflow_on_lm_studio(fake_runtime: MakeRuntime, tmp_path: Path) -> None:
    rt = fake_runtime(server_running=["lms"])
    assert lmsdrive(tmp_path, "record", "--name", "mine", "--", "lms", "version").returncode == 0
    p = lmsdrive(tmp_path, "fixtures", "accept")
    assert p.returncode == 0 and 'cli_commit: "ac18535"' in p.stdout
    rt.set(lms_commit="b1c2d3e")  # lms is upgraded
    p = lmsdrive(tmp_path, "record", "--force", "--name", "mine", "--", "lms", "version")
    assert p.returncode == 0, p.stderr
    p = lmsdrive(tmp_path, "fixtures", "check")
    assert p.returncode == 1
    assert p.stdout.splitlines()[:2] == [
        "CHANGED   lms-version-mine (lms version, against its expected)",
        '          cli_commit: "ac18535" → "b1c2d3e"',
    ]
    assert lmsdrive(tmp_path, "fixtures", "accept", "--case", "mine").returncode == 0
    assert lmsdrive(tmp_path, "fixtures", "check").returncode == 0
