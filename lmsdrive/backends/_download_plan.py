"""What ``lms get MODEL`` would download, read without downloading anything.

On a terminal and without ``--yes``, ``lms get`` resolves its download plan, prints it with
the footer ``About to download <size>.`` and asks ``? Start download?`` (before Apr 2026:
``Continue? (Y/N):``) before it transfers a byte (docs/reference/lms-cli.md §5.3). The
command runs on a pseudo-terminal until lms is about to ask, or ends by itself (``Model
already downloaded``, an error); it is then answered with Ctrl-C and stopped for sure
(SIGINT, SIGTERM, SIGKILL to its process group, reaped). Never a "yes": nothing is typed
but Ctrl-C.

An lms before Apr 2026 searching Hugging Face (``Searching for models with the term X``)
downloads an exact match without asking: it is stopped at that line, before any choice,
and the plan is not known. Anything else that shows a download starting is stopped at once
and reported (:attr:`DownloadPlan.started`).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..errors import CommandTimeoutError
from ..parsers import lms_get, log_skipped
from ..parsers._policy import reading
from ..runner import RunTimeoutError, stream
from ..transcript import Transcript


@dataclass(frozen=True)
class DownloadPlan:
    """``result``: what lms printed, read by the ``lms get`` parser (``outcome``
    ``awaiting_confirmation`` with ``download_size_bytes`` when it was about to ask);
    ``started``: lms began a download without asking and was stopped; ``searched``: it
    began a Hugging Face search (an lms before Apr 2026) and was stopped before choosing;
    ``transcript``: its output."""

    result: lms_get.LmsGetResult
    started: bool
    searched: bool
    transcript: Transcript


def read_download_plan(argv: Sequence[str], timeout: float) -> DownloadPlan:
    """Run ``argv`` (``lms get MODEL``, without ``--yes``) until lms shows its plan and is
    about to ask, then Ctrl-C. A command that neither asks nor ends within ``timeout``
    seconds is stopped: :class:`CommandTimeoutError`, nothing downloaded."""
    reader = lms_get.GetReader()
    proc = stream(list(argv), timeout=timeout, idle_timeout=None)
    started = False
    try:
        with reading(strict=False) as lenient:
            for chunk in proc:
                phases = {event.phase for event in reader.feed(chunk)}
                started = bool(phases & {"downloading", "writing"}) or reader.file is not None
                if started or reader.asking or reader.searched_hf:
                    break
            proc.close()  # about to ask: SIGINT, as a Ctrl-C on its terminal (then TERM, KILL)
            list(reader.close())
    except RunTimeoutError as exc:
        shown = "\n".join(f"    {line}" for line in exc.transcript.text.strip().splitlines()[-5:])
        raise CommandTimeoutError(
            f"`{shlex.join(argv)}` showed no download plan within {timeout:g} s: it was "
            "stopped before it asked to download, nothing was downloaded. Check that LM "
            "Studio answers (`lms status`), or raise the command timeout.\nLast output:\n"
            f"{shown or '    (no output)'}",
            exc.transcript,
        ) from exc
    finally:
        proc.close()
    result = reader.result()
    if lenient.skipped:
        result = replace(result, skipped=tuple(lenient.skipped))
        log_skipped(result, "lms get")
    return DownloadPlan(result, started, reader.searched_hf, proc.transcript())
