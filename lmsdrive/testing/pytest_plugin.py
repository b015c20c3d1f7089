"""pytest plugin: the ``fake_runtime`` factory fixture.

Load it in ``conftest.py`` with ``pytest_plugins = ["lmsdrive.testing.pytest_plugin"]``::

    def test_flow(fake_runtime):
        rt = fake_runtime(models_downloaded=["llama3.2:3b"], server_running=True)
        ...  # PATH, OLLAMA_HOST, LMSTUDIO_URL, HOME point at the fakes (via monkeypatch)

Every runtime the factory made is closed at the end of the test (its processes killed),
and monkeypatch restores the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .runtime import FakeRuntime


@pytest.fixture
def fake_runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., FakeRuntime]]:
    """A factory: ``fake_runtime(**options)`` starts a :class:`FakeRuntime` (same options)
    and points the environment at it."""
    started: list[FakeRuntime] = []

    def make(**options: Any) -> FakeRuntime:
        rt = FakeRuntime(patch_environ=False, **options)
        started.append(rt)
        rt.start()
        for key, value in rt.env_changes().items():
            if value is None:
                monkeypatch.delenv(key, raising=False)
            else:
                monkeypatch.setenv(key, value)
        return rt

    yield make
    for rt in reversed(started):
        rt.close()
