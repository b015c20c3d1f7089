"""``AsyncDriver``: the :class:`~lmsdrive.driver.Driver` for asyncio code.

Every public Driver method is here with the same parameters: a plain call is a coroutine,
a generator (``pull``, ``generate_stream``) an async iterator, and ``chat_stream`` an
:class:`AsyncChatStream` whose ``.result`` is the whole reply once exhausted.

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
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._types import (
    ChatReply,
    DaemonState,
    Estimate,
    Generation,
    KeepAlive,
    LoadedModel,
    LoadOptions,
    LocalModel,
    Progress,
    ProgressCallback,
    PullReport,
)
from .backends.base import Backend, Format, Message, close_iterator
from .config import Config
from .driver import Driver, InitReport, ModelReport, StepCallback
from .estimate import Memory
from .tools import Tool

if TYPE_CHECKING:
    from ._types import StartResult
    from .health import CheckResult
    from .keep import KeepEvent
    from .status import Status

T = TypeVar("T")
R = TypeVar("R", ChatReply, Generation)
_DONE = object()


class _Failed:
    """An exception raised in the worker, on its way to the consumer."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


async def _pump(
    open_stream: Callable[[], Iterator[T]],
    on_end: Callable[[Iterator[T]], None] | None = None,
) -> AsyncGenerator[T, None]:
    """The items of a sync stream (opened and read in a worker thread) through a queue;
    ``on_end(stream)`` runs in the worker once it is exhausted. Leaving early closes it."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    stop = threading.Event()

    def put(item: object) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    def pump() -> None:
        try:
            items = open_stream()
        except BaseException as exc:
            put(_Failed(exc))
            return
        end: object = _DONE
        try:
            for item in items:
                if stop.is_set():
                    break
                put(item)
            else:
                if on_end is not None:
                    on_end(items)
        except BaseException as exc:  # delivered to the consumer, raised there
            end = _Failed(exc)
        finally:
            close_iterator(items)
            put(end)

    worker = asyncio.ensure_future(asyncio.to_thread(pump))
    try:
        while True:
            item = await queue.get()
            if item is _DONE:
                break
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()
        await asyncio.shield(worker)


class _AsyncResultStream(AsyncIterator[str], Generic[R]):
    """Text pieces of a sync stream read in a worker thread as they arrive; :attr:`result`
    is the whole answer once exhausted (``None`` until then, and when closed early).
    ``aclose()`` (or leaving ``async with``) closes the HTTP response."""

    def __init__(self, open_stream: Callable[[], Iterator[str]]) -> None:
        self.result: R | None = None
        self._pieces = _pump(open_stream, self._ended)

    def _ended(self, stream: Iterator[str]) -> None:
        self.result = getattr(stream, "result", None)

    def __aiter__(self) -> _AsyncResultStream[R]:
        return self

    async def __anext__(self) -> str:
        return await self._pieces.__anext__()

    async def text(self) -> str:
        """Read the rest of the stream and return the whole answer."""
        async for _ in self:
            pass
        assert self.result is not None
        return self.result.text

    async def aclose(self) -> None:
        await self._pieces.aclose()

    async def __aenter__(self) -> _AsyncResultStream[R]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncChatStream(_AsyncResultStream[ChatReply]):
    """:meth:`AsyncDriver.chat_stream`: the answer's pieces; :attr:`result` the whole
    :class:`ChatReply` once exhausted."""


class AsyncGenerationStream(_AsyncResultStream[Generation]):
    """:meth:`AsyncDriver.generate_stream`: the answer's pieces; :attr:`result` the whole
    :class:`Generation` (finish reason, token counts) once exhausted."""


class AsyncDriver:
    """Async twin of :class:`~lmsdrive.driver.Driver`: same arguments, same methods (see
    the module docstring for how their return types map)."""

    def __init__(self, config: Config | None = None, *, backend: Backend | None = None) -> None:
        self.sync = Driver(config, backend=backend)

    @property
    def config(self) -> Config:
        return self.sync.config

    @property
    def backend(self) -> Backend:
        return self.sync.backend

    @property
    def model(self) -> str:
        return self.sync.model

    @property
    def model_names(self) -> list[str]:
        return self.sync.model_names

    @property
    def started(self) -> StartResult | None:
        """:attr:`Driver.started`: the server :meth:`ensure_ready` started, if any."""
        return self.sync.started

    async def __aenter__(self) -> AsyncDriver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.sync.close)

    async def check(
        self, models: Sequence[str] | None = None, *, answer: bool = False, timeout: float = 5.0
    ) -> CheckResult:
        """:meth:`Driver.check` (the read-only health check) in a worker thread."""
        return await asyncio.to_thread(self.sync.check, models, answer=answer, timeout=timeout)

    async def ensure_ready(
        self,
        on_progress: ProgressCallback | None = None,
        *,
        on_step: StepCallback | None = None,
        start_timeout: float = 60.0,
        load_options: LoadOptions | None = None,
        models: Sequence[str] | None = None,
        on_model: StepCallback | None = None,
        on_model_done: Callable[[ModelReport], None] | None = None,
        check_fit: bool = False,
    ) -> InitReport:
        """:meth:`Driver.ensure_ready` in a worker thread."""
        return await asyncio.to_thread(
            lambda: self.sync.ensure_ready(
                on_progress,
                on_step=on_step,
                start_timeout=start_timeout,
                load_options=load_options,
                models=models,
                on_model=on_model,
                on_model_done=on_model_done,
                check_fit=check_fit,
            )
        )

    # -- models --------------------------------------------------------------------------------
    async def pull(self, model: str | None = None) -> AsyncIterator[Progress]:
        """:meth:`Driver.pull`: the download's progress events; leaving the ``async for``
        early (or cancelling) stops the download."""
        async for event in _pump(lambda: self.sync.pull(model)):
            yield event

    async def load(
        self, model: str | None = None, options: LoadOptions | None = None
    ) -> LoadedModel:
        """:meth:`Driver.load` in a worker thread."""
        return await asyncio.to_thread(self.sync.load, model, options)

    async def unload(self, model: str | None = None) -> bool:
        """:meth:`Driver.unload` in a worker thread."""
        return await asyncio.to_thread(self.sync.unload, model)

    async def delete(self, model: str | None = None) -> None:
        """:meth:`Driver.delete` in a worker thread."""
        await asyncio.to_thread(self.sync.delete, model)

    async def stop_server(self, timeout: float = 30.0) -> str:
        """:meth:`Driver.stop_server` in a worker thread."""
        return await asyncio.to_thread(self.sync.stop_server, timeout)

    async def keep(
        self,
        models: Sequence[str] | None = None,
        *,
        interval: float = 30.0,
        max_failures: int = 5,
        refresh_before: float = 60.0,
        load_options: LoadOptions | None = None,
        on_event: Callable[[KeepEvent], None] | None = None,
        on_progress: ProgressCallback | None = None,
        handle_signals: bool = False,
    ) -> None:
        """:meth:`Driver.keep` in a worker thread; cancelling the task stops it. Signals
        belong to the event loop here (``loop.add_signal_handler`` then cancel the task), so
        ``handle_signals=True`` is refused."""
        if handle_signals:
            raise ValueError(
                "AsyncDriver.keep cannot take SIGTERM in a worker thread: handle it with "
                "loop.add_signal_handler and cancel the task"
            )
        keeper = self.sync._keeper(
            models,
            interval=interval,
            max_failures=max_failures,
            refresh_before=refresh_before,
            load_options=load_options,
            on_event=on_event,
            on_progress=on_progress,
        )
        run = asyncio.ensure_future(asyncio.to_thread(keeper.run))
        try:
            await asyncio.shield(run)
        except asyncio.CancelledError:
            keeper.stop()
            await run
            raise

    async def models(self) -> list[LocalModel]:
        """:meth:`Driver.models` in a worker thread."""
        return await asyncio.to_thread(self.sync.models)

    async def loaded_models(self) -> list[LoadedModel]:
        """:meth:`Driver.loaded_models` in a worker thread."""
        return await asyncio.to_thread(self.sync.loaded_models)

    async def daemon_status(self) -> DaemonState | None:
        """:meth:`Driver.daemon_status` in a worker thread."""
        return await asyncio.to_thread(self.sync.daemon_status)

    async def daemon_up(self) -> DaemonState:
        """:meth:`Driver.daemon_up` in a worker thread."""
        return await asyncio.to_thread(self.sync.daemon_up)

    async def daemon_down(self) -> str:
        """:meth:`Driver.daemon_down` in a worker thread."""
        return await asyncio.to_thread(self.sync.daemon_down)

    async def status(self) -> Status:
        """:meth:`Driver.status` in a worker thread."""
        return await asyncio.to_thread(self.sync.status)

    # -- generation ------------------------------------------------------------------------
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

    def generate_stream(
        self,
        prompt: str,
        *,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> AsyncGenerationStream:
        """The answer's pieces as they arrive (``async for``); ``.result`` is the whole
        :class:`Generation` once exhausted. Leaving early (``aclose()``, ``async with``, or
        cancelling) closes the HTTP response."""
        return AsyncGenerationStream(
            lambda: self.sync.generate_stream(
                prompt,
                model=model,
                temperature=temperature,
                max_tokens=max_tokens,
                keep_alive=keep_alive,
            )
        )

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

    def chat_stream(
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
    ) -> AsyncChatStream:
        """:meth:`Driver.chat_stream`: the answer's pieces as they arrive (``async for``);
        its ``.result`` is the whole :class:`ChatReply` once exhausted, tool calls included.
        Leaving early (``aclose()``, ``async with``) closes the HTTP response."""
        return AsyncChatStream(
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


__all__ = ["AsyncChatStream", "AsyncDriver", "AsyncGenerationStream"]
