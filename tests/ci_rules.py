"""A pytest plugin of this suite's CI rule (loaded by ``conftest.py``): in CI (``CI=true``) a
test skipped for a component that ``.ci/run`` provides (marker ``llama_server``: the llama.cpp
server ``make llama-server`` builds) is a failure, so CI never passes on a skip."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

#: Markers of tests needing a component ``.ci/run`` provides.
CI_PROVIDED = ("llama_server",)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.skipped and in_ci():
        needed = [m for m in CI_PROVIDED if item.get_closest_marker(m) is not None]
        if needed:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
            report.outcome = "failed"
            report.longrepr = (
                f"CI=true: skipped, but .ci/run provides what it needs ({', '.join(needed)}): "
                f"{reason}"
            )
    return report
