"""systemd's notify protocol (sd_notify(3)), in a few lines and no dependency.

A service of ``Type=notify`` gets ``$NOTIFY_SOCKET``: a Unix datagram socket path, or an
abstract-namespace name written with a leading ``@``. Each message is one datagram of
``KEY=VALUE`` lines: ``READY=1`` once ready, ``STATUS=...`` free text, ``STOPPING=1``, and
``WATCHDOG=1`` at least every ``$WATCHDOG_USEC`` microseconds when ``WatchdogSec=`` is set
(only for the process ``$WATCHDOG_PID`` names, when set). Outside systemd nothing is sent.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping


def notify(message: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``message`` (``"READY=1"``, ``"STATUS=..."``, several lines) to
    ``$NOTIFY_SOCKET``; ``False`` when there is none or it cannot be reached (a service
    manager that went away must not stop the service)."""
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET", "")
    if not address or address[0] not in "/@":
        return False
    target = "\0" + address[1:] if address[0] == "@" else address
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message.encode("utf-8"), target)
    except OSError:
        return False
    return True


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """How often to send ``WATCHDOG=1`` (seconds): half of ``$WATCHDOG_USEC``, or ``None``
    when the watchdog is off or meant for another process (``$WATCHDOG_PID``).

    >>> watchdog_interval({"WATCHDOG_USEC": "30000000"})
    15.0
    >>> watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    True
    """
    env = os.environ if environ is None else environ
    pid = env.get("WATCHDOG_PID")
    if pid and pid.strip() != str(os.getpid()):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2e6 if usec > 0 else None
