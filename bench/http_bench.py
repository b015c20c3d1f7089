"""Row 4: the ``generate`` round trip against one local HTTP server, client by client; and
the ``chat`` and ``embed`` round trips on the fake servers (lmsdrive ``Driver.chat``/``.embed``
vs bare httpx, ``ollama.Client.chat``/``.embed``, ``openai`` chat and embeddings).

Servers on 127.0.0.1: the fake runtime's Ollama and LM Studio servers (each its own
process, from :class:`lmsdrive.testing.runtime.FakeRuntime`) and, when it is built, the
real llama.cpp server (OpenAI-compatible, LM Studio's shape) with the tiny model. The
contenders run in one worker process (the bench venv's interpreter, same httpx for all),
each with its own pooled client made once, the same request (prompt, temperature,
``max_tokens``, not streamed), call after call interleaved, after a warm-up; the figure is
the median wall time per call and its ratio to a bare ``httpx.Client.post`` + ``.json()``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from .common import Row, median, skipped
from .peers import BenchEnv

SECTION = "4 http"
WORKER = Path(__file__).with_name("peer_worker.py")
OLLAMA_MODEL = "llama3.2:1b"
LMS_MODEL = "qwen/qwen3-4b"
LLAMA_MODEL = "tiny-llama"
OLLAMA_EMBED = "nomic-embed-text"
LMS_EMBED = "text-embedding-nomic-embed-text-v1.5"
FLOOR = "bare httpx"


@contextmanager
def servers(with_llama: bool = True) -> Iterator[tuple[list[dict[str, Any]], list[str]]]:
    """The targets (label, shape, url, model) that could be started, and why others not."""
    from lmsdrive.testing.runtime import FakeRuntime

    targets: list[dict[str, Any]] = []
    notes: list[str] = []
    with ExitStack() as stack:
        rt = stack.enter_context(
            FakeRuntime(
                models_loaded={
                    "ollama": [OLLAMA_MODEL, OLLAMA_EMBED],
                    "lms": [LMS_MODEL, LMS_EMBED],
                },
                server_running=True,
                patch_environ=False,
            )
        )
        targets.append(
            {
                "label": "fake Ollama server",
                "shape": "ollama",
                "url": rt.ollama_url,
                "model": OLLAMA_MODEL,
            }
        )
        targets.append(
            {
                "label": "fake LM Studio server",
                "shape": "openai",
                "url": rt.lms_url,
                "model": LMS_MODEL,
            }
        )
        # chat and embed round trips on the same fake servers (the issue-11 rows)
        for kind in ("chat", "embed"):
            for t in list(targets[:2]):
                embed = kind == "embed"
                model = {"ollama": OLLAMA_EMBED, "openai": LMS_EMBED}[t["shape"]]
                targets.append(
                    {**t, "kind": kind, "key": f"{kind}, {t['label']}"}
                    | ({"model": model} if embed else {})
                )
        if with_llama:
            try:
                from lmsdrive.testing.llama_server import NOT_BUILT, LlamaServer, find_llama_python

                python = find_llama_python()
                if python is None:
                    notes.append(NOT_BUILT)
                else:
                    from lmsdrive.testing.tiny_model import write_tiny_llama

                    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                    gguf = write_tiny_llama(tmp / "tiny-llama.gguf")
                    server = stack.enter_context(
                        LlamaServer(gguf, python=python, alias=LLAMA_MODEL, n_ctx=256)
                    )
                    targets.append(
                        {
                            "label": "llama.cpp server (real)",
                            "shape": "openai",
                            "url": server.base_url,
                            "model": LLAMA_MODEL,
                        }
                    )
            except Exception as e:  # e.g. gguf/numpy missing, server failed to start
                notes.append(f"llama.cpp server unavailable: {type(e).__name__}: {e}"[:200])
        yield targets, notes


def rows(
    env: BenchEnv,
    calls: int = 500,
    llama_calls: int = 100,
    warmup: int = 20,
    max_tokens: int = 8,
    with_llama: bool = True,
) -> list[Row]:
    python = env.python or Path(sys.executable)
    out: list[Row] = []
    with servers(with_llama) as (targets, notes):
        for t in targets:
            if t["label"].startswith("llama"):
                t["calls"] = llama_calls
        job = {
            "job": "http",
            "targets": targets,
            "calls": calls,
            "warmup": warmup,
            "max_tokens": max_tokens,
        }
        r = subprocess.run(
            [str(python), str(WORKER)], input=json.dumps(job), capture_output=True, text=True
        )
    if r.returncode != 0:
        tail = (r.stderr.strip().splitlines() or ["?"])[-1]
        return [skipped(SECTION, "generate round trip", "all clients", f"worker failed: {tail}")]
    res = json.loads(r.stdout)
    for t in targets:
        label = t.get("key", t["label"])
        got = res[label]
        floor = got.get(FLOOR, {})
        measure = label if "key" in t else f"generate, {label}"
        if "error" in floor:
            out.append(skipped(SECTION, measure, FLOOR, floor["error"]))
            continue
        base = median(floor["times"])
        n = len(floor["times"])
        for name, data in got.items():
            if name == FLOOR:
                continue
            if "error" in data:
                out.append(skipped(SECTION, measure, name, data["error"]))
                continue
            times = sorted(data["times"])
            p90 = times[int(0.9 * (len(times) - 1))]
            out.append(
                Row(
                    SECTION,
                    measure,
                    name,
                    median(times),
                    "s",
                    FLOOR,
                    base,
                    f"median of {n} interleaved calls, p90 {p90 * 1e3:.2f} ms",
                )
            )
    for note in notes:
        out.append(skipped(SECTION, "generate, llama.cpp server (real)", "all clients", note))
    return out
