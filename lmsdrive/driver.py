"""The driver: one call from "nothing running" to "model loaded and answering".

Usage (needs a runtime, so not a doctest)::

    from lmsdrive import Driver

    report = Driver().ensure_ready()      # BACKEND, MODEL_NAME, ... from the environment
    report.success, report.steps_performed
    # (True, ['Started Ollama server at http://127.0.0.1:11434',
    #         'Downloaded model llama3.2:1b', 'Loaded model llama3.2:1b'])
    Driver().generate("Why is the sky blue?").text
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from .backends.base import Backend, Generation, ProgressCallback, close_iterator
from .config import Config
from .errors import (
    APIError,
    CommandError,
    CommandTimeoutError,
    ConfigError,
    LmsdriveError,
    ModelNotFoundError,
    NotInstalledError,
    PullError,
    ServerNotRunningError,
    ServerStartError,
)
from .parsers._base import Progress

StepCallback = Callable[[str], None]

INSTALL_MESSAGES = {
    "ollama": "Ollama is not installed. Please install from https://ollama.com",
    "lmstudio": (
        "LM Studio CLI not found. Install from https://lmstudio.ai and enable CLI in settings."
    ),
}
NOT_RUNNING_MESSAGES = {
    "ollama": "Ollama server is not running. Run init_llm to start it.",
    "lmstudio": "LM Studio server is not running. Run init_llm to start it.",
}


def model_not_found_message(backend: str, model: str, detail: str = "") -> str:
    if backend == "ollama":
        hint = (
            "Check the name and tag (for example llama3.2:3b), or set MODEL_SOURCE=huggingface "
            "for a Hugging Face repo (hf.co/user/repo:QUANT)."
        )
        where = "the Ollama library"
    else:
        hint = "Use a model key such as qwen/qwen3-8b, or user/repo@quant for a variant."
        where = "LM Studio's catalog or Hugging Face"
    tail = f" ({detail})" if detail else ""
    return f"Model '{model}' was not found in {where}{tail}. {hint}"


def friendly_message(backend: str, model: str | None, exc: BaseException) -> str:
    """The message a user sees for an error: the seed's per-backend text, then detail."""
    if isinstance(exc, NotInstalledError):
        return INSTALL_MESSAGES[backend]
    if isinstance(exc, ServerNotRunningError):
        return NOT_RUNNING_MESSAGES[backend]
    if isinstance(exc, ModelNotFoundError):
        return model_not_found_message(backend, model or "?", str(exc))
    return str(exc)


@dataclass
class InitReport:
    """What ``ensure_ready`` did: as the original ``init_llm`` returned it."""

    success: bool
    message: str
    steps_performed: list[str] = field(default_factory=list)
    error: LmsdriveError | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "message": self.message,
            "steps_performed": list(self.steps_performed),
        }

    def raise_for_error(self) -> InitReport:
        if self.error is not None:
            raise self.error
        return self


def make_backend(config: Config) -> Backend:
    if config.backend == "ollama":
        from .backends.ollama import OllamaBackend

        return OllamaBackend(url=config.ollama_url)
    from .backends.lmstudio import LMStudioBackend

    return LMStudioBackend(url=config.lmstudio_url)


class Driver:
    """Makes the configured model ready on the configured backend, and talks to it."""

    def __init__(self, config: Config | None = None, *, backend: Backend | None = None) -> None:
        self.config = config if config is not None else Config.from_env()
        self.backend: Backend = backend if backend is not None else make_backend(self.config)

    def __enter__(self) -> Driver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.backend.close()

    @property
    def model(self) -> str:
        name = self.config.model_for_backend()
        if not name:
            raise ConfigError(
                "MODEL_NAME is not set: name the model to use, e.g. MODEL_NAME=llama3.2:3b "
                "(Ollama) or MODEL_NAME=qwen/qwen3-8b (LM Studio)"
            )
        return name

    def ensure_ready(
        self,
        on_progress: ProgressCallback | None = None,
        *,
        on_step: StepCallback | None = None,
        start_timeout: float = 60.0,
    ) -> InitReport:
        """Installed → running (start it) → downloaded (pull, with progress) → loaded.

        Idempotent. When everything is ready it spawns no process and, on Ollama, makes
        at most two HTTP requests. Never raises for runtime problems: the report says what
        went wrong with the per-backend message (and keeps the exception in ``error``).
        ``on_progress`` gets the download's typed progress events; ``on_step`` a line of text
        as each step begins ("Starting the Ollama server at ..."). A callback that raises
        stops the download (its child process too) and its exception propagates.
        """
        b = self.backend
        steps: list[str] = []

        def announce(text: str) -> None:
            if on_step is not None:
                on_step(text)

        model: str | None = None
        try:
            model = self.model
            if not b.is_installed():
                raise NotInstalledError(INSTALL_MESSAGES[self.config.backend])
            state = b.readiness(model)
            if not state.running:
                announce(f"Starting the {b.display_name} server at {b.url}")
                started = b.start(timeout=start_timeout)
                if not started.already_running:
                    steps.append(f"Started {b.display_name} server at {started.url}")
                state = b.readiness(model)
            if not state.downloaded:
                announce(f"Downloading model {model}")
                events = b.pull(model)
                try:
                    for event in events:
                        if on_progress is not None:
                            on_progress(event)
                finally:  # a raising callback stops the download's child process
                    close_iterator(events)
                steps.append(f"Downloaded model {model}")
                state = b.readiness(model)
            if not state.loaded:
                announce(f"Loading model {model}")
                b.load(model)
                steps.append(f"Loaded model {model}")
        except (LmsdriveError, OSError) as exc:
            err = exc if isinstance(exc, LmsdriveError) else CommandError(str(exc))
            return InitReport(
                success=False,
                message=friendly_message(self.config.backend, model, exc),
                steps_performed=steps,
                error=err,
            )
        if steps:
            message = f"{b.display_name} is ready: model {model} is loaded."
        else:
            message = f"{b.display_name} was already ready: model {model} is loaded."
        return InitReport(success=True, message=message, steps_performed=steps)

    def generate(
        self, prompt: str, *, temperature: float = 0.1, max_tokens: int = 100
    ) -> Generation:
        """Generate an answer with the configured model (the server must be running)."""
        try:
            return self.backend.generate(
                prompt, self.model, temperature=temperature, max_tokens=max_tokens
            )
        except ServerNotRunningError as exc:
            raise self._not_running(exc) from exc

    def generate_stream(
        self, prompt: str, *, temperature: float = 0.1, max_tokens: int = 100
    ) -> Generator[str, None, None]:
        """The answer's text pieces as the server sends them (Ollama NDJSON, LM Studio SSE).
        Closing the iterator closes the HTTP response."""
        pieces = self.backend.generate_stream(
            prompt, self.model, temperature=temperature, max_tokens=max_tokens
        )
        try:
            yield from pieces
        except ServerNotRunningError as exc:
            raise self._not_running(exc) from exc
        finally:
            close_iterator(pieces)

    def _not_running(self, exc: ServerNotRunningError) -> ServerNotRunningError:
        return ServerNotRunningError(f"{NOT_RUNNING_MESSAGES[self.config.backend]} ({exc})")


__all__ = [
    "APIError",
    "CommandTimeoutError",
    "Driver",
    "InitReport",
    "Progress",
    "PullError",
    "ServerStartError",
]
