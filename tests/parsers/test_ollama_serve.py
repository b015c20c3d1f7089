"""Tests of lmsdrive.parsers.ollama_serve."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _support_ollama import SLOG_READY, T

from lmsdrive.errors import ParseError
from lmsdrive.parsers import (
    ollama_serve,
)
from lmsdrive.parsers.ollama_serve import ServeFailed, ServeLog, ServeOutput, ServeReady


def test_serve_ready_only_when_line_completes() -> None:
    half = len(SLOG_READY) // 2
    events = ollama_serve.stream(iter([SLOG_READY[:half], SLOG_READY[half:-1]]))
    assert list(events) == [ServeReady("127.0.0.1:11434", "0.1.27", 1)]  # end of stream

    seen: list[object] = []

    def chunks() -> Iterator[str]:
        yield SLOG_READY[:half]
        assert seen == []  # nothing yet: the line is incomplete
        yield SLOG_READY[half:]
        assert any(isinstance(e, ServeReady) for e in seen)  # yielded before the next chunk
        yield '[GIN] 2024/01/12 - 00:51:32 | 200 |      21.948µs |       127.0.0.1 | HEAD     "/"\n'

    for event in ollama_serve.stream(chunks()):
        seen.append(event)
    assert isinstance(seen[-1], ServeOutput) and seen[-1].category == "gin"


def test_serve_bind_failure_event() -> None:
    text = "Error: listen tcp 127.0.0.1:11434: bind: Only one usage of each socket address\n"
    events = list(ollama_serve.stream([text]))
    assert events == [
        ServeFailed(
            "listen tcp 127.0.0.1:11434: bind: Only one usage of each socket address",
            "bind_failed",
            1,
        )
    ]


@pytest.mark.parametrize(
    ("line", "addr", "version"),
    [
        (
            "2023/08/01 10:00:00 routes.go:437: Listening on 127.0.0.1:11434",
            "127.0.0.1:11434",
            None,
        ),
        (
            "2024/01/25 10:00:00 routes.go:970: INFO Listening on [::]:11434 (version 0.1.22)",
            "[::]:11434",
            "0.1.22",
        ),
        (SLOG_READY.strip(), "127.0.0.1:11434", "0.1.27"),
        (
            "Aug 19 22:32:14 host ollama[1]: " + SLOG_READY.strip().replace("0.1.27", "0.0.0"),
            "127.0.0.1:11434",
            "0.0.0",
        ),
        ("ollama-1  | " + SLOG_READY.strip(), "127.0.0.1:11434", "0.1.27"),
        ("2025-03-01T10:00:00.123456789Z " + SLOG_READY.strip(), "127.0.0.1:11434", "0.1.27"),
    ],
)
def test_serve_readiness_eras(line: str, addr: str, version: str | None) -> None:
    r = ollama_serve.parse(T(line + "\n"))
    assert (r.ready, r.listen_address, r.version) == (True, addr, version)


def test_serve_runner_listening_is_not_ready() -> None:
    text = (
        "time=2025-01-01T00:00:00.000Z level=INFO source=runner.go:900 "
        'msg="Server listening on 127.0.0.1:38945"\n'
    )
    r = ollama_serve.parse(T(text))
    assert not r.ready and r.log_lines == 1


def test_serve_slog_fields_unescaped() -> None:
    text = (
        "time=2024-04-05T07:13:53.881-05:00 level=WARN source=payload.go:113 "
        'msg="Extracting to C:\\\\Users\\\\me \\"x\\"" extra=1\n'
    )
    (event,) = list(ollama_serve.stream([text]))
    assert isinstance(event, ServeLog)
    assert (event.level, event.source, event.message) == (
        "WARN",
        "payload.go:113",
        'Extracting to C:\\Users\\me "x"',
    )


def test_serve_unknown_lines_after_log_are_output() -> None:
    text = SLOG_READY + "some random library chatter\n"
    events = list(ollama_serve.stream([text]))
    assert isinstance(events[-1], ServeOutput) and events[-1].category == "unknown"
    assert ollama_serve.parse(T(text)).other_lines == 1


def test_serve_empty_and_garbage() -> None:
    r = ollama_serve.parse(T(""))
    assert (r.ready, r.error) == (False, None)
    with pytest.raises(ParseError) as info:
        ollama_serve.parse(T("\nhello\nworld\n"))
    assert info.value.line_number == 2


def test_serve_panic_before_ready_is_crash() -> None:
    r = ollama_serve.parse(T("panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n"))
    assert (r.kind, r.error, r.ready) == ("crash", "panic: boom", False)


def test_serve_long_stream_flat() -> None:
    gin = '[GIN] 2024/01/12 - 00:51:32 | 200 |      21.948µs |       127.0.0.1 | HEAD     "/"\n'

    def chunks() -> Iterator[str]:
        yield SLOG_READY
        for _ in range(20000):
            yield gin

    count = sum(1 for _ in ollama_serve.stream(chunks()))
    assert count == 20001


def test_serve_stream_unwraps_each_line_with_the_pre_pass() -> None:
    """stream() has no whole paste: each line goes through _session.unwrap on its own."""
    from lmsdrive.parsers import ollama_serve

    lines = [
        "$ kubectl logs --prefix pod/ollama-0",
        "Aug 19 22:32:14 host systemd[1]: Started Ollama Service.",
        "[pod/ollama-0/ollama] time=2026-01-21T01:46:34Z level=INFO source=routes.go:1"
        ' msg="Listening on [::]:11434 (version 0.9.0)"',
        'ollama-1  | [GIN] 2026/01/21 - 01:46:34 | 200 |  1.2ms |  127.0.0.1 | HEAD "/"',
    ]
    events = list(ollama_serve.stream("\n".join(lines) + "\n"))
    kinds = [getattr(e, "category", type(e).__name__) for e in events]
    assert kinds == ["command", "supervisor", "ServeReady", "gin"]
    ready = events[2]
    assert isinstance(ready, ollama_serve.ServeReady) and ready.version == "0.9.0"
