"""``lmsdrive-mcp``: the MCP server shim (stdio), on the official ``mcp`` SDK v2 (``MCPServer``).

Install with ``pip install 'lmsdrive[mcp]'`` (pins ``mcp>=2.3,<3``). An MCP host starts it as a
subprocess and talks JSON-RPC over its stdin/stdout. Configuration comes from the environment,
read once when the server starts:

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
    ``{success, message, steps_performed}``; a failure is a tool error (``isError``) whose
    text is the friendly per-backend message, with the same object as structured content.
``generate(prompt, temperature=0.1, max_tokens=100)``
    The answer's text (structured: ``text``, ``model``, ``finish_reason``, token counts).
    0.1 and 100 are the original agent-router's defaults, kept for its callers (the library
    and CLI send none unless given); ``finish_reason`` ``"length"`` says 100 cut the answer.
``chat(messages, temperature=None, max_tokens=None, json_schema=None)``
    The answer to a conversation (structured: ``text``, ``model``, ``finish_reason``,
    ``thinking``, ``json`` (the parsed answer when a schema was given), token counts).
``embed(texts, model=None)``
    ``{model, embeddings}``: one vector per text, from an embedding model.
``status()``
    :func:`lmsdrive.status.get_status`: backend, binary, version, URL, running, the
    configured model and whether it is downloaded/loaded (``ready``), the downloaded and
    loaded models, ``problems``. Never a tool error for runtime problems: it reports them.
``list_models()``
    ``{backend, models: [{name, size_bytes, type}], loaded: [{name, identifier, size_bytes,
    context_length}]}``.

Failures are tool errors carrying the library's friendly message ("Ollama is not installed.
Please install from https://ollama.com", "Ollama server is not running. Run init_llm to start
it.", ...). Logs go to stderr; stdout is the protocol's.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, cast

import anyio
import anyio.from_thread
import anyio.to_thread

try:
    from mcp.server.mcpserver import Context, MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import CallToolResult, TextContent, ToolAnnotations
    from pydantic import Field
    from typing_extensions import TypedDict
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        f"lmsdrive-mcp needs the MCP Python SDK v2 ({exc}): pip install 'lmsdrive[mcp]'",
        name="mcp",  # lmsdrive.cli.mcp_main says this in one line
    ) from exc

from ._types import LoadOptions, Progress
from ._version import __version__
from .config import Config
from .driver import Driver, friendly_message
from .errors import ConfigError, LmsdriveError, ServerNotRunningError

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Drives a local LLM runtime (Ollama or LM Studio, chosen by the server's environment). "
    "Call init_llm first: it starts the runtime's server, downloads the configured model if "
    "needed (with progress) and loads it. Then call generate. status and list_models report "
    "what is installed, running, downloaded and loaded."
)


# --- tool results (their JSON Schemas are the tools' output schemas) ----------------------------
class InitResult(TypedDict):
    """What ``init_llm`` did, as the original ``init_llm`` returned it."""

    success: bool
    message: str
    steps_performed: list[str]


class GenerateResult(TypedDict):
    text: str
    model: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None


class ChatResult(TypedDict):
    text: str
    model: str
    finish_reason: str | None
    thinking: str | None
    json: Any
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


# --- server state ---------------------------------------------------------------------------------
@dataclass
class ServerState:
    """The lifespan object: one driver for the server's life, or why there is none."""

    backend: str
    driver_: Driver | None = None
    config_error: ConfigError | None = None

    def driver(self) -> Driver:
        if self.driver_ is None:
            raise ToolError(str(self.config_error))
        return self.driver_

    def model(self) -> str | None:
        if self.driver_ is None:
            return None
        try:
            return self.driver_.config.model_for_backend()
        except LmsdriveError:
            return None

    def error(self, exc: BaseException) -> ToolError:
        """A tool error with the friendly per-backend message and this face's next step."""
        return ToolError(message_for(self.backend, self.model(), exc))


#: What an MCP host can do next when the server does not answer.
RUN_INIT_LLM = "Run init_llm to start it."


def message_for(backend: str, model: str | None, exc: BaseException) -> str:
    """The library's friendly message; a server that does not answer adds "Run init_llm"."""
    message = friendly_message(backend, model, exc)
    return f"{message} {RUN_INIT_LLM}" if isinstance(exc, ServerNotRunningError) else message


def _state(ctx: Context[ServerState, Any]) -> ServerState:
    state = ctx.request_context.lifespan_context
    assert isinstance(state, ServerState)
    return state


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


def _thread_sender(
    report: Callable[[float, float | None, str | None], Coroutine[Any, Any, None]],
) -> Callable[[float, str], None]:
    """A ``send`` for :class:`DownloadProgress` that runs in a worker thread and awaits
    ``report`` on the event loop. Cancellation of the request propagates (it stops the
    download); a notification that cannot be sent is logged, not fatal."""

    def send(progress: float, message: str) -> None:
        try:
            anyio.from_thread.run(report, progress, 100.0, message)
        except anyio.get_cancelled_exc_class():
            raise
        except Exception:  # the client went away: let the download finish anyway
            logger.debug("could not send a progress notification", exc_info=True)

    return send


# --- the server -----------------------------------------------------------------------------------
def _text_result(text: str, structured: Any, *, is_error: bool = False) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=structured,
        is_error=is_error,
    )


def create_server(config: Config | None = None) -> MCPServer[ServerState]:
    """The MCP server. ``config`` defaults to :meth:`Config.from_env` at server start; an
    invalid environment does not stop the server: every tool then answers with the reason."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[ServerState]) -> AsyncIterator[ServerState]:
        try:
            cfg = config if config is not None else Config.from_env()
        except ConfigError as exc:
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
    )

    @server.tool(
        annotations=ToolAnnotations(
            title="Make the local LLM ready",
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=True,
        )
    )
    async def init_llm(
        ctx: Context[ServerState, Any],
        context_length: Annotated[
            int | None, Field(ge=1, description="Context length to load the model with (tokens).")
        ] = None,
        gpu: Annotated[
            str | None,
            Field(description="GPU offload: a ratio 0-1, 'max' or 'off' (Ollama: 'max'/'off')."),
        ] = None,
        ttl: Annotated[
            int | None, Field(ge=1, description="Unload the model after this many idle seconds.")
        ] = None,
        identifier: Annotated[
            str | None, Field(description="API name of the loaded instance (LM Studio only).")
        ] = None,
    ) -> Annotated[CallToolResult, InitResult]:
        """Make the configured model ready: start the runtime's server if needed, download the
        model if needed (reporting progress), load it (with the optional load options). Safe
        to call again: it does only what is missing. Returns success, a message and the steps
        performed."""
        state = _state(ctx)
        driver = state.driver()
        try:
            options = LoadOptions(
                context_length=context_length, gpu=gpu, ttl=ttl, identifier=identifier
            )
        except LmsdriveError as exc:
            raise state.error(exc) from exc
        on_progress = DownloadProgress(_thread_sender(ctx.report_progress))
        report = await anyio.to_thread.run_sync(
            lambda: driver.ensure_ready(on_progress, load_options=options)
        )
        data: InitResult = {
            "success": report.success,
            "message": report.message,
            "steps_performed": list(report.steps_performed),
        }
        if report.success:
            return _text_result(json.dumps(data, indent=2), data)
        text = report.message
        if report.steps_performed:
            text += "\nSteps performed before the failure: " + "; ".join(report.steps_performed)
        return _text_result(text, data, is_error=True)

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
    ) -> Annotated[CallToolResult, GenerateResult]:
        """Generate an answer to the prompt with the configured local model (run init_llm
        first)."""
        state = _state(ctx)
        driver = state.driver()
        try:
            gen = driver.generate(prompt, temperature=temperature, max_tokens=max_tokens)
        except LmsdriveError as exc:
            raise state.error(exc) from exc
        data: GenerateResult = {
            "text": gen.text,
            "model": gen.model,
            "finish_reason": gen.finish_reason,
            "prompt_tokens": gen.prompt_tokens,
            "completion_tokens": gen.completion_tokens,
        }
        return _text_result(gen.text, data)

    @server.tool(
        annotations=ToolAnnotations(title="Chat", read_only_hint=True, open_world_hint=False)
    )
    def chat(
        ctx: Context[ServerState, Any],
        messages: Annotated[
            list[dict[str, str]],
            Field(
                min_length=1,
                description='The conversation: [{"role": "system" | "user" | "assistant", '
                '"content": "..."}], the last one the user\'s.',
            ),
        ],
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
    ) -> Annotated[CallToolResult, ChatResult]:
        """Answer a conversation with the configured local model (run init_llm first); with
        json_schema, the answer is JSON that fits it (parsed in the result's json)."""
        state = _state(ctx)
        driver = state.driver()
        try:
            reply = driver.chat(
                messages, temperature=temperature, max_tokens=max_tokens, format=json_schema
            )
            value = reply.json() if json_schema is not None else None
        except LmsdriveError as exc:
            raise state.error(exc) from exc
        data: ChatResult = {
            "text": reply.text,
            "model": reply.model,
            "finish_reason": reply.finish_reason,
            "thinking": reply.thinking,
            "json": value,
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
        }
        return _text_result(reply.text, data)

    @server.tool(annotations=ToolAnnotations(title="Embed texts", read_only_hint=True))
    def embed(
        ctx: Context[ServerState, Any],
        texts: Annotated[list[str], Field(min_length=1, description="The texts to embed.")],
        model: Annotated[
            str | None,
            Field(description="An embedding model (default: the configured MODEL_NAME)."),
        ] = None,
    ) -> EmbedResult:
        """One embedding vector per text, from an embedding model."""
        state = _state(ctx)
        driver = state.driver()
        try:
            vectors = driver.embed(texts, model=model)
        except LmsdriveError as exc:
            raise state.error(exc) from exc
        return {"model": model or driver.model, "embeddings": vectors}

    @server.tool(annotations=ToolAnnotations(title="Runtime status", read_only_hint=True))
    def status(ctx: Context[ServerState, Any]) -> StatusResult:
        """Which backend, whether it is installed and its server running, its version, the
        configured model and whether it is downloaded and loaded, the models present, and
        what could not be found out (problems)."""
        return cast(StatusResult, _state(ctx).driver().status().to_dict())

    @server.tool(annotations=ToolAnnotations(title="List models", read_only_hint=True))
    def list_models(ctx: Context[ServerState, Any]) -> ModelList:
        """The models downloaded on the backend, and those loaded in memory."""
        state = _state(ctx)
        driver = state.driver()
        try:
            models = driver.models()
            loaded = driver.loaded_models()
        except (LmsdriveError, OSError) as exc:
            raise state.error(exc) from exc
        return {
            "backend": driver.config.backend,
            "models": [
                {"name": m.name, "size_bytes": m.size_bytes, "type": m.type} for m in models
            ],
            "loaded": [
                {
                    "name": m.name,
                    "identifier": m.identifier,
                    "size_bytes": m.size_bytes,
                    "context_length": m.context_length,
                }
                for m in loaded
            ],
        }

    return server


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``lmsdrive-mcp``: serve MCP over stdio until stdin closes."""
    parser = argparse.ArgumentParser(
        prog="lmsdrive-mcp",
        description=(
            "MCP server (stdio) with the tools init_llm, generate, chat, embed, status and "
            "list_models. "
            "Configured by the environment: BACKEND (ollama|lmstudio), MODEL_NAME, "
            "MODEL_SOURCE (ollama|huggingface), LMSTUDIO_URL, OLLAMA_HOST. Started by an MCP "
            "host, not by hand."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.parse_args(argv)
    server = create_server()
    for name in ("httpx", "httpcore"):  # one INFO line per request would flood the host's log
        logging.getLogger(name).setLevel(logging.WARNING)
    server.run("stdio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
