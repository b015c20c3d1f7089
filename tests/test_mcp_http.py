"""``lmsdrive-mcp --transport streamable-http``: a real server process on a free loopback port,
the bearer token, the Origin check, and the refusal to listen beyond loopback without a
token. The MCP traffic is the official SDK's client."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp_helpers import SERVER, http_server, http_transport
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from lmsdrive.cli import mcp_main
from lmsdrive.mcp_http import TOKEN_VARIABLE, Guard, read_token
from lmsdrive.testing.runtime import FakeRuntime

MakeRuntime = Callable[..., FakeRuntime]
TOKEN = "lmsdrive-test-token-5d1c"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    },
}
HEADERS = {"Accept": "application/json, text/event-stream"}

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _configure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND", "ollama")
    monkeypatch.setenv("MODEL_NAME", "qwen2.5:0.5b")
    monkeypatch.delenv(TOKEN_VARIABLE, raising=False)


def post(url: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url, json=INITIALIZE, headers={**HEADERS, **headers}, timeout=30)


async def list_tools(url: str, token: str | None) -> set[str]:
    async with Client(http_transport(url, token)) as client:
        return {t.name for t in (await client.list_tools()).tools}


@pytest.mark.parametrize("source", ["env", "file"])
async def test_token_is_required(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, source: str
) -> None:
    fake_runtime()
    args: list[str] = []
    if source == "env":
        monkeypatch.setenv(TOKEN_VARIABLE, TOKEN)
    else:
        (tmp_path / "token").write_text(f"{TOKEN}\n")
        args = ["--token-file", str(tmp_path / "token")]
    log = tmp_path / "server.log"
    async with http_server(log, args) as url:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            refused = post(url, headers)
            assert refused.status_code == 401, headers
            assert refused.text == "Unauthorized"
            assert refused.headers["www-authenticate"] == "Bearer"
        assert post(url, {"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        tools = await list_tools(url, TOKEN)
        assert {"init_llm", "pull", "load", "unload", "delete", "ensure_ready"} <= tools
    text = log.read_text()
    assert "(every request needs the bearer token)" in text
    assert TOKEN not in text


async def test_loopback_without_token_checks_the_origin(
    fake_runtime: MakeRuntime, tmp_path: Path
) -> None:
    fake_runtime()
    async with http_server(tmp_path / "server.log") as url:
        assert post(url, {"Origin": "http://evil.example"}).status_code == 403
        port = url.rsplit(":", 1)[1].split("/")[0]
        assert post(url, {"Origin": f"http://127.0.0.1:{port}"}).status_code == 200
        assert "generate" in await list_tools(url, None)


def test_refuses_beyond_loopback_without_a_token(tmp_path: Path) -> None:
    argv = [*SERVER, "--transport", "streamable-http", "--host", "0.0.0.0", "--port", "0"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 without a token" in done.stderr
    assert TOKEN_VARIABLE in done.stderr
    assert mcp_main(["--transport", "streamable-http", "--host", "::"]) == 2


@pytest.mark.parametrize("port", ["99999", "65536", "-1", "http"])
def test_a_port_out_of_range_is_exit_2(port: str) -> None:
    """Not served on a port the kernel picks instead (99999 once served on a free one)."""
    argv = [*SERVER, "--transport", "streamable-http", "--port", port]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (2, "")
    assert f"--port: {port}: it must be a whole number from 0 to 65535" in done.stderr


def test_empty_token_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=f"{TOKEN_VARIABLE} is set but empty"):
        read_token({TOKEN_VARIABLE: " "}, None)
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ValueError, match="the file is empty"):
        read_token({}, str(tmp_path / "empty"))
    assert read_token({}, None) is None


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("ok")(scope, receive, send)


async def test_guard_beyond_loopback_allows_only_the_given_origins() -> None:
    guard = Guard(_ok, TOKEN, ["https://agent.example"])
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=guard), base_url="http://gpu-box:8000"
    ) as http:
        assert (await http.get("/mcp", headers=auth)).status_code == 200
        ok = await http.get("/mcp", headers={**auth, "Origin": "https://agent.example"})
        assert ok.status_code == 200
        evil = await http.get("/mcp", headers={**auth, "Origin": "https://evil.example"})
        assert evil.status_code == 403
        assert (
            await http.get("/mcp", headers={"Origin": "https://agent.example"})
        ).status_code == 401
