"""The download machinery's own rules, each held by a fast test: how a download command's
output is streamed through its reader (``_pull.stream_progress``), which typed error its end
raises (``raise_for_outcome``), and how one process at a time downloads a model
(``_one_download``). Written for the mutants ``make mutate`` showed no fast test held.

The commands are small Python children printing scripted lines on a pseudo-terminal, read by
a scripted reader: what is tested is the streaming and the verdict, not a runtime's format
(the parsers' own tests read the real recordings)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sys
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from lmsdrive._types import Progress
from lmsdrive.backends import _one_download
from lmsdrive.backends._one_download import POLL_INTERVAL, _replaced, download_key, one_download
from lmsdrive.backends._pull import PullOutcome, live, raise_for_outcome, stream_progress
from lmsdrive.errors import (
    AuthenticationError,
    CommandError,
    CommandTimeoutError,
    ModelNotFoundError,
    ParseError,
    PullError,
    ServerNotRunningError,
)
from lmsdrive.parsers._base import Result
from lmsdrive.parsers._policy import SkippedLine, not_understood
from lmsdrive.transcript import Transcript

COMMAND = "fake pull"


@dataclass(frozen=True)
class Lines(Result):
    """What the scripted reader read: its lines, in order."""

    lines: tuple[str, ...] = ()


class LineReader:
    """Reads whole lines: ``BAD`` raises :class:`ParseError`, ``??...`` is a line not
    understood, anything else is a progress event carrying the line. A last line without a
    newline is read at ``close``; ``close`` raises when the output ended with ``FAIL``."""

    def __init__(self) -> None:
        self.pending = ""
        self.number = 0
        self.lines: list[str] = []

    def _line(self, line: str) -> Iterator[Progress]:
        self.number += 1
        if line == "BAD":
            raise ParseError(COMMAND, "a line no reader knows", self.number, line)
        if line.startswith("??"):
            not_understood(COMMAND, "not understood", self.number, line)
            return
        self.lines.append(line)
        yield Progress(phase="downloading", message=line)

    def feed(self, chunk: str) -> Iterator[Progress]:
        self.pending += chunk.replace("\r\n", "\n")
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            yield from self._line(line)

    def close(self) -> Iterator[Progress]:
        last, self.pending = self.pending, ""
        if last == "FAIL":
            raise ParseError(COMMAND, "the output ended mid-frame")
        if last:
            yield from self._line(last)

    def result(self) -> Lines:
        return Lines(lines=tuple(self.lines))


def child(*steps: str, code: int = 0) -> list[str]:
    """A child printing each step (a line; ``"sleep N"`` waits N seconds; a step ending
    in ``\\`` is printed without its newline), then exiting with ``code``."""
    body = ["import sys, time"]
    for step in steps:
        if step.startswith("sleep "):
            body.append(f"time.sleep({float(step.split()[1])})")
        elif step.endswith("\\"):
            body.append(f"sys.stdout.write({step[:-1]!r}); sys.stdout.flush()")
        else:
            body.append(f"print({step!r}, flush=True); time.sleep(0.05)")
    body.append(f"sys.exit({code})")
    return [sys.executable, "-c", "\n".join(body)]


def run(argv: list[str], idle_timeout: float = 20) -> tuple[list[str | None], PullOutcome]:
    outcome = PullOutcome()
    events = stream_progress(
        argv, LineReader(), outcome, idle_timeout=idle_timeout, command=COMMAND
    )
    return [e.message for e in events], outcome


def test_every_line_is_an_event_and_the_end_fills_the_outcome() -> None:
    messages, outcome = run(child("one", "two", "three\\", code=0))
    assert messages == ["one", "two", "three"]  # the last, newline-less line read at close
    assert outcome.exit_code == 0
    assert outcome.parse_error is None
    assert outcome.result == Lines(lines=("one", "two", "three"))
    assert outcome.result.skipped == ()


def test_lines_not_understood_in_two_chunks_and_at_close_are_all_kept_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="lmsdrive"):
        messages, outcome = run(child("??first", "sleep 0.2", "ok", "??second", "??third\\"))
    assert messages == ["ok"]
    assert outcome.parse_error is None
    assert outcome.result is not None
    assert outcome.result.skipped == (
        SkippedLine(1, "??first"),
        SkippedLine(3, "??second"),
        SkippedLine(4, "??third"),
    )
    assert [r.getMessage() for r in caplog.records] == [
        f"{COMMAND}: line 1 not understood, skipped: '??first'",
        f"{COMMAND}: line 3 not understood, skipped: '??second'",
        f"{COMMAND}: line 4 not understood, skipped: '??third'",
    ]


def test_a_line_no_reader_knows_stops_the_events_not_the_download() -> None:
    """After a ParseError the command still runs to its end (its exit status is its own),
    nothing more is read, and the error is kept."""
    messages, outcome = run(child("one", "BAD", "sleep 0.3", "two", code=3))
    assert messages == ["one"]
    assert outcome.exit_code == 3
    assert isinstance(outcome.parse_error, ParseError)
    assert "a line no reader knows" in str(outcome.parse_error)
    assert outcome.result is None


def test_a_reader_failing_at_close_keeps_the_error() -> None:
    messages, outcome = run(child("one", "FAIL\\", code=0))
    assert messages == ["one"]
    assert isinstance(outcome.parse_error, ParseError)
    assert "the output ended mid-frame" in str(outcome.parse_error)
    assert outcome.result is None
    assert outcome.exit_code == 0


def test_the_tail_is_the_last_eight_lines_indented() -> None:
    _, outcome = run(child(*(f"line {n}" for n in range(1, 11)), code=1))
    assert outcome.tail == "\n".join(f"    line {n}" for n in range(3, 11))
    assert outcome.exit_code == 1


def test_a_silent_command_times_out_after_idle_timeout() -> None:
    with pytest.raises(CommandTimeoutError):
        run(child("one", "sleep 30"), idle_timeout=0.5)


# --- raise_for_outcome: the verdict at a download's end ---------------------------------


def outcome_of(
    exit_code: int, tail: str = "    last line", parse_error: bool = False
) -> PullOutcome:
    outcome = PullOutcome()
    outcome.exit_code = exit_code
    outcome.tail = tail
    if parse_error:
        outcome.parse_error = ParseError(COMMAND, "no frame", 2, "%%%")
    return outcome


def verdict(
    outcome: PullOutcome,
    result: Result | None,
    *,
    succeeded: bool = False,
    token_variables: tuple[str, ...] = (),
) -> None:
    raise_for_outcome(
        outcome,
        what="m:1b",
        command=COMMAND,
        succeeded=succeeded,
        result=result,
        token_variables=token_variables,
    )


def test_success_needs_the_parsers_verdict_and_status_zero() -> None:
    # the parser's verdict wins over an error report it read on the way
    verdict(outcome_of(0), Result(error="retrying", kind="pull_failed"), succeeded=True)
    with pytest.raises(PullError, match="exited with status 1"):
        verdict(outcome_of(1), None, succeeded=True)


def test_status_zero_without_an_error_report_is_a_success() -> None:
    verdict(outcome_of(0), None)
    verdict(outcome_of(0), Result())


def test_a_failed_command_without_a_report_says_status_and_tail() -> None:
    with pytest.raises(PullError) as info:
        verdict(outcome_of(1, "    no space left on device"), Result())
    assert str(info.value) == (
        f"Downloading m:1b failed: {COMMAND} exited with status 1. The disk is full: free "
        "space where the runtime keeps its models, then run the download again.\n"
        "Last output:\n    no space left on device"
    )


def test_a_failed_command_says_its_output_was_not_understood() -> None:
    with pytest.raises(PullError) as info:
        verdict(outcome_of(2, parse_error=True), None)
    parse_error = ParseError(COMMAND, "no frame", 2, "%%%")
    assert str(info.value).startswith(
        f"Downloading m:1b failed: {COMMAND} exited with status 2 (its output was not "
        f"understood: {parse_error}). Fix the cause"
    )


@pytest.mark.parametrize(
    ("kind", "error_type"),
    [("model_not_found", ModelNotFoundError), ("server_not_running", ServerNotRunningError)],
)
def test_a_missing_model_or_server_raises_its_own_error_with_the_runtimes_words(
    kind: str, error_type: type[Exception]
) -> None:
    with pytest.raises(error_type) as info:
        verdict(outcome_of(1), Result(error="pull model manifest: file does not exist", kind=kind))
    assert type(info.value) is error_type
    assert str(info.value) == "pull model manifest: file does not exist"


def test_an_other_report_is_a_pull_error_with_the_reason_and_hint() -> None:
    with pytest.raises(PullError) as info:
        verdict(outcome_of(1), Result(error="max retries exceeded: EOF.", kind="pull_failed"))
    assert type(info.value) is PullError
    assert str(info.value) == (
        "Downloading m:1b failed: max retries exceeded: EOF. Fix the cause (network, disk "
        "space, model name), then run the download again."
    )
    with pytest.raises(PullError) as info:
        verdict(outcome_of(0), Result(error=".no such model: QWEN-MAX. \n", kind="unknown"))
    assert str(info.value).startswith("Downloading m:1b failed: .no such model: QWEN-MAX. \n. ")
    with pytest.raises(PullError) as info:
        verdict(outcome_of(1), Result(error="no such model: QWEN-MAX.", kind="pull_failed"))
    assert str(info.value).startswith("Downloading m:1b failed: no such model: QWEN-MAX. Fix")
    with pytest.raises(PullError) as info:
        verdict(outcome_of(0), Result(error="write: ENOSPC...", kind="pull_failed"))
    assert str(info.value).startswith("Downloading m:1b failed: write: ENOSPC. The disk is full")


def test_a_refusal_for_want_of_a_token_names_the_variables() -> None:
    refused = Result(error="pull access denied.", kind="authentication")
    with pytest.raises(AuthenticationError) as info:
        verdict(outcome_of(1), refused, token_variables=("LM_API_TOKEN", "LMSTUDIO_API_TOKEN"))
    assert str(info.value) == (
        "Downloading m:1b failed: pull access denied: it wants an API token. Set "
        "LM_API_TOKEN or LMSTUDIO_API_TOKEN to a token it accepts (or pass --token-file "
        "PATH), then run the download again."
    )
    with pytest.raises(AuthenticationError, match=r"token\. Set the API token to a token"):
        verdict(outcome_of(1), refused)


def test_an_error_report_without_a_kind_is_a_pull_error() -> None:
    with pytest.raises(PullError) as info:
        verdict(outcome_of(1), Result(error="connection reset"))
    assert not isinstance(info.value, (CommandError, ModelNotFoundError))
    assert str(info.value).startswith("Downloading m:1b failed: connection reset. ")


# --- live: a one-shot command's output read leniently -----------------------------------


def read_lines(transcript: Transcript) -> Lines:
    lines = []
    for number, line in enumerate(transcript.stdout.splitlines(), 1):
        if line.startswith("??"):
            not_understood(COMMAND, "not understood", number, line)
        else:
            lines.append(line)
    return Lines(lines=tuple(lines))


def test_live_reads_leniently_and_logs_what_it_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="lmsdrive"):
        result = live(read_lines, Transcript(stdout="ok\n??new\n"), COMMAND)
    assert result.lines == ("ok",)
    assert result.skipped == (SkippedLine(2, "??new"),)
    assert [r.getMessage() for r in caplog.records] == [
        f"{COMMAND}: line 2 not understood, skipped: '??new'"
    ]


def test_live_output_of_nothing_understood_names_the_command() -> None:
    with pytest.raises(ParseError) as info:
        live(read_lines, Transcript(stdout="??a\n??b\n"), COMMAND)
    assert str(info.value) == f"{COMMAND}: nothing in the output was understood at line 1: '??a'"


# --- one_download: one process at a time downloads a model ------------------------------


def test_download_key_is_readable_and_unique() -> None:
    def digest(*parts: str) -> str:
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]

    url = "http://127.0.0.1:11434"
    assert download_key("ollama", url, "QWEN-MAX") == (
        f"ollama-127.0.0.1-11434-QWEN-MAX-{digest('ollama', url, 'QWEN-MAX')}"
    )
    store = "/home/u/.ollama/models"  # a local server: its model store, no "://"
    assert download_key("ollama", store, "llama3.2:1b ") == (
        f"ollama--home-u-.ollama-models-llama3.2-1b-{digest('ollama', store, 'llama3.2:1b ')}"
    )
    long = "m" * 100
    assert download_key("ollama", url, long) == (
        f"{('ollama-127.0.0.1-11434-' + long)[:80]}-{digest('ollama', url, long)}"
    )


class Clock:
    """``_one_download``'s ``time``: each poll's sleep advances the clock one second and
    runs the next step of the holder's script."""

    def __init__(self, steps: list[Callable[[], object]]) -> None:
        self.now = 1000.0
        self.steps = steps
        self.sleeps = 0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds == POLL_INTERVAL
        self.sleeps += 1
        self.now += 1.0
        if self.steps:
            self.steps.pop(0)()


@pytest.fixture
def downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LMSDRIVE_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state" / "downloads"


def held(folder: Path) -> IO[str]:
    """Another process's hold of the lock of ``KEY`` (an open file description of its own)."""
    folder.mkdir(parents=True, exist_ok=True)
    fh = open(folder / f"{KEY}.lock", "a+")  # noqa: SIM115 (closed by release)
    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fh


def release(fh: IO[str]) -> None:
    fcntl.flock(fh, fcntl.LOCK_UN)
    fh.close()


def free(lock: Path) -> bool:
    with lock.open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fh, fcntl.LOCK_UN)
        return True


KEY = "ollama-m-1b"


def line(message: str) -> str:
    return json.dumps(Progress(phase="downloading", message=message).to_dict()) + "\n"


def test_the_holder_mirrors_each_event_to_the_progress_file(downloads: Path) -> None:
    seen: list[str] = []

    def download() -> Iterator[Progress]:
        try:
            yield Progress(phase="downloading", message="one")
            yield Progress(phase="downloading", message="two")
        finally:  # the download stops while the waiters still see its file
            seen.append(f"stopped; file there: {(downloads / f'{KEY}.progress').exists()}")

    events = one_download(KEY, download, lambda: pytest.fail("not asked"), idle_timeout=5)
    assert next(events).message == "one"
    progress = downloads / f"{KEY}.progress"
    assert progress.read_text(encoding="utf-8") == line("one")
    assert not free(downloads / f"{KEY}.lock")
    assert [e.message for e in events] == ["two"]
    assert seen == ["stopped; file there: True"]
    assert not progress.exists()  # gone when the download ends
    assert free(downloads / f"{KEY}.lock")
    # the folder is there now: the next download takes the lock again, from a fresh file
    events = one_download(KEY, download, lambda: pytest.fail("not asked"), idle_timeout=5)
    assert next(events).message == "one"
    assert progress.read_text(encoding="utf-8") == line("one")
    assert not free(downloads / f"{KEY}.lock")
    assert isinstance(events, Generator)
    events.close()  # stopped early: the same cleanup
    assert seen[-1] == "stopped; file there: True"
    assert not progress.exists() and free(downloads / f"{KEY}.lock")


def test_a_progress_file_gone_already_is_no_error(downloads: Path) -> None:
    def download() -> Iterator[Progress]:
        (downloads / f"{KEY}.progress").unlink()
        yield Progress(phase="done")

    assert [e.phase for e in one_download(KEY, download, lambda: False, idle_timeout=5)] == ["done"]


def test_a_download_that_is_a_plain_iterator_is_mirrored_too(downloads: Path) -> None:
    """``download()`` is any iterator: one without ``close`` is not closed."""
    events = one_download(
        KEY, lambda: iter([Progress(phase="done")]), lambda: False, idle_timeout=5
    )
    assert [e.phase for e in events] == ["done"]
    assert not (downloads / f"{KEY}.progress").exists()


def test_no_place_for_the_lock_downloads_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "state").write_text("")  # the state dir is a file
    monkeypatch.setenv("LMSDRIVE_STATE_DIR", str(tmp_path / "state"))

    def download() -> Iterator[Progress]:
        yield Progress(phase="done")

    with caplog.at_level(logging.WARNING, logger="lmsdrive"):
        events = list(one_download(KEY, download, lambda: False, idle_timeout=5))
    assert [e.phase for e in events] == ["done"]
    [record] = caplog.records
    assert record.getMessage().startswith(
        "lmsdrive: downloading without the one-download lock: [Errno "
    )
    assert str(tmp_path / "state") in record.getMessage()


def test_a_waiter_follows_the_holders_file_then_asks_whether_the_model_is_there(
    downloads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = held(downloads)
    progress = downloads / f"{KEY}.progress"

    def afresh() -> None:  # a new holder starts its own file
        fresh = downloads / "fresh"
        fresh.write_text(line("three"), encoding="utf-8")
        os.replace(fresh, progress)

    def done() -> None:
        progress.unlink()
        release(holder)

    steps: list[Callable[[], object]] = [
        lambda: progress.write_text(line("one") + line("two")[:9], encoding="utf-8"),
        lambda: progress.open("a").write(line("two")[9:] + "garbage\n" + '{"bogus": 1}\n'),
        afresh,
        lambda: None,
        done,
    ]
    clock = Clock(steps)
    monkeypatch.setattr(_one_download, "time", clock)
    asked: list[str] = []

    def downloaded() -> bool:
        asked.append("downloaded?")
        return True

    def download() -> Iterator[Progress]:
        pytest.fail("the model is there: no download of our own")
        yield Progress(phase="never")

    events = list(one_download(KEY, download, downloaded, idle_timeout=30))
    assert [e.message for e in events] == ["one", "two", "three"]
    assert asked == ["downloaded?"]
    assert clock.sleeps == 5
    assert free(downloads / f"{KEY}.lock")


def test_a_waiter_downloads_itself_when_the_holder_ended_without_the_model(
    downloads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = held(downloads)
    monkeypatch.setattr(_one_download, "time", Clock([lambda: release(holder)]))

    def download() -> Iterator[Progress]:
        yield Progress(phase="done", message="ours")

    events = list(one_download(KEY, download, lambda: False, idle_timeout=30))
    assert [e.message for e in events] == ["ours"]


def test_a_silent_holder_times_out_after_more_than_idle_timeout(
    downloads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = held(downloads)
    clock = Clock([])
    monkeypatch.setattr(_one_download, "time", clock)
    try:
        with pytest.raises(CommandTimeoutError) as info:
            list(one_download(KEY, lambda: iter(()), lambda: False, idle_timeout=3))
    finally:
        release(holder)
    assert clock.sleeps == 4  # silent 1, 2, 3 s: waiting; 4 s: more than 3
    assert str(info.value) == (
        f"another lmsdrive process is downloading this model (lock {downloads / KEY}.lock) "
        "and has reported no progress for 3s: stop that process, or wait for it"
    )


def test_a_followed_file_gone_is_not_a_new_one(tmp_path: Path) -> None:
    path = tmp_path / "p.progress"
    path.write_text("")
    with path.open(encoding="utf-8") as fh:
        assert not _replaced(path, fh)
        path.unlink()
        assert not _replaced(path, fh)
        path.write_text("")
        assert _replaced(path, fh)
