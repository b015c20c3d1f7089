"""Run a download command and stream its progress through the command's parser."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import TypeVar

from ..errors import AuthenticationError, ParseError, PullError, error_for, pull_failed_hint
from ..parsers import log_skipped, read
from ..parsers._base import Progress, Result
from ..parsers._policy import SkippedLine, reading
from ..parsers._stream import Reader
from ..runner import stream
from ..transcript import Transcript


class PullOutcome:
    """Filled in when the stream ends: the parser's result, the exit code, and a parse
    error if the output held a line the parser does not know (the download still ran to
    its end: a parser that falls behind a new runtime version never costs a download)."""

    def __init__(self) -> None:
        self.result: Result | None = None
        self.exit_code: int | None = None
        self.parse_error: ParseError | None = None
        self.tail: str = ""


R = TypeVar("R", bound=Result)


def live(parse: Callable[[Transcript], R], transcript: Transcript, command: str) -> R:
    """Read a live command's output leniently: a line this lmsdrive does not know (a new
    runtime version's) is logged at WARNING on the ``lmsdrive`` logger, not fatal."""
    result = read(parse, transcript, command=command)
    log_skipped(result, command)
    return result


def stream_progress(
    argv: Sequence[str],
    reader: Reader[Progress, Result],
    outcome: PullOutcome,
    *,
    idle_timeout: float,
    command: str,
) -> Iterator[Progress]:
    """Yield progress events while ``argv`` runs; closing the iterator stops the child."""
    proc = stream(list(argv), timeout=None, idle_timeout=idle_timeout)
    skipped: list[SkippedLine] = []
    try:
        for chunk in proc:
            if outcome.parse_error is not None:
                continue
            try:
                with reading(strict=False) as state:  # lenient, but never across a yield
                    events = list(reader.feed(chunk))
            except ParseError as exc:
                outcome.parse_error = exc
                continue
            skipped += state.skipped
            yield from events
        if outcome.parse_error is None:
            try:
                with reading(strict=False) as state:
                    tail_events = list(reader.close())
                    result = reader.result()
                skipped += state.skipped
                outcome.result = replace(result, skipped=tuple(skipped)) if skipped else result
                log_skipped(outcome.result, command)
            except ParseError as exc:
                outcome.parse_error = exc
                tail_events = []
            yield from tail_events
    finally:
        proc.close()
        outcome.exit_code = proc.exit_code
        lines = proc.transcript().text.strip().splitlines()[-8:]
        outcome.tail = "\n".join(f"    {line}" for line in lines)


def raise_for_outcome(
    outcome: PullOutcome,
    *,
    what: str,
    command: str,
    succeeded: bool,
    result: Result | None,
    token_variables: Sequence[str] = (),
) -> None:
    """After the stream: return on success, else raise the typed error that says what to do.

    ``succeeded`` is the parser's verdict, ``result.error``/``.kind`` the runtime's own report.
    An exit status 0 with output the parser did not understand is still a success (the
    download ran to its end; nothing is lost to a parser that fell behind a new version).
    A refusal for want of a token (kind ``authentication``) raises
    :class:`AuthenticationError` naming ``token_variables``.
    """
    if succeeded and outcome.exit_code == 0:
        return
    error, kind = (result.error, result.kind) if result is not None else (None, None)
    if not error:
        if outcome.exit_code == 0:
            return
        why = f"{command} exited with status {outcome.exit_code}"
        if outcome.parse_error is not None:
            why += f" (its output was not understood: {outcome.parse_error})"
        raise PullError(
            f"Downloading {what} failed: {why}. {pull_failed_hint(outcome.tail)}\n"
            f"Last output:\n{outcome.tail}"
        )
    if kind in ("model_not_found", "server_not_running"):
        raise error_for(kind, error)
    reason = error.rstrip(".")
    if kind == "authentication":
        names = " or ".join(token_variables) or "the API token"
        raise AuthenticationError(
            f"Downloading {what} failed: {reason}: it wants an API token. Set {names} to a "
            "token it accepts (or pass --token-file PATH), then run the download again."
        )
    raise PullError(f"Downloading {what} failed: {reason}. {pull_failed_hint(reason)}")
