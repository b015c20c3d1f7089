"""What lmsdrive started: one record per server, so ``lmsdrive stop`` stops only those.

When a backend starts a server it writes ``<state_dir>/started/<backend>-<host>-<port>.json``:
the server's PID and its start identity (the kernel's start time of that PID), or for LM
Studio, whose server runs inside its daemon, the daemon's PID and whether lmsdrive brought
the daemon up too. A record whose process is gone, or whose PID now names another process
(same PID, another start time), is stale: it is removed and stops nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ._locks import state_dir


@dataclass(frozen=True)
class StartedServer:
    """A server lmsdrive started, as recorded when it started it."""

    backend: str
    url: str
    #: The server process (Ollama), or LM Studio's daemon process.
    pid: int | None
    #: :func:`process_identity` of ``pid`` then; ``None`` when it could not be read.
    identity: str | None
    #: LM Studio: lmsdrive also started the daemon (llmster), so stop takes it down too.
    daemon_started: bool = False
    started_at: float = 0.0


def _path(backend: str, url: str) -> Path:
    parts = urlsplit(url)
    name = f"{backend}-{parts.hostname or 'localhost'}-{parts.port or 0}.json"
    return state_dir() / "started" / name.replace(":", "_")


def process_identity(pid: int) -> str | None:
    """Who ``pid`` is: its start time as the kernel counts it (``/proc/PID/stat`` field 22;
    elsewhere ``ps -o lstart=``), or ``None`` when no such process runs. Two processes that
    share a PID one after the other have different identities.

    >>> process_identity(os.getpid()) == process_identity(os.getpid()) is not None
    True
    """
    stat = Path(f"/proc/{pid}/stat")
    if stat.parent.parent.is_dir() and Path("/proc/self").exists():
        try:
            text = stat.read_text(encoding="ascii", errors="replace")
        except OSError:
            return None
        fields = text[text.rfind(")") + 2 :].split()
        if len(fields) < 20 or fields[0] == "Z":  # a zombie has exited
            return None
        return f"linux:{fields[19]}"
    try:  # pragma: no cover - macOS / BSD
        out = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):  # pragma: no cover
        return None
    started = out.stdout.strip()  # pragma: no cover
    return f"ps:{started}" if out.returncode == 0 and started else None  # pragma: no cover


def record_started(
    backend: str, url: str, pid: int | None, identity: str | None, *, daemon_started: bool = False
) -> StartedServer:
    """Write the record of a server this process just started."""
    rec = StartedServer(backend, url, pid, identity, daemon_started, time.time())
    path = _path(backend, url)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(asdict(rec)), encoding="utf-8")
    os.replace(tmp, path)
    return rec


def recorded(backend: str, url: str) -> StartedServer | None:
    """The record for the server at ``url``, or ``None`` (none, or unreadable)."""
    try:
        data = json.loads(_path(backend, url).read_text(encoding="utf-8"))
        return StartedServer(**data)
    except (OSError, ValueError, TypeError):
        return None


def forget_started(backend: str, url: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        _path(backend, url).unlink()


def still_running(rec: StartedServer) -> bool:
    """The recorded process is the one running under that PID now."""
    return (
        rec.pid is not None
        and rec.identity is not None
        and (process_identity(rec.pid) == rec.identity)
    )
