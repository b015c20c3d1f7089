"""Detached servers: :func:`spawn_detached` and :func:`follow` (see :mod:`lmsdrive.runner`)."""

from __future__ import annotations

import codecs
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from ._process import RUN_TERM, _argv, _not_installed, _pause, _signal_group, child_env

# -- detached servers ---------------------------------------------------------------------


class DetachedProcess:
    """A server started by :func:`spawn_detached`.

    It lives in its own session, so it outlives this object and this process. While we
    live, a daemon thread waits for it, so it never lingers as a zombie.
    """

    def __init__(
        self, proc: subprocess.Popen[bytes], argv: tuple[str, ...], log_path: Path, offset: int
    ) -> None:
        self._proc = proc
        self.argv = argv
        self.pid: int = proc.pid
        self.log_path = log_path
        #: Size of the log before this process started: where its own lines begin.
        self.log_offset = offset

    @property
    def returncode(self) -> int | None:
        """Exit status once it exited (``-N`` for signal N), else ``None``."""
        return self._proc.returncode

    def poll(self) -> int | None:
        """:attr:`returncode`, checking the process first."""
        if self._proc.returncode is None:
            self._proc.poll()
        return self._proc.returncode

    def _signal(self, sig: int) -> None:
        if self.poll() is not None:
            return
        if hasattr(os, "killpg"):
            _signal_group(self.pid, sig)
        else:  # pragma: no cover - Windows
            with contextlib.suppress(OSError):
                self._proc.send_signal(sig)

    def terminate(self) -> None:
        """SIGTERM to the server and everything it started (its process group)."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to the server's process group."""
        self._signal(getattr(signal, "SIGKILL", signal.SIGTERM))

    def wait(self, timeout: float | None = None) -> int:
        """Wait for it to exit; ``subprocess.TimeoutExpired`` after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        step = 0.001
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(list(self.argv), timeout or 0.0)
            step = _pause(step)
        code = self.returncode
        assert code is not None
        return code

    def follow(
        self, *, stop: Callable[[], bool] | None = None, poll_interval: float = 0.02
    ) -> Generator[str, None, None]:
        """:func:`follow` on this server's own lines; ends (after the last line) when it
        exits or ``stop()`` is true."""

        def done() -> bool:
            return self.poll() is not None or (stop is not None and stop())

        return follow(self.log_path, stop=done, poll_interval=poll_interval, offset=self.log_offset)

    def __repr__(self) -> str:
        return f"<DetachedProcess pid={self.pid} returncode={self.returncode}>"


def _reap(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(Exception):
        proc.wait()


def spawn_detached(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    log_path: Path | str,
) -> DetachedProcess:
    """Start a server that outlives this process; its output is appended to ``log_path``.

    New session (no terminal, no Ctrl-C from ours), stdin from ``/dev/null``, stdout and
    stderr appended to ``log_path`` (created with its folders), ``env`` added to
    :func:`child_env` with ``TERM=dumb``. Raises :class:`NotInstalledError` when the
    program is missing.
    """
    args = _argv(argv)
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    full_env = child_env({"TERM": RUN_TERM, **(env or {})})
    flags = 0
    if os.name == "nt":  # pragma: no cover - Windows
        flags = getattr(subprocess, "DETACHED_PROCESS", 0) | getattr(
            subprocess, "CREATE_NEW_PROCESS_GROUP", 0
        )
    with path.open("ab") as log:
        offset = log.seek(0, os.SEEK_END)
        try:
            proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=full_env,
                start_new_session=os.name != "nt",
                creationflags=flags,
                close_fds=True,
            )
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise _not_installed(args[0]) from exc
    threading.Thread(
        target=_reap, args=(proc,), name=f"lmsdrive-reap-{proc.pid}", daemon=True
    ).start()
    return DetachedProcess(proc, args, path, offset)


def follow(
    log_path: Path | str,
    *,
    stop: Callable[[], bool] | None = None,
    poll_interval: float = 0.02,
    offset: int = 0,
) -> Generator[str, None, None]:
    """Yield text appended to ``log_path`` as it is written, from byte ``offset`` on.

    Polls every ``poll_interval`` seconds while nothing new is there. When ``stop()``
    returns true (checked only then), what was written until that moment is still
    yielded, then the iteration ends; without ``stop`` it goes on until closed. The file
    may appear late; when it is truncated or replaced, reading restarts at its beginning.
    Decoding is incremental UTF-8 with ``errors="replace"``.

    ``offset=0`` reads the file from its start: pass :attr:`DetachedProcess.log_offset`
    (or use :meth:`DetachedProcess.follow`) for a log that earlier runs appended to.
    """
    path = Path(log_path)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pos = offset
    fh: BinaryIO | None = None
    stopping = False
    try:
        while True:
            if fh is None:
                try:
                    fh = path.open("rb")
                except FileNotFoundError:
                    fh = None
                else:
                    fh.seek(pos)
            data = fh.read(65536) if fh is not None else b""
            if data:
                pos += len(data)
                text = decoder.decode(data)
                if text:
                    yield text
                continue
            if fh is not None and _replaced(path, fh, pos):
                fh.close()
                fh = None
                pos = 0
                decoder.reset()
                continue
            if stopping:
                rest = decoder.decode(b"", final=True)
                if rest:
                    yield rest
                return
            if stop is not None and stop():
                stopping = True  # one more read: what was written before stop() was true
                continue
            time.sleep(poll_interval)
    finally:
        if fh is not None:
            fh.close()


def _replaced(path: Path, fh: BinaryIO, pos: int) -> bool:
    """Whether the followed file was truncated below ``pos`` or replaced by another."""
    try:
        now = path.stat()
    except FileNotFoundError:
        return False
    mine = os.fstat(fh.fileno())
    return now.st_ino != mine.st_ino or mine.st_size < pos
