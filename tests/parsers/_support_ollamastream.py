"""Helpers shared by the tests of the ollama stream and body parsers (tests/parsers/)."""

from __future__ import annotations

import math
import random
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import strategies as st

from lmsdrive.parsers import Result, ollama_pull
from lmsdrive.transcript import Transcript

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ollama"


ESC = "\x1b"


W = 80


def pull(text: str) -> dict[str, Any]:
    return ollama_pull.parse(Transcript.of(text)).to_dict()


def body(module: ModuleType, text: str, status: int | None = None) -> dict[str, Any]:
    result: Result = module.parse(Transcript.of(text, http_status=status))
    return result.to_dict()


def bar(label: str, pct: int, total: str, cur: str | None = None, rate: str | None = None) -> str:
    p = f"{pct:3.0f}%"
    f = W - len(label + p) - 36
    filled = math.floor(f * pct / 100)
    if cur is None:
        suffix = f"{total:>6}" + " " * 25
    elif rate is None:
        suffix = f"{cur:>6}/{total:>6}" + " " * 18
    else:
        suffix = f"{cur:>6}/{total:>6}  {rate:>6}/s  {'1m2s':>6}"
    return f"{label} {p} ▕{'█' * filled}{' ' * (f - filled)}▏ {suffix}"


def sync_frame(lines: list[str], pos: int) -> str:
    s = ESC + "[?2026h" + ESC + "[?25l" + (ESC + "[A") * max(pos - 1, 0) + ESC + "[1G"
    s += "\n".join(line + ESC + "[K" for line in lines)
    return s + ESC + "[?25h" + ESC + "[?2026l"


def chunked(text: str, seed: int) -> list[str]:
    rnd = random.Random(seed)
    out, i = [], 0
    while i < len(text):
        n = rnd.randint(1, 9)
        out.append(text[i : i + n])
        i += n
    return out


PULL_LINES = [
    '{"status":"pulling manifest"}',
    '{"status":"pulling aaaaaaaaaaaa","digest":"sha256:' + "a" * 64 + '","total":1000}',
    '{"status":"pulling aaaaaaaaaaaa","digest":"sha256:'
    + "a" * 64
    + '","total":1000,"completed":400}',
    '{"status":"pulling bbbbbbbbbbbb","digest":"sha256:' + "b" * 64 + '","total":3000}',
    '{"status":"pulling aaaaaaaaaaaa","digest":"sha256:'
    + "a" * 64
    + '","total":1000,"completed":1000}',
    '{"status":"pulling bbbbbbbbbbbb","digest":"sha256:'
    + "b" * 64
    + '","total":3000,"completed":3000}',
    '{"status":"verifying sha256 digest"}',
    '{"status":"writing manifest"}',
    '{"status":"success"}',
]


_TOKENS = [
    "\x1b[",
    "\x1b[?25l",
    "\x1b[?25h",
    "\x1b[A",
    "\x1b[2K",
    "\x1b[K",
    "\x1b[1G",
    "▕",
    "▏",
    "█",
    "⠋",
    "Error: ",
    "pulling ",
    "success",
    " GB",
    '{"status":',
    '{"error":',
    '"models":',
    "}\n",
]


ALPHABET = st.sampled_from([*"abcdeEfgilmnoprstuvwxyz :.%/|()[]{}\"',0123456789\n\r\t ", *_TOKENS])


TEXT = st.lists(ALPHABET, max_size=60).map("".join) | st.text(max_size=200)
