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
    "Estimate",
    "Generation",
    "KeepAlive",
    "LoadOptions",
    "LoadedModel",
    "LocalModel",
    "Progress",
    "ProgressCallback",
    "PullReport",
    "Readiness",
    "StartResult",
    "ToolCall",
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

    @property
    def already_downloaded(self) -> bool:
        """This (last) event says the model was there before (``lms get``'s "Model already
        downloaded", REST v1's ``already_downloaded``, lmsdrive's own check on Ollama)."""
        text = (self.message or "").lower().replace("_", " ")
        return self.phase == "done" and "already downloaded" in text

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


ProgressCallback = Callable[[Progress], None]

#: How long a model stays loaded after a call: seconds, or an Ollama duration (``"10m"``,
#: ``"1h30m"``); negative: for ever; ``0``: unload right after the answer (Ollama).
KeepAlive = int | float | str


@dataclass(frozen=True)
class LocalModel:
    """A downloaded model."""

    name: str
    size_bytes: int | None = None
    type: str | None = None
    details: dict[str, object] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class LoadedModel:
    """A model loaded in memory. ``identifier`` is what generate requests name.
    ``already_loaded``: a load found it loaded and loaded nothing."""

    name: str
    identifier: str
    size_bytes: int | None = None
    context_length: int | None = None
    details: dict[str, object] = field(default_factory=dict, compare=False)
    already_loaded: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Generation:
    """A generated answer. ``finish_reason`` is ``"length"`` when the token limit cut it
    (``max_tokens``, or the model's own ``num_predict``), ``"stop"`` when the model ended it,
    ``"tool_calls"`` (OpenAI-compatible servers) when it asks for tools."""

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
class ToolCall:
    """A tool the model asks to call: the tool's ``name``, its ``arguments`` parsed from
    JSON (Ollama sends an object, OpenAI-compatible servers a JSON string), and the call's
    ``id`` where the server gives one (OpenAI-compatible ``call_…``; ``None`` on Ollama
    before it numbered calls). Arguments that are not a JSON object leave ``arguments``
    empty and keep the text the model wrote in ``invalid_arguments``.

    >>> ToolCall.of("add", '{"a": 1, "b": 2}', "call_1").arguments
    {'a': 1, 'b': 2}
    >>> ToolCall.of("add", "{oops", None).invalid_arguments
    '{oops'
    """

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    invalid_arguments: str | None = None

    @classmethod
    def of(cls, name: str, arguments: object, id: str | None = None) -> ToolCall:
        """A call from the server's ``arguments``: an object, a JSON string, or nothing."""
        import json

        if arguments is None or arguments == "":
            return cls(name, {}, id)
        if isinstance(arguments, Mapping):
            return cls(name, dict(arguments), id)
        text = arguments if isinstance(arguments, str) else json.dumps(arguments)
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return cls(name, value, id)
        return cls(name, {}, id, invalid_arguments=text)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


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
    #: The tools the model asks to call (``chat(..., tools=...)``), in order.
    tool_calls: list[ToolCall] = field(default_factory=list)

    @property
    def message(self) -> dict[str, Any]:
        """This answer as the assistant message to add to the conversation (with its
        ``tool_calls`` when it has some): each API's own form is made when it is sent."""
        out: dict[str, Any] = {"role": "assistant", "content": self.text}
        if self.tool_calls:
            out["tool_calls"] = list(self.tool_calls)
        return out

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
    ``messages`` (``{"role", "content"}`` dicts, with ``images`` / ``tool_calls`` where
    given), sampling (``None``: the model's own default, nothing is sent), ``format``
    (``"json"`` or a JSON schema), runtime ``options``, Ollama's ``think``, ``tools`` (JSON
    schemas in the ``{"type": "function", "function": {...}}`` form both APIs take) and
    ``keep_alive`` (seconds, or an Ollama duration such as ``"10m"``; negative: forever)."""

    messages: Sequence[Mapping[str, Any]]
    temperature: float | None = None
    max_tokens: int | None = None
    format: str | dict[str, Any] | None = None
    options: Mapping[str, Any] | None = None
    think: bool | str | None = None
    tools: Sequence[Mapping[str, Any]] | None = None
    keep_alive: KeepAlive | None = None


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
    Ollama ``keep_alive``), ``-1`` never (Ollama ``keep_alive: -1``; ``lms load`` without
    ``--ttl``); ``identifier``: the API name of the instance (``lms load
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
            if name == "ttl" and value == -1 and not isinstance(value, bool):
                continue  # never unload
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                forever = " (ttl: or -1, never unload)" if name == "ttl" else ""
                raise ConfigError(
                    f"{name}={value!r}: expected a whole number of at least 1{forever}"
                )
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


#: The verdicts of :class:`Estimate`.
VERDICTS = ("fits", "partial", "does_not_fit", "unknown")


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """Will ``model`` fit, before it is downloaded or loaded (:meth:`Driver.estimate`)?

    ``verdict``: ``"fits"`` (on the GPU; or in RAM on a machine without one),
    ``"partial"`` (fits, partly offloaded to the GPU and the rest in RAM), ``"does_not_fit"``,
    or ``"unknown"`` (``reason`` says what is missing). ``needed_bytes`` is the memory the
    model needs with ``context_length`` and ``gpu`` (its share on the GPU:
    ``gpu_bytes``); ``ram_bytes`` / ``vram_bytes`` what the machine has (``None``: not
    known, e.g. a remote Ollama). ``source`` names where the numbers come from."""

    model: str
    verdict: str
    reason: str
    source: str
    needed_bytes: int | None = None
    gpu_bytes: int | None = None
    ram_bytes: int | None = None
    vram_bytes: int | None = None
    context_length: int | None = None
    gpu: float | str | None = None

    @property
    def fits(self) -> bool:
        """Whether the model fits (wholly on the GPU or partly): loading it should work."""
        return self.verdict in ("fits", "partial")

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "fits": self.fits}


@dataclass(frozen=True, kw_only=True)
class PullReport:
    """What ``pull --update`` (:meth:`Driver.update`) did: the model's digest before and
    after the pull (``None`` before: it was not downloaded). ``changed`` is ``True`` when the
    pull brought a new version (or the first one), ``False`` when the model was already
    current. LM Studio lists no digest: its size in bytes stands in (``compared`` says
    which), so an update of exactly the same size reads as unchanged."""

    model: str
    digest_before: str | None
    digest_after: str | None
    changed: bool
    #: What was compared: ``"digest"`` (Ollama) or ``"size"`` (LM Studio).
    compared: str = "digest"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
