"""Operations the faces (the CLI, the MCP shim) need and :class:`~lmsdrive.driver.Driver`
does not offer (yet): live step announcements during ``ensure_ready``, and a streamed
generation.

>>> from lmsdrive import Driver                                          # doctest: +SKIP
>>> from lmsdrive.ops import observe_steps, generate_stream              # doctest: +SKIP
>>> d = Driver()                                                         # doctest: +SKIP
>>> d.backend = observe_steps(d.backend, print)                          # doctest: +SKIP
>>> d.ensure_ready()  # prints "Starting the Ollama server ..." as it happens  # doctest: +SKIP
>>> for piece in generate_stream(d, "Why is the sky blue?"):             # doctest: +SKIP
...     print(piece, end="", flush=True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from .backends.base import (
    Backend,
    Generation,
    LoadedModel,
    LocalModel,
    ProgressCallback,
    Readiness,
    StartResult,
)
from .errors import ServerNotRunningError
from .parsers._base import Progress

if TYPE_CHECKING:
    from .driver import Driver

__all__ = ["StepObserver", "generate_stream", "observe_steps"]

StepCallback = Callable[[str], None]


class StepObserver:
    """A :class:`Backend` that announces each step before it starts (``start``, ``pull``,
    ``load``) and otherwise does exactly what the wrapped backend does."""

    def __init__(self, backend: Backend, on_step: StepCallback) -> None:
        self.wrapped = backend
        self.on_step = on_step
        self.name = backend.name
        self.display_name = backend.display_name

    @property
    def url(self) -> str:
        return self.wrapped.url

    def is_installed(self) -> bool:
        return self.wrapped.is_installed()

    def is_running(self) -> bool:
        return self.wrapped.is_running()

    def readiness(self, model: str) -> Readiness:
        return self.wrapped.readiness(model)

    def start(self, timeout: float = 60.0) -> StartResult:
        self.on_step(f"Starting the {self.display_name} server at {self.url}")
        return self.wrapped.start(timeout)

    def list_models(self) -> list[LocalModel]:
        return self.wrapped.list_models()

    def has_model(self, name: str) -> bool:
        return self.wrapped.has_model(name)

    def pull(self, name: str, on_progress: ProgressCallback | None = None) -> Iterator[Progress]:
        self.on_step(f"Downloading model {name}")
        return self.wrapped.pull(name, on_progress)

    def load(self, name: str) -> LoadedModel | None:
        self.on_step(f"Loading model {name}")
        return self.wrapped.load(name)

    def loaded_models(self) -> list[LoadedModel]:
        return self.wrapped.loaded_models()

    def is_loaded(self, name: str) -> bool:
        return self.wrapped.is_loaded(name)

    def unload(self, name: str) -> None:
        self.wrapped.unload(name)

    def generate(
        self, prompt: str, model: str, *, temperature: float = 0.1, max_tokens: int = 100
    ) -> Generation:
        return self.wrapped.generate(prompt, model, temperature=temperature, max_tokens=max_tokens)

    def version(self) -> str | None:
        return self.wrapped.version()

    def close(self) -> None:
        self.wrapped.close()


def observe_steps(backend: Backend, on_step: StepCallback) -> StepObserver:
    """Wrap ``backend`` so ``on_step(text)`` is called as each step of the flow begins."""
    return StepObserver(backend, on_step)


def generate_stream(
    driver: Driver, prompt: str, *, temperature: float = 0.1, max_tokens: int = 100
) -> Iterator[str]:
    """The answer's text pieces as the server sends them (Ollama NDJSON, LM Studio SSE).

    A backend without a streaming HTTP client yields the whole answer at once. Closing the
    iterator closes the HTTP response. A server that does not answer raises
    :class:`ServerNotRunningError` with the backend's friendly message.
    """
    from .driver import NOT_RUNNING_MESSAGES

    backend = driver.backend
    while isinstance(backend, StepObserver):
        backend = backend.wrapped
    model = driver.model
    api = getattr(backend, "api", None)
    streamer = getattr(api, "generate_stream", None)
    try:
        if not callable(streamer):
            yield driver.generate(prompt, temperature=temperature, max_tokens=max_tokens).text
            return
        pieces: Iterator[str] = streamer(
            model, prompt, temperature=temperature, max_tokens=max_tokens
        )
        try:
            yield from pieces
        finally:
            close = getattr(pieces, "close", None)
            if callable(close):
                close()
    except ServerNotRunningError as exc:
        message = NOT_RUNNING_MESSAGES.get(driver.config.backend, "")
        if message and message not in str(exc):
            raise ServerNotRunningError(f"{message} ({exc})") from exc
        raise
