"""``--json``: one JSON object per line on stdout, for ``kubectl logs``, Compose and journald.

Every event has ``event`` and ``ts`` (UTC, ISO 8601), and ``backend`` and ``model`` where
they apply; the last one is ``result`` with the command's ``exit_status``. Progress is
throttled to at most :data:`PROGRESS_PER_SECOND` lines a second (the last, 100%, always
shows). Never a token, never a prompt's answer. The README lists every event and field.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from .._text import timestamp
from .._types import Progress
from ._ui import Overall

if TYPE_CHECKING:
    from ..keep import KeepEvent

PROGRESS_PER_SECOND = 4


class JsonLines:
    """The event stream of one command run."""

    def __init__(
        self,
        command: str,
        backend: str,
        *,
        out: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.command = command
        self.backend = backend
        self.out = out if out is not None else sys.stdout
        self.clock = clock
        self.model: str | None = None
        self._unreported: str | None = None  # begun, its ``model`` event not written yet
        self._ended = False
        self._overall = Overall()
        self._last_progress = -1e9

    def emit(self, event: str, **fields: Any) -> None:
        record = {"event": event, "ts": timestamp(), **fields}
        print(json.dumps(record, ensure_ascii=False), file=self.out, flush=True)

    def begin(self, url: str, models: list[str]) -> None:
        self.emit("begin", command=self.command, backend=self.backend, url=url, models=models)

    def for_model(self, model: str, *, reported: bool = True) -> None:
        """Later step and progress events are about ``model`` (``reported``: it gets a
        ``model`` event when done, or when the run fails: :meth:`fail`)."""
        self.model = model
        self._unreported = model if reported else None
        self._overall = Overall()

    def step(self, text: str) -> None:
        self.emit("step", backend=self.backend, model=self.model, message=text)

    def progress(self, event: Progress) -> None:
        now = self.clock()
        if event.already_downloaded:
            self.emit(
                "progress",
                backend=self.backend,
                model=self.model,
                phase="done",
                percent=100.0,
                already_downloaded=True,
            )
            return
        o = self._overall
        o.update(event, now)
        last = o.percent is not None and o.percent >= 100.0 and event.phase == "done"
        if not last and now - self._last_progress < 1.0 / PROGRESS_PER_SECOND:
            return
        self._last_progress = now
        eta = o.eta_seconds
        self.emit(
            "progress",
            backend=self.backend,
            model=self.model,
            phase=event.phase,
            item=event.item,
            percent=None if o.percent is None else round(o.percent, 1),
            completed_bytes=o.completed if o.total else None,
            total_bytes=o.total,
            speed_bytes_per_s=None if o.speed is None else int(o.speed),
            eta_seconds=None if eta is None else round(eta, 1),
        )

    def keep_event(self, event: KeepEvent) -> None:
        """One of ``keep``'s events (:data:`lmsdrive.keep.EVENTS`); the progress events of
        a download follow its ``downloading`` event and name its model."""
        if event.event == "downloading" and event.model is not None:
            self.for_model(event.model, reported=False)
        self.emit(
            event.event,
            ts=timestamp(event.time),  # when it happened, as its to_dict() says
            backend=self.backend,
            model=event.model,
            message=event.message,
            failures=event.failures,
        )

    def model_result(
        self, model: str, ok: bool, exit_status: int, message: str, **extra: Any
    ) -> None:
        if model == self._unreported:
            self._unreported = None
        self.emit(
            "model",
            backend=self.backend,
            model=model,
            ok=ok,
            exit_status=exit_status,
            message=message,
            **extra,
        )

    def result(self, exit_status: int, message: str, **extra: Any) -> None:
        self._ended = True
        self.emit(
            "result",
            command=self.command,
            backend=self.backend,
            ok=exit_status == 0,
            exit_status=exit_status,
            message=message,
            **extra,
        )

    def fail(self, exit_status: int, message: str) -> None:
        """The run stopped on an error or Ctrl-C: the model under way gets its ``model``
        event and the run its ``result``, each unless already written."""
        if self._unreported is not None:
            self.model_result(self._unreported, False, exit_status, message)
        if not self._ended:
            self.result(exit_status, message)
