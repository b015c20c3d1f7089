"""Reading a server address from a variable: the generic ``http(s)://host[:port]`` form, and
every form Ollama itself accepts for ``OLLAMA_HOST``. A bad value is a
:class:`~lmsdrive.errors.ConfigError` that names the variable."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..errors import ConfigError

__all__ = ["parse_http_url", "parse_ollama_host"]

DEFAULT_OLLAMA_PORT = 11434
DEFAULT_LMSTUDIO_URL = "http://localhost:1234"
_HOST_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9_][A-Za-z0-9._-]*)?)$")
#: What a URL may hold (RFC 3986 unreserved, reserved and percent-escapes): no whitespace,
#: control characters, quotes, backticks or backslashes.
_URL_CHARS_RE = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")


def parse_ollama_host(value: str | None, *, variable: str = "OLLAMA_HOST") -> str:
    """The URL a client connects to for an ``OLLAMA_HOST`` value, as Ollama reads it.

    >>> parse_ollama_host(None)
    'http://127.0.0.1:11434'
    >>> parse_ollama_host("0.0.0.0")
    'http://127.0.0.1:11434'
    >>> parse_ollama_host(":8080")
    'http://127.0.0.1:8080'
    >>> parse_ollama_host("myhost")
    'http://myhost:11434'
    >>> parse_ollama_host("https://myhost")
    'https://myhost:443'
    >>> parse_ollama_host("http://myhost")
    'http://myhost:80'
    >>> parse_ollama_host("[::1]:8080")
    'http://[::1]:8080'
    >>> parse_ollama_host("https://myhost:8443/some/path")
    'https://myhost:8443/some/path'
    """
    raw = (value or "").strip().strip("\"'").strip()
    if not raw:
        return f"http://127.0.0.1:{DEFAULT_OLLAMA_PORT}"
    if not _URL_CHARS_RE.match(raw) or "'" in raw:
        raise ConfigError(
            f"{variable}={value!r}: holds characters a server address cannot have "
            "(whitespace, control characters, quotes, backticks); expected host[:port] "
            "or scheme://host[:port]"
        )
    if "://" in raw:
        scheme, _, rest = raw.partition("://")
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise ConfigError(f"{variable}={value!r}: scheme must be http or https")
        default_port = 443 if scheme == "https" else 80
    else:
        scheme, rest = "http", raw
        default_port = DEFAULT_OLLAMA_PORT
    hostport, slash, path = rest.partition("/")
    host, port_text = hostport, ""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise ConfigError(f"{variable}={value!r}: unclosed '[' in an IPv6 address")
        host, port_text = hostport[: end + 1], hostport[end + 1 :].removeprefix(":")
    elif ":" in hostport:
        host, _, port_text = hostport.rpartition(":")
    if not _HOST_RE.match(host):
        raise ConfigError(f"{variable}={value!r}: {host!r} is not a host name or address")
    if host.lower() == "ollama.com" and "://" not in raw:
        scheme, default_port = "https", 443
    if host in ("", "0.0.0.0", "[::]", "::"):
        host = "127.0.0.1"
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(f"{variable}={value!r}: port {port_text!r} is not in 1..65535")
        port = int(port_text)
    else:
        port = default_port
    return f"{scheme}://{host}:{port}" + (f"/{path}".rstrip("/") if slash else "")


def parse_http_url(value: str, *, variable: str) -> str:
    """Validate an ``http(s)://host[:port][/path]`` URL; refuse anything else, naming the
    variable.

    >>> parse_http_url("http://localhost:1234/", variable="LMSTUDIO_URL")
    'http://localhost:1234'
    """
    raw = value.strip()
    if not _URL_CHARS_RE.match(raw) or "'" in raw:
        raise ConfigError(
            f"{variable}={value!r} is not a valid URL: it holds characters a URL cannot "
            f"have; expected http://host:port (for example {DEFAULT_LMSTUDIO_URL})"
        )
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{variable}={value!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.hostname[0] == "-":
        raise ConfigError(
            f"{variable}={value!r} is not a valid URL: expected http://host:port "
            f"(for example {DEFAULT_LMSTUDIO_URL})"
        )
    if port == 0 or parts.query or parts.fragment or any(c.isspace() for c in raw):
        raise ConfigError(f"{variable}={value!r} is not a valid server URL")
    return raw.rstrip("/")
