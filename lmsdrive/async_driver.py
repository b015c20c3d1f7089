"""``AsyncDriver``: the :class:`~lmsdrive.driver.Driver` for asyncio code.

Thread-backed on purpose: every call runs the sync driver in a worker thread
(``asyncio.to_thread``), so the behaviour (process handling, timeouts, cancellation of the
child on error) is exactly the tested sync one, and the event loop never blocks. Progress
callbacks run in that worker thread; use ``loop.call_soon_threadsafe`` in them to touch
loop-owned state. Streams arrive through an ``asyncio.Queue``.

Usage::

    from lmsdrive.async_driver import AsyncDriver

    async with AsyncDriver() as driver:
        report = await driver.ensure_ready()
        print((await driver.generate("Why is the sky blue?")).text)
        async for piece in driver.generate_stream("Tell me a story"):
            print(piece, end="")
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

from ._types import (
    ChatReply,
    Estimate,
    Generation,
    KeepAlive,
    LoadOptions,
    ProgressCallback,
    PullReport,
)
from .backends.base import Backend, Format, Message, close_iterator
from .config import Config
from .driver import Driver, InitReport, StepCallback
from .estimate import Memory
from .tools import Tool

_DONE = object()


class AsyncDriver:
    """Async twin of :class:`~lmsdrive.driver.Driver` (same arguments, same methods)."""

    def __init__(self, config: Config | None = None, *, backend: Backend | None = None) -> None:
        self.sync = Driver(config, backend=backend)

    @property
    def config(self) -> Config:
        return self.sync.config

    async def __aenter__(self) -> AsyncDriver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.sync.close)

    async def ensure_ready(
        self,
        on_progress: ProgressCallback | None = None,
        *,
        on_step: StepCallback | None = None,
        start_timeout: float = 60.0,
        check_fit: bool = False,
    ) -> InitReport:
        """:meth:`Driver.ensure_ready` in a worker thread."""
        return await asyncio.to_thread(
            lambda: self.sync.ensure_ready(
                on_progress, on_step=on_step, start_timeout=start_timeout, check_fit=check_fit
            )
        )

    async def generate(
        self,
        prompt: str,
        *,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> Generation:
        """:meth:`Driver.generate` in a worker thread."""
        return await asyncio.to_thread(
            lambda: self.sync.generate(
                prompt,
                model=model,
                temperature=temperature,
                max_tokens=max_tokens,
                keep_alive=keep_alive,
            )
        )

    async def generate_stream(
        self,
        prompt: str,
        *,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> AsyncIterator[str]:
        """The answer's pieces as they arrive. Leaving the ``async for`` early (or
        cancelling) closes the HTTP response."""
        pieces = self._pump(
            lambda: self.sync.generate_stream(
                prompt,
                model=model,
                temperature=temperature,
                max_tokens=max_tokens,
                keep_alive=keep_alive,
            )
        )
        async for piece in pieces:
            yield piece

    async def _pump(self, open_stream: Callable[[], Iterator[str]]) -> AsyncIterator[str]:
        """The pieces of a sync stream (opened and read in a worker thread) through a queue;
        leaving early closes it."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def pump() -> None:
            try:
                pieces = open_stream()
            except BaseException as exc:
                loop.call_soon_threadsafe(queue.put_nowait, exc)
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)
                return
            try:
                for piece in pieces:
                    if stop.is_set():
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, piece)
            except BaseException as exc:  # delivered to the consumer, raised there
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                close_iterator(pieces)
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)

        worker = asyncio.ensure_future(asyncio.to_thread(pump))
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            await asyncio.shield(worker)

    # -- chat and embeddings -----------------------------------------------------------------
    async def chat(
        self,
        messages: Sequence[Message],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        format: Format | None = None,
        options: Mapping[str, Any] | None = None,
        think: bool | str | None = None,
        model: str | None = None,
        tools: Sequence[Tool] | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> ChatReply:
        """:meth:`Driver.chat` in a worker thread."""
        return await asyncio.to_thread(
            lambda: self.sync.chat(
                messages,
                temperature=temperature,
                max_tokens=max_tokens,
                format=format,
                options=options,
                think=think,
                model=model,
                tools=tools,
                keep_alive=keep_alive,
            )
        )

    async def chat_stream(
        self,
        messages: Sequence[Message],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        format: Format | None = None,
        options: Mapping[str, Any] | None = None,
        think: bool | str | None = None,
        model: str | None = None,
        tools: Sequence[Tool] | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> AsyncIterator[str]:
        """:meth:`Driver.chat_stream`: the answer's pieces as they arrive (use :meth:`chat`
        for the whole :class:`ChatReply`, with its tool calls). Leaving early closes the
        HTTP response."""
        pieces = self._pump(
            lambda: self.sync.chat_stream(
                messages,
                temperature=temperature,
                max_tokens=max_tokens,
                format=format,
                options=options,
                think=think,
                model=model,
                tools=tools,
                keep_alive=keep_alive,
            )
        )
        async for piece in pieces:
            yield piece

    async def run_tools(
        self,
        messages: Sequence[Message],
        tools: Sequence[Callable[..., Any]],
        *,
        max_rounds: int = 5,
        **chat: Any,
    ) -> tuple[ChatReply, list[dict[str, Any]]]:
        """:meth:`Driver.run_tools` in a worker thread (the tools run there too)."""
        return await asyncio.to_thread(
            lambda: self.sync.run_tools(messages, tools, max_rounds=max_rounds, **chat)
        )

    async def update(
        self, model: str | None = None, on_progress: ProgressCallback | None = None
    ) -> PullReport:
        """:meth:`Driver.update` in a worker thread (``on_progress`` runs there)."""
        return await asyncio.to_thread(self.sync.update, model, on_progress)

    async def estimate(
        self,
        model: str | None = None,
        options: LoadOptions | None = None,
        *,
        memory: Memory | None = None,
    ) -> Estimate:
        """:meth:`Driver.estimate` in a worker thread."""
        return await asyncio.to_thread(self.sync.estimate, model, options, memory=memory)

    async def embed(
        self, texts: str | Sequence[str], *, model: str | None = None
    ) -> list[list[float]]:
        """:meth:`Driver.embed` in a worker thread."""
        return await asyncio.to_thread(self.sync.embed, texts, model=model)

    async def delete(self, model: str | None = None) -> None:
        """:meth:`Driver.delete` in a worker thread."""
        await asyncio.to_thread(self.sync.delete, model)
