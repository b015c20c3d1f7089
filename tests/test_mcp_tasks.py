"""Tasks (MCP 2025-11-25) in ``lmsdrive-mcp``: a real server process (stdio, and Streamable
HTTP on a loopback port) driven by the official SDK's ``ClientSession`` against the fake
runtimes, whose download takes seconds.

The SDK's client checks a ``tools/call`` answer against ``CallToolResult`` only, so the
task-augmented call goes through the session's ``JSONRPCDispatcher`` (the wire as a 2025-11-25
host sends it); ``tasks/*`` go through ``ClientSession.send_request`` with the SDK's types."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.session import ClientSession, IncomingMessage
from mcp.shared.exceptions import MCPError
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher
from mcp_helpers import Streams, http_server, http_transport, stdio_transport
from mcp_types import (
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    CallToolResult,
    CancelTaskRequest,
    CancelTaskRequestParams,
    CancelTaskResult,
    CreateTaskResult,
    GetTaskPayloadRequest,
    GetTaskPayloadRequestParams,
    GetTaskRequest,
    GetTaskRequestParams,
    GetTaskResult,
    ListTasksRequest,
    ListTasksResult,
    ProgressNotification,
    Task,
)

from lmsdrive.mcp_tasks import IMMEDIATE_RESPONSE, RELATED_TASK
from lmsdrive.testing.fake_cli import pid_alive
from lmsdrive.testing.runtime import FakeRuntime

MakeRuntime = Callable[..., FakeRuntime]
MODEL = "qwen2.5:0.5b"
TOKEN = "task-test-token-81f0"
PERCENT = re.compile(r"Downloading model: (\d+)%")

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _configure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND", "ollama")
    monkeypatch.setenv("MODEL_NAME", MODEL)
    monkeypatch.delenv("LMSDRIVE_MCP_TOKEN", raising=False)


@dataclass
class Host:
    """A 2025-11-25 host: the session, its dispatcher, the progress notifications it got."""

    session: ClientSession
    dispatcher: JSONRPCDispatcher[Any]
    progress: list[ProgressNotification] = field(default_factory=list)

    async def call_as_task(self, tool: str, arguments: dict[str, Any], token: str) -> Task:
        params = {
            "name": tool,
            "arguments": arguments,
            "task": {"ttl": 600_000},
            "_meta": {"progressToken": token},
        }
        raw = await self.dispatcher.send_raw_request("tools/call", params, {"timeout": 30})
        assert f"runs on as task {raw['task']['taskId']}" in raw["_meta"][IMMEDIATE_RESPONSE]
        return CreateTaskResult.model_validate(raw, by_name=False).task

    async def get(self, task_id: str) -> GetTaskResult:
        request = GetTaskRequest(params=GetTaskRequestParams(task_id=task_id))
        return await self.session.send_request(request, GetTaskResult)

    async def result(self, task_id: str) -> CallToolResult:
        request = GetTaskPayloadRequest(params=GetTaskPayloadRequestParams(task_id=task_id))
        return await self.session.send_request(request, CallToolResult)

    async def cancel(self, task_id: str) -> CancelTaskResult:
        request = CancelTaskRequest(params=CancelTaskRequestParams(task_id=task_id))
        return await self.session.send_request(request, CancelTaskResult)

    async def list_tasks(self) -> ListTasksResult:
        return await self.session.send_request(ListTasksRequest(), ListTasksResult)

    async def poll(
        self, task_id: str, until: Callable[[GetTaskResult], bool]
    ) -> list[GetTaskResult]:
        """``tasks/get`` every 50 ms until ``until`` holds (or 60 s pass): every answer."""
        seen: list[GetTaskResult] = []
        with anyio.fail_after(60):
            while not seen or not until(seen[-1]):
                seen.append(await self.get(task_id))
                await anyio.sleep(0.05)
        return seen


@asynccontextmanager
async def host(transport: AbstractAsyncContextManager[Streams]) -> AsyncIterator[Host]:
    progress: list[ProgressNotification] = []

    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, ProgressNotification):
            progress.append(message)

    async with transport as (read, write):
        dispatcher: JSONRPCDispatcher[Any] = JSONRPCDispatcher(read, write)
        async with ClientSession(
            dispatcher=dispatcher, message_handler=on_message, read_timeout_seconds=60
        ) as session:
            init = await session.initialize()
            assert init.protocol_version == "2025-11-25"
            tasks = init.capabilities.tasks
            assert tasks is not None and tasks.requests is not None
            assert tasks.requests.tools is not None and tasks.requests.tools.call is not None
            assert tasks.cancel is not None and tasks.list is not None
            yield Host(session, dispatcher, progress)


def percents(answers: list[GetTaskResult]) -> list[int]:
    found = (PERCENT.fullmatch(a.status_message or "") for a in answers)
    return [int(m.group(1)) for m in found if m]


def terminal(task: GetTaskResult) -> bool:
    return task.status in ("completed", "failed", "cancelled")


def downloads(rt: FakeRuntime) -> list[dict[str, Any]]:
    """The fake ``ollama pull`` processes started so far."""
    return [s for s in rt.spawns() if s["argv"][:2] == ["ollama", "pull"]]


@pytest.mark.parametrize("transport", ["stdio", "streamable-http"])
async def test_init_llm_as_a_task(
    fake_runtime: MakeRuntime, tmp_path: Path, transport: str
) -> None:
    rt = fake_runtime(pull_seconds=3.0, pull_frames=60)
    async with connect(transport, tmp_path / "server.log") as h:
        listed = {t.name: t for t in (await h.session.list_tools()).tools}
        for name in ("init_llm", "ensure_ready", "pull"):
            execution = listed[name].execution
            assert execution is not None and execution.task_support == "optional", name
        assert listed["generate"].execution is None

        task = await h.call_as_task("init_llm", {}, token="init")
        assert task.status == "working"  # it answered before the download ended
        answers = await h.poll(task.task_id, terminal)
        seen = percents(answers)
        assert len(set(seen)) >= 2, [a.status_message for a in answers]
        assert seen == sorted(seen)
        assert answers[-1].status == "completed"

        result = await h.result(task.task_id)
        assert not result.is_error
        assert result.structured_content is not None
        assert result.structured_content["success"] is True
        assert result.structured_content["steps_performed"][1:] == [
            f"Downloaded model {MODEL}",
            f"Loaded model {MODEL}",
        ]
        assert result.meta is not None
        assert result.meta[RELATED_TASK] == {"taskId": task.task_id}
        assert [t.task_id for t in (await h.list_tasks()).tasks] == [task.task_id]

        # the same call without a task: today's behaviour, the model is ready now
        plain = await h.session.call_tool("init_llm", {})
        assert plain.structured_content is not None
        assert plain.structured_content["steps_performed"] == []
        generated = await h.session.call_tool("generate", {"prompt": "ping"})
        assert not generated.is_error

        check_task_progress(h.progress, task.task_id)
    assert len(downloads(rt)) == 1


@asynccontextmanager
async def connect(transport: str, log: Path) -> AsyncIterator[Host]:
    """A host connected to a fresh server over ``transport`` (over HTTP with a token, as an
    agent on another machine would)."""
    if transport == "stdio":
        async with host(stdio_transport(log)) as h:
            yield h
        return
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LMSDRIVE_MCP_TOKEN", TOKEN)
        async with http_server(log) as url, host(http_transport(url, TOKEN)) as h:
            yield h


def check_task_progress(notes: list[ProgressNotification], task_id: str) -> None:
    """Progress on the call's token, tied to the task, rising to 100 and no further."""
    values = [n.params.progress for n in notes]
    assert values, "no progress notification during the task"
    assert values == sorted(set(values)) and values[-1] == 100
    for note in notes:
        assert note.params.progress_token == "init"
        assert note.params.meta is not None
        assert note.params.meta[RELATED_TASK] == {"taskId": task_id}


async def test_cancel_stops_the_download_and_its_child(
    fake_runtime: MakeRuntime, tmp_path: Path
) -> None:
    rt = fake_runtime(server_running=True, pull_seconds=60.0, pull_frames=600)
    async with host(stdio_transport(tmp_path / "server.log")) as h:
        task = await h.call_as_task("pull", {}, token="pull")
        await h.poll(task.task_id, lambda t: any(p > 0 for p in percents([t])))
        (child,) = downloads(rt)
        assert pid_alive(child["pid"])

        cancelled = await h.cancel(task.task_id)
        assert cancelled.status == "cancelled"
        assert not pid_alive(child["pid"])  # gone by the time tasks/cancel answers

        assert (await h.get(task.task_id)).status == "cancelled"
        result = await h.result(task.task_id)
        assert result.is_error
        assert result.structured_content is not None
        assert result.structured_content["kind"] == "cancelled"
        with pytest.raises(MCPError) as again:
            await h.cancel(task.task_id)
        assert again.value.code == INVALID_PARAMS
        count = len(h.progress)
        await anyio.sleep(0.5)
        assert len(h.progress) == count  # no progress after the terminal status

        status = await h.session.call_tool("status", {})
        assert status.structured_content is not None
        assert status.structured_content["model_downloaded"] is False


async def test_two_pulls_of_one_model_share_one_download(
    fake_runtime: MakeRuntime, tmp_path: Path
) -> None:
    rt = fake_runtime(server_running=True, pull_seconds=4.0, pull_frames=40)
    async with host(stdio_transport(tmp_path / "server.log")) as h:
        first = await h.call_as_task("pull", {"model": MODEL}, token="a")
        second = await h.call_as_task("pull", {}, token="b")
        results = [await h.result(t.task_id) for t in (first, second)]
    for result in results:
        assert not result.is_error, result
        assert result.structured_content == {
            "model": MODEL,
            "message": f"Downloaded model {MODEL}",
        }
    assert len(downloads(rt)) == 1


async def test_task_errors(fake_runtime: MakeRuntime, tmp_path: Path) -> None:
    fake_runtime(backends=["lms"])  # Ollama is not installed
    async with host(stdio_transport(tmp_path / "server.log")) as h:
        with pytest.raises(MCPError) as forbidden:
            await h.call_as_task("generate", {"prompt": "hi"}, token="g")
        assert forbidden.value.code == METHOD_NOT_FOUND
        with pytest.raises(MCPError) as unknown:
            await h.get("no-such-task")
        assert unknown.value.code == INVALID_PARAMS

        task = await h.call_as_task("init_llm", {}, token="i")
        result = await h.result(task.task_id)  # waits for the end
        assert result.is_error
        assert result.structured_content is not None
        assert result.structured_content["kind"] == "not_installed"
        assert (await h.get(task.task_id)).status == "failed"
        plain = await h.session.call_tool("init_llm", {})  # the same failure, without a task
        assert plain.structured_content == result.structured_content
