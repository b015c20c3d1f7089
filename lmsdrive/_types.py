"""The value types every layer passes up: progress events, models, generations, readiness.

They sit at the bottom of the package (beside :mod:`lmsdrive.errors` and
:mod:`lmsdrive.transcript`) so parsers, HTTP clients, backends and the driver share them
without importing one another. Every one is importable from :mod:`lmsdrive`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PHASES",
    "ChatReply",
    "ChatRequest",
    "DaemonState",
    "Generation",
    "LoadOptions",
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


#: Why an answer asked for as JSON (or to a schema) is not: the server did not enforce it.
_NOT_ENFORCED = (
    "the server did not hold the answer to it (Ollama takes a schema in `format` from "
    "v0.5.0, `format: json` before; a server without structured output answers freely): "
    "update the server, or validate and retry"
)


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
            if self.finish_reason == "length":
                why = "the reply was cut by max_tokens; raise it"
            elif self.format is None:
                why = "ask for it with format= (a JSON schema) so the server enforces it"
            else:
                asked = "the schema" if isinstance(self.format, dict) else "JSON"
                why = f"{asked} was asked for, {_NOT_ENFORCED}"
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
                    f"({'; '.join(found[:5])}): {_NOT_ENFORCED}. Reply: {shown!r}",
                    self.text,
                    found,
                )
        return value


@dataclass(frozen=True)
class ChatRequest:
    """One chat call's inputs, built once by the Driver and passed down as one value:
    ``messages`` (``{"role", "content"}`` dicts), sampling, ``format`` (``"json"`` or a JSON
    schema), runtime ``options`` and Ollama's ``think``."""

    messages: Sequence[Mapping[str, Any]]
    temperature: float = 0.1
    max_tokens: int = 100
    format: str | dict[str, Any] | None = None
    options: Mapping[str, Any] | None = None
    think: bool | str | None = None


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
    #: When the runtime will unload the model if nothing uses it (Unix time; Ollama's
    #: ``/api/ps`` ``expires_at``); ``None``: never, or the runtime does not say.
    expires_at: float | None = None


@dataclass(frozen=True, kw_only=True)
class LoadOptions:
    """How to load a model; every field optional (``None``: the runtime's default).

    ``context_length`` in tokens (``lms load --context-length``, Ollama ``options.num_ctx``,
    REST v1 ``context_length``); ``gpu``: the share of the model offloaded to the GPU, a
    number 0–1, ``"max"`` or ``"off"`` (``lms load --gpu``; Ollama: ``"off"`` only, as
    ``num_gpu: 0``); ``ttl``: seconds idle before the model unloads (``lms load --ttl``,
    Ollama ``keep_alive``); ``identifier``: the API name of the instance (``lms load
    --identifier``; LM Studio only). Bad values raise ``ValueError`` (a
    :class:`~lmsdrive.errors.ConfigError`).

    >>> LoadOptions(context_length=8192, gpu="max", ttl=600).gpu
    'max'
    """

    context_length: int | None = None
    gpu: float | str | None = None
    ttl: int | None = None
    identifier: str | None = None

    def __post_init__(self) -> None:
        from .errors import ConfigError

        for name in ("context_length", "ttl"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ConfigError(f"{name}={value!r}: expected a whole number of at least 1")
        gpu = self.gpu
        if isinstance(gpu, str):
            text = gpu.strip().lower()
            if text not in ("max", "off"):
                try:
                    gpu = float(text)
                except ValueError:
                    raise ConfigError(
                        f"gpu={self.gpu!r}: expected a number from 0 to 1, 'max' or 'off'"
                    ) from None
            else:
                gpu = text
        if isinstance(gpu, bool) or (isinstance(gpu, (int, float)) and not 0 <= gpu <= 1):
            raise ConfigError(f"gpu={self.gpu!r}: expected a number from 0 to 1, 'max' or 'off'")
        object.__setattr__(self, "gpu", float(gpu) if isinstance(gpu, int) else gpu)
        ident = self.identifier
        if ident is not None and (
            not ident.strip()
            or ident.startswith("-")
            or any(c.isspace() or ord(c) < 32 for c in ident)
        ):
            raise ConfigError(
                f"identifier={ident!r}: expected a name without spaces that does not start with '-'"
            )

    @property
    def empty(self) -> bool:
        """No option set: the runtime's defaults."""
        return all(getattr(self, f.name) is None for f in dataclasses.fields(self))
