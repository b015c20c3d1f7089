"""Hold models resident: ``lmsdrive keep`` and :meth:`lmsdrive.Driver.keep`.

Makes the models ready (download if missing, load), tells systemd it is ready, then looks
every ``interval`` seconds: a model that was unloaded (the runtime's TTL or ``keep_alive``,
another user's unload) is loaded again, and one the runtime says will unload soon (Ollama's
``/api/ps`` ``expires_at``) is refreshed ``refresh_before`` seconds before. It never starts
a server: the server is its service manager's (systemd, the Pod), so a server that does not
answer is a failed check, retried every ``interval``; after ``max_failures`` (>= 1) failed
checks in a row it gives up, raising the last error. Each thing it does is a :class:`KeepEvent`.

LM Studio: ``lms load`` without ``--ttl`` sets no idle TTL, so there is nothing to refresh;
a model unloaded anyway is loaded again.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

from . import _sdnotify
from ._text import timestamp
from ._types import LoadOptions, Progress
from .backends.base import Backend, close_iterator
from .errors import (
    AuthenticationError,
    CapabilityError,
    CommandError,
    ConfigError,
    LmsdriveError,
    ModelNotFoundError,
    ServerNotRunningError,
)

#: What a :class:`KeepEvent` says happened.
EVENTS = (
    "downloading",  # a model is not downloaded: downloading it
    "loading",  # a model is not loaded yet: loading it
    "loaded",  # loaded (the first time)
    "evicted",  # a model that was loaded is not any more (TTL, keep_alive, another user)
    "reloaded",  # loaded again after an eviction
    "refreshed",  # loaded again before the runtime's TTL would unload it
    "ready",  # every model is loaded (first time, or after a failure): READY=1 sent
    "failed",  # a check or recovery failed (``failures`` in a row so far)
    "gave_up",  # ``max_failures`` failed in a row: keep ends with the last error
    "stopping",  # SIGTERM (or stop()): keep ends, exit status 0
)


@dataclass(frozen=True)
class KeepEvent:
    """One thing keep did or saw. ``failures``: failed checks in a row (``failed``,
    ``gave_up``); ``time``: Unix time (``ts`` in :meth:`to_dict`, as in the JSON lines)."""

    event: str
    model: str | None
    message: str
    failures: int = 0
    time: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The event's ``keep --json`` line without its ``backend``."""
        return {
            "event": self.event,
            "ts": timestamp(self.time),
            "model": self.model,
            "message": self.message,
            "failures": self.failures,
        }


EventCallback = Callable[[KeepEvent], None]


class _Stopped(BaseException):
    """SIGTERM arrived while an operation ran: it is abandoned (a download's child stops)."""


class Keeper:
    """The keep loop for ``models`` on ``backend`` (names as the runtime spells them)."""

    def __init__(
        self,
        backend: Backend,
        models: Sequence[str],
        *,
        interval: float = 30.0,
        max_failures: int = 5,
        refresh_before: float = 60.0,
        load_options: LoadOptions | None = None,
        on_event: EventCallback | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if not models:
            raise ValueError("keep: name at least one model")
        if interval <= 0 or max_failures < 1 or refresh_before < 0:
            raise ValueError("keep: interval > 0, max_failures >= 1, refresh_before >= 0")
        self.backend = backend
        self.models = list(dict.fromkeys(models))
        self.interval = interval
        self.max_failures = max_failures
        self.refresh_before = refresh_before
        self.load_options = load_options
        self.on_event = on_event
        self.on_progress = on_progress
        self.environ = environ
        self._held: set[str] = set()  # models keep has seen loaded
        self._loaded_at: dict[str, float] = {}  # when keep last loaded or refreshed it
        self._due: dict[str, float] = {}  # when to refresh it (Unix time)
        self._stopping = False
        self._busy = False
        self._abandon = False  # a signal came during a step: its download ends too
        self._watchdog_every = _sdnotify.watchdog_interval(environ)
        self._watchdog_next = 0.0

    # -- events and systemd ----------------------------------------------------------------
    def _emit(self, event: str, model: str | None, message: str, failures: int = 0) -> None:
        if self.on_event is not None:
            self.on_event(KeepEvent(event, model, message, failures, time.time()))

    def _notify(self, message: str) -> None:
        _sdnotify.notify(message, self.environ)

    def _watchdog(self) -> None:
        """``WATCHDOG=1`` when it is due (half of ``WATCHDOG_USEC`` apart)."""
        if self._watchdog_every is None:
            return
        now = time.monotonic()
        if now >= self._watchdog_next:
            self._notify("WATCHDOG=1")
            self._watchdog_next = now + self._watchdog_every

    def _progress(self, event: Progress) -> None:
        if self._abandon:  # the signal's _Stopped was lost (see _on_signal): raised again here
            raise _Stopped
        self._watchdog()  # a download that progresses is alive
        if self.on_progress is not None:
            self.on_progress(event)

    # -- stopping --------------------------------------------------------------------------
    def stop(self) -> None:
        """End the loop: at once when it waits, else when the running step ends."""
        self._stopping = True

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """Stop; abandon the running step. Python ignores an exception raised where the
        handler may happen to run (an at-fork hook, a ``__del__``, a weakref callback): a
        download whose stop was lost so is stopped at its next progress event."""
        self._stopping = True
        if self._busy:
            self._abandon = True
            raise _Stopped

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    @contextlib.contextmanager
    def _operation(self) -> Iterator[None]:
        self._busy = True
        try:
            yield
        finally:
            self._busy = False

    # -- the loop --------------------------------------------------------------------------
    def run(self, *, handle_signals: bool = False) -> None:
        """Keep the models loaded until :meth:`stop` (or, with ``handle_signals``, SIGTERM
        or SIGINT: the main thread only); raises the last error after ``max_failures``
        failed checks in a row."""
        signals = self._signals() if handle_signals else contextlib.nullcontext()
        with signals, contextlib.suppress(_Stopped):
            self._loop()
        self._emit("stopping", None, "SIGTERM or stop(): the models are left loaded")
        self._notify("STOPPING=1")

    def _loop(self) -> None:
        failures = 0
        ready = False
        next_check = 0.0
        while not self._stopping:
            self._watchdog()
            if time.monotonic() >= next_check:
                try:
                    with self._operation():
                        for model in self.models:
                            self._hold(model)
                except (LmsdriveError, OSError) as exc:
                    failures += 1
                    ready = False
                    give_up = failures >= self.max_failures or _no_retry_helps(exc)
                    again = "" if give_up else f"; checking again in {self.interval:g} s"
                    self._emit("failed", None, f"{exc}{again}", failures)
                    self._notify(f"STATUS=check failed ({failures} in a row): {exc}")
                    if give_up:
                        self._emit("gave_up", None, f"{failures} failed checks in a row", failures)
                        if isinstance(exc, LmsdriveError):
                            raise
                        raise CommandError(str(exc)) from exc
                else:
                    failures = 0
                    if not ready:
                        ready = True
                        names = ", ".join(self.models)
                        self._notify(f"READY=1\nSTATUS=holding {names}")
                        self._emit("ready", None, f"{names} loaded on {self.backend.url}")
                # after a failure: the next try in ``interval``, not at a refresh already due
                next_check = time.monotonic() + (self._delay() if not failures else self.interval)
            self._pause(next_check)

    def _delay(self) -> float:
        """Seconds to the next check: ``interval``, or sooner when a model must be refreshed
        before its runtime unloads it."""
        now = time.time()
        return max(min([self.interval, *(due - now for due in self._due.values())]), 0.05)

    def _pause(self, until: float) -> None:
        while not self._stopping:
            left = until - time.monotonic()
            if left <= 0:
                return
            if self._watchdog_every is not None:
                left = min(left, self._watchdog_next - time.monotonic())
                if left <= 0:
                    self._watchdog()
                    continue
            time.sleep(min(left, 0.1))

    def _hold(self, model: str) -> None:
        """Make ``model`` downloaded and loaded (never starting a server); refresh it when
        its runtime will unload it within ``refresh_before`` seconds."""
        b = self.backend
        state = b.readiness(model)
        if not state.running:
            raise ServerNotRunningError(
                f"the {b.display_name} server at {b.url} does not answer; keep does not "
                "start it (its service manager does)"
            )
        if not state.downloaded:
            self._emit("downloading", model, f"{model} is not downloaded: downloading it")
            events = b.pull(model)
            try:
                for event in events:
                    self._progress(event)
            finally:
                close_iterator(events)
            state = b.readiness(model)
        if not state.loaded:
            again = model in self._held
            if again:
                self._emit("evicted", model, f"{model} was unloaded: loading it again")
            else:
                self._emit("loading", model, f"loading {model}")
            self._load(model)
            self._emit("reloaded" if again else "loaded", model, f"{model} is loaded")
            state = b.readiness(model)
        elif model in self._due and time.time() >= self._due[model]:
            self._load(model)
            self._emit("refreshed", model, f"{model} refreshed before its runtime unloads it")
            state = b.readiness(model)
        self._held.add(model)
        self._due.pop(model, None)
        if state.expires_at is not None:
            # refresh_before ahead of the unload; half the TTL ahead when the TTL is shorter
            since = self._loaded_at.get(model)
            margin = self.refresh_before
            if since is not None:
                margin = min(margin, (state.expires_at - since) / 2)
            self._due[model] = state.expires_at - margin

    def _load(self, model: str) -> None:
        self.backend.load(model, self.load_options)
        self._loaded_at[model] = time.time()


__all__ = ["EVENTS", "EventCallback", "KeepEvent", "Keeper"]


def _no_retry_helps(exc: BaseException) -> bool:
    """A failure that trying again cannot mend: a name the catalog does not have, a refused
    token, a bad configuration, an option the runtime cannot honour. keep ends at once with
    it (a service manager restarting keep would fail the same way) instead of retrying."""
    if isinstance(exc, ModelNotFoundError):
        return not exc.local  # not in the catalog; a model missing on the server is pulled
    return isinstance(exc, AuthenticationError | ConfigError | CapabilityError)
