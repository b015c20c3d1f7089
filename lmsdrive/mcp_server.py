"""``lmsdrive-mcp``: the MCP server shim, on the official ``mcp`` SDK v2 (``MCPServer``).

Install with ``pip install 'lmsdrive[mcp]'`` (pins ``mcp>=2.3,<3``). An MCP host starts it as a
subprocess and talks JSON-RPC over its stdin/stdout (the default), or reaches it over
Streamable HTTP at ``/mcp`` (``--transport streamable-http``, see :mod:`lmsdrive.mcp_http`).
Configuration comes from the environment, read once when the server starts:

=================  ==========================================================================
``BACKEND``        ``ollama`` (default) or ``lmstudio``
``MODEL_NAME``     the model ``init_llm`` makes ready and ``generate`` uses
``MODEL_SOURCE``   ``ollama`` (default) or ``huggingface`` (Ollama: pull ``hf.co/...``)
``LMSTUDIO_URL``   LM Studio's server, default ``http://localhost:1234``
``OLLAMA_HOST``    Ollama's server, in every form Ollama accepts
=================  ==========================================================================

Tools (every decision stays in the library; this module only translates):

``init_llm()``
    :meth:`lmsdrive.Driver.ensure_ready` in a worker thread: installed → server running
    (started if needed) → model downloaded (pulled) → loaded. During the download it sends
    progress notifications on the request's progress token (when the client gave one):
    ``progress`` is the overall percent in whole numbers, strictly increasing, ``total`` 100,
    ``message`` ``"Downloading model: 45%"``, and 100 when the download completes. Returns
    ``{success, message, steps_performed, kind}``; a failure is a tool error (``isError``)
    whose text is the friendly per-backend message, with the same object as structured
    content.
``ensure_ready(model=None, ...)``
    ``init_llm`` for any model (default: the configured one).
``pull(model=None)``
    Download a model, with the same progress notifications: ``{model, message}``.
``load(model=None, context_length, gpu, ttl, identifier)`` / ``unload(model=None)``
    Load a downloaded model into memory (``{name, identifier, size_bytes,
    context_length}``) / unload it (``{model, message}``).
``delete(model=None)``
    Delete a model from the server's disk (Ollama; LM Studio has no delete): destructive.
``generate(prompt, temperature=0.1, max_tokens=100, model=None)``
    The answer's text (structured: ``text``, ``model``, ``finish_reason``, token counts);
    an empty prompt is an ``invalid_message`` tool error, as in the CLI.
    0.1 and 100 are the original agent-router's defaults, kept for its callers (the library
    and CLI send none unless given); ``finish_reason`` ``"length"`` says 100 cut the answer.
``chat(messages, temperature=None, max_tokens=None, json_schema=None, tools=None, model=None)``
    The answer to a conversation (structured: ``text``, ``model``, ``finish_reason``,
    ``thinking``, ``json`` (the parsed answer when a schema was given), ``tool_calls``
    (``[{name, arguments, id, invalid_arguments}]``), token counts). A message may carry
    ``images`` (base64 or ``data:`` URLs; over stdio also paths on this machine) for a
    vision model; ``tools`` are JSON schemas or MCP tool definitions, and the host answers
    the calls in the next ``chat``: the assistant message with its ``tool_calls``, then a
    ``tool`` message per call (``content``, ``tool_call_id``, ``name``).
``embed(texts, model=None)``
    ``{model, embeddings}``: one vector per text, from an embedding model.
``status()``
    :func:`lmsdrive.status.get_status`: backend, binary, version, URL, running, the
    configured model and whether it is downloaded/loaded (``ready``), the downloaded and
    loaded models, ``problems``. Never a tool error for runtime problems: it reports them.
``list_models()``
    ``{backend, models: [{name, size_bytes, type}], loaded: [{name, identifier, size_bytes,
    context_length}]}``.
``check(model=None, answer=False, timeout=5)``
    :meth:`lmsdrive.Driver.check`, read-only: ``{ok, problem, message, backend, url,
    server_up, auth_ok, models: [{model, downloaded, loaded, answered, answer_seconds,
    problem, message}], seconds}``. A problem it finds is its result, not a tool error.
``fit(model=None, context_length, gpu)``
    :meth:`lmsdrive.Driver.estimate`: ``{model, verdict, fits, reason, source, needed_bytes,
    gpu_bytes, ram_bytes, vram_bytes, context_length, gpu}``; ``verdict`` is ``fits``,
    ``partial``, ``does_not_fit`` or ``unknown`` (a verdict, not a tool error).

``init_llm``, ``ensure_ready`` and ``pull`` may run as tasks (MCP 2025-11-25): a host that asks
gets a task at once and polls it (:mod:`lmsdrive.mcp_tasks`), so a long download neither
blocks nor times out the host.

Every tool has an output schema. A failure is a tool error (``isError``): its text is the
library's friendly message ("Ollama is not installed. Please install from
https://ollama.com", "Ollama server at URL does not answer: start it with … Run init_llm to
start it.", ...), its structured content ``{kind, message}`` where ``kind`` is the error's stable
:attr:`lmsdrive.errors.LmsdriveError.kind` (``not_installed``, ``server_not_running``,
``model_not_found``, ...; ``cancelled`` for a cancelled task). Logs go to stderr; stdout is
the protocol's on stdio.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Literal, cast

import anyio
import anyio.from_thread
import anyio.to_thread

try:
    from mcp.server.mcpserver import Context, MCPServer
    from mcp.types import CallToolResult, TextContent, ToolAnnotations
    from pydantic import ConfigDict, Field, with_config
    from typing_extensions import NotRequired, TypedDict

    from .mcp_tasks import TaskCancelled, Tasks, current_task
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        f"lmsdrive-mcp needs the MCP Python SDK v2 ({exc}): pip install 'lmsdrive[mcp]'",
        name="mcp",  # lmsdrive.cli.mcp_main says this in one line
    ) from exc

from ._types import LoadOptions, Progress
from ._version import __version__
from .backends.base import close_iterator
from .config import Config
from .driver import Driver, friendly_message
from .errors import (
    CommandError,
    ConfigError,
    InvalidModelNameError,
    LmsdriveError,
    ServerNotRunningError,
)
from .health import CheckResult, Problem

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Drives a local LLM runtime (Ollama or LM Studio, chosen by the server's environment). "
    "Call init_llm first: it starts the runtime's server, downloads the configured model if "
    "needed (with progress) and loads it. Then call generate, or chat (images for a vision "
    "model; tools whose calls you run and answer in the next chat). status and list_models "
    "report what is installed, running, downloaded and loaded; check is the read-only health "
    "check and fit says whether a model will fit in memory; pull, load, unload, ensure_ready "
    "and delete act on any model (default: the configured one)."
)

#: The tools that may run as tasks (they may download for minutes).
TASK_TOOLS = ("init_llm", "ensure_ready", "pull")


# --- tool results (their JSON Schemas are the tools' output schemas) ----------------------------
class InitResult(TypedDict):
    """What ``init_llm`` did, as the original ``init_llm`` returned it, and the error's kind
    (``None`` on success)."""

    success: bool
    message: str
    steps_performed: list[str]
    kind: str | None


class GenerateResult(TypedDict):
    text: str
    model: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None


class ToolCallInfo(TypedDict):
    """A tool the model asks to call: its arguments parsed from JSON, the call's id where the
    runtime gives one (LM Studio always; Ollama not before it numbered calls), and
    invalid_arguments the model's text when it wrote no JSON object (arguments is then
    empty)."""

    name: str
    arguments: dict[str, Any]
    id: str | None
    invalid_arguments: str | None


class ChatResult(TypedDict):
    text: str
    model: str
    finish_reason: str | None
    thinking: str | None
    json: Any
    tool_calls: list[ToolCallInfo]
    prompt_tokens: int | None
    completion_tokens: int | None


class EmbedResult(TypedDict):
    model: str
    embeddings: list[list[float]]


class ModelInfo(TypedDict):
    name: str
    size_bytes: int | None
    type: str | None


class LoadedInfo(TypedDict):
    name: str
    identifier: str
    size_bytes: int | None
    context_length: int | None


class ModelList(TypedDict):
    backend: str
    models: list[ModelInfo]
    loaded: list[LoadedInfo]


class ModelDone(TypedDict):
    """What ``pull``, ``unload`` and ``delete`` did to which model."""

    model: str
    message: str


class StatusResult(TypedDict):
    """:meth:`lmsdrive.status.Status.to_dict`."""

    backend: str
    display_name: str
    installed: bool
    binary: str | None
    version: str | None
    url: str
    running: bool
    model: str | None
    model_downloaded: bool | None
    model_loaded: bool | None
    ready: bool
    downloaded: list[ModelInfo] | None
    loaded: list[LoadedInfo] | None
    problems: list[str]
    notes: list[str]


class ModelHealth(TypedDict):
    """One model's part of ``check`` (:class:`lmsdrive.health.ModelCheck`)."""

    model: str
    downloaded: bool | None
    loaded: bool | None
    answered: bool | None
    answer_seconds: float | None
    problem: Problem | None
    message: str


class HealthResult(TypedDict):
    """:meth:`lmsdrive.health.CheckResult.to_dict`: ``ok`` only when the server answers and
    every model is downloaded and loaded (and answered, when asked); ``problem`` the worst."""

    ok: bool
    problem: Problem | None
    message: str
    backend: str
    url: str
    server_up: bool
    auth_ok: bool | None
    models: list[ModelHealth]
    seconds: float


class FitResult(TypedDict):
    """:meth:`lmsdrive.Estimate.to_dict` (bytes; ``None``: not known)."""

    model: str
    verdict: Literal["fits", "partial", "does_not_fit", "unknown"]
    fits: bool
    reason: str
    source: str
    needed_bytes: int | None
    gpu_bytes: int | None
    ram_bytes: int | None
    vram_bytes: int | None
    context_length: int | None
    gpu: float | str | None


def _health(result: CheckResult) -> HealthResult:
    data = result.to_dict()
    data["models"] = list(data["models"])  # a tuple is no JSON array to the output check
    return cast(HealthResult, data)


# --- results --------------------------------------------------------------------------------------
def _text_result(text: str, structured: Any, *, is_error: bool = False) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=structured,
        is_error=is_error,
    )


def _data_result(data: Mapping[str, Any]) -> CallToolResult:
    """A success whose text is its structured content as JSON."""
    return _text_result(json.dumps(data, indent=2), dict(data))


def error_result(message: str, kind: str) -> CallToolResult:
    """A tool error: the friendly message as text, ``{kind, message}`` as structured content."""
    return _text_result(message, {"kind": kind, "message": message}, is_error=True)


CANCELLED = "Cancelled: the task was stopped before it finished (a download stops where it was)."


# --- server state ---------------------------------------------------------------------------------
@dataclass
class ServerState:
    """The lifespan object: one driver for the server's life, or why there is none."""

    backend: str
    driver_: Driver | None = None
    config_error: ConfigError | InvalidModelNameError | None = None

    def model(self) -> str | None:
        if self.driver_ is None:
            return None
        try:
            return self.driver_.config.model_for_backend()
        except LmsdriveError:
            return None

    def failure(self, exc: BaseException, model: str | None = None) -> CallToolResult:
        """A tool error with the friendly per-backend message and the error's kind."""
        err = exc if isinstance(exc, LmsdriveError) else CommandError(str(exc))
        return error_result(message_for(self.backend, model or self.model(), exc), err.kind)

    def run(
        self, work: Callable[[Driver], CallToolResult], model: str | None = None
    ) -> CallToolResult:
        """``work(driver)``, or the tool error for what it raised (or for the environment's
        configuration error)."""
        if self.driver_ is None:
            assert self.config_error is not None
            return self.failure(self.config_error)
        try:
            return work(self.driver_)
        except (LmsdriveError, OSError) as exc:
            return self.failure(exc, model)


#: What an MCP host can do next when the server does not answer.
RUN_INIT_LLM = "Run init_llm to start it."


def message_for(backend: str, model: str | None, exc: BaseException) -> str:
    """The library's friendly message; a server init_llm can start (``startable``: on this
    machine, its CLI installed) adds "Run init_llm"."""
    message = friendly_message(backend, model, exc)
    startable = isinstance(exc, ServerNotRunningError) and exc.startable
    return f"{message} {RUN_INIT_LLM}" if startable else message


def _state(ctx: Context[ServerState, Any]) -> ServerState:
    state = ctx.request_context.lifespan_context
    assert isinstance(state, ServerState)
    return state


def _for_model(driver: Driver, model: str | None) -> Driver:
    """``driver``, or one for ``model`` on the same backend (never closed: it shares it)."""
    if model is None:
        return driver
    return Driver(dataclasses.replace(driver.config, model_name=model), backend=driver.backend)


# --- progress -------------------------------------------------------------------------------------
class DownloadProgress:
    """Turns the library's download events into progress notifications: the overall percent
    in whole numbers, sent only when it grows (so strictly increasing, at most 101 of them),
    and 100 when the download is done. ``send(progress, message)`` does the sending."""

    def __init__(self, send: Callable[[float, str], None]) -> None:
        self._send = send
        self.last: int | None = None

    def __call__(self, event: Progress) -> None:
        if event.phase == "error":
            return
        percent = event.overall_percent if event.overall_percent is not None else event.percent
        if event.phase == "done":
            percent = 100.0
        if percent is None or math.isnan(percent):
            return
        value = int(min(max(percent, 0.0), 100.0))
        if self.last is not None and value <= self.last:
            return
        self.last = value
        self._send(float(value), f"Downloading model: {value}%")


Report = Callable[[float, float | None, str], Coroutine[Any, Any, None]]


def _send_from_thread(report: Report, progress: float, message: str) -> None:
    """Await ``report`` on the event loop from a worker thread. Cancellation of the request
    propagates (it stops the download); a notification that cannot be sent is logged."""
    try:
        anyio.from_thread.run(report, progress, 100.0, message)
    except anyio.get_cancelled_exc_class():
        raise
    except Exception:  # the client went away: let the download finish anyway
        logger.debug("could not send a progress notification", exc_info=True)


class Reporter:
    """Where a long tool's news goes, from its worker thread: the request's progress token
    (a plain call), or its task (the status message ``tasks/get`` shows, and progress
    notifications tied to the task). A cancelled task stops the work at its next news."""

    def __init__(self, ctx: Context[ServerState, Any]) -> None:
        self.task = current_task()
        self._report: Report = ctx.report_progress

    def progress(self, value: float, message: str) -> None:
        if self.task is None:
            _send_from_thread(self._report, value, message)
            return
        self.task.check_cancelled()
        _send_from_thread(self.task.report, value, message)

    def step(self, text: str) -> None:
        if self.task is not None:
            self.task.check_cancelled()
            anyio.from_thread.run(self.task.report, None, None, text)

    def downloads(self) -> DownloadProgress:
        return DownloadProgress(self.progress)


async def _long(
    ctx: Context[ServerState, Any], work: Callable[[Reporter], CallToolResult]
) -> CallToolResult:
    """Run ``work`` (a download, a load) in a worker thread; a cancelled task ends there."""
    reporter = Reporter(ctx)
    try:
        return await anyio.to_thread.run_sync(lambda: work(reporter))
    except TaskCancelled:
        return error_result(CANCELLED, "cancelled")


def _init_result(
    success: bool, message: str, steps: Sequence[str], kind: str | None
) -> CallToolResult:
    data: InitResult = {
        "success": success,
        "message": message,
        "steps_performed": list(steps),
        "kind": kind,
    }
    if success:
        return _text_result(json.dumps(data, indent=2), data)
    text = message
    if steps:
        text += "\nSteps performed before the failure: " + "; ".join(steps)
    return _text_result(text, data, is_error=True)


def _loaded_info(name: str, identifier: str, size: int | None, ctx: int | None) -> LoadedInfo:
    return {"name": name, "identifier": identifier, "size_bytes": size, "context_length": ctx}


def _acts(title: str, *, destructive: bool = False, open_world: bool = False) -> ToolAnnotations:
    """The annotations of a tool that changes the runtime's state (safe to repeat)."""
    return ToolAnnotations(
        title=title,
        read_only_hint=False,
        destructive_hint=destructive,
        idempotent_hint=True,
        open_world_hint=open_world,
    )


async def _act(
    ctx: Context[ServerState, Any],
    model: str | None,
    done: str,
    act: Callable[[Driver, str | None], bool | None],
) -> CallToolResult:
    """``act(driver, model)`` in a worker thread: ``{model, message}`` ("Unloaded model X";
    "X was not loaded" when ``act`` returns ``False``: there was nothing to do)."""
    state = _state(ctx)

    def work(driver: Driver) -> CallToolResult:
        name = model or driver.model
        did = act(driver, model)
        message = f"{name} was not loaded" if did is False else f"{done} model {name}"
        return _data_result(ModelDone(model=name, message=message))

    return await anyio.to_thread.run_sync(lambda: state.run(work, model))


# --- tool arguments -------------------------------------------------------------------------------
ModelArg = Annotated[
    str | None, Field(description="The model (default: the configured MODEL_NAME).")
]
ContextLengthArg = Annotated[
    int | None, Field(ge=1, description="Context length to load the model with (tokens).")
]
GpuArg = Annotated[
    str | None,
    Field(description="GPU offload: a ratio 0-1, 'max' or 'off' (Ollama: 'max'/'off')."),
]
TtlArg = Annotated[
    int | None, Field(ge=1, description="Unload the model after this many idle seconds.")
]
IdentifierArg = Annotated[
    str | None, Field(description="API name of the loaded instance (LM Studio only).")
]


@with_config(ConfigDict(extra="forbid"))
class ToolCallArg(TypedDict):
    """A call of an earlier answer, sent back as chat returned it in tool_calls."""

    name: str
    arguments: NotRequired[dict[str, Any]]
    id: NotRequired[str | None]
    invalid_arguments: NotRequired[str | None]


@with_config(ConfigDict(extra="forbid"))
class ChatMessage(TypedDict):
    """One message of the conversation chat answers."""

    role: Literal["system", "user", "assistant", "tool"]
    content: NotRequired[Annotated[str, Field(description="The text (default: empty).")]]
    images: NotRequired[
        Annotated[
            list[str],
            Field(
                description="Images for a vision model: base64 data (as an MCP image content "
                "holds it) or data: URLs; over stdio also paths of image files on the "
                "server's machine."
            ),
        ]
    ]
    tool_calls: NotRequired[
        Annotated[
            list[ToolCallArg],
            Field(description="An assistant message's calls, as an earlier chat returned them."),
        ]
    ]
    tool_call_id: NotRequired[
        Annotated[str | None, Field(description="A tool message: the id of the call it answers.")]
    ]
    name: NotRequired[
        Annotated[str, Field(description="A tool message: the name of the tool it answers for.")]
    ]


MessagesArg = Annotated[
    list[ChatMessage],
    Field(
        min_length=1,
        description="The conversation, oldest first: system, user, assistant (with the "
        "tool_calls an earlier chat returned) and tool messages (a call's result: content, "
        "tool_call_id and name of the call).",
    ),
]
ToolsArg = Annotated[
    list[dict[str, Any]] | None,
    Field(
        description='Tools the model may call: {"type": "function", "function": {"name", '
        '"description", "parameters": JSON schema}}, or an MCP tool {"name", "description", '
        '"inputSchema"}. The calls it asks for come back in tool_calls: run them, then send '
        "the assistant message and one tool message per call in the next chat."
    ),
]


def _tool_spec(tool: dict[str, Any]) -> dict[str, Any]:
    """``tool`` in the form both runtimes take: an MCP tool (``name``, ``description``,
    ``inputSchema``) becomes ``{"type": "function", "function": {...}}``; anything else is
    left for :func:`lmsdrive.tools.tool_specs` to check."""
    if "function" in tool or "inputSchema" not in tool:
        return tool
    function = {
        "name": tool.get("name"),
        "description": tool.get("description") or "",
        "parameters": tool["inputSchema"],
    }
    return {"type": "function", "function": function}


def _conversation(messages: Sequence[ChatMessage], image_paths: bool) -> list[dict[str, Any]]:
    """``messages`` as :meth:`Driver.chat` takes them (it reads the images, and sends the
    tool calls and results in each API's own form); without ``image_paths`` an image is
    base64 only: over HTTP the host is not on this machine, and the server reads none of
    its files for it."""
    from .http._messages import read_images

    conversation = [{"content": "", **message} for message in messages]
    return conversation if image_paths else read_images(conversation, paths=False)


# --- the server -----------------------------------------------------------------------------------
def create_server(
    config: Config | None = None, *, image_paths: bool = True
) -> MCPServer[ServerState]:
    """The MCP server. ``config`` defaults to :meth:`Config.from_env` at server start; an
    invalid environment does not stop the server: every tool then answers with the reason.
    ``image_paths``: whether ``chat`` reads an image given as a path on this machine (over
    stdio the host is here; over HTTP it is not, and images are base64 only)."""
    tasks = Tasks(TASK_TOOLS)

    @asynccontextmanager
    async def lifespan(_: MCPServer[ServerState]) -> AsyncIterator[ServerState]:
        async with tasks.running():
            try:
                cfg = config if config is not None else Config.from_env()
            except (ConfigError, InvalidModelNameError) as exc:
                logger.error("configuration error: %s", exc)
                yield ServerState(backend="ollama", config_error=exc)
                return
            driver = Driver(cfg)
            try:
                yield ServerState(backend=cfg.backend, driver_=driver)
            finally:
                driver.close()

    server: MCPServer[ServerState] = MCPServer(
        "lmsdrive",
        title="lmsdrive: a local LLM on Ollama or LM Studio",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        extensions=[tasks.extension()],
        middleware=[tasks.middleware],
    )

    async def make_ready(
        ctx: Context[ServerState, Any],
        model: str | None,
        options: dict[str, Any],
    ) -> CallToolResult:
        state = _state(ctx)
        if state.driver_ is None:
            error = state.config_error or ConfigError("no configuration")
            return _init_result(False, str(error), [], error.kind)
        driver = state.driver_

        def work(reporter: Reporter) -> CallToolResult:
            try:
                load_options = LoadOptions(**options)
                target = _for_model(driver, model)
            except LmsdriveError as exc:
                return _init_result(False, str(exc), [], exc.kind)
            report = target.ensure_ready(
                reporter.downloads(), on_step=reporter.step, load_options=load_options
            )
            kind = report.error.kind if report.error is not None else None
            return _init_result(report.success, report.message, report.steps_performed, kind)

        return await _long(ctx, work)

    @server.tool(annotations=_acts("Make the local LLM ready", open_world=True))
    async def init_llm(
        ctx: Context[ServerState, Any],
        context_length: ContextLengthArg = None,
        gpu: GpuArg = None,
        ttl: TtlArg = None,
        identifier: IdentifierArg = None,
    ) -> Annotated[CallToolResult, InitResult]:
        """Make the configured model ready: start the runtime's server if needed, download the
        model if needed (reporting progress), load it (with the optional load options). Safe
        to call again: it does only what is missing. Returns success, a message and the steps
        performed. May run as a task."""
        options = {"context_length": context_length, "gpu": gpu, "ttl": ttl}
        return await make_ready(ctx, None, {**options, "identifier": identifier})

    @server.tool(annotations=_acts("Make a model ready", open_world=True))
    async def ensure_ready(
        ctx: Context[ServerState, Any],
        model: ModelArg = None,
        context_length: ContextLengthArg = None,
        gpu: GpuArg = None,
        ttl: TtlArg = None,
        identifier: IdentifierArg = None,
    ) -> Annotated[CallToolResult, InitResult]:
        """init_llm for any model: start the server if needed, download the model if needed
        (reporting progress), load it. Returns success, a message and the steps performed.
        May run as a task."""
        options = {"context_length": context_length, "gpu": gpu, "ttl": ttl}
        return await make_ready(ctx, model, {**options, "identifier": identifier})

    @server.tool(annotations=_acts("Download a model", open_world=True))
    async def pull(
        ctx: Context[ServerState, Any], model: ModelArg = None
    ) -> Annotated[CallToolResult, ModelDone]:
        """Download a model (the server must be running: run init_llm first), reporting
        progress. Two calls for the same model share one download. May run as a task."""
        state = _state(ctx)

        def work(reporter: Reporter) -> CallToolResult:
            def download(driver: Driver) -> CallToolResult:
                name = model or driver.model
                on_progress = reporter.downloads()
                events = driver.pull(model)
                already = False
                try:
                    for event in events:
                        on_progress(event)
                        already = event.already_downloaded
                finally:  # closing stops the download's child process
                    close_iterator(events)
                said = f"{name} was already downloaded" if already else f"Downloaded model {name}"
                return _data_result(ModelDone(model=name, message=said))

            return state.run(download, model)

        return await _long(ctx, work)

    @server.tool(annotations=_acts("Load a model"))
    async def load(
        ctx: Context[ServerState, Any],
        model: ModelArg = None,
        context_length: ContextLengthArg = None,
        gpu: GpuArg = None,
        ttl: TtlArg = None,
        identifier: IdentifierArg = None,
    ) -> Annotated[CallToolResult, LoadedInfo]:
        """Load a downloaded model into memory with the optional load options; returns the
        loaded instance (its identifier is what requests name)."""
        state = _state(ctx)

        def work(driver: Driver) -> CallToolResult:
            options = LoadOptions(
                context_length=context_length, gpu=gpu, ttl=ttl, identifier=identifier
            )
            m = driver.load(model, options)
            return _data_result(_loaded_info(m.name, m.identifier, m.size_bytes, m.context_length))

        return await anyio.to_thread.run_sync(lambda: state.run(work, model))

    @server.tool(annotations=_acts("Unload a model"))
    async def unload(
        ctx: Context[ServerState, Any], model: ModelArg = None
    ) -> Annotated[CallToolResult, ModelDone]:
        """Unload a model from memory (it stays downloaded)."""
        return await _act(ctx, model, "Unloaded", Driver.unload)

    @server.tool(annotations=_acts("Delete a model", destructive=True))
    async def delete(
        ctx: Context[ServerState, Any], model: ModelArg = None
    ) -> Annotated[CallToolResult, ModelDone]:
        """Delete a model from the server's disk (Ollama; LM Studio has no delete). A later
        use downloads it again."""
        return await _act(ctx, model, "Deleted", Driver.delete)

    @server.tool(
        annotations=ToolAnnotations(
            title="Generate text", read_only_hint=True, open_world_hint=False
        )
    )
    def generate(
        ctx: Context[ServerState, Any],
        prompt: Annotated[str, Field(description="The prompt to answer.")],
        temperature: Annotated[
            float, Field(ge=0.0, description="Sampling temperature (0 = deterministic).")
        ] = 0.1,
        max_tokens: Annotated[int, Field(ge=1, description="The most tokens to generate.")] = 100,
        model: ModelArg = None,
    ) -> Annotated[CallToolResult, GenerateResult]:
        """Generate an answer to the prompt (not empty) with a local model (default: the
        configured one; run init_llm first)."""

        def work(driver: Driver) -> CallToolResult:  # an empty prompt: the library refuses it
            gen = driver.generate(
                prompt, model=model, temperature=temperature, max_tokens=max_tokens
            )
            data: GenerateResult = {
                "text": gen.text,
                "model": gen.model,
                "finish_reason": gen.finish_reason,
                "prompt_tokens": gen.prompt_tokens,
                "completion_tokens": gen.completion_tokens,
            }
            return _text_result(gen.text, data)

        return _state(ctx).run(work, model)

    @server.tool(
        annotations=ToolAnnotations(title="Chat", read_only_hint=True, open_world_hint=False)
    )
    def chat(
        ctx: Context[ServerState, Any],
        messages: MessagesArg,
        temperature: Annotated[
            float | None,
            Field(
                ge=0.0,
                description="Sampling temperature (0 = deterministic; default: the model's).",
            ),
        ] = None,
        max_tokens: Annotated[
            int | None,
            Field(ge=1, description="The most tokens to generate (default: the model's limit)."),
        ] = None,
        json_schema: Annotated[
            dict[str, Any] | None,
            Field(description="A JSON schema the answer must fit (structured output)."),
        ] = None,
        tools: ToolsArg = None,
        model: ModelArg = None,
    ) -> Annotated[CallToolResult, ChatResult]:
        """Answer a conversation with a local model (default: the configured one; run
        init_llm first). With json_schema, the answer is JSON that fits it (parsed in the
        result's json). A message's images go to a vision model. With tools, the model may
        answer with tool_calls (name, arguments, id) instead of text: run them, then call
        chat again with the conversation, plus {"role": "assistant", "content": text,
        "tool_calls": tool_calls} and, per call, {"role": "tool", "content": result,
        "tool_call_id": id, "name": name}. A model that cannot read images or call tools is
        a tool error saying which model can."""

        def work(driver: Driver) -> CallToolResult:
            reply = driver.chat(
                _conversation(messages, image_paths),
                model=model,
                temperature=temperature,
                max_tokens=max_tokens,
                format=json_schema,
                tools=[_tool_spec(t) for t in tools] if tools else None,
            )
            parse = json_schema is not None and not reply.tool_calls  # calls are no answer yet
            data: ChatResult = {
                "text": reply.text,
                "model": reply.model,
                "finish_reason": reply.finish_reason,
                "thinking": reply.thinking,
                "json": reply.json() if parse else None,
                "tool_calls": [cast(ToolCallInfo, c.to_dict()) for c in reply.tool_calls],
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
            }
            if reply.tool_calls:  # a host that reads only the text sees the calls too
                return _text_result(json.dumps(data, indent=2), data)
            return _text_result(reply.text, data)

        return _state(ctx).run(work, model)

    @server.tool(annotations=ToolAnnotations(title="Embed texts", read_only_hint=True))
    def embed(
        ctx: Context[ServerState, Any],
        texts: Annotated[list[str], Field(min_length=1, description="The texts to embed.")],
        model: Annotated[
            str | None,
            Field(description="An embedding model (default: the configured MODEL_NAME)."),
        ] = None,
    ) -> Annotated[CallToolResult, EmbedResult]:
        """One embedding vector per text, from an embedding model."""

        def work(driver: Driver) -> CallToolResult:
            vectors = driver.embed(texts, model=model)
            return _data_result(EmbedResult(model=model or driver.model, embeddings=vectors))

        return _state(ctx).run(work, model)

    @server.tool(annotations=ToolAnnotations(title="Runtime status", read_only_hint=True))
    def status(ctx: Context[ServerState, Any]) -> Annotated[CallToolResult, StatusResult]:
        """Which backend, whether it is installed and its server running, its version, the
        configured model and whether it is downloaded and loaded, the models present, and
        what could not be found out (problems)."""
        return _state(ctx).run(
            lambda driver: _data_result(cast(StatusResult, driver.status().to_dict()))
        )

    @server.tool(annotations=ToolAnnotations(title="List models", read_only_hint=True))
    def list_models(ctx: Context[ServerState, Any]) -> Annotated[CallToolResult, ModelList]:
        """The models downloaded on the backend, and those loaded in memory."""

        def work(driver: Driver) -> CallToolResult:
            models = driver.models()
            loaded = driver.loaded_models()
            data: ModelList = {
                "backend": driver.config.backend,
                "models": [
                    {"name": m.name, "size_bytes": m.size_bytes, "type": m.type} for m in models
                ],
                "loaded": [
                    _loaded_info(m.name, m.identifier, m.size_bytes, m.context_length)
                    for m in loaded
                ],
            }
            return _data_result(data)

        return _state(ctx).run(work)

    @server.tool(annotations=ToolAnnotations(title="Health check", read_only_hint=True))
    async def check(
        ctx: Context[ServerState, Any],
        model: ModelArg = None,
        answer: Annotated[
            bool, Field(description="Also ask the model for one token within timeout.")
        ] = False,
        timeout: Annotated[
            float, Field(gt=0, description="Seconds the check (and the answer) may take.")
        ] = 5.0,
    ) -> Annotated[CallToolResult, HealthResult]:
        """The read-only health check: does the server answer (with the token it wants), is
        the model downloaded and loaded, and with answer, does it answer one token within
        timeout seconds. Starts, downloads and loads nothing. A problem found is the result
        (ok false, problem, message), not a tool error."""
        state = _state(ctx)

        def work(driver: Driver) -> CallToolResult:
            names = None if model is None else [model]
            return _data_result(_health(driver.check(names, answer=answer, timeout=timeout)))

        return await anyio.to_thread.run_sync(lambda: state.run(work, model))

    @server.tool(annotations=ToolAnnotations(title="Will the model fit", read_only_hint=True))
    async def fit(
        ctx: Context[ServerState, Any],
        model: ModelArg = None,
        context_length: ContextLengthArg = None,
        gpu: GpuArg = None,
    ) -> Annotated[CallToolResult, FitResult]:
        """Will the model fit in memory with this context length and GPU offload, before it
        is downloaded or loaded where the runtime can tell (Ollama: the registry's manifest
        or the downloaded model; LM Studio on this machine: lms load --estimate-only, or
        before the download the size in lms get's plan). Returns the verdict (fits,
        partial, does_not_fit, unknown), the reason and the numbers in bytes."""
        state = _state(ctx)

        def work(driver: Driver) -> CallToolResult:
            options = LoadOptions(context_length=context_length, gpu=gpu)
            return _data_result(cast(FitResult, driver.estimate(model, options).to_dict()))

        return await anyio.to_thread.run_sync(lambda: state.run(work, model))

    return server


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``lmsdrive-mcp``: serve MCP over stdio until stdin closes, or over
    Streamable HTTP (``--transport streamable-http``)."""
    from .mcp_http import add_http_arguments, serve_http

    parser = argparse.ArgumentParser(
        prog="lmsdrive-mcp",
        description=(
            "MCP server with the tools init_llm, ensure_ready, pull, load, unload, delete, "
            "generate, chat, embed, status, list_models, check and fit. "
            "Configured by the environment: BACKEND (ollama|lmstudio), MODEL_NAME, "
            "MODEL_SOURCE (ollama|huggingface), LMSTUDIO_URL, OLLAMA_HOST. Over stdio it is "
            "started by an MCP host; over Streamable HTTP it serves /mcp."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_http_arguments(parser)
    args = parser.parse_args(argv)
    for name in ("httpx", "httpcore"):  # one INFO line per request would flood the host's log
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.transport == "streamable-http":
        return serve_http(lambda: create_server(image_paths=False), args)
    create_server().run("stdio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
