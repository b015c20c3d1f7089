"""How the fake ``lms`` prints: the real formats of ``lms`` (2026) as pure functions of the
state (see the shared reference notes on the lms output formats): base-1000 sizes with two
decimals, GiB for loads, columnify tables (4-space separator, last column padded), the
``lms get`` bar frame (save/restore cursor).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .fake_cli import SPINNER
from .fake_state import Loaded, Model


def lms_bytes(n: float) -> str:
    """lms ``formatBytes``: base 1000, two decimals (``4.92 GB``, ``84.11 MB``, ``96 B``)."""
    for limit, unit in ((1000**4, "TB"), (1000**3, "GB"), (1000**2, "MB"), (1000, "KB")):
        if n >= limit:
            return f"{n / limit:.2f} {unit}"
    return f"{int(n)} B"


def lms_gib(n: float) -> str:
    """Memory sizes of ``lms load`` since Feb 2026: base 1024, ``27.50 GiB``."""
    for limit, unit in ((1024**4, "TiB"), (1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB")):
        if n >= limit:
            return f"{n / limit:.2f} {unit}"
    return f"{int(n)} Bytes"


def lms_elapsed(seconds: float) -> str:
    """``845.00ms``, ``5.22s``, ``1m 3.20s``, ``1h 0m 2.00s``."""
    if seconds < 1:
        return f"{seconds * 1000:.2f}ms"
    if seconds < 60:
        return f"{seconds:.2f}s"
    m, s = divmod(seconds, 60)
    if m < 60:
        return f"{int(m)}m {s:.2f}s"
    h, m = divmod(m, 60)
    return f"{int(h)}h {int(m)}m {s:.2f}s"


def lms_ttl(seconds: float) -> str:
    """``45s``, ``30m``, ``1h``: the largest unit the rounded value reaches."""
    if round(seconds) < 60:
        return f"{round(seconds)}s"
    if round(seconds / 60) < 60:
        return f"{round(seconds / 60)}m"
    return f"{round(seconds / 3600)}h"


def columnify(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """npm columnify as lms uses it: left-aligned, 4-space separator, every cell padded
    (the last one too, so lines end with spaces)."""
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    return [
        "    ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))
        for line in [list(header), *rows]
    ]


ARCH_NAMES = {
    "llama": "Llama",
    "qwen2": "Qwen2",
    "gemma2": "Gemma 2",
    "nomic-bert": "Nomic BERT",
    "bert": "BERT",
}
#: The keys of an ``lms ls --json`` element in the order lms prints them (lms 07b7252:
#: the client's zod schema order), and of an ``lms ps --json`` one.
_LS = (
    "type modelKey format displayName publisher path sizeBytes indexedModelIdentifier "
    "deviceIdentifier paramsString architecture quantization variants selectedVariant vision "
    "trainedForToolUse maxContextLength"
)
LS_KEYS = _LS.split()
PS_KEYS = [
    *LS_KEYS[:12],
    *("identifier", "ttlMs", "lastUsedTime"),
    *LS_KEYS[14:],
    *("contextLength", "status", "queued", "parallel"),
]


def ordered(info: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {k: info[k] for k in keys if k in info}


def model_info(m: Model) -> dict[str, Any]:
    """``lms ls --json`` element (ModelInfo of lms-shared-types): the model's own ``info``
    over what the fake derives from its fields."""
    info: dict[str, Any] = {
        "type": m.type,
        "modelKey": m.name,
        "format": "gguf",
        "displayName": m.name.split("/")[-1],
        "publisher": m.name.split("/", 1)[0] if "/" in m.name else "lmstudio-community",
        "path": m.name if "/" in m.name else f"lmstudio-community/{m.name}",
        "sizeBytes": m.size,
        "indexedModelIdentifier": m.name,
        "deviceIdentifier": None,
        "architecture": m.family,
        "quantization": {"name": m.quantization, "bits": 4},
        "maxContextLength": m.context_length,
    }
    if m.params:
        info["paramsString"] = m.params
    if m.type == "llm":
        info["vision"] = False
        info["trainedForToolUse"] = False
    if "/" in m.name and not m.info:
        info["variants"] = [f"{m.name}@{m.quantization.lower()}"]
        info["selectedVariant"] = f"{m.name}@{m.quantization.lower()}"
    return ordered({**info, **m.info}, LS_KEYS)


def lms_key_cell(m: Model) -> str:
    """The key, and how many variants it has when it has any (``qwen/qwen3-4b (2 variants)``)."""
    n = len(model_info(m).get("variants") or ())
    return f"{m.name} ({n} variant{'s' if n != 1 else ''})" if n else m.name


def lms_ls_text(models: Sequence[Model], loaded_names: set[str]) -> str:
    """``lms ls`` of Feb 2026+ (E4/E5): summary, one table per type, DEVICE column."""
    if not models:
        return "You have not downloaded any models yet.\n"
    total = sum(m.size for m in models)
    n = len(models)
    out = [
        "",
        f"You have {n} model{'s' if n != 1 else ''}, taking up {lms_bytes(total)} of disk space.",
    ]
    for kind, title in (("llm", "LLM"), ("embedding", "EMBEDDING")):
        section = sorted((m for m in models if m.type == kind), key=lambda m: m.name.lower())
        if not section:
            continue
        rows = [
            [
                lms_key_cell(m),
                m.params,
                ARCH_NAMES.get(m.family, m.family),
                lms_bytes(m.size),
                "Local",
                "✓ LOADED" if m.name in loaded_names else "",
            ]
            for m in section
        ]
        header = [title, "PARAMS", "ARCH", "SIZE", "DEVICE", ""]
        out += ["", *columnify(header, rows)]
    out.append("")
    return "\n".join(out) + "\n"


def lms_ps_text(loaded: Sequence[Loaded], now: float) -> str:
    """``lms ps`` table of Mar 2026+ (PARALLEL and DEVICE columns)."""
    rows = []
    for x in sorted(loaded, key=lambda x: x.identifier):
        ttl = ""
        if x.ttl_seconds is not None and x.expires_at is not None:
            ttl = f"{lms_ttl(max(x.expires_at - now, 0))} / {lms_ttl(x.ttl_seconds)}"
        rows.append(
            [
                x.identifier,
                x.name,
                "IDLE",
                lms_bytes(x.size),
                str(x.context_length),
                "4",
                "Local",
                ttl,
            ]
        )
    header = ["IDENTIFIER", "MODEL", "STATUS", "SIZE", "CONTEXT", "PARALLEL", "DEVICE", "TTL"]
    return "\n" + "\n".join(columnify(header, rows)) + "\n\n"


LMS_PARTIAL = "▏▎▍▌▋▊▉"


def lms_bar(percent: float, cells: int = 22) -> str:
    filled = max(0.0, min(percent, 100.0)) / 100 * cells
    full = int(filled)
    out = "█" * full
    part = int((filled - full) * 8)
    if full < cells and part > 0:
        out += LMS_PARTIAL[part - 1]
    return out.ljust(cells)


def lms_eta(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "Infinity:NaN:NaN"
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def lms_get_frame(
    frame: int, done: int, total: int, speed: float, pad: int, clear: bool
) -> tuple[str, int]:
    """One ``lms get`` progress refresh (stdout) and the size padding to keep."""
    pct = done / total * 100 if total else 0.0
    a, b = lms_bytes(done), lms_bytes(total)
    pad = max(pad, len(a), len(b), 6)
    eta = (total - done) / speed if speed > 0 else math.inf
    text = f"{a.rjust(pad)} / {b.rjust(pad)} | {lms_bytes(speed)}/s | ETA {lms_eta(eta)}"
    spin = SPINNER[frame % len(SPINNER)]
    line = f"\r{spin} [{lms_bar(pct)}] {pct:.2f}% | {text}" + " " * 10
    return "\x1b[?25l\x1b[s" + ("\x1b[2K" if clear else "") + line + "\x1b[u", pad
