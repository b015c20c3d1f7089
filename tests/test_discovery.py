"""Finding ``ollama`` and ``lms``: explicit, environment, PATH, install folders."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lmsdrive.discovery import INSTALL_ROOT_VARIABLE, candidates, find_binary
from lmsdrive.errors import NotInstalledError
from lmsdrive.runtimes import RUNTIMES

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths and modes")


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty HOME, an empty PATH folder, no LMSDRIVE_* variables, no system binaries."""
    home = tmp_path / "home"
    home.mkdir()
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("LMSDRIVE_OLLAMA_BIN", raising=False)
    monkeypatch.delenv("LMSDRIVE_LMS_BIN", raising=False)
    monkeypatch.setenv(INSTALL_ROOT_VARIABLE, str(tmp_path / "root"))
    return home


def make_exe(path: Path, mode: int = 0o755) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(mode)
    return path


def test_not_installed_messages_start_friendly_and_list_every_place(
    home: Path, tmp_path: Path
) -> None:
    with pytest.raises(NotInstalledError) as info:
        find_binary("ollama")
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert message.startswith("Ollama is not installed. Please install from https://ollama.com\n")
    for place in candidates("ollama"):
        assert str(place) in message
    assert f"{tmp_path}/empty-bin/ollama (PATH)" in message
    assert f"{tmp_path}/root/usr/local/bin/ollama (install folder)" in message
    assert f"{home}/.local/bin/ollama" in message
    assert "LMSDRIVE_OLLAMA_BIN" in message  # what to do next

    with pytest.raises(NotInstalledError) as info:
        find_binary("lms")
    message = str(info.value)
    assert message.startswith(
        "LM Studio CLI not found. Install from https://lmstudio.ai and enable CLI in settings.\n"
    )
    assert f"{home}/.lmstudio/bin/lms" in message
    assert f"{home}/.cache/lm-studio/bin/lms" in message
    assert RUNTIMES["lmstudio"].install_hint in message


def test_path_lookup_in_order_skipping_non_executables(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, third = (tmp_path / n for n in ("a", "b", "c"))
    make_exe(first / "ollama", 0o644)  # not executable: skipped
    make_exe(second / "ollama")
    make_exe(third / "ollama")
    (first / "lms").mkdir()  # a folder is not a binary
    make_exe(third / "lms")
    monkeypatch.setenv("PATH", f"{first}::{second}:{third}")
    assert find_binary("ollama") == second / "ollama"
    assert find_binary("lms") == third / "lms"
    assert Path("ollama") not in candidates("ollama")  # empty PATH entry: cwd never searched


def test_env_variable_beats_path_and_is_honoured_or_reported(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_path = make_exe(tmp_path / "bin" / "ollama")
    custom = make_exe(tmp_path / "custom" / "ollama-dev")
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert find_binary("ollama") == on_path
    monkeypatch.setenv("LMSDRIVE_OLLAMA_BIN", str(custom))
    assert find_binary("ollama") == custom
    monkeypatch.setenv("LMSDRIVE_OLLAMA_BIN", str(tmp_path / "nope" / "ollama"))
    with pytest.raises(NotInstalledError) as info:
        find_binary("ollama")  # never silently replaced by the one on PATH
    message = str(info.value)
    assert message.startswith(RUNTIMES["ollama"].install_hint)
    assert f"{tmp_path}/nope/ollama (LMSDRIVE_OLLAMA_BIN)" in message
    monkeypatch.setenv("LMSDRIVE_OLLAMA_BIN", "")  # empty means unset
    assert find_binary("ollama") == on_path


def test_explicit_argument_beats_everything(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_lms = make_exe(tmp_path / "env" / "lms")
    explicit = make_exe(tmp_path / "explicit" / "lms")
    named = make_exe(tmp_path / "bin" / "lms-nightly")
    monkeypatch.setenv("LMSDRIVE_LMS_BIN", str(env_lms))
    monkeypatch.setenv("PATH", str(named.parent))
    assert find_binary("lms", explicit) == explicit
    assert find_binary("lms", str(explicit)) == explicit
    assert find_binary("lms", "lms-nightly") == named  # a bare name goes through PATH
    assert find_binary("lms") == env_lms
    make_exe(home / "tools" / "lms")
    assert find_binary("lms", "~/tools/lms") == home / "tools" / "lms"
    with pytest.raises(NotInstalledError, match="explicit argument"):
        find_binary("lms", tmp_path / "missing" / "lms")


def test_lmstudio_install_folders_follow_the_home_rule(home: Path, tmp_path: Path) -> None:
    dot = make_exe(home / ".lmstudio" / "bin" / "lms")
    assert find_binary("lms") == dot
    legacy = make_exe(home / ".cache" / "lm-studio" / "bin" / "lms")
    assert find_binary("lms") == legacy  # legacy home wins when it exists (lms's own rule)
    elsewhere = make_exe(tmp_path / "big-disk" / "lmstudio" / "bin" / "lms")
    (home / ".lmstudio-home-pointer").write_text(f"{elsewhere.parent.parent}\n")
    assert find_binary("lms") == elsewhere  # the pointer file names the home
    assert candidates("lms")[-3:] == [elsewhere, legacy, dot]
    (home / ".lmstudio-home-pointer").write_text("  \n")  # empty pointer: ignored
    assert find_binary("lms") == legacy


def test_ollama_install_folders(home: Path, tmp_path: Path) -> None:
    local = make_exe(home / ".local" / "bin" / "ollama")
    assert find_binary("ollama") == local
    system = make_exe(tmp_path / "root" / "usr" / "local" / "bin" / "ollama")
    assert find_binary("ollama") == system  # system folders come before ~/.local/bin


def test_candidates_order_and_no_duplicates(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LMSDRIVE_OLLAMA_BIN", "/env/ollama")
    monkeypatch.setenv("PATH", f"/p1:/p2:/p1:{tmp_path}/root/usr/local/bin")
    assert candidates("ollama", "/explicit/ollama") == [
        Path("/explicit/ollama"),
        Path("/env/ollama"),
        Path("/p1/ollama"),
        Path("/p2/ollama"),
        tmp_path / "root" / "usr" / "local" / "bin" / "ollama",
        tmp_path / "root" / "usr" / "bin" / "ollama",
        tmp_path / "root" / "opt" / "homebrew" / "bin" / "ollama",
        tmp_path / "root" / "Applications" / "Ollama.app" / "Contents" / "Resources" / "ollama",
        home / ".local" / "bin" / "ollama",
    ]


def test_windows_places(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", "/appdata")
    monkeypatch.setenv("PATHEXT", ".EXE;.CMD")
    monkeypatch.setenv("PATH", "/p")
    ollama = candidates("ollama")
    assert ollama[:3] == [Path("/p/ollama.exe"), Path("/p/ollama.cmd"), Path("/p/ollama")]
    assert Path("/appdata/Programs/Ollama/ollama.exe") in ollama
    assert candidates("lms")[-1] == home / ".lmstudio" / "bin" / "lms.exe"


def test_unknown_tool_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown tool"):
        find_binary("vllm")
