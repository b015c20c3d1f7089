"""Ollama's spec: ``ollama`` on PATH, its server at ``OLLAMA_HOST``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, cast

from .._platform import exe_name, windows
from ..model_ref import ModelRef
from ._spec import RuntimeSpec
from ._urls import parse_ollama_host

#: Where Ollama's installers put ``ollama`` on macOS and Linux (under the install root).
SYSTEM_PATHS: tuple[str, ...] = (
    "/usr/local/bin/ollama",
    "/usr/bin/ollama",
    "/opt/homebrew/bin/ollama",
    "/Applications/Ollama.app/Contents/Resources/ollama",
)


def _install_places(home: Path, root: Path) -> list[Path]:
    places: list[Path] = []
    if windows():
        local = os.environ.get("LOCALAPPDATA")
        if local:
            places.append(Path(local) / "Programs" / "Ollama" / "ollama.exe")
    else:
        places += [root / p.lstrip("/") for p in SYSTEM_PATHS]
    places.append(home / ".local" / "bin" / exe_name("ollama"))
    return places


def _read_url(value: str | None, variable: str) -> str:
    return parse_ollama_host(value, variable=variable)


def _model_store(home: Path) -> Path:
    """``OLLAMA_MODELS``, else ``~/.ollama/models``: where a server started here keeps models."""
    value = os.environ.get("OLLAMA_MODELS")
    return Path(value).expanduser() if value else home / ".ollama" / "models"


def _spell(ref: ModelRef, source: str) -> str:
    return ref.for_ollama(cast(Literal["ollama", "huggingface"], source))


OLLAMA = RuntimeSpec(
    id="ollama",
    tool="ollama",
    display_name="Ollama",
    url_variable="OLLAMA_HOST",
    bin_variable="LMSDRIVE_OLLAMA_BIN",
    install_places=_install_places,
    token_variables=("OLLAMA_API_KEY",),
    install_hint="Ollama is not installed. Please install from https://ollama.com",
    start_hint=(
        "start it with `ollama serve` (or the Ollama app), or set OLLAMA_HOST to where it listens"
    ),
    catalog="the Ollama library",
    model_hint=(
        "Check the name and tag (for example {example}), or set MODEL_SOURCE=huggingface "
        "for a Hugging Face repo (hf.co/user/repo:QUANT)."
    ),
    backend="lmsdrive.backends.ollama:OllamaBackend",
    read_url=_read_url,
    spell=_spell,
    matches=ModelRef.matches_ollama,
    model_examples=("llama3.2:3b", "qwen3:8b"),
    model_store=_model_store,
)
