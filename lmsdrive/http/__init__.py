"""HTTP clients of the runtimes' servers: one pooled ``httpx.Client`` per backend, connect
and read timeouts set apart, every body read by its parser in :mod:`lmsdrive.parsers`, and
errors mapped to :mod:`lmsdrive.errors` (see :mod:`lmsdrive.http._client`)."""

from __future__ import annotations

from ._client import BaseAPI, ChatStream, Generation, GenerationStream, ResultStream
from .lmstudio import LMStudioAPI
from .ollama import OllamaAPI, PullStream

__all__ = [
    "BaseAPI",
    "ChatStream",
    "Generation",
    "GenerationStream",
    "LMStudioAPI",
    "OllamaAPI",
    "PullStream",
    "ResultStream",
]
