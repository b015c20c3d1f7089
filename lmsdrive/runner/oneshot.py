"""One-shot commands: :func:`run` (see :mod:`lmsdrive.runner`)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence

from ..transcript import Transcript
from ._process import (
    RUN_TERM,
    RunTimeoutError,
    _argv,
    _not_installed,
    _signal_group,
    _timeout_message,
    child_env,
)

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
