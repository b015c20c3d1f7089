"""``lmsdrive-mcp --transport streamable-http``: the MCP server over Streamable HTTP at ``/mcp``.

::

    LMSDRIVE_MCP_TOKEN=... lmsdrive-mcp --transport streamable-http --host 0.0.0.0 --port 8765

* It listens on loopback (``127.0.0.1``) unless told otherwise, and refuses to listen beyond
  loopback without a token (exit status 2, saying how to set one).
* With a token (``LMSDRIVE_MCP_TOKEN``, or the first line of ``--token-file PATH``) every
  request needs ``Authorization: Bearer <token>``, compared in constant time; a missing or
  wrong one is ``401`` with nothing else said. The token is never logged or printed.
* The ``Origin`` header is checked against DNS rebinding: on loopback the SDK's transport
  security allows loopback hosts and origins (plus ``--allow-origin``); beyond loopback a
  request that carries an ``Origin`` must name one given with ``--allow-origin`` (``403``).
* ``--port 0`` takes any free port; the address is printed on stderr once it listens:
  ``lmsdrive-mcp: serving MCP at http://127.0.0.1:PORT/mcp``.
"""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import os
import socket
import sys
from collections.abc import Callable, Mapping
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .cli._commands import _token_file
from .errors import ConfigError

#: The environment variable holding the token every HTTP request must bear.
TOKEN_VARIABLE = "LMSDRIVE_MCP_TOKEN"
#: The endpoint, as the SDKs expect it.
ENDPOINT = "/mcp"
EXIT_USAGE = 2


def _port(text: str) -> int:
    """An argparse ``type``: a TCP port, ``0``-``65535`` (a bigger one would be served on a
    port the kernel picks, not the one asked for)."""
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text}: it must be a whole number from 0 to 65535")
    return int(text)


def add_http_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--transport",
        choices=("stdio", "streamable-http"),
        default="stdio",
        help="stdio (default: started by an MCP host) or streamable-http (serve /mcp)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=8000,
        help="port to listen on, 0-65535 (default 8000; 0: any free)",
    )
    parser.add_argument(
        "--token-file",
        metavar="PATH",
        help=f"file whose first line is the bearer token (else ${TOKEN_VARIABLE})",
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="an Origin allowed to call (e.g. https://agent.example:443); repeatable",
    )


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.0/8``, ``::1``).

    >>> [is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "10.0.0.5")]
    [True, True, True, False, False]
    """
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_token(env: Mapping[str, str], token_file: str | None) -> str | None:
    """The bearer token: ``--token-file``'s first line, else ``$LMSDRIVE_MCP_TOKEN``, else
    ``None``. An empty one is an error (never a silent "no token")."""
    if token_file:
        return _token_file(token_file)
    if TOKEN_VARIABLE not in env:
        return None
    token = env[TOKEN_VARIABLE].strip()
    if not token:
        raise ConfigError(f"{TOKEN_VARIABLE} is set but empty: put the token in it, or unset it")
    return token


class Guard:
    """ASGI middleware: the bearer token (when there is one), then the ``Origin`` (when
    ``origins`` is given; ``None`` leaves it to the SDK's transport security)."""

    def __init__(self, app: ASGIApp, token: str | None, origins: list[str] | None) -> None:
        self.app = app
        self._token = token.encode() if token is not None else None
        self._origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            if self._token is not None and not self._authorized(headers.get("authorization")):
                response = PlainTextResponse(
                    "Unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"}
                )
                await response(scope, receive, send)
                return
            origin = headers.get("origin")
            if self._origins is not None and origin is not None and origin not in self._origins:
                await PlainTextResponse("Forbidden origin", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _authorized(self, value: str | None) -> bool:
        assert self._token is not None
        scheme, _, given = (value or "").partition(" ")
        ok = hmac.compare_digest(given.strip().encode(), self._token)
        return ok and scheme.lower() == "bearer"


def _security(host: str, origins: list[str]) -> TransportSecuritySettings:
    """The SDK's Host/Origin checks on loopback; beyond loopback the Host is whatever name
    the clients use, so only :class:`Guard` checks the Origin there."""
    if not is_loopback(host):
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    names = ["127.0.0.1", "localhost", "[::1]"]
    if host not in ("127.0.0.1", "localhost", "::1"):
        names.append(f"[{host}]" if ":" in host else host)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{n}:*" for n in names],
        allowed_origins=[f"http://{n}:*" for n in names] + origins,
    )


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)  # connections wait in the backlog until the server accepts them
    except OSError:
        sock.close()
        raise
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}{ENDPOINT}"


def serve_http(make_server: Callable[[], MCPServer[Any]], args: argparse.Namespace) -> int:
    """Serve ``make_server()`` over Streamable HTTP until interrupted; 2 when refused (before
    the server is made)."""
    import uvicorn

    def refuse(message: str) -> int:
        print(f"lmsdrive-mcp: {message}", file=sys.stderr, flush=True)
        return EXIT_USAGE

    try:
        token = read_token(os.environ, args.token_file)
    except ConfigError as exc:
        return refuse(str(exc))
    if token is None and not is_loopback(args.host):
        return refuse(
            f"refusing to listen on {args.host} without a token: anyone who reaches it could "
            f"download, load and delete models. Set {TOKEN_VARIABLE} (or --token-file PATH); "
            "clients then send 'Authorization: Bearer <token>'. Or listen on 127.0.0.1."
        )
    app = make_server().streamable_http_app(
        streamable_http_path=ENDPOINT,
        transport_security=_security(args.host, list(args.allow_origin)),
        host=args.host,
    )
    origins = None if is_loopback(args.host) else list(args.allow_origin)
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        print(
            f"lmsdrive-mcp: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
            flush=True,
        )
        return 1
    auth = " (every request needs the bearer token)" if token is not None else ""
    print(f"lmsdrive-mcp: serving MCP at {_url(sock)}{auth}", file=sys.stderr, flush=True)
    config = uvicorn.Config(Guard(app, token, origins), log_level="warning", lifespan="on")
    with sock:
        uvicorn.Server(config).run(sockets=[sock])
    return 0
