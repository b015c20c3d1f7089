from __future__ import annotations

import os
import random
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from lmsdrive.discovery import INSTALL_ROOT_VARIABLE
from lmsdrive.runtimes import RUNTIMES

pytest_plugins = ["lmsdrive.testing.pytest_plugin", "ci_rules"]

#: Fuzzing (hypothesis): an example slower than the deadline fails (a parser gone quadratic);
#: a failure prints the blob that replays it (@reproduce_failure) and, between local runs, is
#: kept in the git-ignored .hypothesis/examples of the checkout and tried first next time.
#: Every setting is explicit: with CI set, hypothesis's own "ci" profile is the default this
#: one would inherit (no deadline, too_slow suppressed, derandomized), and CI must fuzz alike.
settings.register_profile(
    "lmsdrive",
    deadline=timedelta(seconds=1),
    print_blob=True,
    suppress_health_check=(),
    derandomize=False,
    database=DirectoryBasedExampleDatabase(
        Path(__file__).resolve().parent.parent / ".hypothesis" / "examples"
    ),
)
settings.load_profile("lmsdrive")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """In CI (no example database survives a run) every run has one seed, chosen here unless
    ``--hypothesis-seed`` gives it, and printed: ``--hypothesis-seed=N`` replays the run."""
    if os.environ.get("CI") and config.getoption("hypothesis_seed", None) is None:
        config.option.hypothesis_seed = random.randrange(1 << 32)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The seed, last (shown under -q too)."""
    seed = terminalreporter.config.getoption("hypothesis_seed", None)
    if seed is not None:
        terminalreporter.write_line(f"hypothesis seed {seed}: --hypothesis-seed={seed} replays")
    else:
        terminalreporter.write_line("hypothesis seeds: random per test (failures: .hypothesis/)")


#: What configures lmsdrive or a runtime: none of it may leak from the machine into a test.
RUNTIME_VARIABLES = sorted(
    {"BACKEND", "MODEL_NAME", "MODEL_SOURCE", "NO_COLOR", "FORCE_COLOR"}
    | {v for spec in RUNTIMES.values() for v in (spec.url_variable, spec.bin_variable)}
    | {v for spec in RUNTIMES.values() for v in spec.token_variables}
)
#: The llama.cpp server is per machine (built once by `make llama-server`): where it is stays.
_LLAMA = {
    "LMSDRIVE_CACHE": os.environ.get("LMSDRIVE_CACHE") or str(Path.home() / ".cache" / "lmsdrive"),
    "LMSDRIVE_LLAMA_PYTHON": os.environ.get("LMSDRIVE_LLAMA_PYTHON"),
}


#: Prefixes of variables that move where lmsdrive writes (locks, logs) or looks (binaries).
HERMETIC_PREFIXES = ("LMSDRIVE_", "XDG_")


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each test gets its own HOME, an empty install root and none of the runtimes' or
    lmsdrive's variables: a machine where LM Studio or Ollama once ran or is installed
    (/usr/local/bin/ollama, ~/.lmstudio-home-pointer, ~/.ollama, OLLAMA_HOST, tokens,
    XDG_CACHE_HOME) changes no result, and no lock or log lands in the real user cache."""
    for var in RUNTIME_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    for var in list(os.environ):
        if var.startswith(HERMETIC_PREFIXES):
            monkeypatch.delenv(var)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LOCALAPPDATA", str(home / "AppData" / "Local"))
    monkeypatch.setenv(INSTALL_ROOT_VARIABLE, str(tmp_path_factory.mktemp("install-root")))
    for var, value in _LLAMA.items():
        if value:
            monkeypatch.setenv(var, value)


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """A syrupy snapshot stored as one JSON file per test in tests/__snapshots__/."""
    return snapshot.use_extension(JSONSnapshotExtension)
