"""Lines the runtimes print from a fixed template in their source, read with ``parse``
(the inverse of ``str.format``).

>>> RUNNING = LineTemplate("The server is running on port {port:d}")
>>> RUNNING.match("The server is running on port 1234.")
{'port': 1234}
>>> RUNNING.match("The server is running on port 1234 (stale)") is None
True
"""

from __future__ import annotations

from typing import Any

import parse


class LineTemplate:
    """One printed template. A trailing period and surrounding whitespace are optional
    (lms dropped or added the period between versions); the rest must match exactly."""

    def __init__(self, template: str) -> None:
        self.template = template
        self._parser = parse.compile(template, case_sensitive=True)

    def match(self, line: str) -> dict[str, Any] | None:
        """The template's fields read from ``line``, or ``None`` when it is another line."""
        result = self._parser.parse(line.strip().removesuffix("."))
        if result is None or not isinstance(result, parse.Result):
            return None
        return dict(result.named)
