"""One download at a time: processes on this machine that make the same model ready on the
same server (a server on this machine: in the same model store) start one download; the
others wait and follow its progress.

The lock is an ``flock`` on ``<state_dir>/downloads/<key>.lock``: the kernel releases it when
its holder dies, so a killed process never blocks the next run. The holder mirrors its
progress events, one JSON object a line, to ``<key>.progress`` beside it; a waiter reads
them as they come. When the lock is free, the waiter takes it and asks the server whether
the model is there now: if so it is done (no download of its own), else (the holder failed
or was killed) it downloads itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from .._types import Progress
from ..errors import CommandTimeoutError
from ._locks import state_dir

logger = logging.getLogger("lmsdrive")

#: How often a waiting process looks at the lock and the holder's progress (seconds).
POLL_INTERVAL = 0.1


def download_key(backend: str, where: str, model: str) -> str:
    """A file name for ``model`` on ``backend`` ``where`` (a remote server's URL, a local
    one's model store): readable, and unique through a hash of the three.

    >>> download_key("ollama", "http://127.0.0.1:11434", "llama3.2:1b")[:31]
    'ollama-127.0.0.1-11434-llama3.2'
    """
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{backend}-{where.split('://')[-1]}-{model}")
    digest = hashlib.sha256(f"{backend}\0{where}\0{model}".encode()).hexdigest()[:12]
    return f"{readable.strip('-')[:80]}-{digest}"


def _try_lock(fh: IO[str]) -> bool:
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def one_download(
    key: str,
    download: Callable[[], Iterator[Progress]],
    downloaded: Callable[[], bool],
    *,
    idle_timeout: float,
) -> Iterator[Progress]:
    """``download()``'s events, run by this process only while it holds the lock of ``key``;
    while another process holds it, that process's events, then ``downloaded()`` decides
    whether a download of our own is still needed. ``CommandTimeoutError`` when the holder
    reports nothing for ``idle_timeout`` seconds."""
    try:
        folder = state_dir() / "downloads"
        folder.mkdir(exist_ok=True)
        lock_path, progress_path = folder / f"{key}.lock", folder / f"{key}.progress"
        fh = open(lock_path, "a+")  # noqa: SIM115 (closed by the with below)
    except OSError as exc:  # a read-only home: download, without the lock
        logger.warning("lmsdrive: downloading without the one-download lock: %s", exc)
        yield from download()
        return
    with fh:
        try:
            if not _try_lock(fh):
                yield from _follow_holder(fh, lock_path, progress_path, idle_timeout)
                if downloaded():
                    return
            yield from _download_mirrored(download, progress_path)
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _download_mirrored(
    download: Callable[[], Iterator[Progress]], path: Path
) -> Iterator[Progress]:
    """Run the download, writing each event to ``path`` (a fresh file) for waiters; the file
    goes when the download ends, however it ends."""
    fresh = path.with_name(f".{path.name}.{os.getpid()}")
    fresh.write_text("", encoding="utf-8")
    os.replace(fresh, path)
    events = download()
    try:
        with path.open("a", encoding="utf-8") as out:
            for event in events:
                out.write(json.dumps(event.to_dict()) + "\n")
                out.flush()
                yield event
    finally:
        close = getattr(events, "close", None)
        if callable(close):
            close()
        with contextlib.suppress(OSError):
            path.unlink()


def _follow_holder(
    fh: IO[str], lock_path: Path, progress_path: Path, idle_timeout: float
) -> Iterator[Progress]:
    """The holder's events until the lock is ours (the holder finished, failed or died)."""
    source: IO[str] | None = None
    pending = ""
    last_news = time.monotonic()
    try:
        while True:
            got = _try_lock(fh)
            if source is None:
                with contextlib.suppress(FileNotFoundError):
                    source = progress_path.open("r", encoding="utf-8")
            if source is not None:
                chunk = source.read()
                if chunk:
                    last_news = time.monotonic()
                    pending += chunk
                    *lines, pending = pending.split("\n")
                    for line in lines:
                        with contextlib.suppress(ValueError, TypeError):
                            yield Progress(**json.loads(line))
                if _replaced(progress_path, source):
                    source.close()
                    source, pending = None, ""
            if got:
                return
            if time.monotonic() - last_news > idle_timeout:
                raise CommandTimeoutError(
                    f"another lmsdrive process is downloading this model (lock {lock_path}) "
                    f"and has reported no progress for {idle_timeout:.0f}s: stop that process, "
                    "or wait for it"
                )
            time.sleep(POLL_INTERVAL)
    finally:
        if source is not None:
            source.close()


def _replaced(path: Path, fh: IO[str]) -> bool:
    """The followed file is gone or is another file now (a new holder started afresh)."""
    try:
        return path.stat().st_ino != os.fstat(fh.fileno()).st_ino
    except FileNotFoundError:
        return False
