"""Test helpers for lmsdrive and for users testing their own automation without a GPU:
the fixture tree, fake ``ollama``/``lms`` runtimes that replay it, and a real llama.cpp
server helper.

>>> from lmsdrive.testing import FakeRuntime, FakeServer, iter_fixtures
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "FakeRuntime": ".runtime",
    "FakeServer": ".fake_server",
    "Fixture": "..golden",
    "iter_fixtures": "..golden",
    "LlamaServer": ".llama_server",
    "write_tiny_llama": ".tiny_model",
}

__all__ = [
    "FakeRuntime",
    "FakeServer",
    "Fixture",
    "LlamaServer",
    "iter_fixtures",
    "write_tiny_llama",
]

if TYPE_CHECKING:
    from ..golden import Fixture, iter_fixtures
    from .fake_server import FakeServer
    from .llama_server import LlamaServer
    from .runtime import FakeRuntime
    from .tiny_model import write_tiny_llama


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lmsdrive.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
