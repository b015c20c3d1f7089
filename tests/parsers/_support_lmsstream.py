"""Helpers shared by the tests of the lms stream and LM Studio body parsers (tests/parsers/)."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any, TypeVar

from hypothesis import strategies as st

E = "\x1b"
EventT = TypeVar("EventT")
ResultT = TypeVar("ResultT")


def _frame(pct: str, text: str) -> str:
    return f"{E}[?25l{E}[s\r⠙ [█████▍                ] {pct}% | {text}          {E}[u"


def _drain(gen: Generator[EventT, None, ResultT]) -> tuple[list[EventT], ResultT]:
    events: list[EventT] = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as stop:
            return events, stop.value


def _chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    d = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return "data: " + json.dumps(d) + "\n\n"


_ALPHABET = st.sampled_from(
    [*'abc {}[]":,\n\r\x1b%|/.0123456789⠋█✓↓└─?', "data: ", "[DONE]", "Loading ", "GB", "GiB"]
)
