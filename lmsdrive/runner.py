"""Running the runtimes' commands: one-shot, streamed through a terminal, and detached.

Runners never parse: they hand back a :class:`~lmsdrive.transcript.Transcript` (one-shot),
the decoded text chunks as they arrive (streams), or a log to follow (detached servers).

Three ways to run a command:

* :func:`run` -- a one-shot command (``lms ls``, ``ollama list``): :mod:`subprocess`, argv
  only (never a shell), stdout and stderr kept apart, decoded UTF-8 with ``errors="replace"``,
  a timeout on every call. On timeout the child's whole process group is killed and
  :class:`RunTimeoutError` (a :class:`~lmsdrive.errors.CommandTimeoutError`) carries the
  partial transcript.
* :func:`stream` -- a long command whose progress matters (``ollama pull``, ``lms get``,
  ``lms load``): run on a pseudo-terminal by :mod:`pexpect` with a fixed size of 40 rows x
  120 columns, and iterated chunk by chunk as the bytes arrive, so progress reaches the
  caller while the download runs. Closing the iterator, an exception in the consumer,
  a timeout or Ctrl-C end the child: SIGINT to its process group, then SIGTERM, then
  SIGKILL, and it is always reaped. POSIX only (pexpect's pty spawn).
* :func:`spawn_detached` -- a server that outlives us (``ollama serve``): its own session,
  stdin from ``/dev/null``, stdout and stderr appended to a log file that :func:`follow`
  tails, so a readiness parser sees the server's lines as they are written.

Environment
-----------
Every child gets ``os.environ`` + :data:`CHILD_ENV` + the caller's ``env`` (later wins).
:data:`CHILD_ENV` turns colour off (``NO_COLOR=1``, ``FORCE_COLOR=0``), asks for English
(``LMS_LANG=en``), disables pagers (``PAGER=cat``) and fixes the size (``COLUMNS=120``,
``LINES=40``, matching the stream's pseudo-terminal).

``TERM`` depends on how the child is run, so it is not in :data:`CHILD_ENV`:

* one-shot commands and detached servers write to pipes/files: ``TERM=dumb``
  (:data:`RUN_TERM`), so nothing tries to draw;
* streams run on a real pseudo-terminal: ``TERM=xterm`` (:data:`STREAM_TERM`). The progress
  renderers the streaming parsers are written for (Ollama's cursor-up block redraw, lms's
  save/restore-cursor bars and spinners) only draw on a capable terminal; with
  ``TERM=dumb`` Node's spinner libraries (used by ``lms``) switch their output off, so no
  progress would flow. Colour stays off through ``NO_COLOR``/``FORCE_COLOR``.

Example::

    >>> t = run(["echo", "hi"], timeout=5)
    >>> (t.stdout, t.exit_code)
    ('hi\\n', 0)
"""

from __future__ import annotations

import atexit
import codecs
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Generator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import BinaryIO, NoReturn

import pexpect

from ._text import clean_lines
from .errors import CommandTimeoutError, NotInstalledError
from .transcript import Transcript

__all__ = [
    "CHILD_ENV",
    "DIMENSIONS",
    "RUN_TERM",
    "STREAM_TERM",
    "TRANSCRIPT_LIMIT",
    "DetachedProcess",
    "RunTimeoutError",
    "Stream",
    "child_env",
    "follow",
    "run",
    "spawn_detached",
    "stream",
]

#: Variables every child gets on top of ``os.environ`` (see the module docstring).
CHILD_ENV: Mapping[str, str] = MappingProxyType(
    {
        "NO_COLOR": "1",
        "FORCE_COLOR": "0",
        "LMS_LANG": "en",
        "PAGER": "cat",
        "COLUMNS": "120",
        "LINES": "40",
    }
)
#: ``TERM`` for one-shot commands and detached servers (pipes and files, no terminal).
RUN_TERM = "dumb"
#: ``TERM`` for streams (a real pseudo-terminal: progress bars must be drawn).
STREAM_TERM = "xterm"
#: The streams' pseudo-terminal size: (rows, columns).
DIMENSIONS = (40, 120)
#: How much of a stream :meth:`Stream.transcript` keeps (the most recent characters).
TRANSCRIPT_LIMIT = 64 * 1024
#: Largest read from a stream's terminal; reads return at once with whatever is there.
READ_SIZE = 4096
#: How long a cancelled child gets after SIGINT, and again after SIGTERM.
DEFAULT_GRACE = 0.5
_TAIL_LINES = 10


class RunTimeoutError(CommandTimeoutError):
    """A command did not finish (or went silent) before its deadline; the child was stopped.

    ``transcript`` holds what it printed until then, ``argv`` the command, ``timeout`` the
    limit that was hit and ``idle`` whether it was the idle limit (no output for that
    long) rather than the overall one.
    """

    def __init__(
        self,
        message: str,
        *,
        transcript: Transcript,
        argv: Sequence[str],
        timeout: float,
        idle: bool = False,
    ) -> None:
        super().__init__(message, transcript)
        self.transcript: Transcript = transcript
        self.argv = tuple(argv)
        self.timeout = timeout
        self.idle = idle


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a child: ``os.environ`` + :data:`CHILD_ENV` + ``extra``.

    >>> env = child_env({"OLLAMA_HOST": "127.0.0.1:11500", "NO_COLOR": "0"})
    >>> env["OLLAMA_HOST"], env["NO_COLOR"], env["LMS_LANG"]
    ('127.0.0.1:11500', '0', 'en')
    """
    env = dict(os.environ)
    env.update(CHILD_ENV)
    if extra:
        env.update(extra)
    return env


# -- helpers ------------------------------------------------------------------------------


def _argv(argv: Sequence[str | os.PathLike[str]]) -> tuple[str, ...]:
    if isinstance(argv, (str, bytes)):
        raise TypeError("argv must be a list of arguments, never a shell string")
    args = tuple(os.fspath(a) for a in argv)
    if not args:
        raise ValueError("argv is empty")
    return args


def _not_installed(program: str) -> NotInstalledError:
    return NotInstalledError(
        f"{program!r} was not found: it is neither an existing file nor on PATH. "
        "Install it, or pass the full path of the executable."
    )


def _resolve(program: str, env: Mapping[str, str]) -> str:
    """The executable pexpect should start, or :class:`NotInstalledError`."""
    if os.sep in program or (os.altsep and os.altsep in program):
        if os.path.isfile(program):
            return program
        raise _not_installed(program)
    found = shutil.which(program, path=env.get("PATH", os.defpath))
    if found is None:
        raise _not_installed(program)
    return found


def _tail(text: str, lines: int = _TAIL_LINES) -> str:
    shown = [line for line in clean_lines(text) if line.strip()][-lines:]
    if not shown:
        return "It printed nothing."
    return "Last output:\n" + "\n".join(f"    {line}" for line in shown)


def _timeout_message(argv: Sequence[str], timeout: float, idle: bool, text: str) -> str:
    command = shlex.join(argv)
    what = f"printed nothing for {timeout:g} s" if idle else f"did not finish within {timeout:g} s"
    return (
        f"`{command}` {what} and was stopped. Raise the timeout if the runtime is just slow, "
        f"or check that it is responsive. {_tail(text)}"
    )


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` is still running (zombies do not count).

    Zombie grandchildren wait for init to reap them, and some container inits never do;
    on Linux ``/proc`` tells them apart, elsewhere any member counts.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # whatever holds that group now is not ours to stop
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False


def _pause(step: float) -> float:
    time.sleep(step)
    return min(step * 2, 0.05)


# -- one-shot -----------------------------------------------------------------------------


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> Transcript:
    """Run a command to completion and return what it printed.

    ``env`` adds to :func:`child_env` (``TERM=dumb`` unless ``env`` sets it). ``stdin`` is
    written to the child (UTF-8), else it reads ``/dev/null``. The child gets its own
    session, so a timeout kills everything it started.

    Raises :class:`NotInstalledError` when the program does not exist and
    :class:`RunTimeoutError` (with ``.transcript``) when ``timeout`` seconds pass.

    >>> t = run(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=5)
    >>> (t.stdout, t.stderr, t.exit_code)
    ('out\\n', 'err\\n', 3)
    """
    args = _argv(argv)
    full_env = child_env({"TERM": RUN_TERM, **(env or {})})
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            start_new_session=True,
        )
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise _not_installed(args[0]) from exc

    data = stdin.encode("utf-8") if stdin is not None else None
    try:
        out, err = proc.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_popen_group(proc)
        try:
            out, err = proc.communicate(timeout=1.0)
        except subprocess.TimeoutExpired as again:
            # Something outside the group holds the pipes: keep what was read.
            out, err = again.output or b"", again.stderr or b""
            for pipe in (proc.stdout, proc.stderr, proc.stdin):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
            proc.wait()
        transcript = _transcript(args, out, err, proc.returncode, started, timed_out=True)
        raise RunTimeoutError(
            _timeout_message(args, timeout, False, transcript.text),
            transcript=transcript,
            argv=args,
            timeout=timeout,
        ) from None
    except BaseException:
        _kill_popen_group(proc)
        proc.wait()
        raise
    return _transcript(args, out, err, proc.returncode, started)


def _kill_popen_group(proc: subprocess.Popen[bytes]) -> None:
    if hasattr(os, "killpg"):
        _signal_group(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        proc.kill()


def _transcript(
    argv: tuple[str, ...],
    out: bytes,
    err: bytes,
    exit_code: int | None,
    started: float,
    *,
    timed_out: bool = False,
) -> Transcript:
    meta: dict[str, object] = {"duration": round(time.monotonic() - started, 6)}
    if timed_out:
        meta["timed_out"] = True
    return Transcript(
        stdout=out.decode("utf-8", errors="replace"),
        stderr=err.decode("utf-8", errors="replace"),
        argv=argv,
        exit_code=exit_code,
        meta=meta,
    )


# -- streams ------------------------------------------------------------------------------

_LIVE_STREAMS: weakref.WeakSet[Stream] = weakref.WeakSet()


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
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns about fork() in a threaded process (our reaper threads);
                # the pty child execs at once, which is the safe use.
                warnings.filterwarnings(
                    "ignore", r".*fork\(\) may lead to deadlocks", DeprecationWarning
                )
                self._child = pexpect.spawn(
                    program,
                    list(self.argv[1:]),
                    env=full_env,
                    encoding="utf-8",
                    codec_errors="replace",
                    dimensions=DIMENSIONS,
                    timeout=None,
                )
        except FileNotFoundError as exc:
            raise _not_installed(self.argv[0]) from exc
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
