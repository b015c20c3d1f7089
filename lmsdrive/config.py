"""Configuration from the environment.

=================  ==========================================================================
``BACKEND``        ``ollama`` (default) or ``lmstudio``
``MODEL_NAME``     the model to make ready (any form :mod:`lmsdrive.model_ref` accepts);
                   several, comma-separated, for ``init``, ``check`` and ``ensure_ready``
``MODEL_SOURCE``   ``ollama`` (default) or ``huggingface`` (Ollama only: pull ``hf.co/...``)
``LMSTUDIO_URL``   LM Studio's server, default ``http://localhost:1234``
``OLLAMA_HOST``    Ollama's server, in every form Ollama itself accepts
``LM_API_TOKEN``   LM Studio's API token (also ``LMSTUDIO_API_TOKEN``); ``OLLAMA_API_KEY``
                   Ollama's: sent as ``Authorization: Bearer …``, never shown
=================  ==========================================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from .errors import ConfigError
from .model_ref import ModelRef
from .runtimes import RuntimeSpec, get_runtime
from .runtimes._urls import parse_http_url, parse_ollama_host

__all__ = ["SOURCES", "Config", "parse_http_url", "parse_ollama_host", "split_models"]

SOURCES = ("ollama", "huggingface")


@dataclass(frozen=True)
class Config:
    """Which backend, which model, where its server is, and the token it wants.

    ``url`` is the selected backend's server (``None``: the runtime's default);
    ``api_token`` is sent as ``Authorization: Bearer …`` and never shown (not in ``repr``).
    """

    backend: str = "ollama"
    model_name: str | None = None
    model_source: Literal["ollama", "huggingface"] = "ollama"
    url: str | None = None
    api_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        spec = get_runtime(self.backend)
        object.__setattr__(self, "backend", spec.id)
        if self.model_source not in SOURCES:
            raise ConfigError(
                f"MODEL_SOURCE={self.model_source!r} is not supported; "
                f"choose one of: {', '.join(SOURCES)}"
            )
        if self.model_name is not None:
            for name in split_models(self.model_name) or [self.model_name]:
                ModelRef.parse(name)  # (a value naming no model at all is refused as such)
        if self.url is None:
            object.__setattr__(self, "url", spec.default_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: str | None) -> Config:
        """Read the configuration from ``env`` (default ``os.environ``); keyword overrides
        (``backend=``, ``model_name=``, ``url=``, ``api_token=``) win over the environment."""
        env = os.environ if env is None else env
        spec = get_runtime(overrides.get("backend") or env.get("BACKEND") or "ollama")
        model = overrides.get("model_name") or env.get("MODEL_NAME") or None
        source = (env.get("MODEL_SOURCE") or "ollama").strip().lower()
        url = overrides.get("url")
        token = overrides.get("api_token") or next(
            (env[v] for v in spec.token_variables if env.get(v, "").strip()), None
        )
        return cls(
            backend=spec.id,
            model_name=model.strip() if model else None,
            model_source=cast(Literal["ollama", "huggingface"], source),
            url=spec.read_url(url, "--url")
            if url
            else spec.read_url(env.get(spec.url_variable), spec.url_variable),
            api_token=token.strip() if token else None,
        )

    @property
    def runtime(self) -> RuntimeSpec:
        """The selected backend's spec."""
        return get_runtime(self.backend)

    def backend_url(self) -> str:
        """The base URL of the selected backend's server."""
        return self.url or self.runtime.default_url

    def model(self) -> ModelRef | None:
        names = split_models(self.model_name)
        return ModelRef.parse(names[0]) if names else None

    def model_for_backend(self) -> str | None:
        """``MODEL_NAME`` as the selected backend spells it (several: joined by ``, ``)."""
        names = self.models_for_backend()
        return ", ".join(names) if names else None

    def models_for_backend(self) -> list[str]:
        """Every model ``MODEL_NAME`` names (comma-separated), as the backend spells it."""
        spell = self.runtime.spell
        return [spell(ModelRef.parse(n), self.model_source) for n in split_models(self.model_name)]


def split_models(value: str | None) -> list[str]:
    """The model names of a comma-separated list, in order, each once.

    >>> split_models(" llama3.2:1b, qwen3:0.6b,llama3.2:1b,")
    ['llama3.2:1b', 'qwen3:0.6b']
    """
    names = [n.strip() for n in (value or "").split(",")]
    return list(dict.fromkeys(n for n in names if n))
