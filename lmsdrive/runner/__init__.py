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
  SIGKILL, and it is always reaped. A SIGINT or SIGTERM that comes while the child is being
  started is held until the stream exists, so its handler's exception (``KeyboardInterrupt``,
  keep's stop) stops the child instead of being lost in Python's at-fork hooks. POSIX only
  (pexpect's pty spawn).
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

from ._process import (
    CHILD_ENV,
    DIMENSIONS,
    RUN_TERM,
    STREAM_TERM,
    TRANSCRIPT_LIMIT,
    RunTimeoutError,
    child_env,
)
from .detached import DetachedProcess, follow, spawn_detached
from .oneshot import run
from .pty import Stream, stream

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
