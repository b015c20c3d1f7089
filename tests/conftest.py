from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

pytest_plugins = ["lmsdrive.testing.pytest_plugin"]


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """A syrupy snapshot stored as one JSON file per test in tests/__snapshots__/."""
    return snapshot.use_extension(JSONSnapshotExtension)
