"""The read-only health check behind ``Driver.check()`` and ``lmsdrive check``.

Does the server answer (with the token it wants)? Is each model downloaded, and loaded? With
``answer``: does each answer a one-token generation within the deadline? It never starts,
downloads, loads or writes anything: no process is spawned, and without ``answer`` it makes
at most two HTTP requests (:meth:`~lmsdrive.backends.base.Backend.probe`), so a container
health check or a Kubernetes probe can run it every few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from .errors import (
    AuthenticationError,
    CommandTimeoutError,
    LmsdriveError,
    ModelNotFoundError,
    ServerNotRunningError,
)

if TYPE_CHECKING:
    from .backends.base import Backend

Problem = Literal["server_down", "auth", "failed", "model_missing", "not_loaded", "no_answer"]
#: The problems a check finds, the worst first: the whole check reports the worst of its models'.
PROBLEMS: tuple[Problem, ...] = (
    "server_down",
    "auth",
    "failed",
    "model_missing",
    "not_loaded",
    "no_answer",
)


@dataclass(frozen=True)
class ModelCheck:
    """One model's part of a check. ``downloaded``/``loaded`` are ``None`` where the server
    could not tell; ``answered`` is ``None`` unless an answer was asked for."""

    model: str
    downloaded: bool | None = None
    loaded: bool | None = None
    answered: bool | None = None
    answer_seconds: float | None = None
    problem: Problem | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class CheckResult:
    """What a health check found. ``ok`` only when the server answers and every model is
    downloaded and loaded (and answered, when asked); ``problem`` is the worst found
    (:data:`PROBLEMS` order); ``seconds`` the check's wall time."""

    backend: str
    url: str
    server_up: bool
    auth_ok: bool | None
    models: tuple[ModelCheck, ...]
    seconds: float
    problem: Problem | None
    message: str

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def _model_check(model: str, downloaded: bool | None, loaded: bool | None) -> ModelCheck:
    if loaded:
        return ModelCheck(model, downloaded=True, loaded=True, message=f"{model} is loaded")
    if downloaded is False:
        why = f"{model} is not downloaded: run `lmsdrive init --model {model}`"
        return ModelCheck(model, False, False, problem="model_missing", message=why)
    why = f"{model} is not loaded: run `lmsdrive init --model {model}`"
    return ModelCheck(model, downloaded, loaded, problem="not_loaded", message=why)


def _answer(backend: Backend, check: ModelCheck, timeout: float) -> ModelCheck:
    """``check`` with the outcome of a one-token generation within ``timeout`` seconds."""
    model = check.model
    t0 = time.monotonic()
    try:
        backend.probe_answer(model)
    except CommandTimeoutError:
        took = time.monotonic() - t0
        why = f"{model} did not answer within {timeout:g} s"
        return _with(check, answered=False, answer_seconds=took, problem="no_answer", message=why)
    except ModelNotFoundError as exc:
        return _with(check, answered=False, problem="model_missing", message=f"{model}: {exc}")
    except (AuthenticationError, ServerNotRunningError):
        raise
    except LmsdriveError as exc:
        return _with(check, answered=False, problem="failed", message=f"{model}: {exc}")
    took = time.monotonic() - t0
    if took > timeout:
        why = f"{model} answered in {took:.1f} s, more than {timeout:g} s"
        return _with(check, answered=False, answer_seconds=took, problem="no_answer", message=why)
    return _with(check, answered=True, answer_seconds=took, message=f"{check.message}, answers")


def _with(check: ModelCheck, **changes: Any) -> ModelCheck:
    return ModelCheck(**{**asdict(check), **changes})


def worst(problems: Sequence[Problem | None]) -> Problem | None:
    """The worst of ``problems`` (``None``: none).

    >>> worst([None, "not_loaded", "model_missing"])
    'model_missing'
    """
    found = set(problems)
    return next((p for p in PROBLEMS if p in found), None)


def run_check(
    backend: Backend, models: Sequence[str], *, answer: bool = False, timeout: float = 5.0
) -> CheckResult:
    """Check ``backend``'s server and ``models`` (see the module); never raises for what the
    server says: the result tells."""
    t0 = time.monotonic()
    name, url = backend.display_name, backend.url

    def result(
        up: bool, auth: bool | None, checks: Sequence[ModelCheck], problem: Problem | None, msg: str
    ) -> CheckResult:
        took = time.monotonic() - t0
        return CheckResult(backend.name, url, up, auth, tuple(checks), took, problem, msg)

    try:
        with backend.time_limit(timeout):
            states = backend.probe(models)
            if not all(s.running for s in states):
                return result(False, None, [], "server_down", str(backend.not_answering()))
            checks = [
                _model_check(m, s.downloaded, s.loaded) for m, s in zip(models, states, strict=True)
            ]
            if answer:
                checks = [_answer(backend, c, timeout) if c.ok else c for c in checks]
    except AuthenticationError as exc:
        return result(True, False, [], "auth", str(exc))
    except ServerNotRunningError as exc:  # where it is, why, and what to do: as every face
        return result(False, None, [], "server_down", str(backend.not_answering(exc.reason)))
    except CommandTimeoutError:
        why = f"{name} at {url} did not answer within {timeout:g} s"
        return result(False, None, [], "server_down", why)
    except LmsdriveError as exc:
        return result(True, None, [], "failed", f"{name} at {url}: {exc}")
    problem = worst([c.problem for c in checks])
    if problem is None:
        message = f"{name} at {url} is ready: " + "; ".join(c.message for c in checks)
    else:
        message = "; ".join(c.message for c in checks if not c.ok)
    return result(True, True, checks, problem, message)


__all__ = ["PROBLEMS", "CheckResult", "ModelCheck", "Problem", "run_check", "worst"]
