"""Streams on a pseudo-terminal: :func:`stream` and :class:`Stream` (see :mod:`lmsdrive.runner`)."""

from __future__ import annotations

import atexit
import contextlib
import os
import shlex
import signal
import time
import warnings
import weakref
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import NoReturn

import pexpect

from ..transcript import Transcript
from ._process import (
    DEFAULT_GRACE,
    DIMENSIONS,
    READ_SIZE,
    STREAM_TERM,
    TRANSCRIPT_LIMIT,
    RunTimeoutError,
    _argv,
    _group_alive,
    _not_installed,
    _pause,
    _resolve,
    _signal_group,
    _timeout_message,
    child_env,
)

# -- streams ------------------------------------------------------------------------------

_LIVE_STREAMS: weakref.WeakSet[Stream] = weakref.WeakSet()

#: Held (blocked) while the child is forked, delivered once it runs. Python runs its at-fork
#: hooks (``logging``'s lock release) in the parent and ignores an exception raised in them,
#: so a handler that raises there (Ctrl-C's ``KeyboardInterrupt``, ``lmsdrive keep``'s stop
#: on SIGTERM) was lost, and the command it should have stopped ran on to its end. Held,
#: the signal's handler runs when the stream exists, and its exception stops the child.
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@atexit.register
def _close_live_streams() -> None:  # pragma: no cover - runs at interpreter exit
    for live in list(_LIVE_STREAMS):
        with contextlib.suppress(Exception):
            live.close()


class Stream:
    """A command running on a pseudo-terminal, iterated as decoded text chunks.

    Use it as a context manager (or call :meth:`close`) so the child ends with the
    iteration however it ends::

        with stream(["ollama", "pull", "llama3.2"], timeout=None, idle_timeout=300) as s:
            for chunk in s:
                ...  # feed the streaming parser
        s.exit_code

    Each chunk is whatever the child had written when it was read (at most
    :data:`READ_SIZE` bytes, decoded incrementally, so a UTF-8 sequence split across
    reads is never mangled). Both of the child's streams share the terminal, so the
    transcript has everything in ``stdout``.

    Ending: at end of output the child is reaped and :attr:`exit_code` set (negative
    signal number when a signal ended it). :meth:`close` before that, leaving the
    ``with`` block, the stream being garbage-collected, an exception (including
    ``KeyboardInterrupt``) while reading, or interpreter exit stop the child: SIGINT to its
    process group, ``grace`` seconds, SIGTERM, ``grace`` seconds, SIGKILL; the child is
    always reaped. At a normal end of output nothing is signalled: what the child left
    behind on purpose (a daemon) is left alone.

    Timeouts: ``timeout`` is the overall deadline, ``idle_timeout`` the longest silence;
    either raises :class:`RunTimeoutError` after the child was stopped.
    """

    def __init__(
        self,
        argv: Sequence[str | os.PathLike[str]],
        *,
        timeout: float | None,
        idle_timeout: float | None,
        env: Mapping[str, str] | None = None,
        grace: float = DEFAULT_GRACE,
    ) -> None:
        for name, value in (("timeout", timeout), ("idle_timeout", idle_timeout)):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive or None, not {value!r}")
        self.argv = _argv(argv)
        self.timeout = timeout
        self.idle_timeout = idle_timeout
        self.grace = grace
        full_env = child_env({"TERM": STREAM_TERM, **(env or {})})
        program = _resolve(self.argv[0], full_env)
        # SIGINT and SIGTERM wait until the child runs: see _STOP_SIGNALS.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            self._child = self._spawn(program, full_env, mask)
        except BaseException as exc:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            if isinstance(exc, FileNotFoundError):
                raise _not_installed(self.argv[0]) from exc
            raise
        # pexpect and ptyprocess sleep 0.1 s on close/terminate by default.
        for obj in (self._child, self._child.ptyproc):
            obj.delayafterclose = 0.0
            obj.delayafterterminate = 0.01
        self.pid: int = self._child.pid
        try:
            self._pgid = os.getpgid(self.pid)
        except OSError:  # pragma: no cover - exited already and reaped elsewhere
            self._pgid = self.pid
        self._started = time.monotonic()
        self._deadline = None if timeout is None else self._started + timeout
        self._last_output = self._started
        self._chunks: deque[tuple[float, str]] = deque()
        self._kept = 0
        self._dropped = 0
        self._finished = False
        self._ended = False  # end of output reached and the child reaped
        self._closed = False
        self._exit_code: int | None = None
        _LIVE_STREAMS.add(self)
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a held signal's handler runs here
        except BaseException:
            self.close()
            raise

    def _spawn(self, program: str, env: dict[str, str], mask: Iterable[int]) -> pexpect.spawn:
        def in_the_child() -> None:
            """Before the exec: what the exec would do to a caught SIGINT/SIGTERM (default
            action; ignored ones stay ignored), then the caller's mask back."""
            for sig in _STOP_SIGNALS:
                if signal.getsignal(sig) not in (signal.SIG_IGN, signal.SIG_DFL):
                    signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

        with warnings.catch_warnings():
            # Python 3.12+ warns about fork() in a threaded process (our reaper threads);
            # the pty child execs at once, which is the safe use.
            warnings.filterwarnings(
                "ignore", r".*fork\(\) may lead to deadlocks", DeprecationWarning
            )
            return pexpect.spawn(
                program,
                list(self.argv[1:]),
                env=env,
                encoding="utf-8",
                codec_errors="replace",
                dimensions=DIMENSIONS,
                timeout=None,
                preexec_fn=in_the_child,
            )

    # iteration ------------------------------------------------------------------------
    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> str:
        if self._finished or self._closed:
            raise StopIteration
        try:
            chunk = self._read()
        except BaseException:
            self.close()
            raise
        if chunk is None:
            self._finish()
            raise StopIteration
        return chunk

    def _read(self) -> str | None:
        """The next non-empty chunk, or ``None`` at end of output."""
        while True:
            now = time.monotonic()
            waits = []
            if self._deadline is not None:
                waits.append(self._deadline - now)
            if self.idle_timeout is not None:
                waits.append(self._last_output + self.idle_timeout - now)
            wait = max(0.0, min(waits)) if waits else None
            try:
                text: str = self._child.read_nonblocking(READ_SIZE, timeout=wait)
            except pexpect.TIMEOUT:
                self._check_deadlines()
                continue
            except pexpect.EOF:
                return None
            now = time.monotonic()
            self._last_output = now
            if text:
                self._keep(now, text)
                return text

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        if self._deadline is not None and now >= self._deadline:
            assert self.timeout is not None
            self._raise_timeout(self.timeout, idle=False)
        if self.idle_timeout is not None and now >= self._last_output + self.idle_timeout:
            self._raise_timeout(self.idle_timeout, idle=True)

    def _raise_timeout(self, limit: float, *, idle: bool) -> NoReturn:
        self.close()
        transcript = self.transcript()
        raise RunTimeoutError(
            _timeout_message(self.argv, limit, idle, transcript.stdout),
            transcript=transcript,
            argv=self.argv,
            timeout=limit,
            idle=idle,
        )

    def _keep(self, at: float, text: str) -> None:
        self._chunks.append((at - self._started, text))
        self._kept += len(text)
        while self._kept > TRANSCRIPT_LIMIT and len(self._chunks) > 1:
            _, old = self._chunks.popleft()
            self._kept -= len(old)
            self._dropped += len(old)

    def _finish(self) -> None:
        """End of output: wait for the child to exit (within the deadline) and reap it."""
        self._finished = True
        step = 0.001
        while self._child.isalive():
            if self._deadline is not None and time.monotonic() >= self._deadline:
                assert self.timeout is not None
                self._raise_timeout(self.timeout, idle=False)
            step = _pause(step)
        self._ended = True
        self._close_terminal()

    # ending ---------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the child if it still runs (SIGINT, SIGTERM, SIGKILL to its group), reap it.

        Safe to call more than once, and after the end of output.
        """
        if self._closed:
            return
        self._closed = True
        self._finished = True
        _LIVE_STREAMS.discard(self)
        try:
            if not self._ended and (self._child.isalive() or _group_alive(self._pgid)):
                self._stop_group()
        finally:
            self._close_terminal()

    def _stop_group(self) -> None:
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                _signal_group(self._pgid, sig)
                if self._wait_gone(self.grace):
                    return
            _signal_group(self._pgid, signal.SIGKILL)
            self._wait_gone(max(self.grace, 1.0))
        except BaseException:
            # Interrupted while stopping (a second Ctrl-C): no more patience.
            _signal_group(self._pgid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                self._child.wait()
            raise

    def _wait_gone(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        step = 0.001
        while True:
            if not self._child.isalive() and not _group_alive(self._pgid):
                return True
            if time.monotonic() >= deadline:
                return False
            step = _pause(step)

    def _close_terminal(self) -> None:
        with contextlib.suppress(Exception):
            self._child.close(force=True)
        _LIVE_STREAMS.discard(self)
        child = self._child
        if child.exitstatus is not None:
            self._exit_code = int(child.exitstatus)
        elif child.signalstatus is not None:
            self._exit_code = -int(child.signalstatus)

    def __enter__(self) -> Stream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            if not getattr(self, "_closed", True):
                self.close()

    # state ----------------------------------------------------------------------------
    @property
    def exit_code(self) -> int | None:
        """The child's exit status once it ended (``-N`` when signal N ended it)."""
        return self._exit_code

    @property
    def running(self) -> bool:
        """Whether the child has not been reaped yet."""
        return not (self._finished or self._closed) and bool(self._child.isalive())

    def transcript(self) -> Transcript:
        """Everything read so far (the last :data:`TRANSCRIPT_LIMIT` characters of it).

        ``meta`` holds ``chunks`` (``[seconds since start, text]`` pairs, the timing a
        fake runtime replays), ``truncated`` and ``dropped_chars``.
        """
        return Transcript(
            stdout="".join(text for _, text in self._chunks),
            argv=self.argv,
            exit_code=self._exit_code,
            meta={
                "stream": True,
                "chunks": [[round(at, 6), text] for at, text in self._chunks],
                "truncated": self._dropped > 0,
                "dropped_chars": self._dropped,
                "duration": round(time.monotonic() - self._started, 6),
            },
        )

    def __repr__(self) -> str:
        state = "running" if self.exit_code is None else f"exit {self.exit_code}"
        return f"<Stream pid={self.pid} {state} {shlex.join(self.argv)!r}>"


def stream(
    argv: Sequence[str | os.PathLike[str]],
    *,
    timeout: float | None,
    idle_timeout: float | None,
    env: Mapping[str, str] | None = None,
    grace: float = DEFAULT_GRACE,
) -> Stream:
    """Start ``argv`` on a 40x120 pseudo-terminal; iterate the result for its output.

    See :class:`Stream`. Raises :class:`NotInstalledError` when the program is missing.
    """
    return Stream(argv, timeout=timeout, idle_timeout=idle_timeout, env=env, grace=grace)
