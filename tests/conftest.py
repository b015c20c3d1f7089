from __future__ import annotations

import os
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from lmsdrive.runtimes import RUNTIMES

pytest_plugins = ["lmsdrive.testing.pytest_plugin"]

#: What configures lmsdrive or a runtime: none of it may leak from the machine into a test.
RUNTIME_VARIABLES = sorted(
    {"BACKEND", "MODEL_NAME", "MODEL_SOURCE", "NO_COLOR", "FORCE_COLOR"}
    | {v for spec in RUNTIMES.values() for v in (spec.url_variable, spec.bin_variable)}
    | {v for spec in RUNTIMES.values() for v in spec.token_variables}
)
#: The llama.cpp server cache is per machine (built once by `make llama-server`).
_LLAMA_CACHE = os.environ.get("LMSDRIVE_CACHE") or str(Path.home() / ".cache" / "lmsdrive")


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each test gets its own HOME and none of the runtimes' variables: a machine where
    LM Studio or Ollama once ran (~/.lmstudio-home-pointer, ~/.ollama, OLLAMA_HOST, tokens)
    changes no result."""
    for var in RUNTIME_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("LMSDRIVE_CACHE", _LLAMA_CACHE)


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """A syrupy snapshot stored as one JSON file per test in tests/__snapshots__/."""
    return snapshot.use_extension(JSONSnapshotExtension)
