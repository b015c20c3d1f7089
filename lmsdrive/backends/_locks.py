"""A machine-wide lock so two processes never start the same server twice."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import CommandTimeoutError


def state_dir() -> Path:
    """Where lmsdrive keeps server logs and locks (``$LMSDRIVE_STATE_DIR`` or
    ``~/.cache/lmsdrive``)."""
    base = os.environ.get("LMSDRIVE_STATE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lmsdrive"
    )
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def machine_lock(name: str, timeout: float) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``<state_dir>/<name>.lock`` (released on exit, and by
    the kernel if the process dies)."""
    path = state_dir() / f"{name}.lock"
    deadline = time.monotonic() + timeout
    with open(path, "a+") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise CommandTimeoutError(
                        f"another process has held {path} for {timeout:.0f}s while starting "
                        "the server; wait for it or remove the stale process"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
