"""Configuration: arguments, then the environment, then the defaults.

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


@dataclass(frozen=True, init=False)
class Config:
    """Which backend, which model, where its server is, and the token it wants.

    An argument given wins; one not given (``None``; an empty ``url`` or ``api_token`` too)
    comes from ``env`` (default ``os.environ``: the variables in the table above), then the
    default. So
    ``Config(backend="ollama", model_name="llama3.2:3b")`` goes to the server ``OLLAMA_HOST``
    names, with ``OLLAMA_API_KEY``; ``Config(..., env={})`` ignores the environment.

    ``url`` is the selected backend's server (the runtime's default when neither given nor
    set); ``api_token`` is sent as ``Authorization: Bearer …`` and never shown (not in
    ``repr``).
    """

    backend: str
    model_name: str | None
    model_source: Literal["ollama", "huggingface"]
    url: str | None
    api_token: str | None = field(repr=False)

    def __init__(
        self,
        backend: str | None = None,
        model_name: str | None = None,
        model_source: str | None = None,
        url: str | None = None,
        api_token: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        spec = get_runtime(backend if backend is not None else env.get("BACKEND") or "ollama")
        model = model_name if model_name is not None else env.get("MODEL_NAME") or None
        if model_source is None:
            model_source = env.get("MODEL_SOURCE") or "ollama"
        source = model_source.strip().lower()
        if source not in SOURCES:
            raise ConfigError(
                f"MODEL_SOURCE={source!r} is not supported; choose one of: {', '.join(SOURCES)}"
            )
        if model is not None:
            model = model.strip() if model_name is None else model
            for name in split_models(model) or [model]:  # (a value naming no model is refused)
                ModelRef.parse(name)  # the backend's own spelling is checked where it is used
        token = api_token or next(
            (env[v] for v in spec.token_variables if env.get(v, "").strip()), None
        )
        value, variable = (url, "url") if url else (env.get(spec.url_variable), spec.url_variable)
        fields = {
            "backend": spec.id,
            "model_name": model or None,
            "model_source": cast(Literal["ollama", "huggingface"], source),
            "url": spec.read_url(value, variable),
            "api_token": token.strip() if token else None,
        }
        for name, v in fields.items():
            object.__setattr__(self, name, v)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: str | None) -> Config:
        """``Config(**overrides, env=env)``: keyword overrides (``backend=``,
        ``model_name=``, ``model_source=``, ``url=``, ``api_token=``) win over ``env``
        (default ``os.environ``); ``from_env({}, ...)`` reads no environment. A bad ``url``
        override is named ``--url`` in the error (the CLI's flag)."""
        overrides = {k: v for k, v in overrides.items() if v}  # an empty flag is not given
        url = overrides.pop("url", None)
        if url:
            spec = get_runtime(
                overrides.get("backend")
                or (os.environ if env is None else env).get("BACKEND")
                or "ollama"
            )
            url = spec.read_url(url, "--url")
        return cls(env=env, url=url, **overrides)

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
