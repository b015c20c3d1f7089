"""The registry of fake runtimes: one line per runtime, naming the module that fakes it.

Each module (:mod:`.fake_ollama`, :mod:`.fake_lmstudio`) holds its runtime whole: the
executable (its CLI), its HTTP routes and how it prints, and ends with a :class:`FakeSpec`
named ``FAKE``. The shared plumbing dispatches through this registry only: the executable
shims (:func:`lmsdrive.testing.fake_cli.main`), the HTTP server
(:class:`lmsdrive.testing.fake_server.FakeServer`: a ``flavor`` is a runtime's name, or
``"both"`` for every route set on one port), the state (one
:class:`~lmsdrive.testing.fake_state.BackendState` per runtime) and
:class:`~lmsdrive.testing.runtime.FakeRuntime` (an executable, a port and a server each).

A third runtime's fake is a new module with its ``FAKE`` and one line in :data:`FAKES`.
"""

from __future__ import annotations

import importlib
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .fake_server import Handler
    from .fake_state import BackendState, Loaded, Model

#: Runtime name (the executable's name) → the module holding its fake.
FAKES: Mapping[str, str] = {
    "ollama": ".fake_ollama",
    "lms": ".fake_lmstudio",
}


class Cli(Protocol):
    def run(self, args: list[str]) -> int: ...


@dataclass(frozen=True)
class FakeSpec:
    """What the shared plumbing needs to know of one fake runtime."""

    #: The executable's name and the key of its state (``ollama``, ``lms``).
    name: str
    #: ``cli(state_path).run(argv[1:])`` is the executable.
    cli: Callable[[Path], Cli]
    #: Its HTTP routes: a :class:`~lmsdrive.testing.fake_server.Handler` subclass whose
    #: ``route(path)`` answers and returns True, or returns False for a route it lacks.
    routes: type[Handler]
    #: The variables that point clients at its server on ``port``.
    env: Callable[[int], dict[str, str]]
    #: Its spelling of a model name (``llama3.2`` → ``llama3.2:latest``).
    normalize: Callable[[str], str]
    #: A model it has loaded from the start (``FakeRuntime(models_loaded=...)``).
    loaded: Callable[[Model, float], Loaded]
    #: Starts its server detached for ``FakeRuntime``: ``(state_path, bin_dir, env, port)``
    #: → the process and the path to probe until it answers.
    start_server: Callable[[Path, Path, dict[str, str], int], tuple[subprocess.Popen[bytes], str]]
    #: Seeds its state for ``FakeRuntime``: ``(side, port, server_or_models_loaded)``.
    seed: Callable[[BackendState, int, bool], None] = lambda side, port, up: None


def get_fake(name: str) -> FakeSpec:
    """The spec of a registered runtime (``ValueError`` for another name)."""
    module = FAKES.get(name)
    if module is None:
        raise ValueError(f"unknown backend {name!r}; expected one of {tuple(FAKES)}")
    spec: FakeSpec = importlib.import_module(module, __package__).FAKE
    return spec
