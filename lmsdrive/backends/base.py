"""The protocol every backend implements (the typed results live in :mod:`lmsdrive._types`)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import urlsplit

from .._types import (
    ChatReply,
    ChatRequest,
    DaemonState,
    Estimate,
    Generation,
    KeepAlive,
    LoadedModel,
    LoadOptions,
    LocalModel,
    Progress,
    Readiness,
    StartResult,
)
from ..discovery import find_binary
from ..errors import (
    APIError,
    CapabilityError,
    ConfigError,
    InvalidMessageError,
    NotInstalledError,
    NotStartedByLmsdriveError,
    ServerNotRunningError,
)
from ..model_ref import ModelRef
from ..parsers._base import Result
from ..parsers._stream import Reader
from ._one_download import download_key, one_download
from ._pull import PullOutcome, raise_for_outcome, stream_progress
from ._started import StartedServer, forget_started, recorded

if TYPE_CHECKING:
    from ..estimate import Memory
    from ..http._client import ChatStream
    from ..runtimes import RuntimeSpec

#: A chat message: ``{"role": "system" | "user" | "assistant", "content": "..."}``.
Message = Mapping[str, Any]
#: Structured output: ``"json"`` or a JSON schema (a dict).
Format = str | dict[str, Any]


#: The roles both runtimes' chat endpoints take.
ROLES = ("system", "user", "assistant", "tool")


def check_messages(messages: Sequence[Message]) -> None:
    """Refuse, before any request, what neither runtime reads as a conversation:
    :class:`InvalidMessageError` naming the message and what is wrong.

    >>> check_messages([{"role": "user", "content": "hi"}])
    >>> check_messages([{"role": "bogus", "content": "hi"}])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lmsdrive.errors.InvalidMessageError: message 1: role 'bogus' is not one of system, ...
    """
    if isinstance(messages, (str, bytes)) or not messages:
        raise InvalidMessageError(
            'messages: expected a non-empty list of {"role": ..., "content": ...} dicts'
        )
    for n, message in enumerate(messages, 1):
        if not isinstance(message, Mapping):
            raise InvalidMessageError(f"message {n}: expected a dict, got {type(message).__name__}")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise InvalidMessageError(
                f"message {n}: role {role!r} is not one of {', '.join(ROLES)}"
            )
        if not isinstance(content, (str, list)):
            raise InvalidMessageError(
                f"message {n}: 'content' should be text, got {type(content).__name__}"
            )


#: A download command's reader: progress events, then the command's parse result.
PullReader = Reader[Progress, Result]

__all__ = ["Backend", "RuntimeBackend", "close_iterator", "is_local_url"]

#: Host names and addresses of this machine (``0.0.0.0``/``::`` as Ollama's clients read them).
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"})


def is_local_url(url: str) -> bool:
    """Whether ``url``'s server is one lmsdrive can start on this machine (``localhost``,
    ``127.0.0.1``, ``::1``, ``0.0.0.0``): the one test of "remote" in lmsdrive. Other
    loopback addresses (``127.0.0.2``) count as remote: the runtimes' servers start on
    ``127.0.0.1``.

    >>> is_local_url("http://127.0.0.1:11434"), is_local_url("http://[::1]:1234")
    (True, True)
    >>> is_local_url("http://gpu-box:11434"), is_local_url("https://ollama.com:443")
    (False, False)
    """
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    return host in _LOCAL_HOSTS


def close_iterator(it: object) -> None:
    """Close a generator (or any iterator with ``close``), e.g. to stop a download's child."""
    close = getattr(it, "close", None)
    if callable(close):
        close()


class Backend(Protocol):
    """What a runtime can do, the same on Ollama and LM Studio."""

    @property
    def name(self) -> str: ...
    @property
    def display_name(self) -> str: ...

    @property
    def url(self) -> str: ...
    def is_installed(self) -> bool: ...
    def is_running(self) -> bool: ...
    def readiness(self, model: str) -> Readiness: ...
    def probe(self, models: Sequence[str]) -> list[Readiness]: ...
    def time_limit(self, seconds: float) -> AbstractContextManager[None]: ...
    def probe_answer(self, model: str) -> Generation: ...
    def start(self, timeout: float = 60.0) -> StartResult: ...
    @property
    def remote(self) -> bool: ...
    @property
    def via_api(self) -> bool: ...
    @property
    def pulls_via_api(self) -> bool: ...
    def not_answering(self, reason: str | None = None) -> ServerNotRunningError: ...
    def list_models(self) -> list[LocalModel]: ...
    def has_model(self, model: str) -> bool: ...
    def fingerprint(self, model: str) -> str | None: ...
    @property
    def fingerprint_kind(self) -> str: ...
    @property
    def pull_says_present(self) -> bool: ...
    @property
    def loads_in_place(self) -> bool: ...
    def pull(self, model: str) -> Iterator[Progress]: ...
    def load(self, model: str, options: LoadOptions | None = None) -> LoadedModel: ...
    def loaded_models(self) -> list[LoadedModel]: ...
    def is_loaded(self, model: str) -> bool: ...
    def unload(self, model: str) -> None: ...
    def check_delete(self, model: str) -> None: ...
    def delete(self, model: str) -> None: ...
    def generate(
        self,
        model: str,
        prompt: str,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> Generation: ...
    def generate_stream(
        self,
        model: str,
        prompt: str,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> Iterator[str]: ...
    def chat(self, model: str, request: ChatRequest) -> ChatReply: ...
    def chat_stream(self, model: str, request: ChatRequest) -> ChatStream: ...
    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]: ...
    def capabilities(self, model: str) -> frozenset[str] | None: ...
    def estimate(
        self, model: str, options: LoadOptions | None = None, memory: Memory | None = None
    ) -> Estimate: ...
    def binary(self) -> Path: ...
    def check_load_options(self, options: LoadOptions) -> None: ...
    def daemon_status(self) -> DaemonState | None: ...
    def stop(self, timeout: float = 30.0) -> str: ...
    def daemon_up(self) -> DaemonState: ...
    def daemon_down(self) -> str: ...
    def version(self, *, server: bool = True) -> str | None: ...
    def close(self) -> None: ...
    @property
    def lists_offline(self) -> bool:
        """The CLI lists downloaded and loaded models without a server (read-only, so a
        class constant, an attribute or a property all satisfy it)."""
        ...

    #: Facts about the runtime found on the way (an older CLI), each said once; not problems.
    notes: list[str]


class RuntimeBackend:
    """What the two CLI-driven backends share: a spec, a base URL, an HTTP client for it, an
    optional binary, and the model-first calls that only differ by how the runtime spells a
    model. Subclasses set ``spec`` and implement the rest of :class:`Backend`."""

    spec: ClassVar[RuntimeSpec]
    lists_offline: ClassVar[bool] = False
    #: Whether the runtime's own download says a model already there is already there
    #: (``lms get``, REST v1 ``already_downloaded``). ``ollama pull`` does not: it asks the
    #: registry again and reports every layer on disk once, at 100 %, like a download.
    pull_says_present: ClassVar[bool] = False
    #: Whether loading a model already loaded only sets its options on that copy (Ollama:
    #: a load's ``keep_alive`` refreshes its expiry) rather than adding a second copy
    #: (``lms load`` → ``MODEL:2``).
    loads_in_place: ClassVar[bool] = False
    #: How long a download may print nothing before it counts as hung (seconds).
    pull_idle_timeout: float = 600.0

    def __init__(
        self,
        url: str | None = None,
        *,
        binary: str | os.PathLike[str] | None = None,
        api: Any = None,
        api_token: str | None = None,
        remote: bool | None = None,
    ) -> None:
        self._url = (url or self.spec.default_url).rstrip("/")
        self.notes: list[str] = []
        self._binary_arg = binary
        self._remote = remote
        self.api = api if api is not None else self._make_api(self._url, api_token)

    def _make_api(self, url: str, api_token: str | None) -> Any:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return self.spec.id

    @property
    def display_name(self) -> str:
        return self.spec.display_name

    @property
    def url(self) -> str:
        return self._url

    def close(self) -> None:
        self.api.close()

    @property
    def remote(self) -> bool:
        """The server is on another machine (:func:`is_local_url`; ``remote=`` overrides)."""
        return not is_local_url(self._url) if self._remote is None else self._remote

    @property
    def via_api(self) -> bool:
        """Downloads and loads go through the server's API: the server is remote, or no CLI
        is installed here. Otherwise they run the CLI on this machine."""
        return self.remote or not self.is_installed()

    def not_answering(self, reason: str | None = None) -> ServerNotRunningError:
        """The error every face shows for a server that does not answer: where it is (the
        URL), ``reason`` if known, and what to do: start it on its host (a remote server:
        lmsdrive starts none there), start it here (``startable``: the CLI is installed, so
        ``ensure_ready`` can), or install the runtime or point the URL variable elsewhere."""
        why = f" ({reason})" if reason else ""
        where = f"{self.display_name} server at {self._url} does not answer{why}"
        variable = self.spec.url_variable
        if self.remote:
            return ServerNotRunningError(
                f"{where}, and lmsdrive starts servers only on this machine: start it on that "
                f"host, or set {variable} to where it listens.",
                reason=reason,
                url=self._url,
            )
        if self.is_installed():
            return ServerNotRunningError(
                f"{where}: {self.spec.start_hint}.", reason=reason, url=self._url, startable=True
            )
        return ServerNotRunningError(
            f"{where}, and lmsdrive cannot start one: {self.spec.install_hint.rstrip('.')}. "
            f"Or set {variable} to where a server listens.",
            reason=reason,
            url=self._url,
        )

    def spell(self, model: str) -> str:
        """``model`` as this runtime's commands and API take it (refuses flag-like names)."""
        return self.spec.spell(ModelRef.parse(model), "ollama")

    def matches(self, model: str, listed: str) -> bool:
        return self.spec.matches(ModelRef.parse(model), listed)

    # -- installed / running ---------------------------------------------------------------
    def binary(self) -> Path:
        return find_binary(self.spec.tool, self._binary_arg)

    def is_installed(self) -> bool:
        try:
            self.binary()
        except NotInstalledError:
            return False
        return True

    def is_running(self) -> bool:
        return bool(self.api.is_running())

    # -- stop what lmsdrive started --------------------------------------------------------
    def stop(self, timeout: float = 30.0) -> str:
        """Stop the server lmsdrive started at this URL (from the record its start left in
        the state dir): ``"stopped"``, or ``"not_running"`` when none answers. A server that
        lmsdrive did not start, or that was restarted since, is never touched:
        :class:`NotStartedByLmsdriveError`."""
        rec = recorded(self.name, self._url)
        if rec is not None and not self._still_ours(rec):
            forget_started(self.name, self._url)  # stale: that process is gone
            rec = None
        if rec is None:
            if self.is_running():
                raise NotStartedByLmsdriveError(
                    f"The {self.display_name} server at {self._url} was not started by "
                    "lmsdrive (or was restarted since), so lmsdrive leaves it running: stop it "
                    "the way it was started (its service manager, or the runtime's own command)."
                )
            return "not_running"
        self._stop_started(rec, timeout)
        forget_started(self.name, self._url)
        return "stopped"

    def _still_ours(self, rec: StartedServer) -> bool:
        """The recorded server is the one running now."""
        raise NotImplementedError

    def _stop_started(self, rec: StartedServer, timeout: float) -> None:
        raise NotImplementedError

    def readiness(self, model: str) -> Readiness:
        raise NotImplementedError

    def probe_answer(self, model: str) -> Generation:
        """A one-token answer for a health check (``lmsdrive check --answer``), changing
        nothing it can avoid changing."""
        return self.generate(model, "Hi", temperature=0.0, max_tokens=1)

    def time_limit(self, seconds: float) -> AbstractContextManager[None]:
        """Requests inside the block wait at most ``seconds`` per step (a health check's
        deadline)."""
        limit: AbstractContextManager[None] = self.api.time_limit(seconds)
        return limit

    def probe(self, models: Sequence[str]) -> list[Readiness]:
        """:meth:`readiness` of several models for a health check: the runtimes' backends
        ask the server's API only (no process, two requests at most); this default asks
        :meth:`readiness` once per model."""
        return [self.readiness(m) for m in models]

    # -- models ----------------------------------------------------------------------------
    def list_models(self) -> list[LocalModel]:
        raise NotImplementedError

    def loaded_models(self) -> list[LoadedModel]:
        raise NotImplementedError

    def has_model(self, model: str) -> bool:
        ref = ModelRef.parse(model)  # a bad name is refused before any process or request
        return any(self.spec.matches(ref, m.name) for m in self.list_models())

    #: What :meth:`fingerprint` compares: ``"digest"`` (Ollama) or ``"size"``.
    fingerprint_kind: ClassVar[str] = "size"

    def fingerprint(self, model: str) -> str | None:
        """What tells one downloaded version of ``model`` from another (``None``: not
        downloaded): here its size in bytes, for runtimes that list no digest."""
        ref = ModelRef.parse(model)
        for m in self.list_models():
            if self.spec.matches(ref, m.name):
                return None if m.size_bytes is None else str(m.size_bytes)
        return None

    def is_loaded(self, model: str) -> bool:
        ref = ModelRef.parse(model)
        return any(
            self.spec.matches(ref, m.name) or self.spec.matches(ref, m.identifier)
            for m in self.loaded_models()
        )

    def pull(self, model: str) -> Iterator[Progress]:
        """Download ``model``: typed progress events while it runs, through the CLI on this
        machine, or the server's API when :attr:`pulls_via_api`. When the iterator is exhausted:
        :class:`ModelNotFoundError` for an unknown name, :class:`PullError` for any other
        failure (with the runtime's own message). Closing it early stops the download.

        One download at a time: while another process on this machine downloads the same
        model to the same server (a server on this machine: to the same model store, which
        servers on two ports share), this one follows that download's progress, then
        downloads only if the model is still missing (:mod:`._one_download`)."""
        name = self.spell(model)  # refuses flag-like names before any process starts
        store = self.spec.model_store
        where = self._url if self.remote or store is None else str(store(Path.home()))
        yield from one_download(
            download_key(self.name, where, name),
            lambda: self._pull_now(name),
            lambda: self.has_model(name),
            idle_timeout=self.pull_idle_timeout,
        )

    @property
    def pulls_via_api(self) -> bool:
        """Downloads go through the server's API (:attr:`via_api`; a runtime whose CLI
        cannot carry a configured token adds that case)."""
        return self.via_api

    def _pull_now(self, name: str) -> Iterator[Progress]:
        if self.pulls_via_api:
            yield from self._pull_api(name)
            return
        args, reader, command = self._pull_command(name)
        outcome = PullOutcome()
        yield from stream_progress(
            [str(self.binary()), *args],
            reader,
            outcome,
            idle_timeout=self.pull_idle_timeout,
            command=command,
        )
        raise_for_outcome(
            outcome,
            what=name,
            command=command,
            succeeded=self._pulled(outcome.result),
            result=outcome.result,
            token_variables=self.spec.token_variables,
        )

    def _pull_command(self, name: str) -> tuple[list[str], PullReader, str]:
        """(the CLI's arguments, the reader of its output, the command's name) of a pull."""
        raise NotImplementedError

    @staticmethod
    def _pulled(result: Result | None) -> bool:
        """Whether the pull parser's result says the download succeeded."""
        raise NotImplementedError

    def _pull_api(self, name: str) -> Iterator[Progress]:
        raise NotImplementedError

    def check_delete(self, model: str) -> None:
        """Refuse (:class:`CapabilityError`), before any request, a delete this runtime
        cannot do: every runtime that does not override it (LM Studio: neither ``lms`` nor
        its APIs have a delete)."""
        raise CapabilityError(
            f"{self.display_name} cannot delete a model: neither `{self.spec.tool}` nor its "
            f"server's APIs have a delete. Remove {model} in the {self.display_name} app, or "
            "delete its files from the models folder on that machine."
        )

    def delete(self, model: str) -> None:
        """Delete a downloaded model (:meth:`check_delete` first)."""
        self.check_delete(model)
        raise NotImplementedError  # a runtime that can delete overrides both

    def check_load_options(self, options: LoadOptions) -> None:
        """Refuse (:class:`ConfigError`), before any work, load options this runtime's load
        path cannot honour; every option is honoured unless a backend says otherwise."""

    def estimate(
        self, model: str, options: LoadOptions | None = None, memory: Memory | None = None
    ) -> Estimate:
        """Will ``model`` fit (:mod:`lmsdrive.estimate`)? A runtime that cannot tell raises
        :class:`CapabilityError` before any work."""
        raise CapabilityError(
            f"{self.display_name} cannot estimate a model's memory: load it and see "
            "(`lmsdrive load MODEL`)"
        )

    def daemon_status(self) -> DaemonState | None:
        """The runtime's daemon, or ``None`` for a runtime that has none."""
        return None

    def daemon_up(self) -> DaemonState:
        raise ConfigError(f"{self.display_name} has no daemon to start: start its server")

    def daemon_down(self) -> str:
        raise ConfigError(f"{self.display_name} has no daemon to stop")

    def generate(
        self,
        model: str,
        prompt: str,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> Generation:
        """One answer to ``prompt``; unset sampling is the model's own default."""
        result: Generation = self.api.generate(
            self.spell(model),
            prompt,
            temperature=temperature,
            max_tokens=max_tokens,
            keep_alive=keep_alive,
        )
        return result

    def generate_stream(
        self,
        model: str,
        prompt: str,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> Iterator[str]:
        """The answer's text pieces as the server sends them; ``.result`` is the whole
        :class:`Generation` once exhausted. Closing it closes the HTTP response."""
        stream: Iterator[str] = self.api.generate_stream(
            self.spell(model),
            prompt,
            temperature=temperature,
            max_tokens=max_tokens,
            keep_alive=keep_alive,
        )
        return stream

    # -- chat, embeddings, capabilities ------------------------------------------------------
    #: The server tells whether a model can think (Ollama's ``thinking`` capability); where
    #: it cannot tell, ``think`` is not checked.
    reports_thinking: ClassVar[bool] = False

    def _model_capabilities(self, name: str) -> frozenset[str] | None:
        """What the server says ``name`` can do (``completion``, ``embedding``,
        ``thinking``, ``vision``, ``tools``), or ``None`` when it cannot tell."""
        return None

    def capabilities(self, model: str) -> frozenset[str] | None:
        """What ``model`` can do, asked once per model and kept (``None``: unknown, e.g. an
        older server or another OpenAI-compatible one: then nothing is refused up front)."""
        name = self.spell(model)
        cache: dict[str, frozenset[str] | None] = self.__dict__.setdefault("_capabilities", {})
        if name not in cache:
            try:
                cache[name] = self._model_capabilities(name)
            except APIError:
                cache[name] = None  # the server has no such endpoint: cannot tell
        return cache[name]

    def _require(self, name: str, need: str, doing: str, instead: str) -> None:
        caps = self.capabilities(name)
        if caps is None or need in caps:
            return
        has = ", ".join(sorted(caps)) or "none"
        raise CapabilityError(
            f"{name} cannot {doing}: {self.display_name} reports its capabilities as "
            f"[{has}]. {instead}"
        )

    def _check_chat(self, name: str, think: bool | str | None) -> None:
        self._require(
            name,
            "completion",
            "chat",
            "It is an embedding model: use embed() with it, and chat with a chat model.",
        )
        if think not in (None, False) and self.reports_thinking:
            self._require(
                name,
                "thinking",
                "think",
                "Leave think unset (or False), or pick a thinking model (qwen3, deepseek-r1, "
                "gpt-oss).",
            )

    def _chat_options(
        self, options: Mapping[str, Any] | None, think: bool | str | None
    ) -> dict[str, Any]:
        """The runtime's keyword arguments of ``api.chat`` for ``options`` and ``think``."""
        raise NotImplementedError

    def chat(self, model: str, request: ChatRequest) -> ChatReply:
        """One answer to ``request.messages``; refused up front (:class:`CapabilityError`)
        when the server says the model cannot chat, or cannot think while ``think`` is
        asked; a malformed conversation is an :class:`InvalidMessageError`."""
        name, kwargs = self._chat_call(model, request)
        reply: ChatReply = self.api.chat(name, request.messages, **kwargs)
        return reply

    def chat_stream(self, model: str, request: ChatRequest) -> ChatStream:
        """The answer's pieces as they arrive; ``.result`` is the :class:`ChatReply`."""
        name, kwargs = self._chat_call(model, request)
        stream: ChatStream = self.api.chat_stream(name, request.messages, **kwargs)
        return stream

    def _chat_call(self, model: str, request: ChatRequest) -> tuple[str, dict[str, Any]]:
        """The checks every chat call makes, then (model name, the client's keywords)."""
        from ..http._messages import has_images

        name = self.spell(model)
        check_messages(request.messages)
        self._check_chat(name, request.think)
        kwargs: dict[str, Any] = {
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "format": request.format,
            **self._chat_options(request.options, request.think),
        }
        if request.tools:
            self._require(
                name,
                "tools",
                "call tools",
                "Leave tools out, or pick a model trained for tool use (Ollama: llama3.1, "
                "llama3.2, qwen2.5, qwen3; LM Studio: one whose capabilities list tool_use).",
            )
            kwargs["tools"] = request.tools
        if has_images(request.messages):
            self._require(
                name,
                "vision",
                "read images",
                "Leave the images out, or pick a vision model (Ollama: gemma3, llava, "
                "qwen2.5vl; LM Studio: a model of type vlm).",
            )
        if request.keep_alive is not None:
            kwargs["keep_alive"] = request.keep_alive
        return name, kwargs

    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order; refused up front when the server says the model
        is not an embedding model."""
        name = self.spell(model)
        self._require(
            name,
            "embedding",
            "embed",
            "It is a chat model: embed with an embedding model (Ollama: nomic-embed-text, "
            "all-minilm; LM Studio: text-embedding-nomic-embed-text-v1.5).",
        )
        vectors: list[list[float]] = self.api.embed(name, list(texts)).embeddings
        return vectors
