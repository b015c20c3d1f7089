"""What every way of running a child shares: its environment, argv checks, process-group
signals and timeout messages."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import time
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from .._text import clean_lines
from ..errors import CommandTimeoutError, NotInstalledError
from ..transcript import Transcript

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
