"""``keep_alive`` per call: how long a model stays loaded after a request.

One value for both runtimes: seconds (a number) or an Ollama duration string (``"10m"``,
``"1h30m"``, ``"90s"``); negative keeps the model loaded for ever, ``0`` unloads it right
after the answer. Ollama takes it as is (``keep_alive`` on ``/api/generate`` and
``/api/chat``, docs/reference/runtimes-2026.md §5.4); LM Studio takes whole seconds of idle
time as ``ttl`` (``/v1/chat/completions``, applied when the request loads the model, §6.1),
so it cannot say "for ever" or "now" per request.

>>> keep_alive_seconds("1h30m"), keep_alive_seconds(90), keep_alive_seconds("-1m")
(5400.0, 90.0, None)
>>> lmstudio_ttl("10m")
600
"""

from __future__ import annotations

import math
import re

from ._types import KeepAlive
from .errors import ConfigError

__all__ = ["check_keep_alive", "keep_alive_seconds", "lmstudio_ttl"]

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_EXPECTED = (
    "expected seconds (a number) or a duration such as '10m' or '1h30m'; negative keeps "
    "the model loaded for ever, 0 unloads it after the answer"
)


def keep_alive_seconds(value: KeepAlive) -> float | None:
    """``value`` in seconds; ``None`` for ever (negative). Refuses anything else with a
    :class:`ConfigError` (Ollama itself refuses a bare numeric string such as ``"10"``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"keep_alive={value!r}: {_EXPECTED}")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ConfigError(f"keep_alive={value!r}: {_EXPECTED}")
        return None if value < 0 else float(value)
    text = value.strip()
    sign, body = (-1.0, text[1:]) if text.startswith("-") else (1.0, text)
    parts = _PART.findall(body)
    if not parts or "".join(n + u for n, u in parts) != body:
        raise ConfigError(f"keep_alive={value!r}: {_EXPECTED}")
    total = sign * sum(float(n) * _UNITS[u] for n, u in parts)
    return None if total < 0 else total


def check_keep_alive(value: KeepAlive | None) -> KeepAlive | None:
    """``value`` unchanged once it reads (:func:`keep_alive_seconds`), or ``None``."""
    if value is not None:
        keep_alive_seconds(value)
    return value


def lmstudio_ttl(value: KeepAlive) -> int:
    """LM Studio's ``ttl`` (whole seconds, at least 1) for ``value``; what it cannot say per
    request (for ever, unload now) is a :class:`ConfigError` saying what to do instead."""
    seconds = keep_alive_seconds(value)
    if seconds is None:
        raise ConfigError(
            f"keep_alive={value!r}: LM Studio cannot keep a model loaded for ever per request; "
            "load it without a TTL instead (`lmsdrive load MODEL`, or Driver.load())"
        )
    if seconds == 0:
        raise ConfigError(
            f"keep_alive={value!r}: LM Studio's TTL is at least 1 second; to unload the model "
            "after the answer, call unload() (`lmsdrive unload MODEL`)"
        )
    return max(1, math.ceil(seconds))
