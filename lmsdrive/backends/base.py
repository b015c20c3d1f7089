"""The protocol both backends implement, and the typed results they return."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from ..parsers._base import Progress

ProgressCallback = Callable[[Progress], None]


def close_iterator(it: object) -> None:
    """Close a generator (or any iterator with ``close``), e.g. to stop a download's child."""
    close = getattr(it, "close", None)
    if callable(close):
        close()


def pull_failed_hint(message: str) -> str:
    """What to do after a failed download whose error (or last output) is ``message``, as a
    sentence to append: free disk space when the runtime says the disk is full, else fix
    the cause and download again."""
    low = message.lower()
    if any(w in low for w in ("no space left", "enospc", "disk full", "not enough disk space")):
        return (
            "The disk is full: free space where the runtime keeps its models, then run the "
            "download again."
        )
    return "Fix the cause (network, disk space, model name), then run the download again."


@dataclass(frozen=True)
class LocalModel:
    """A downloaded model."""

    name: str
    size_bytes: int | None = None
    type: str | None = None
    details: dict[str, object] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class LoadedModel:
    """A model loaded in memory. ``identifier`` is what generate requests name."""

    name: str
    identifier: str
    size_bytes: int | None = None
    context_length: int | None = None
    details: dict[str, object] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Generation:
    """A generated answer."""

    text: str
    model: str
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True)
class StartResult:
    """How ``start()`` ended: ``already_running`` when nothing had to be started."""

    url: str
    already_running: bool
    pid: int | None = None
    version: str | None = None
    log_path: str | None = None


class Backend(Protocol):
    """What a runtime can do, the same on Ollama and LM Studio."""

    name: str
    display_name: str

    @property
    def url(self) -> str: ...
    def is_installed(self) -> bool: ...
    def is_running(self) -> bool: ...
    def readiness(self, model: str) -> Readiness: ...
    def start(self, timeout: float = 60.0) -> StartResult: ...
    def list_models(self) -> list[LocalModel]: ...
    def has_model(self, name: str) -> bool: ...
    def pull(
        self, name: str, on_progress: ProgressCallback | None = None
    ) -> Iterator[Progress]: ...
    def load(self, name: str) -> LoadedModel | None: ...
    def loaded_models(self) -> list[LoadedModel]: ...
    def is_loaded(self, name: str) -> bool: ...
    def unload(self, name: str) -> None: ...
    def generate(
        self, prompt: str, model: str, *, temperature: float = 0.1, max_tokens: int = 100
    ) -> Generation: ...
    def generate_stream(
        self, prompt: str, model: str, *, temperature: float = 0.1, max_tokens: int = 100
    ) -> Iterator[str]: ...
    def version(self) -> str | None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Readiness:
    """What one cheap look at a backend tells: is the server up, is the model downloaded,
    is it loaded. ``None`` where the look could not tell (server down)."""

    running: bool
    downloaded: bool | None = None
    loaded: bool | None = None
