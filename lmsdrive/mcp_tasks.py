"""Tasks for ``lmsdrive-mcp`` (MCP specification 2025-11-25, SEP-1686): a long tool call that
returns at once and runs on.

A host that supports tasks sends ``tools/call`` with a ``task`` field for a tool whose listing
says ``execution.taskSupport: "optional"``. The server answers at once with a
``CreateTaskResult`` (status ``working``) and runs the call in the background, exactly as a
plain call runs (same arguments, same validation, same result). Then:

``tasks/get``     the task: status, ``statusMessage`` (``"Downloading model: 45%"``), times
``tasks/result``  waits until the task is terminal, then the call's own ``CallToolResult``
``tasks/cancel``  stops the work (a download's child process too): status ``cancelled``
``tasks/list``    every task the server keeps

Progress notifications go on while the task runs, on the call's progress token, with
``_meta["io.modelcontextprotocol/related-task"]``; none follows a terminal status. A tool
that fails ends ``failed`` (its result is the tool error). Tasks live in memory until their
``ttl`` (from the request, at most a day) has passed since they were created.

Only handshake-era sessions (2025-11-25) see any of this: a plain call, or a host that never
asks for a task, behaves as before. The 2026 revision moved tasks into an extension with
other methods; this module does not serve it.

How it plugs into the SDK: a server middleware (:meth:`Tasks.middleware`) answers a
task-augmented ``tools/call`` (the SDK's ``tools/call`` result check knows only
``CallToolResult``), adds ``execution`` to the listed tools and ``tasks`` to the capabilities
of ``initialize``; the ``tasks/*`` methods are :class:`~mcp.server.extension.MethodBinding`\\ s
of :meth:`Tasks.extension`. A tool learns that it runs as a task through
:func:`current_task`.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import anyio
import anyio.abc
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.shared.exceptions import MCPError
from mcp.shared.jsonrpc_dispatcher import progress_token_from_params
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    CancelTaskRequestParams,
    ErrorData,
    GetTaskPayloadRequestParams,
    GetTaskRequestParams,
    PaginatedRequestParams,
    ProgressNotification,
    ProgressNotificationParams,
    ProgressToken,
    Task,
    TaskStatus,
)

logger = logging.getLogger(__name__)

#: The protocol revision whose tasks this module serves.
TASKS_VERSION = "2025-11-25"
#: The ``_meta`` key that ties a message to its task.
RELATED_TASK = "io.modelcontextprotocol/related-task"
#: The ``_meta`` key of what a host may tell its model at once while the task runs.
IMMEDIATE_RESPONSE = "io.modelcontextprotocol/model-immediate-response"
#: How long a task is kept when the request names no ``ttl`` (ms), and the most it may ask.
DEFAULT_TTL_MS = 60 * 60 * 1000
MAX_TTL_MS = 24 * 60 * 60 * 1000
#: How often a host should poll ``tasks/get`` (ms).
POLL_INTERVAL_MS = 500
#: How long ``tasks/cancel`` waits for the work to stop before it answers (s).
CANCEL_WAIT = 30.0
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})


class TaskCancelled(Exception):
    """Raised in a task's worker when the host cancelled the task: stops the work there."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


@dataclass
class TaskRecord:
    """One task: what ``tasks/get`` shows, and the call's result once it ends."""

    task_id: str
    tool: str
    ttl_ms: int
    progress_token: ProgressToken | None
    ctx: ServerRequestContext[Any, Any] = field(repr=False)
    status: TaskStatus = "working"
    status_message: str | None = None
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)
    result: dict[str, Any] | None = None
    error: ErrorData | None = None
    done: anyio.Event = field(default_factory=anyio.Event, repr=False)
    stopped: anyio.Event = field(default_factory=anyio.Event, repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def task(self) -> Task:
        return Task(
            task_id=self.task_id,
            status=self.status,
            status_message=self.status_message,
            created_at=_iso(self.created_at),
            last_updated_at=_iso(self.updated_at),
            ttl=self.ttl_ms,
            poll_interval=POLL_INTERVAL_MS,
        )

    def expired(self, now: datetime) -> bool:
        return self.terminal and (now - self.created_at).total_seconds() * 1000 > self.ttl_ms

    def check_cancelled(self) -> None:
        """Raise :class:`TaskCancelled` once the host cancelled the task (in the worker)."""
        if self._cancel.is_set():
            raise TaskCancelled(f"task {self.task_id} was cancelled")

    # -- on the event loop --------------------------------------------------------------------
    async def report(self, progress: float | None, total: float | None, message: str) -> None:
        """The task's news: the status message ``tasks/get`` shows and, with ``progress``, a
        progress notification on the call's token tied to this task. Nothing once the task
        is terminal (run on the loop, so a cancel cannot slip in between)."""
        if self.terminal:
            return
        self.status_message = message
        self.updated_at = _now()
        if progress is None or self.progress_token is None:
            return
        params = ProgressNotificationParams(
            progress_token=self.progress_token,
            progress=progress,
            total=total,
            message=message,
            _meta={RELATED_TASK: {"taskId": self.task_id}},
        )
        # The connection's own channel: the call's response has been sent already.
        await self.ctx.session.send_notification(ProgressNotification(params=params))

    def finish(self, status: TaskStatus, message: str | None) -> None:
        if self.terminal:
            return
        self.status = status
        self.status_message = message
        self.updated_at = _now()
        self.done.set()


_current: ContextVar[TaskRecord | None] = ContextVar("lmsdrive_mcp_task", default=None)


def current_task() -> TaskRecord | None:
    """The task this tool call runs as, or ``None`` for a plain call."""
    return _current.get()


def _params_error(message: str) -> MCPError:
    return MCPError(code=INVALID_PARAMS, message=message)


class Tasks:
    """The tasks of one server: which tools may run as tasks, and the tasks themselves."""

    def __init__(self, tools: Collection[str]) -> None:
        self.tools = frozenset(tools)
        self._tasks: dict[str, TaskRecord] = {}
        self._group: anyio.abc.TaskGroup | None = None

    # -- lifetime -----------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Hold the task group the tasks run in (the server's lifespan); on the way out, every
        task still working is cancelled."""
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                yield
            finally:
                self._group = None
                for record in self._tasks.values():
                    record._cancel.set()
                    record.finish("cancelled", "The server is shutting down.")
                group.cancel_scope.cancel()

    def _get(self, task_id: str) -> TaskRecord:
        self._expire()
        record = self._tasks.get(task_id)
        if record is None:
            raise _params_error(f"Unknown task: {task_id!r}")
        return record

    def _expire(self) -> None:
        now = _now()
        for task_id in [t for t, r in self._tasks.items() if r.expired(now)]:
            del self._tasks[task_id]

    # -- tools/call with a task ---------------------------------------------------------------
    async def middleware(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        """Answer a task-augmented ``tools/call``; advertise tasks to 2025-11-25 sessions."""
        if ctx.protocol_version != TASKS_VERSION and ctx.method != "initialize":
            return await call_next(ctx)
        if ctx.method == "tools/call" and ctx.params and ctx.params.get("task") is not None:
            return await self._create(ctx, call_next)
        result = await call_next(ctx)
        if isinstance(result, dict):
            if ctx.method == "initialize" and result.get("protocolVersion") == TASKS_VERSION:
                result["capabilities"] = {**result.get("capabilities", {}), "tasks": _CAPABILITY}
            elif ctx.method == "tools/list":
                for tool in result.get("tools", []):
                    if tool.get("name") in self.tools:
                        tool["execution"] = {"taskSupport": "optional"}
        return result

    async def _create(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        assert ctx.params is not None
        name = ctx.params.get("name")
        if name not in self.tools:
            raise MCPError(
                code=METHOD_NOT_FOUND,
                message=f"Tool {name!r} does not run as a task: call it without 'task'",
            )
        if self._group is None:  # pragma: no cover - the lifespan holds it while serving
            raise MCPError(code=METHOD_NOT_FOUND, message="Tasks are not available")
        task = ctx.params["task"]
        if not isinstance(task, Mapping):
            raise _params_error("'task' must be an object, e.g. {} or {\"ttl\": 60000}")
        ttl = task.get("ttl")
        ttl_ms = min(ttl, MAX_TTL_MS) if isinstance(ttl, int) and ttl > 0 else DEFAULT_TTL_MS
        self._expire()
        record = TaskRecord(
            task_id=secrets.token_urlsafe(16),
            tool=str(name),
            ttl_ms=ttl_ms,
            progress_token=progress_token_from_params(ctx.params),
            ctx=ctx,
            status_message="Started.",
        )
        self._tasks[record.task_id] = record
        self._group.start_soon(self._run, record, call_next)
        logger.info("task %s: %s", record.task_id, name)
        return {
            "task": _wire(record.task()),
            "_meta": {IMMEDIATE_RESPONSE: f"{name} runs on as task {record.task_id}."},
        }

    async def _run(self, record: TaskRecord, call_next: CallNext) -> None:
        """Run the call as a plain call runs; its result (or JSON-RPC error) is the task's,
        unless the task was cancelled meanwhile (it stays cancelled, without a result)."""
        token = _current.set(record)
        result: HandlerResult = None
        error: ErrorData | None = None
        try:
            result = await call_next(record.ctx)
        except MCPError as exc:
            error = exc.error
        except Exception as exc:  # the SDK turns tool failures into results: this is a bug
            logger.exception("task %s crashed", record.task_id)
            error = ErrorData(code=INTERNAL_ERROR, message=f"Internal error: {exc}")
        finally:
            _current.reset(token)
            record.stopped.set()
        if record.terminal:
            return
        if error is not None:
            record.error = error
            record.finish("failed", error.message)
            return
        record.result = dict(result) if isinstance(result, dict) else {}
        if record.result.get("isError"):
            record.finish("failed", _first_text(record.result))
        else:
            record.finish("completed", "Done.")

    # -- the tasks/* methods ------------------------------------------------------------------
    def extension(self) -> Extension:
        """The ``tasks/get``, ``tasks/result``, ``tasks/cancel`` and ``tasks/list`` methods,
        for 2025-11-25 sessions only."""
        return _TasksMethods(self)

    async def get(
        self, _: ServerRequestContext[Any, Any], params: GetTaskRequestParams
    ) -> dict[str, Any]:
        return _wire(self._get(params.task_id).task())

    async def result(
        self, _: ServerRequestContext[Any, Any], params: GetTaskPayloadRequestParams
    ) -> dict[str, Any]:
        record = self._get(params.task_id)
        await record.done.wait()
        if record.error is not None:
            raise MCPError.from_error_data(record.error)
        if record.result is None:  # cancelled before the call returned anything
            text = record.status_message or "The task was cancelled."
            payload: dict[str, Any] = {
                "content": [{"type": "text", "text": text}],
                "structuredContent": {"kind": "cancelled", "message": text},
                "isError": True,
            }
        else:
            payload = dict(record.result)
        meta = {**payload.get("_meta", {}), RELATED_TASK: {"taskId": record.task_id}}
        return {**payload, "_meta": meta}

    async def cancel(
        self, _: ServerRequestContext[Any, Any], params: CancelTaskRequestParams
    ) -> dict[str, Any]:
        """Stop the work (waiting up to :data:`CANCEL_WAIT` seconds for its worker to stop:
        a download's child process is gone when this answers), then ``cancelled``."""
        record = self._get(params.task_id)
        if record.terminal:
            raise _params_error(f"Task {params.task_id!r} is already {record.status}")
        record._cancel.set()
        record.finish("cancelled", "Cancelled by the client.")
        with anyio.move_on_after(CANCEL_WAIT):
            await record.stopped.wait()
        return _wire(record.task())

    async def list_tasks(
        self, _: ServerRequestContext[Any, Any], params: PaginatedRequestParams
    ) -> dict[str, Any]:
        if params.cursor is not None:
            raise _params_error("Unknown cursor: tasks/list returns every task in one page")
        self._expire()
        return {"tasks": [_wire(r.task()) for r in self._tasks.values()]}


#: ``capabilities.tasks`` of a 2025-11-25 server whose tools may run as tasks.
_CAPABILITY: dict[str, Any] = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}


def _wire(task: Task) -> dict[str, Any]:
    return task.model_dump(by_alias=True, mode="json", exclude_none=True)


def _first_text(result: dict[str, Any]) -> str | None:
    for block in result.get("content", []):
        if isinstance(block, dict) and block.get("type") == "text":
            return str(block.get("text"))
    return None


class _TasksMethods(Extension):
    """The ``tasks/*`` methods as an SDK extension (advertised under ``extensions`` only to
    2026 clients, which it tells that the methods serve 2025-11-25 sessions)."""

    identifier = "io.github.lmsdrive/tasks-2025-11-25"

    def __init__(self, tasks: Tasks) -> None:
        self._tasks = tasks

    def settings(self) -> dict[str, Any]:
        return {"protocolVersions": [TASKS_VERSION]}

    def methods(self) -> Sequence[MethodBinding]:
        versions = frozenset({TASKS_VERSION})
        t = self._tasks
        return [
            MethodBinding("tasks/get", GetTaskRequestParams, t.get, versions),
            MethodBinding("tasks/result", GetTaskPayloadRequestParams, t.result, versions),
            MethodBinding("tasks/cancel", CancelTaskRequestParams, t.cancel, versions),
            MethodBinding("tasks/list", PaginatedRequestParams, t.list_tasks, versions),
        ]


__all__ = ["RELATED_TASK", "TaskCancelled", "TaskRecord", "Tasks", "current_task"]
