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

from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from ._keep_alive import check_keep_alive
from ._types import (
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
    ProgressCallback,
    PullReport,
    StartResult,
    ToolCall,
)
from .backends.base import Backend, Format, Message, close_iterator
from .config import Config
from .errors import (
    AuthenticationError,
    CommandError,
    ConfigError,
    InvalidMessageError,
    LmsdriveError,
    ModelNotFoundError,
    NotInstalledError,
    PullError,
    ServerNotRunningError,
    ServerStartError,
    WontFitError,
)
from .model_ref import ModelRef
from .runtimes import get_runtime

if TYPE_CHECKING:
    from .estimate import Memory
    from .health import CheckResult
    from .http._client import ChatStream, GenerationStream
    from .keep import Keeper, KeepEvent
    from .status import Status
    from .tools import Tool

StepCallback = Callable[[str], None]
T = TypeVar("T")

#: The one message for an empty prompt (the MCP generate tool's too; the CLI adds its example).
_EMPTY_PROMPT = (
    'generate: the prompt is empty: give the text to answer, e.g. "Why is the sky blue?"'
)


def _refuse_empty_prompt(prompt: str | None = None, messages: Sequence[Message] = ()) -> None:
    """:class:`InvalidMessageError` for a prompt with no text, or a conversation whose last
    turn is the user's with no text and no image: nothing to answer, refused before any work.
    An earlier empty turn is history, an image alone a question."""
    if prompt is not None and not prompt.strip():
        raise InvalidMessageError(_EMPTY_PROMPT)
    last = messages[-1] if isinstance(messages, Sequence) and messages else None
    if (
        isinstance(last, Mapping)
        and last.get("role") == "user"
        and isinstance(last.get("content"), str)
        and not last["content"].strip()
        and not last.get("images")
    ):
        raise InvalidMessageError(
            f"message {len(messages)}: the user's message is empty: give the text to send"
        )


def friendly_message(backend: str, model: str | None, exc: BaseException) -> str:
    """The message a user sees for an error: the runtime's own text, then detail. A face
    (CLI, MCP shim) adds its own next step."""
    spec = get_runtime(backend)
    if isinstance(exc, NotInstalledError):
        return spec.install_hint
    if isinstance(exc, ServerNotRunningError):
        return str(exc) if exc.url else f"{spec.not_running} ({exc})"
    if isinstance(exc, ModelNotFoundError) and not exc.local:
        return spec.model_not_found(model or "?", exc.detail or str(exc))
    return str(exc)


def context_note(model: str, loaded: LoadedModel, options: LoadOptions | None) -> str:
    """What a load of ``model`` asked that its instance already ``loaded`` does not have:
    empty, or the context length it has and how to get the one asked. lmsdrive does not
    reload a loaded model behind its users' backs (a request in flight would fail)."""
    asked = options.context_length if options is not None else None
    if asked is None or loaded.context_length in (None, asked):
        return ""
    return (
        f"{model} is loaded with context {loaded.context_length}, not the {asked} asked: "
        f"it was not reloaded. To load it with {asked}, unload it first "
        f"(`lmsdrive unload {model}`, then `lmsdrive load --context-length {asked} {model}`)."
    )


@dataclass
class ModelReport:
    """What ``ensure_ready`` did for one model."""

    model: str
    success: bool
    message: str
    steps_performed: list[str] = field(default_factory=list)
    error: LmsdriveError | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "success": self.success,
            "message": self.message,
            "steps_performed": list(self.steps_performed),
        }


@dataclass
class InitReport:
    """What ``ensure_ready`` did: as the original ``init_llm`` returned it; ``models`` has
    one :class:`ModelReport` per model, in order (``error``: the first failure's)."""

    success: bool
    message: str
    steps_performed: list[str] = field(default_factory=list)
    error: LmsdriveError | None = field(default=None, repr=False, compare=False)
    models: list[ModelReport] = field(default_factory=list, compare=False)

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


#: Errors after which no other model of the run is tried: they are the server's or the
#: machine's, not one model's.
_WHOLE_RUN = (NotInstalledError, ServerNotRunningError, ServerStartError, AuthenticationError)


def make_backend(config: Config) -> Backend:
    """The backend the configuration selects, pointed at its server (with its token)."""
    return config.runtime.backend_class()(url=config.backend_url(), api_token=config.api_token)


class Driver:
    """Makes the configured model ready on the configured backend, and talks to it."""

    _started: StartResult | None = None

    @property
    def started(self) -> StartResult | None:
        """The server :meth:`ensure_ready` started in this Driver (``None``: it found one
        running, or had none to start); :meth:`stop_server` stops it."""
        return self._started

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
        names = self.model_names
        if len(names) > 1:
            raise ConfigError(
                f"MODEL_NAME names several models ({', '.join(names)}); this call uses one: "
                "name it (--model, or model=)"
            )
        return names[0]

    @property
    def model_names(self) -> list[str]:
        """Every configured model (``MODEL_NAME`` may list several, comma-separated)."""
        names = self.config.models_for_backend()
        if not names:
            raise ConfigError(
                "MODEL_NAME is not set: name the model to use, e.g. MODEL_NAME=llama3.2:3b "
                "(Ollama) or MODEL_NAME=qwen/qwen3-8b (LM Studio)"
            )
        return names

    def _names(self, models: Sequence[str] | None) -> list[str]:
        """``models`` as the backend spells them (default: the configured ones)."""
        if models is None:
            return self.model_names
        if isinstance(models, str):
            models = [models]
        if not models:
            raise ConfigError("no model named: pass at least one")
        return list(dict.fromkeys(self._model(m) for m in models))

    def check(
        self, models: Sequence[str] | None = None, *, answer: bool = False, timeout: float = 5.0
    ) -> CheckResult:
        """The read-only health check (:mod:`lmsdrive.health`): does the server answer, is
        each model (default: the configured ones) downloaded and loaded, and with
        ``answer`` does it answer one token within ``timeout`` seconds. Never starts,
        downloads, loads or writes anything; at most two requests without ``answer``."""
        from .health import run_check

        return run_check(self.backend, self._names(models), answer=answer, timeout=timeout)

    def ensure_ready(
        self,
        on_progress: ProgressCallback | None = None,
        *,
        on_step: StepCallback | None = None,
        start_timeout: float = 60.0,
        load_options: LoadOptions | None = None,
        models: Sequence[str] | None = None,
        on_model: StepCallback | None = None,
        on_model_done: Callable[[ModelReport], None] | None = None,
        check_fit: bool = False,
    ) -> InitReport:
        """Running (ask the server first; start a local one) → downloaded (pull, with
        progress) → loaded (with ``load_options``), for each of ``models`` in turn (default:
        the configured ones; ``MODEL_NAME`` may list several, comma-separated).

        Idempotent, per model. When everything is ready it spawns no process, needs no CLI
        installed and makes at most two HTTP requests per model. The CLI is needed only to
        start a server on this machine and, where it is installed and the server is local,
        for downloads and loads; otherwise (a remote server, or no CLI here) they go through
        the server's API. Never raises for runtime problems: the report says what went wrong
        with the per-backend message (and keeps the exception in ``error``); ``models`` has
        one :class:`ModelReport` per model. A failure that is the server's (not installed,
        not running, no valid token) ends the run: the models after it report the same.
        ``on_model`` gets each model's name as its turn begins, ``on_model_done`` its
        :class:`ModelReport` as it ends; ``on_progress`` the
        download's typed progress events; ``on_step`` a line of text as each step begins
        ("Starting the Ollama server at ..."). A callback that raises stops the download
        (its child process too) and its exception propagates.
        ``check_fit``: ask :meth:`estimate` first and refuse (:class:`WontFitError`, in the
        report) a model that will not fit, before downloading it; after a download, ask
        again before loading it (the estimate then counts the KV cache, and LM Studio
        applies its own guardrails). An ``unknown`` verdict (a remote server's memory) is
        not refused.
        """
        try:
            names = self._names(models)
            if load_options is not None:
                self.backend.check_load_options(load_options)  # refused before any work
        except LmsdriveError as exc:
            return InitReport(False, friendly_message(self.config.backend, None, exc), error=exc)
        reports: list[ModelReport] = []
        stop: ModelReport | None = None
        for name in names:
            if on_model is not None:
                on_model(name)
            if stop is not None:
                report = ModelReport(name, False, stop.message, error=stop.error)
            else:
                report = self._ready_one(
                    name, on_progress, on_step, start_timeout, load_options, check_fit
                )
                if isinstance(report.error, _WHOLE_RUN):
                    stop = report
            reports.append(report)
            if on_model_done is not None:
                on_model_done(report)
        failed = [r for r in reports if not r.success]
        return InitReport(
            success=not failed,
            message=" ".join(r.message for r in (failed or reports)),
            steps_performed=[step for r in reports for step in r.steps_performed],
            error=failed[0].error if failed else None,
            models=reports,
        )

    def _ready_one(
        self,
        model: str,
        on_progress: ProgressCallback | None,
        on_step: StepCallback | None,
        start_timeout: float,
        load_options: LoadOptions | None,
        check_fit: bool,
    ) -> ModelReport:
        b = self.backend
        steps: list[str] = []
        note = ""  # what the load options asked that a model already loaded does not have

        def announce(text: str) -> None:
            if on_step is not None:
                on_step(text)

        try:
            state = b.readiness(model)
            if not state.running:
                if b.remote:
                    raise b.not_answering()
                if not b.is_installed():
                    raise NotInstalledError(self.config.runtime.install_hint)
                announce(f"Starting the {b.display_name} server at {b.url}")
                started = b.start(timeout=start_timeout)
                if not started.already_running:
                    self._started = started
                if started.daemon is not None:
                    pid = f" (PID {started.daemon.pid})" if started.daemon.pid else ""
                    steps.append(f"Started the {b.display_name} daemon{pid}")
                if not started.already_running:
                    steps.append(f"Started {b.display_name} server at {started.url}")
                state = b.readiness(model)
            fit_known = False
            if check_fit and not state.loaded:  # before a download: checked again after it
                fit_known = self._check_fit(model, load_options) and bool(state.downloaded)
            if not state.downloaded:
                announce(f"Downloading model {model}")
                events = self._download(model)
                try:
                    for event in events:
                        if on_progress is not None:
                            on_progress(event)
                finally:  # a raising callback stops the download's child process
                    close_iterator(events)
                steps.append(f"Downloaded model {model}{self._how(download=True)}")
                state = b.readiness(model)
            if not state.loaded:
                if check_fit and not fit_known:
                    self._check_fit(model, load_options)
                announce(f"Loading model {model}")
                b.load(model, load_options)
                steps.append(f"Loaded model {model}{self._how()}")
            elif load_options is not None and load_options.context_length is not None:
                found = self._loaded_instance(model, load_options)
                note = "" if found is None else context_note(model, found, load_options)
        except (LmsdriveError, OSError) as exc:
            err = exc if isinstance(exc, LmsdriveError) else CommandError(str(exc))
            if isinstance(err, ServerNotRunningError):
                err = self._not_running(err)
            message = friendly_message(self.config.backend, model, err)
            return ModelReport(model, False, message, steps, err)
        if steps:
            message = f"{b.display_name} is ready: model {model} is loaded."
        else:
            message = f"{b.display_name} was already ready: model {model} is loaded."
        return ModelReport(model, True, f"{message} {note}".rstrip(), steps)

    def _check_fit(self, model: str, options: LoadOptions | None) -> bool:
        """Refuse a model that will not fit; whether the estimate could tell."""
        est = self.backend.estimate(model, options)
        if est.verdict == "does_not_fit":
            raise WontFitError(
                f"{est.reason}. Pick a smaller model or quantization, or a shorter context "
                "(--context-length)",
                est,
            )
        return est.verdict != "unknown"

    def estimate(
        self,
        model: str | None = None,
        options: LoadOptions | None = None,
        *,
        memory: Memory | None = None,
    ) -> Estimate:
        """Will ``model`` (default: the configured one) fit, with ``options`` (context length,
        GPU offload)? Before it is downloaded where the runtime can tell: a typed answer
        (fits / partly on the GPU / does not fit / unknown) with the numbers. ``memory``:
        what the machine that loads it has free (default: this machine's, when the server
        runs here). Ollama: :mod:`lmsdrive.estimate`; LM Studio: ``lms load --estimate-only``
        (its own guardrails), before the download the size in ``lms get``'s plan (never
        confirmed: nothing is downloaded); a remote LM Studio raises
        :class:`CapabilityError`."""
        name = self._model(model)
        with self._not_running_guard():
            return self.backend.estimate(name, options, memory)

    def _how(self, *, download: bool = False) -> str:
        """How a download or load went, for the report: empty for the CLI on this machine."""
        api = self.backend.pulls_via_api if download else self.backend.via_api
        return " through the server's API" if api else ""

    def _model(self, model: str | None) -> str:
        return (
            self.model
            if model is None
            else self.config.runtime.spell(ModelRef.parse(model), self.config.model_source)
        )

    def pull(self, model: str | None = None) -> Generator[Progress, None, None]:
        """Download ``model`` (default: the configured one): typed progress events while it
        runs; closing the iterator stops the download. A model already downloaded is one
        ``done`` event whose message says ``already downloaded`` (:meth:`update` pulls
        again)."""
        name = self._model(model)
        if not self.backend.pull_says_present:
            with self._not_running_guard():
                present = self.backend.has_model(name)
            if present:
                yield Progress(
                    phase="done",
                    item=name,
                    percent=100.0,
                    overall_percent=100.0,
                    message="already downloaded",
                )
                return
        yield from self._guard(self._download(name))

    def _download(self, name: str) -> Generator[Progress, None, None]:
        """The backend's download of ``name``. When it breaks off after progress because
        the server stopped answering, the error says at which percent it stopped."""
        percent: float | None = None
        said: str | None = None  # the download's own error message, if it printed one
        events = self.backend.pull(name)
        try:
            for event in events:
                now = event.overall_percent if event.overall_percent is not None else event.percent
                percent = now if now is not None else percent
                said = event.message if event.phase == "error" else said
                yield event
        except (ServerNotRunningError, PullError) as exc:
            if percent is None or (isinstance(exc, PullError) and self._answers()):
                raise
            cause = exc if isinstance(exc, ServerNotRunningError) else None
            down = self._not_running(cause or ServerNotRunningError(reason=said))
            raise ServerNotRunningError(
                f"The download of {name} stopped at {int(percent)}%: {down}",
                reason=down.reason,
                url=down.url,
                startable=down.startable,
            ) from exc
        finally:
            close_iterator(events)

    def _answers(self) -> bool:
        """Whether the server answers now (after a failure: to tell whether it went away)."""
        try:
            return self.backend.is_running()
        except LmsdriveError:
            return False

    def update(
        self, model: str | None = None, on_progress: ProgressCallback | None = None
    ) -> PullReport:
        """Pull ``model`` (default: the configured one) again and say whether that changed
        it: the digest before and after (Ollama; LM Studio lists none, so its size is
        compared). A model not downloaded before is downloaded (``changed`` true).
        ``on_progress`` gets the download's events."""
        name = self._model(model)
        with self._not_running_guard():
            before = self.backend.fingerprint(name)
        for event in self._guard(self._download(name)):
            if on_progress is not None:
                on_progress(event)
        with self._not_running_guard():
            after = self.backend.fingerprint(name)
        return PullReport(
            model=name,
            digest_before=before,
            digest_after=after,
            changed=before != after,
            compared=self.backend.fingerprint_kind,
        )

    def load(self, model: str | None = None, options: LoadOptions | None = None) -> LoadedModel:
        """Load ``model`` (default: the configured one) into memory, with ``options``
        (context length, GPU offload, TTL, identifier). Idempotent: a model already loaded
        (by its name, or by the ``identifier`` asked) is loaded again neither as a second
        copy (``lms load`` would add ``MODEL:2``) nor with other options: the instance
        found is returned with ``already_loaded`` true. Where a load only sets options on the
        loaded copy (Ollama's ``keep_alive``), a ``ttl`` asked is applied to it."""
        name = self._model(model)
        if options is not None:
            self.backend.check_load_options(options)  # refused even when already loaded
        with self._not_running_guard(), self._present(name, load=True):
            found = self._loaded_instance(name, options)
            if found is None:
                return self.backend.load(name, options)
            if options is not None and options.ttl is not None and self.backend.loads_in_place:
                found = self.backend.load(name, options)  # the TTL asked, on that same copy
            return replace(found, already_loaded=True)

    def _loaded_instance(self, name: str, options: LoadOptions | None) -> LoadedModel | None:
        """The loaded instance a load of ``name`` with ``options`` would duplicate: the one
        with the identifier asked, else any instance of ``name``."""
        ident = options.identifier if options is not None else None
        spec, ref = self.config.runtime, ModelRef.parse(name)
        for m in self.backend.loaded_models():
            if (ident is not None and m.identifier == ident) or (
                ident is None and (spec.matches(ref, m.name) or spec.matches(ref, m.identifier))
            ):
                return m
        return None

    def unload(self, model: str | None = None) -> bool:
        """Unload ``model`` (default: the configured one) from memory: ``True`` when it was
        loaded, ``False`` when it is downloaded but was not loaded (nothing to do, on both
        backends); a model the server does not have raises
        :class:`~lmsdrive.errors.ModelNotFoundError`."""
        name = self._model(model)
        with self._not_running_guard(), self._present(name, unload=True):
            if not self.backend.is_loaded(name) and self.backend.has_model(name):
                return False
            self.backend.unload(name)
        return True

    def delete(self, model: str | None = None) -> None:
        """Delete ``model`` (default: the configured one) from the server's disk (Ollama:
        ``DELETE /api/delete``, unloading it first). LM Studio has no delete: it raises
        :class:`~lmsdrive.errors.CapabilityError` before any request; a model the server
        does not have raises :class:`~lmsdrive.errors.ModelNotFoundError`."""
        name = self._model(model)
        with self._not_running_guard(), self._present(name, delete=True):
            self.backend.delete(name)

    def models(self) -> list[LocalModel]:
        """The downloaded models."""
        with self._not_running_guard():
            return self.backend.list_models()

    def loaded_models(self) -> list[LoadedModel]:
        """The models loaded in memory."""
        with self._not_running_guard():
            return self.backend.loaded_models()

    def daemon_status(self) -> DaemonState | None:
        """The runtime's daemon (LM Studio's llmster), or ``None`` where it has none."""
        return self.backend.daemon_status()

    def daemon_up(self) -> DaemonState:
        """Start the runtime's daemon (``lms daemon up``); already running is success."""
        return self.backend.daemon_up()

    def daemon_down(self) -> str:
        """Stop the runtime's daemon (``lms daemon down``): ``stopped`` or ``not_running``."""
        return self.backend.daemon_down()

    def stop_server(self, timeout: float = 30.0) -> str:
        """Stop the server lmsdrive started (this process or an earlier one, as recorded in
        its state dir): ``"stopped"``, or ``"not_running"`` when none answers. A server
        lmsdrive did not start is left alone: :class:`NotStartedByLmsdriveError`."""
        return self.backend.stop(timeout)

    def keep(
        self,
        models: Sequence[str] | None = None,
        *,
        interval: float = 30.0,
        max_failures: int = 5,
        refresh_before: float = 60.0,
        load_options: LoadOptions | None = None,
        on_event: Callable[[KeepEvent], None] | None = None,
        on_progress: ProgressCallback | None = None,
        handle_signals: bool = False,
    ) -> None:
        """Hold ``models`` (default: every configured one, as ``MODEL_NAME`` lists them)
        loaded until stopped (SIGTERM or SIGINT with ``handle_signals``): see
        :mod:`lmsdrive.keep`. Raises the last error after ``max_failures`` failed checks in
        a row."""
        self._keeper(
            models,
            interval=interval,
            max_failures=max_failures,
            refresh_before=refresh_before,
            load_options=load_options,
            on_event=on_event,
            on_progress=on_progress,
        ).run(handle_signals=handle_signals)

    def _keeper(
        self,
        models: Sequence[str] | None = None,
        *,
        interval: float = 30.0,
        max_failures: int = 5,
        refresh_before: float = 60.0,
        load_options: LoadOptions | None = None,
        on_event: Callable[[KeepEvent], None] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Keeper:
        """The :class:`~lmsdrive.keep.Keeper` :meth:`keep` runs, for a caller that runs it
        in a thread of its own and ends it with ``stop()``."""
        from .keep import Keeper

        return Keeper(
            self.backend,
            self._names(models),
            interval=interval,
            max_failures=max_failures,
            refresh_before=refresh_before,
            load_options=load_options,
            on_event=on_event,
            on_progress=on_progress,
        )

    def status(self) -> Status:
        """Installed where, which version, server up, models (never raises for runtime
        problems: see :func:`lmsdrive.status.get_status`)."""
        from .status import get_status

        return get_status(self)

    def generate(
        self,
        prompt: str,
        *,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> Generation:
        """Generate an answer with ``model`` (default: the configured one; the server must
        be running). ``temperature``/``max_tokens`` unset: the model's own defaults (nothing
        is sent); an answer the token limit cut has ``finish_reason == "length"``.
        ``keep_alive``: how long the model stays loaded after it (seconds or ``"10m"``;
        negative: for ever; Ollama ``keep_alive``, LM Studio ``ttl``). An empty prompt is
        an :class:`~lmsdrive.errors.InvalidMessageError` before any request."""
        _refuse_empty_prompt(prompt)
        name = self._model(model)
        keep = _keep_alive_kw(keep_alive)
        try:
            return self.backend.generate(
                name, prompt, temperature=temperature, max_tokens=max_tokens, **keep
            )
        except ServerNotRunningError as exc:
            raise self._not_running(exc) from exc
        except ModelNotFoundError as exc:
            raise self._missing(name, exc) from exc

    def generate_stream(
        self,
        prompt: str,
        *,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> GenerationStream:
        """The answer's text pieces as the server sends them (Ollama NDJSON, LM Studio SSE);
        the stream's ``.result`` is the whole :class:`Generation` once exhausted (its
        ``finish_reason`` says whether the token limit cut it). Closing it closes the HTTP
        response."""
        from .http._client import GenerationStream

        _refuse_empty_prompt(prompt)
        name = self._model(model)
        keep = _keep_alive_kw(keep_alive)
        stream = self.backend.generate_stream(
            name, prompt, temperature=temperature, max_tokens=max_tokens, **keep
        )
        return GenerationStream(self._guard_result(stream, name))

    def _guard_result(self, stream: Iterator[str], name: str) -> Generator[str, None, Generation]:
        yield from self._guard(stream, present=name)
        result = getattr(stream, "result", None)
        if isinstance(result, Generation):
            return result
        return Generation(text="", model=name)  # a backend whose stream keeps no result

    # -- chat and embeddings -----------------------------------------------------------------
    def chat(
        self,
        messages: Sequence[Message],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        format: Format | None = None,
        options: Mapping[str, Any] | None = None,
        think: bool | str | None = None,
        model: str | None = None,
        tools: Sequence[Tool] | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> ChatReply:
        """One answer to ``messages`` (``{"role": "system" | "user" | "assistant" |
        "tool", "content": ...}`` dicts) from ``model`` (default: the configured one).

        ``temperature``/``max_tokens`` unset: the model's own defaults (nothing is sent); a
        reply the token limit cut has ``finish_reason == "length"``. ``format``:
        ``"json"`` or a JSON schema (a dict): the server constrains the answer and
        :meth:`ChatReply.json` returns it parsed and checked. ``options``: extra sampling
        settings in the runtime's own names (Ollama ``options``, e.g. ``{"seed": 1}``; LM
        Studio body keys, e.g. ``{"top_p": 0.9}``). ``think``: Ollama's switch
        (``True``/``False`` or ``"low"``/``"medium"``/``"high"``); LM Studio has none, its
        reasoning models reason anyway. Reasoning is kept apart in ``reply.thinking``.

        ``tools``: JSON schemas or typed, documented functions (:mod:`lmsdrive.tools`); the
        calls the model asks for are ``reply.tool_calls`` (:meth:`run_tools` runs them).
        A message's ``images`` (paths, bytes or base64) go to a vision model in each API's
        own form. ``keep_alive``: as in :meth:`generate`.
        A model that cannot serve the call (chat, think, tools, images) raises
        :class:`~lmsdrive.errors.CapabilityError` before the request; a last user turn with
        no text and no image, :class:`~lmsdrive.errors.InvalidMessageError`."""
        name, request = self._chat_request(
            model, messages, temperature, max_tokens, format, options, think, tools, keep_alive
        )
        try:
            return self.backend.chat(name, request)
        except ServerNotRunningError as exc:
            raise self._not_running(exc) from exc
        except ModelNotFoundError as exc:
            raise self._missing(name, exc) from exc

    def _chat_request(
        self,
        model: str | None,
        messages: Sequence[Message],
        temperature: float | None,
        max_tokens: int | None,
        format: Format | None,
        options: Mapping[str, Any] | None,
        think: bool | str | None,
        tools: Sequence[Tool] | None,
        keep_alive: KeepAlive | None,
    ) -> tuple[str, ChatRequest]:
        from .http._messages import read_images
        from .tools import tool_specs

        _refuse_empty_prompt(messages=messages)
        name = self._model(model)
        specs = tool_specs(tools) if tools else None
        check_keep_alive(keep_alive)
        if isinstance(messages, Sequence) and not isinstance(messages, (str, bytes)):
            messages = read_images(messages)  # read once, refused before any request
        return name, ChatRequest(
            messages, temperature, max_tokens, format, options, think, specs, keep_alive
        )

    def chat_stream(
        self,
        messages: Sequence[Message],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        format: Format | None = None,
        options: Mapping[str, Any] | None = None,
        think: bool | str | None = None,
        model: str | None = None,
        tools: Sequence[Tool] | None = None,
        keep_alive: KeepAlive | None = None,
    ) -> ChatStream:
        """:meth:`chat`, the answer's pieces as they arrive; the returned stream's
        ``.result`` is the whole :class:`ChatReply` once exhausted (``None`` if closed
        early); its ``with_tool_calls()`` yields each :class:`~lmsdrive.ToolCall` too, as
        soon as it is whole. Closing it closes the HTTP response."""
        from .http._client import ChatStream

        name, request = self._chat_request(
            model, messages, temperature, max_tokens, format, options, think, tools, keep_alive
        )
        with self._not_running_guard(), self._present(name):
            stream = self.backend.chat_stream(name, request)
        return ChatStream(self._guard_stream(stream, name))

    def run_tools(
        self,
        messages: Sequence[Message],
        tools: Sequence[Callable[..., Any]],
        *,
        max_rounds: int = 5,
        **chat: Any,
    ) -> tuple[ChatReply, list[dict[str, Any]]]:
        """The tool loop: :meth:`chat` with ``tools`` (typed, documented functions), run
        each function the model calls, send the results back, until it answers in text.
        Returns (that reply, the whole conversation). At most ``max_rounds`` rounds: then
        :class:`~lmsdrive.tools.ToolLoopError` (holding the conversation). A tool that
        raises, or a call to a tool that does not exist, is told to the model as the result.
        ``chat`` keywords (``model``, ``temperature``, ...) pass through."""
        from .tools import run_tools, tool_schema

        functions = {tool_schema(f)["function"]["name"]: f for f in tools}
        return run_tools(
            lambda conversation: self.chat(conversation, tools=tools, **chat),
            messages,
            functions,
            max_rounds=max_rounds,
        )

    def _guard_stream(
        self, stream: ChatStream, name: str
    ) -> Generator[str | ToolCall, None, ChatReply]:
        yield from self._guard(stream.with_tool_calls(), present=name)
        assert stream.result is not None
        return stream.result

    def embed(self, texts: str | Sequence[str], *, model: str | None = None) -> list[list[float]]:
        """One vector per text, in order (a single string is one text), from ``model``
        (default: the configured one, which must then be an embedding model)."""
        items = [texts] if isinstance(texts, str) else list(texts)
        name = self._model(model)
        try:
            return self.backend.embed(name, items)
        except ServerNotRunningError as exc:
            raise self._not_running(exc) from exc
        except ModelNotFoundError as exc:
            raise self._missing(name, exc) from exc

    def _guard(self, items: Iterator[T], present: str | None = None) -> Generator[T, None, None]:
        """Yield from ``items``, closing it at the end; a server that does not answer
        becomes the runtime's not-running message; with ``present`` (a model the server
        must have), a missing model is said to be missing there, not in the catalog."""
        try:
            with self._not_running_guard():
                if present is None:
                    yield from items
                else:
                    with self._present(present):
                        yield from items
        finally:
            close_iterator(items)

    @contextmanager
    def _not_running_guard(self) -> Iterator[None]:
        try:
            yield
        except ServerNotRunningError as exc:
            raise self._not_running(exc) from exc

    @contextmanager
    def _present(
        self, model: str, *, unload: bool = False, load: bool = False, delete: bool = False
    ) -> Iterator[None]:
        """Around a call that needs ``model`` on the server (load, unload, delete, chat,
        embed): a missing model is missing there (not downloaded, not loaded), not a catalog
        miss."""
        try:
            yield
        except ModelNotFoundError as exc:
            raise self._missing(model, exc, unload=unload, load=load, delete=delete) from exc

    def _missing(
        self,
        model: str,
        exc: ModelNotFoundError,
        *,
        unload: bool = False,
        load: bool = False,
        delete: bool = False,
    ) -> ModelNotFoundError:
        """A model the server does not have, said so: not loaded (``unload``), not
        downloaded (``load``, which fails only then; ``delete``: nothing to do, no hint to
        download it), else whichever the server's list says."""
        if exc.local:
            return exc
        downloaded = None if unload or delete else False if load else self._downloaded(model)
        message = self.config.runtime.model_missing(
            model, str(exc), unload=unload, delete=delete, downloaded=downloaded
        )
        return ModelNotFoundError(message, local=True, model=model, downloaded=downloaded)

    def _downloaded(self, model: str) -> bool | None:
        """Whether the server has ``model`` downloaded (``None``: it cannot tell now)."""
        try:
            return self.backend.has_model(model)
        except (LmsdriveError, OSError):
            return None

    def _not_running(self, exc: ServerNotRunningError | None) -> ServerNotRunningError:
        """A server that does not answer, as every face shows it: where it is and what to
        do (:meth:`Backend.not_answering`), with ``exc``'s reason (the request paths raise
        it without a context manager: it costs on every call)."""
        if exc is not None and exc.url is not None:
            return exc  # already said so
        reason = None if exc is None else exc.reason or str(exc) or None
        return self.backend.not_answering(reason)


def _keep_alive_kw(keep_alive: KeepAlive | None) -> dict[str, KeepAlive]:
    """``keep_alive`` checked, as a keyword only when given (a backend written before it
    existed still takes the call)."""
    if keep_alive is None:
        return {}
    check_keep_alive(keep_alive)
    return {"keep_alive": keep_alive}


__all__ = [
    "Driver",
    "InitReport",
    "ModelReport",
    "StepCallback",
    "context_note",
    "friendly_message",
    "make_backend",
]
