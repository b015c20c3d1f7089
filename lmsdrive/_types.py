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
    "ChatReply",
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
class ChatReply(Generation):
    """A chat answer: the :class:`Generation` fields, the reasoning kept apart from the
    answer (``thinking``: Ollama's ``message.thinking``, LM Studio's ``reasoning_content`` /
    ``reasoning``), and the timings where the server gives them (seconds; Ollama sends
    them all, OpenAI-compatible servers none). ``format`` is what was asked for (``"json"``
    or a JSON schema), kept for :meth:`json`."""

    thinking: str | None = None
    total_seconds: float | None = None
    load_seconds: float | None = None
    prompt_seconds: float | None = None
    eval_seconds: float | None = None
    tokens_per_second: float | None = None
    format: str | dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def json(self) -> Any:
        """The answer parsed as JSON, checked against the schema when one was asked for
        (:mod:`lmsdrive._schema`: type, required, properties, items, enum).

        Raises :class:`~lmsdrive.errors.StructuredOutputError` (a ``ValueError``) showing
        the text when it is not JSON or does not fit the schema."""
        import json

        from ._schema import problems
        from .errors import StructuredOutputError

        shown = self.text if len(self.text) <= 500 else self.text[:500] + "..."
        try:
            value = json.loads(self.text)
        except ValueError as e:
            why = (
                "the reply was cut by max_tokens; raise it"
                if self.finish_reason == ("length")
                else "ask for it with format= (a JSON schema) so the server enforces it"
            )
            raise StructuredOutputError(
                f"the reply of {self.model} is not valid JSON ({e}): {why}. Reply: {shown!r}",
                self.text,
                [str(e)],
            ) from None
        if isinstance(self.format, dict):
            found = problems(value, self.format)
            if found:
                raise StructuredOutputError(
                    f"the reply of {self.model} does not match the schema asked for "
                    f"({'; '.join(found[:5])}). Reply: {shown!r}",
                    self.text,
                    found,
                )
        return value


@dataclass(frozen=True)
class StartResult:
    """How ``start()`` ended: ``already_running`` when nothing had to be started."""

    url: str
    already_running: bool
    pid: int | None = None
    version: str | None = None
    log_path: str | None = None


@dataclass(frozen=True)
class Readiness:
    """What one cheap look at a backend tells: is the server up, is the model downloaded,
    is it loaded. ``None`` where the look could not tell (server down)."""

    running: bool
    downloaded: bool | None = None
    loaded: bool | None = None
