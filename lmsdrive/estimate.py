"""Will a model fit? The memory a model needs against what a machine has.

Ollama (:meth:`OllamaBackend.estimate`): the weights' size (``/api/tags`` for a downloaded
model, the registry manifest before the download) plus the KV cache for the context
(``/api/show`` ``model_info``: layers × KV heads × head size × context × 2 × f16; known once
the model is downloaded) plus an allowance for compute buffers; against this machine's
free RAM (``/proc/meminfo`` ``MemAvailable``, else physical memory) and free VRAM
(``nvidia-smi``), when the server runs here. A remote server's memory is not known here: the
verdict is then ``unknown``, with the numbers the model needs.

LM Studio (:meth:`LMStudioBackend.estimate`), where ``lms`` runs on the server's machine: a
downloaded model, ``lms load --estimate-only`` judged by LM Studio's own resource guardrails;
before the download, the download size in the plan ``lms get MODEL`` shows before it asks
(answered with Ctrl-C: nothing is downloaded) plus the compute allowance, against this
machine's free RAM and VRAM as for Ollama (the KV cache is not counted: LM Studio gives no
shape before the download).

>>> judge("m", 5 << 30, Memory(ram_bytes=16 << 30, vram_bytes=4 << 30), source="x").verdict
'partial'
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

from ._types import Estimate

__all__ = ["COMPUTE_ALLOWANCE", "Memory", "judge", "kv_cache_bytes", "machine_memory"]

#: Compute buffers and runtime overhead beside weights and KV cache: a tenth of the weights,
#: at least 256 MiB (an allowance; the runtimes' own estimates differ per architecture).
COMPUTE_ALLOWANCE = 0.10
_MIN_ALLOWANCE = 256 << 20


@dataclass(frozen=True)
class Memory:
    """What a machine has free for a model (bytes; ``None``: not known). ``vram_bytes``
    ``None`` also means no GPU found (the model then runs from RAM)."""

    ram_bytes: int | None
    vram_bytes: int | None = None


def _ram_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _vram_free() -> int | None:
    """Free memory of this machine's NVIDIA GPUs (``nvidia-smi``), summed; ``None``: none."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        return sum(int(v) for v in out.split()) * (1 << 20) or None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def machine_memory() -> Memory:
    """This machine's free RAM and VRAM (Apple silicon: one pool, counted as RAM)."""
    return Memory(_ram_available(), None if sys.platform == "darwin" else _vram_free())


def kv_cache_bytes(
    block_count: int | None,
    head_count: int | None,
    head_count_kv: int | None,
    embedding_length: int | None,
    context: int,
) -> int | None:
    """The f16 KV cache of ``context`` tokens (``None``: the model's shape is not known).

    >>> kv_cache_bytes(28, 24, 8, 3072, 4096)  # llama3.2:3b, 4096 tokens: 448 MiB
    469762048
    """
    if not (block_count and head_count and head_count_kv and embedding_length):
        return None
    head_dim = embedding_length // head_count
    return 2 * block_count * context * head_count_kv * head_dim * 2


def needed_bytes(weights: int, kv_cache: int | None) -> int:
    """Weights + KV cache + the compute allowance."""
    return weights + (kv_cache or 0) + max(int(weights * COMPUTE_ALLOWANCE), _MIN_ALLOWANCE)


def _gib(n: int | None) -> str:
    return "?" if n is None else f"{n / (1 << 30):.2f} GiB"


def judge(
    model: str,
    needed: int,
    memory: Memory | None,
    *,
    source: str,
    context_length: int | None = None,
    gpu: float | str | None = None,
    note: str = "",
) -> Estimate:
    """The verdict for ``needed`` bytes on a machine with ``memory`` (``None``: not known,
    e.g. a remote server). ``gpu="off"`` keeps the model in RAM."""

    def answer(verdict: str, reason: str, **memory_found: int | None) -> Estimate:
        return Estimate(
            model=model,
            verdict=verdict,
            reason=reason,
            source=source,
            needed_bytes=needed,
            context_length=context_length,
            gpu=gpu,
            **memory_found,
        )

    if memory is None or memory.ram_bytes is None:
        return answer(
            "unknown",
            f"{model} needs about {_gib(needed)}, but the server's free memory is not known "
            f"here (it is on another machine){note}: run `lmsdrive fit` there",
        )
    ram, vram = memory.ram_bytes, None if gpu == "off" else memory.vram_bytes
    have = f"{_gib(ram)} RAM free" + (f", {_gib(vram)} VRAM free" if vram else "")
    if vram and needed <= vram:
        verdict, on_gpu, why = "fits", needed, "on the GPU"
    elif vram and needed <= vram + ram:
        verdict, on_gpu, why = "partial", vram, f"{_gib(vram)} on the GPU, the rest in RAM"
    elif not vram and needed <= ram:
        verdict, on_gpu, why = "fits", 0, "in RAM (no GPU offload)"
    else:
        verdict, on_gpu, why = "does_not_fit", None, "more than the machine has free"
    word = {"fits": "fits", "partial": "fits partly on the GPU", "does_not_fit": "does not fit"}
    return answer(
        verdict,
        f"{model} {word[verdict]}: it needs about {_gib(needed)}, {why} ({have}){note}",
        gpu_bytes=on_gpu,
        ram_bytes=ram,
        vram_bytes=memory.vram_bytes,
    )
