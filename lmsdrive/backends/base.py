"""The protocol every backend implements (the typed results live in :mod:`lmsdrive._types`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import urlsplit

from .._types import (
    DaemonState,
    Generation,
    LoadedModel,
    LoadOptions,
    LocalModel,
    Progress,
    Readiness,
    StartResult,
)
from ..discovery import find_binary
from ..errors import ConfigError, NotInstalledError, ServerNotRunningError
from ..model_ref import ModelRef

if TYPE_CHECKING:
    from ..runtimes import RuntimeSpec

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
    def start(self, timeout: float = 60.0) -> StartResult: ...
    @property
    def remote(self) -> bool: ...
    @property
    def via_api(self) -> bool: ...
    def not_answering(self) -> ServerNotRunningError: ...
    def list_models(self) -> list[LocalModel]: ...
    def has_model(self, model: str) -> bool: ...
    def pull(self, model: str) -> Iterator[Progress]: ...
    def load(self, model: str, options: LoadOptions | None = None) -> LoadedModel: ...
    def loaded_models(self) -> list[LoadedModel]: ...
    def is_loaded(self, model: str) -> bool: ...
    def unload(self, model: str) -> None: ...
    def generate(
        self, model: str, prompt: str, *, temperature: float = 0.1, max_tokens: int = 100
    ) -> Generation: ...
    def generate_stream(
        self, model: str, prompt: str, *, temperature: float = 0.1, max_tokens: int = 100
    ) -> Iterator[str]: ...
    def binary(self) -> Path: ...
    def daemon_status(self) -> DaemonState | None: ...
    def daemon_up(self) -> DaemonState: ...
    def daemon_down(self) -> str: ...
    def version(self, *, server: bool = True) -> str | None: ...
    def close(self) -> None: ...

    #: The CLI lists downloaded and loaded models without a server.
    lists_offline: bool


class RuntimeBackend:
    """What the two CLI-driven backends share: a spec, a base URL, an HTTP client for it, an
    optional binary, and the model-first calls that only differ by how the runtime spells a
    model. Subclasses set ``spec`` and implement the rest of :class:`Backend`."""

    spec: ClassVar[RuntimeSpec]
    lists_offline: ClassVar[bool] = False

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

    def not_answering(self) -> ServerNotRunningError:
        """The error for a remote server that does not answer (none is started there)."""
        return ServerNotRunningError(
            f"{self.display_name} server at {self._url} does not answer, and lmsdrive starts "
            f"servers only on this machine: start it on that host, or set "
            f"{self.spec.url_variable} to where it listens."
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

    # -- models ----------------------------------------------------------------------------
    def list_models(self) -> list[LocalModel]:
        raise NotImplementedError

    def loaded_models(self) -> list[LoadedModel]:
        raise NotImplementedError

    def has_model(self, model: str) -> bool:
        ref = ModelRef.parse(model)  # a bad name is refused before any process or request
        return any(self.spec.matches(ref, m.name) for m in self.list_models())

    def is_loaded(self, model: str) -> bool:
        ref = ModelRef.parse(model)
        return any(
            self.spec.matches(ref, m.name) or self.spec.matches(ref, m.identifier)
            for m in self.loaded_models()
        )

    def daemon_status(self) -> DaemonState | None:
        """The runtime's daemon, or ``None`` for a runtime that has none."""
        return None

    def daemon_up(self) -> DaemonState:
        raise ConfigError(f"{self.display_name} has no daemon to start: start its server")

    def daemon_down(self) -> str:
        raise ConfigError(f"{self.display_name} has no daemon to stop")

    def generate(
        self, model: str, prompt: str, *, temperature: float = 0.1, max_tokens: int = 100
    ) -> Generation:
        result: Generation = self.api.generate(
            self.spell(model), prompt, temperature=temperature, max_tokens=max_tokens
        )
        return result

    def generate_stream(
        self, model: str, prompt: str, *, temperature: float = 0.1, max_tokens: int = 100
    ) -> Iterator[str]:
        """The answer's text pieces as the server sends them; ``.result`` is the whole
        :class:`Generation` once exhausted. Closing it closes the HTTP response."""
        stream: Iterator[str] = self.api.generate_stream(
            self.spell(model), prompt, temperature=temperature, max_tokens=max_tokens
        )
        return stream
