"""Which reading of a capture its parser reads best, and that reading parsed.

A capture is read bare (without the wrappers the pre-pass lists) and without each decoration
``_decor`` infers; every reading is parsed, and the one the parser understands best is
kept (:func:`_score`): fewest lines not understood, then most removed by decorations of a
known shape, then most facts, then one whose removed text the bare reading did not take
for output, then fewest decorations. On a long capture the choice is made on its first and
last lines, then replayed on the whole. ``parse_transcript`` runs it for every parse.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._decor import Reading, readings, replay, sample, split_reading
from ._session import read_paste

if TYPE_CHECKING:
    from . import ParserInfo

__all__ = ["parse_reading", "undecorated"]


def parse_reading(info: ParserInfo, transcript: Transcript, best: Reading, strict: bool) -> Result:
    """``info``'s parser on ``best`` (a reading of the capture's stdout then stderr), with
    what the reading removed in the result's ``removed``."""
    out, err = split_reading(best, _joined(transcript.stdout, transcript.stderr)[1])
    result = _parse_pasted(info, transcript, out, err, strict)
    return replace(result, removed=best.removed) if best.removed else result


def undecorated(info: ParserInfo, transcript: Transcript) -> Reading:
    """The capture (stdout, then stderr) without the decorations ``info``'s parser reads it
    best without: the listed wrappers and the inferred ones (``_decor``). On a long capture
    the choice is made on its first and last lines, then applied to the whole."""
    from . import get_module

    unit = getattr(get_module(info), "REDRAW_UNIT", None)
    best, sampled = _best(info, transcript, unit)
    if not sampled:
        return best
    return replay(_joined(transcript.stdout, transcript.stderr)[0], best.steps, unit)


#: Lines of a stream beyond which decorations are inferred on its first and last lines
#: (the choice is then applied to the whole).
_SAMPLE = 600


def _joined(out_text: str, err_text: str) -> tuple[str, int]:
    """stdout and stderr as one text, and how many of its lines are stdout's."""
    if out_text and err_text:
        return f"{out_text}\n{err_text}", _line_count(out_text)
    return out_text or err_text, _line_count(out_text)


def _best(
    info: ParserInfo, transcript: Transcript, unit: re.Pattern[str] | None
) -> tuple[Reading, bool]:
    """The reading of a capture that ``info``'s parser reads best (:func:`_score`), and
    whether it was chosen on a sample (the first and last lines of a long capture)."""
    out_text, err_text = (sample(t, _SAMPLE) for t in (transcript.stdout, transcript.stderr))
    sampled = out_text is not transcript.stdout or err_text is not transcript.stderr
    transcript = replace(transcript, stdout=out_text, stderr=err_text)
    joined, cut = _joined(out_text, err_text)
    options = readings(joined, unit)
    if len(options) == 1:
        return options[0], sampled
    scores = [_score(info, transcript, split_reading(r, cut)) for r in options]
    bare = scores[0][1]
    keys = [
        (*key[:-1], -_leaked(r, bare, dump), key[-1])
        for r, (key, dump) in zip(options, scores, strict=True)
    ]
    return options[keys.index(min(keys))], sampled


def _score(
    info: ParserInfo, transcript: Transcript, pair: tuple[Reading, Reading]
) -> tuple[tuple[int, ...], str]:
    """How well the parser reads a reading of stdout and stderr, lower is better: not read
    at all; lines not understood (skipped, or passed on unread); characters removed by
    decorations of a known shape (more is better); facts read (more is better); how many
    decorations (one for a prefix is better than two). And the result as JSON text."""
    try:
        result = _parse_pasted(info, transcript, *pair, False)
    except ParseError:
        return (1, 0, 0, 0, 0), ""
    unread = sum(len(r.skipped) + r.unread() for r in (result, *result.attempts))
    weight = pair[0].weight if pair[0].shaped and pair[1].shaped else 0
    facts = result.to_dict()
    dump = json.dumps(facts, ensure_ascii=False, default=str)
    return (0, unread, -weight, -_facts(facts), len(pair[0].removed)), dump


def _leaked(reading: Reading, bare: str, dump: str) -> int:
    """1 when the bare reading carries a decoration's text in its facts more often than
    this reading does: its parser took the decoration (``A: `` before every line) for
    output (a tie-breaker before the number of decorations)."""
    return int(any(bare.count(d.text) > dump.count(d.text) for d in reading.removed if d.text))


def _facts(value: object) -> int:
    """How many values a result holds (``None`` and empty containers are none)."""
    if isinstance(value, dict):
        return sum(_facts(v) for k, v in value.items() if k not in ("skipped", "removed"))
    if isinstance(value, list):
        return sum(_facts(v) for v in value)
    return 0 if value is None or value == "" else 1


def _line_count(text: str) -> int:
    return len(text.split("\n")) if text else 0


def _parse_pasted(
    info: ParserInfo,
    transcript: Transcript,
    out_reading: Reading,
    err_reading: Reading,
    strict: bool,
) -> Result:
    """The pre-pass then the parser, on stdout and stderr as ``out_reading`` and
    ``err_reading`` read them."""
    from . import _read, resolve

    def same(command: str) -> str:
        return resolve(command).name

    drop_log = info.tool == "ollama" and "/" not in info.name and not info.reads_server_log
    out, err = (
        read_paste(reading.text, same=same, drop_server_log=drop_log, target=info.name)
        for reading in (out_reading, err_reading)
    )
    origin = _through(out.origin, out_reading) + _through(err.origin, err_reading)
    result = _read(info, replace(transcript, stdout=out.text, stderr=err.text), origin, strict)
    attempts = tuple(
        _read(info, Transcript.of(a.text), _through(a.origin, out_reading), strict)
        for a in out.attempts
    )
    return replace(result, attempts=attempts) if attempts else result


def _through(origin: tuple[int, ...], reading: Reading) -> tuple[int, ...]:
    """Line numbers of a reading's text as line numbers of the capture."""
    return tuple(reading.origin[n - 1] for n in origin if 0 < n <= len(reading.origin))
