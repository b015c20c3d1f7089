"""Realistic inputs for the benchmark, generated deterministically in the current formats.

* ``ollama_list_table(n)``: ``ollama list`` of v0.3.11+ (tablewriter, 4-space gutters, every
  cell padded, ``NAME ID SIZE MODIFIED``; docs/reference/ollama-cli.md §2).
* ``lms_ls_table(n)``: ``lms ls`` of Feb 2026+ (E4/E5: summary line, one table per type,
  ``LLM PARAMS ARCH SIZE DEVICE`` plus the unnamed ``✓ LOADED`` column;
  docs/reference/lms-cli.md §2.1).
* ``ollama_pull_stream(size)``: the stderr of ``ollama pull`` v0.5.12+ — the whole status
  block redrawn every 100 ms inside ``ESC[?2026h ESC[?25l ESC[A… ESC[1G … ESC[K …
  ESC[?25h ESC[?2026l``, spinner frames, one bar per layer, sizes, rate and ETA as Ollama's
  ``progress.Bar`` prints them — for as many frames as it takes to reach ``size`` bytes
  (50 MB of frames is a pull of a few hours at 80 columns).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

ARCH = ["Llama", "qwen3", "Qwen2", "Gemma 2", "gemma4", "Mistral", "Phi-3", "gpt_oss", "qwen3_5"]
PARAMS = ["8B", "4B", "7.5B", "26B-A4B", "31B", "1.5B", "", "70B", "0.6B"]
EMBED_ARCH = ["Nomic BERT", "BERT", "qwen3", "CLIP"]
MODIFIED = [
    "About a minute ago",
    "5 minutes ago",
    "About an hour ago",
    "47 hours ago",
    "3 days ago",
    "11 days ago",
    "2 weeks ago",
    "5 months ago",
    "13 months ago",
]
FAMILIES = [
    "llama3.2",
    "qwen2.5-coder",
    "gemma3",
    "mistral",
    "deepseek-r1",
    "phi4-mini",
    "nomic-embed-text",
    "hf.co/bartowski/Llama-3.2-3B-Instruct-GGUF",
]
TAGS = ["latest", "3b", "7b-instruct-q4_K_M", "1b", "Q4_K_M", "27b", "8b-q8_0", "14b"]


def human_bytes(n: float) -> str:
    """Ollama's ``format.HumanBytes``: decimal units, one decimal below 10."""
    for limit, name in ((1000**4, "TB"), (1000**3, "GB"), (1000**2, "MB"), (1000, "KB")):
        if n >= limit:
            value = n / limit
            if value >= 10:
                return f"{int(value)} {name}"
            if value != math.trunc(value):
                return f"{value:.1f} {name}"
            return f"{int(value)} {name}"
    return f"{int(n)} B"


def lms_bytes(n: float) -> str:
    """LM Studio's sizes: decimal, two decimals."""
    for limit, unit in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "KB")):
        if n >= limit:
            return f"{n / limit:.2f} {unit}"
    return f"{int(n)} B"


def _table(header: list[str], rows: list[list[str]], *, pad_last: bool) -> list[str]:
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    if pad_last:  # columnify (lms): every cell padded, 4-space gutter
        return [
            "    ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))
            for line in [header, *rows]
        ]
    # tablewriter (ollama): header cells joined by 4 spaces, last one padded + 1 space;
    # rows: every cell padded and followed by 4 spaces.
    head = "    ".join(h.ljust(w) for h, w in zip(header[:-1], widths[:-1], strict=True))
    head += "    " + header[-1].ljust(widths[-1]) + " "
    return [head] + [
        "".join(c.ljust(w) + "    " for c, w in zip(row, widths, strict=True)) for row in rows
    ]


def ollama_list_table(n: int, seed: int = 1) -> str:
    """``ollama list`` with ``n`` models."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        name = f"{FAMILIES[i % len(FAMILIES)]}-{i}:{TAGS[rnd.randrange(len(TAGS))]}"
        digest = f"{rnd.getrandbits(48):012x}"
        size = human_bytes(rnd.randrange(20_000_000, 80_000_000_000))
        rows.append([name, digest, size, MODIFIED[rnd.randrange(len(MODIFIED))]])
    return "\n".join(_table(["NAME", "ID", "SIZE", "MODIFIED"], rows, pad_last=False)) + "\n"


def lms_ls_table(n: int, seed: int = 1) -> str:
    """``lms ls`` (E4/E5) with ``n`` models: nine in ten LLMs, the rest embeddings."""
    rnd = random.Random(seed)
    n_embed = n // 10
    n_llm = n - n_embed
    total = 0
    sections = []
    for title, count, archs in (("LLM", n_llm, ARCH), ("EMBEDDING", n_embed, EMBED_ARCH)):
        if not count:
            continue
        rows = []
        for i in range(count):
            size = rnd.randrange(30_000_000, 40_000_000_000)
            total += size
            if title == "LLM":
                key = f"publisher-{i % 97}/model-{i}-instruct"
                key += " (1 variant)" if i % 3 else f" ({2 + i % 4} variants)"
                params = PARAMS[rnd.randrange(len(PARAMS))]
            else:
                key, params = f"text-embedding-model-{i}-v1.5", ""
            loaded = "✓ LOADED" if i % 1000 == 7 else ""
            arch = archs[rnd.randrange(len(archs))]
            rows.append([key, params, arch, lms_bytes(size), "Local", loaded])
        sections.append(
            _table([title, "PARAMS", "ARCH", "SIZE", "DEVICE", ""], rows, pad_last=True)
        )
    out = ["", f"You have {n} models, taking up {lms_bytes(total)} of disk space."]
    for lines in sections:
        out += ["", *lines]
    out.append("")
    return "\n".join(out) + "\n"


# ----- ollama pull (v0.5.12+) --------------------------------------------------------------

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
WIDTH = 80
#: Layers of a multi-part model: weights, projector, adapter, then the small blobs.
LAYERS = [
    ("dde5aa3fc5ff", 19_851_337_640),
    ("8c4f2b1d9e3a", 851_603_456),
    ("4a1e7c2f90d6", 2_147_483_648),
    ("966de95ca8a6", 1_429),
    ("fcc5a6bec9da", 7_711),
    ("a70ff7e570d9", 6_016),
    ("56bb8bd477a5", 96),
    ("34bb5ab01051", 561),
]


def _eta(seconds: float) -> str:
    s = round(seconds)
    if s >= 100 * 3600:
        return "99h+"
    if s >= 3600:
        return f"{s // 3600}h{s // 60 % 60}m"
    if s >= 60:
        return f"{s // 60}m{s % 60}s"
    return f"{s}s"


def _bar(digest: str, total: int, current: int, rate: float | None) -> str:
    pct = current / total * 100 if total else 0.0
    pre = f"pulling {digest}: {pct:3.0f}%"
    if rate is not None:
        suf = human_bytes(current).rjust(6) + "/" + human_bytes(total).rjust(6)
        suf += "  " + (human_bytes(rate) + "/s").rjust(8)
        suf += "  " + _eta((total - current) / rate).rjust(6)
    else:
        suf = human_bytes(total).rjust(6) + " " * 25
    f = WIDTH - len(pre) - len(suf) - 5
    n = int(f * pct / 100)
    return pre + " ▕" + "█" * max(n, 0) + " " * max(f - n, 0) + "▏ " + suf


def _frame(lines: list[str], prev: int) -> str:
    body = "\n".join(line + "\x1b[K" for line in lines)
    return (
        "\x1b[?2026h\x1b[?25l"
        + "\x1b[A" * max(prev - 1, 0)
        + "\x1b[1G"
        + body
        + "\x1b[?25h\x1b[?2026l"
    )


def _steps(n: int) -> list[float]:
    return [(k + 1) / n for k in range(n)]


def _block(progress: float, done_at: list[float], rate: float) -> list[str]:
    """The lines of a frame when ``progress`` of all bytes has arrived."""
    lines = ["pulling manifest "]
    for i, (digest, total) in enumerate(LAYERS):
        if progress <= done_at[i]:
            break
        share = min((progress - done_at[i]) / (done_at[i + 1] - done_at[i]), 1.0)
        current = int(total * share)
        lines.append(_bar(digest, total, current, None if current >= total else rate))
    return lines


def _done_at() -> list[float]:
    big = sum(t for _, t in LAYERS)
    done_at = [0.0]
    for _, t in LAYERS:
        done_at.append(done_at[-1] + t / big)
    return done_at


def frames_for(size: int) -> int:
    """How many download frames make ``size`` bytes, from two pulls 1/50th as long: bytes
    per frame and the fixed part (frames are drawn by progress, so their mix does not
    depend on the count)."""
    done_at = _done_at()
    blocks = [_block(p, done_at, 3.5e7) for p in _steps(400)]
    probe = [len(_frame(b, len(b)).encode()) for b in blocks]
    small = max(int(size / (sum(probe) / len(probe))) // 50, 12)
    one = sum(len(f.encode()) for f in ollama_pull_frames(small))
    two = sum(len(f.encode()) for f in ollama_pull_frames(2 * small))
    per_frame = (two - one) / small
    return max(round((size - (one - per_frame * small)) / per_frame), 12)


def ollama_pull_frames(n_frames: int, seed: int = 1) -> Iterator[str]:
    """The frames of an ``ollama pull`` with ``n_frames`` download frames."""
    rnd = random.Random(seed)
    done_at = _done_at()
    prev = 0
    # 3 frames of the manifest spinner
    for k in range(3):
        lines = [f"pulling manifest {SPINNER[k % 10]} "]
        yield _frame(lines, prev)
        prev = len(lines)
    rate = 3.5e7
    for k in range(n_frames):
        progress = (k + 1) / n_frames  # of all bytes
        rate = max(1e6, rate * (1 + rnd.uniform(-0.02, 0.02)))
        lines = _block(progress, done_at, rate)
        yield _frame(lines, prev)
        prev = len(lines)
    bars = [_bar(d, t, t, None) for d, t in LAYERS]
    for k, status in enumerate(("verifying sha256 digest", "writing manifest", "success")):
        lines = ["pulling manifest ", *bars]
        lines += ["verifying sha256 digest ", "writing manifest "][:k]
        lines.append(f"{status} {SPINNER[k]} ")
        yield _frame(lines, prev)
        prev = len(lines)
    lines = [
        "pulling manifest ",
        *bars,
        "verifying sha256 digest ",
        "writing manifest ",
        "success ",
    ]
    yield _frame(lines, prev) + "\n"


def ollama_pull_stream(size: int, seed: int = 1) -> str:
    """A whole ``ollama pull`` of about ``size`` bytes (within a percent or so)."""
    return "".join(ollama_pull_frames(frames_for(size), seed))


def chunks(text: str, size: int = 65536) -> Iterator[str]:
    """``text`` in pieces of ``size`` characters, as a pipe would hand them over."""
    for i in range(0, len(text), size):
        yield text[i : i + size]


def docker_compose_log(n: int, seed: int = 1) -> str:
    """``n`` lines of ``docker compose logs --timestamps``: an ``ollama list`` table of
    ``n - 1`` rows, every line behind the service column and an RFC 3339 timestamp."""
    lines = ollama_list_table(n - 1, seed).splitlines()
    return "".join(
        f"ollama-1  | 2026-01-21T01:{i // 60 % 60:02d}:{i % 60:02d}.{i:09d}Z {line}\n"
        for i, line in enumerate(lines)
    )


def decorated_log(n: int, seed: int = 1) -> str:
    """``n`` lines of an ``ollama list`` table as a log viewer shows it, behind a prefix no
    wrapper list names: a day-first date with a French month name, a time with
    milliseconds that changes on every line, a host with dashes, a bar."""
    lines = ollama_list_table(n - 1, seed).splitlines()
    return "".join(
        f"21 déc. 2026 01:{i // 60 % 60:02d}:{i % 60:02d},{i % 1000:03d} gpu-box-01 | {line}\n"
        for i, line in enumerate(lines)
    )
