"""AsyncDriver against the fake runtimes (it runs the tested sync Driver in a thread)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from lmsdrive import Config
from lmsdrive._types import Progress
from lmsdrive.async_driver import AsyncDriver
from lmsdrive.errors import ServerNotRunningError
from lmsdrive.testing.runtime import FakeRuntime

Factory = Callable[..., FakeRuntime]


def test_ensure_ready_and_generate(fake_runtime: Factory) -> None:
    fake_runtime(pull_seconds=0.4)
    events: list[Progress] = []

    async def main() -> tuple[bool, str, list[str]]:
        cfg = Config.from_env(backend="ollama", model_name="llama3.2:3b")
        async with AsyncDriver(cfg) as driver:
            report = await driver.ensure_ready(on_progress=events.append)
            text = (await driver.generate("hi")).text
            pieces = [p async for p in driver.generate_stream("hi")]
        return report.success, text, pieces

    ok, text, pieces = asyncio.run(main())
    assert ok
    assert text and "".join(pieces) == text
    assert any(e.phase == "downloading" for e in events)


def test_loop_is_not_blocked_while_ready_runs(fake_runtime: Factory) -> None:
    fake_runtime(pull_seconds=0.6, pull_frames=6)
    ticks: list[float] = []

    async def ticker() -> None:
        for _ in range(1000):
            ticks.append(asyncio.get_running_loop().time())
            await asyncio.sleep(0.02)

    async def main() -> None:
        cfg = Config.from_env(backend="lmstudio", model_name="qwen/qwen3-4b")
        async with AsyncDriver(cfg) as driver:
            t = asyncio.ensure_future(ticker())
            report = await driver.ensure_ready()
            t.cancel()
            assert report.success, report.message

    asyncio.run(main())
    assert len(ticks) > 10, "the event loop was blocked during ensure_ready"


def test_errors_arrive_in_the_coroutine(fake_runtime: Factory) -> None:
    fake_runtime()

    async def main() -> None:
        cfg = Config.from_env(backend="ollama", model_name="llama3.2:3b")
        async with AsyncDriver(cfg) as driver:
            with pytest.raises(ServerNotRunningError, match="server is not running"):
                await driver.generate("hi")
            with pytest.raises(ServerNotRunningError):
                async for _ in driver.generate_stream("hi"):
                    pass

    asyncio.run(main())
