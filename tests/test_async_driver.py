"""AsyncDriver against the fake runtimes (it runs the tested sync Driver in a thread)."""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable

import pytest

from lmsdrive import Config, Driver
from lmsdrive._types import Progress
from lmsdrive.async_driver import AsyncDriver
from lmsdrive.errors import InvalidMessageError, ServerNotRunningError
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
            with pytest.raises(ServerNotRunningError, match=r"server at \S+ does not answer"):
                await driver.generate("hi")
            with pytest.raises(ServerNotRunningError):
                async for _ in driver.generate_stream("hi"):
                    pass

    asyncio.run(main())


#: The library's one message for an empty prompt (the MCP generate tool's too).
_EMPTY_PROMPT = r"^generate: the prompt is empty: give the text to answer"
_EMPTY_CHAT = r"^message 2: the user's message is empty: give the text to send"


def _empty_chat(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]


@pytest.mark.parametrize(
    ("backend", "model"), [("ollama", "llama3.2:3b"), ("lmstudio", "qwen/qwen3-4b")]
)
@pytest.mark.parametrize("text", ["", " \n\t"], ids=["empty", "blank"])
def test_an_empty_prompt_is_refused_before_any_work(
    fake_runtime: Factory, backend: str, model: str, text: str
) -> None:
    rt = fake_runtime(server_running=True)
    rt.reset_counts()
    cfg = Config.from_env(backend=backend, model_name=model)
    with Driver(cfg) as driver:
        with pytest.raises(InvalidMessageError, match=_EMPTY_PROMPT):
            driver.generate(text)
        with pytest.raises(InvalidMessageError, match=_EMPTY_PROMPT):
            driver.generate_stream(text)
        with pytest.raises(InvalidMessageError, match=_EMPTY_CHAT):
            driver.chat(_empty_chat(text))
        with pytest.raises(InvalidMessageError, match=_EMPTY_CHAT):
            driver.chat_stream(_empty_chat(text))

    async def main() -> None:
        async with AsyncDriver(cfg) as driver:
            with pytest.raises(InvalidMessageError, match=_EMPTY_PROMPT):
                await driver.generate(text)
            with pytest.raises(InvalidMessageError, match=_EMPTY_PROMPT):
                async for _ in driver.generate_stream(text):
                    pass
            with pytest.raises(InvalidMessageError, match=_EMPTY_CHAT):
                await driver.chat(_empty_chat(text))
            with pytest.raises(InvalidMessageError, match=_EMPTY_CHAT):
                async for _ in driver.chat_stream(_empty_chat(text)):
                    pass

    asyncio.run(main())
    assert rt.requests() == [] and rt.spawns() == []


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": "", "images": [b"\x89PNG\r\n\x1a\n"]}],
        [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}],
    ],
    ids=["an image alone", "the last turn not the user's"],
)
def test_only_an_empty_last_user_turn_is_refused(
    fake_runtime: Factory, messages: list[dict[str, object]]
) -> None:
    """An image alone is a question; an earlier empty turn is history: they reach the server
    (here: not running)."""
    fake_runtime()
    cfg = Config.from_env(backend="ollama", model_name="llama3.2:3b")
    with Driver(cfg) as driver, pytest.raises(ServerNotRunningError):
        driver.chat(messages)


# -- the Driver's twin: every public method, the same signature ----------------------------
#: Driver names whose async twin has another name.
_RENAMED = {"close": "aclose"}
#: AsyncDriver's own public names (the sync driver it runs).
_ASYNC_ONLY = {"sync"}


def _public(cls: type) -> dict[str, object]:
    return {n: inspect.getattr_static(cls, n) for n in dir(cls) if not n.startswith("_")}


def _async_returns(sync: str) -> set[str]:
    """What the twin of a method returning ``sync`` may return: an async iterator of a
    generator's items, else the same (awaited) or its ``Async`` twin (ChatStream)."""
    m = re.fullmatch(r"(?:Generator\[(.+), None, None\]|Iterator\[(.+)\])", sync)
    if m:
        return {f"AsyncIterator[{m.group(1) or m.group(2)}]"}
    return {sync, f"Async{sync}"}


def test_async_driver_has_every_driver_method_with_the_same_signature() -> None:
    sync_api, async_api = _public(Driver), _public(AsyncDriver)
    attributes = {n for n in vars(Driver(Config(env={}))) if not n.startswith("_")}
    wanted = {_RENAMED.get(n, n) for n in [*sync_api, *attributes]}
    assert sorted(wanted - set(async_api)) == []
    assert sorted(set(async_api) - wanted - _ASYNC_ONLY) == []
    for name, member in sync_api.items():
        twin = async_api[_RENAMED.get(name, name)]
        if isinstance(member, property):
            assert isinstance(twin, property), name
            continue
        assert callable(member) and callable(twin), name
        sig, twin_sig = inspect.signature(member), inspect.signature(twin)
        assert [
            (p.name, p.kind, p.default, p.annotation) for p in twin_sig.parameters.values()
        ] == [(p.name, p.kind, p.default, p.annotation) for p in sig.parameters.values()], name
        returns = str(twin_sig.return_annotation)
        assert returns in _async_returns(str(sig.return_annotation)), name
        if returns.startswith("AsyncIterator["):
            assert inspect.isasyncgenfunction(twin), name
        elif returns == sig.return_annotation:
            assert inspect.iscoroutinefunction(twin), name


def test_async_pull_models_status_and_chat_stream_result(fake_runtime: Factory) -> None:
    fake_runtime(pull_seconds=0.2, server_running=True)

    async def main() -> None:
        cfg = Config(backend="ollama", model_name="llama3.2:3b")
        async with AsyncDriver(cfg) as driver:
            events = [e async for e in driver.pull()]
            assert events and events[-1].phase == "done"
            assert "llama3.2:3b" in [m.name for m in await driver.models()]
            await driver.load()
            assert [m.name for m in await driver.loaded_models()] == ["llama3.2:3b"]
            assert (await driver.status()).ready
            assert await driver.daemon_status() is None
            stream = driver.chat_stream([{"role": "user", "content": "hi"}])
            assert stream.result is None
            pieces = [p async for p in stream]
            assert stream.result is not None and stream.result.text == "".join(pieces)
            async with driver.chat_stream([{"role": "user", "content": "hi"}]) as again:
                assert await again.text() == stream.result.text
            await driver.unload()
            assert await driver.loaded_models() == []

    asyncio.run(main())
