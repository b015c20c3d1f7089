"""Helpers for the MCP tests: ``lmsdrive-mcp`` as a real process, over stdio or over
Streamable HTTP on a free loopback port (the server binds port 0 and prints its address)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx2
from mcp.client._transport import TransportStreams
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

Streams = TransportStreams
SERVER = [sys.executable, "-m", "lmsdrive.mcp_server"]
LISTENING = re.compile(r"serving MCP at (http://\S+/mcp)")


@asynccontextmanager
async def stdio_transport(log: Path) -> AsyncIterator[Streams]:
    """``python -m lmsdrive.mcp_server`` over stdio (its environment: the test's)."""
    params = StdioServerParameters(command=SERVER[0], args=SERVER[1:], env=dict(os.environ))
    with log.open("w") as errlog:
        async with stdio_client(params, errlog=errlog) as streams:
            yield streams


@asynccontextmanager
async def http_transport(url: str, token: str | None = None) -> AsyncIterator[Streams]:
    """The SDK's Streamable HTTP client transport, with the bearer token when given."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    timeout = httpx2.Timeout(30, read=300)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as client,
        streamable_http_client(url, http_client=client) as streams,
    ):
        yield streams


@contextmanager
def server_process(log: Path, args: Sequence[str] = ()) -> Iterator[subprocess.Popen[bytes]]:
    """``lmsdrive-mcp --transport streamable-http --port 0 ARGS``, stderr to ``log``;
    terminated at the end."""
    argv = [*SERVER, "--transport", "streamable-http", "--port", "0", *args]
    with log.open("wb") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for_url(proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> str:
    """The URL the server prints once it listens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = LISTENING.search(log.read_text(errors="replace"))
        if found:
            return found.group(1)
        if proc.poll() is not None:
            raise AssertionError(f"lmsdrive-mcp exited ({proc.returncode}):\n{log.read_text()}")
        time.sleep(0.05)
    raise AssertionError(f"lmsdrive-mcp did not say where it listens:\n{log.read_text()}")


@asynccontextmanager
async def http_server(log: Path, args: Sequence[str] = ()) -> AsyncIterator[str]:
    """A Streamable HTTP ``lmsdrive-mcp`` on a free loopback port: its ``/mcp`` URL."""
    with server_process(log, args) as proc:
        yield wait_for_url(proc, log)
