"""What a backend looks like right now: installed where, which version, server up, models.

Usage (needs a runtime, so not a doctest)::

    from lmsdrive import Driver
    from lmsdrive.status import get_status

    get_status(Driver()).to_dict()
    # {"backend": "ollama", "installed": true, "binary": "/usr/local/bin/ollama", ...}

:func:`get_status` never raises for runtime problems: what it could not find out is
``None`` and the reason goes to ``problems``.

JSON (``Status.to_dict()``)::

    {
      "backend":          "ollama" | "lmstudio",
      "display_name":     string,         # "Ollama", "LM Studio"
      "installed":        boolean,
      "binary":           string | null,  # where the CLI was found
      "version":          string | null,  # the server's version (Ollama /api/version),
                                          # else the CLI's own
      "url":              string,         # the server the configuration points at
      "running":          boolean,        # the server answers
      "model":            string | null,  # the configured model, as the backend spells it
      "model_downloaded": boolean | null, # null: no model configured, or could not tell
      "model_loaded":     boolean | null,
      "ready":            boolean,        # running, and the model downloaded and loaded
      "downloaded":       [{"name", "size_bytes", "type"}] | null,   # null: could not tell
      "loaded":           [{"name", "identifier", "size_bytes", "context_length"}] | null,
      "daemon":           {"running", "pid", "version", "is_daemon"} | null,
                                          # LM Studio's llmster; null: no daemon (Ollama)
      "problems":         [string]        # what could not be found out, and why (a server
                                          # that does not answer: where, and what to do)
      "notes":            [string]        # facts found on the way, not problems (an lms
                                          # older than 0.4: no `daemon` command)
    }
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._types import DaemonState, LoadedModel, LocalModel
from .config import split_models
from .errors import LmsdriveError
from .model_ref import ModelRef
from .runtimes import get_runtime

if TYPE_CHECKING:
    from .driver import Driver

__all__ = ["Status", "get_status"]


@dataclass(frozen=True)
class Status:
    """A snapshot of one backend's state (see the module docstring for the JSON)."""

    backend: str
    display_name: str
    installed: bool
    binary: str | None
    version: str | None
    url: str
    running: bool
    model: str | None = None
    downloaded: list[LocalModel] | None = None
    loaded: list[LoadedModel] | None = None
    problems: list[str] = field(default_factory=list)
    daemon: DaemonState | None = None
    notes: list[str] = field(default_factory=list)

    def _every(self, listed: list[str]) -> bool:
        """Whether every configured model (``model`` may list several) is in ``listed``."""
        spec = get_runtime(self.backend)
        refs = [ModelRef.parse(n) for n in split_models(self.model)]
        return all(any(spec.matches(ref, name) for name in listed) for ref in refs)

    @property
    def model_downloaded(self) -> bool | None:
        if self.model is None or self.downloaded is None:
            return None
        return self._every([m.name for m in self.downloaded])

    @property
    def model_loaded(self) -> bool | None:
        if self.model is None or self.loaded is None:
            return None
        return self._every([n for m in self.loaded for n in (m.name, m.identifier)])

    @property
    def ready(self) -> bool:
        return self.running and bool(self.model_downloaded) and bool(self.model_loaded)

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "display_name": self.display_name,
            "installed": self.installed,
            "binary": self.binary,
            "version": self.version,
            "url": self.url,
            "running": self.running,
            "model": self.model,
            "model_downloaded": self.model_downloaded,
            "model_loaded": self.model_loaded,
            "ready": self.ready,
            "downloaded": None
            if self.downloaded is None
            else [
                {"name": m.name, "size_bytes": m.size_bytes, "type": m.type}
                for m in self.downloaded
            ],
            "loaded": None
            if self.loaded is None
            else [
                {
                    "name": m.name,
                    "identifier": m.identifier,
                    "size_bytes": m.size_bytes,
                    "context_length": m.context_length,
                }
                for m in self.loaded
            ],
            "daemon": None if self.daemon is None else dataclasses.asdict(self.daemon),
            "problems": list(self.problems),
            "notes": list(self.notes),
        }


def _binary(driver: Driver) -> str | None:
    try:
        return str(driver.backend.binary())
    except (LmsdriveError, OSError):
        return None


def get_status(driver: Driver) -> Status:
    """Look at the driver's backend: installed, version, server, downloaded/loaded models.

    Model lists come from the server, or from the CLI where the runtime's CLI lists them
    without a server (``lists_offline``: LM Studio's ``lms ls``/``lms ps``).
    """
    b = driver.backend
    problems: list[str] = []
    binary = _binary(driver)
    try:
        running = b.is_running()
    except LmsdriveError as exc:
        running = False
        problems.append(f"server check failed: {exc}")
    else:
        if not running:  # where the server is, and what to do: as every face says it
            problems.append(str(b.not_answering()))
    version = b.version(server=running)
    daemon = None
    if binary is not None:
        try:
            daemon = b.daemon_status()
        except (LmsdriveError, OSError) as exc:
            problems.append(f"could not read the daemon's status: {exc}")
    downloaded: list[LocalModel] | None = None
    loaded: list[LoadedModel] | None = None
    if running or (binary is not None and b.lists_offline):
        try:
            downloaded = b.list_models()
        except (LmsdriveError, OSError) as exc:
            problems.append(f"could not list downloaded models: {exc}")
        try:
            loaded = b.loaded_models()
        except (LmsdriveError, OSError) as exc:
            problems.append(f"could not list loaded models: {exc}")
    return Status(
        backend=b.name,
        display_name=b.display_name,
        installed=binary is not None,
        binary=binary,
        version=version,
        url=b.url,
        running=running,
        model=driver.config.model_for_backend(),
        downloaded=downloaded,
        loaded=loaded,
        problems=problems,
        daemon=daemon,
        notes=list(b.notes),
    )
