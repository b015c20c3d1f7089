"""The value types every layer passes up: progress events, models, generations, readiness.

They sit at the bottom of the package (beside :mod:`lmsdrive.errors` and
:mod:`lmsdrive.transcript`) so parsers, HTTP clients, backends and the driver share them
without importing one another. Every one is importable from :mod:`lmsdrive`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PHASES",
    "DaemonState",
    "Generation",
    "LoadedModel",
    "LocalModel",
    "Progress",
    "ProgressCallback",
    "Readiness",
    "StartResult",
]

#: Phases of a download or load, in the order they happen.
PHASES = ("manifest", "downloading", "verifying", "writing", "loading", "done", "error")


@dataclass(frozen=True, kw_only=True)
class Progress:
    """One progress event of a download or load (``ollama pull``, ``/api/pull``,
    ``lms get``, ``lms load``), yielded as soon as its frame is complete.

    ``item`` is the layer digest (Ollama, 12 hex or ``sha256:…``) or the file/model
    (LM Studio). ``percent`` is this item's; ``overall_percent`` covers everything being
    downloaded and never goes backwards within one stream. ``message`` is the runtime's
    own status text (``"verifying sha256 digest"``).
    """

    phase: str
    item: str | None = None
    completed: int | None = None
    total: int | None = None
    percent: float | None = None
    overall_percent: float | None = None
    speed_bytes_per_s: int | None = None
    speed: str | None = None
    eta: str | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


ProgressCallback = Callable[[Progress], None]


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
    """How ``start()`` ended: ``already_running`` when nothing had to be started;
    ``daemon`` when the runtime's daemon had to be brought up first."""

    url: str
    already_running: bool
    pid: int | None = None
    version: str | None = None
    log_path: str | None = None
    daemon: DaemonState | None = None


@dataclass(frozen=True)
class DaemonState:
    """A runtime's background service (LM Studio's llmster, or its app running as one)."""

    running: bool
    pid: int | None = None
    version: str | None = None
    is_daemon: bool | None = None


@dataclass(frozen=True)
class Readiness:
    """What one cheap look at a backend tells: is the server up, is the model downloaded,
    is it loaded. ``None`` where the look could not tell (server down)."""

    running: bool
    downloaded: bool | None = None
    loaded: bool | None = None
