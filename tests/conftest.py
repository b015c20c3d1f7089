from __future__ import annotations

import os
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from lmsdrive.discovery import INSTALL_ROOT_VARIABLE
from lmsdrive.runtimes import RUNTIMES

pytest_plugins = ["lmsdrive.testing.pytest_plugin", "ci_rules"]

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
