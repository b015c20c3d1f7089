"""``make demo``: lmsdrive end to end on both backends, against the fake runtimes.

Neither Ollama nor LM Studio can be installed where this project is built, so the demo
drives the fake ``ollama`` and ``lms`` of :mod:`lmsdrive.testing` (recorded real outputs,
replayed). It prints each step, a progress bar during the download, and the generated text;
then the command line (``lmsdrive status``, ``lmsdrive init``) on the same fakes; and how to
run the same against a real installation.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from ._types import Progress
from .config import Config
from .driver import Driver
from .testing.runtime import FakeRuntime

MODELS = {"ollama": "llama3.2:1b", "lmstudio": "qwen/qwen3-4b"}


class Bar:
    """A one-line progress bar (redrawn in place on a terminal, every 10% otherwise)."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.shown = -10.0
        self.last = -1.0
        self.phase = "downloading"
        self.drawn = False

    def __call__(self, p: Progress) -> None:
        if p.phase != self.phase and p.phase != "downloading":
            self.phase = p.phase
            self.done()
            print(f"    {p.phase}" + (f": {p.message}" if p.message else ""))
            return
        pct = p.overall_percent if p.overall_percent is not None else p.percent
        if pct is None or pct <= self.last or not p.total:
            return
        self.last = pct
        if not self.tty and pct < self.shown + 10 and pct < 100:
            return
        self.shown = pct
        filled = int(pct / 100 * 30)
        size = f"{(p.completed or 0) / 1e6:7.1f} / {p.total / 1e6:.1f} MB" if p.total else ""
        line = f"    [{'#' * filled}{'.' * (30 - filled)}] {pct:5.1f}%  {size}"
        print("\r" + line if self.tty else line, end="" if self.tty else "\n", flush=True)
        self.drawn = True

    def done(self) -> None:
        if self.tty and self.drawn:
            print()
        self.drawn = False


def run_backend(backend: str) -> None:
    model = MODELS[backend]
    print(f"\n=== {backend}: make {model} ready, then generate ===")
    config = Config.from_env(backend=backend, model_name=model)
    with Driver(config) as driver:
        print(f"  backend URL: {config.backend_url()}")
        bar = Bar()
        t0 = time.monotonic()
        report = driver.ensure_ready(on_progress=bar)
        bar.done()
        print(f"  ensure_ready: success={report.success} in {time.monotonic() - t0:.2f}s")
        for step in report.steps_performed:
            print(f"    - {step}")
        print(f"  {report.message}")
        if not report.success:
            raise SystemExit(1)
        t0 = time.monotonic()
        again = driver.ensure_ready()
        print(
            f"  ensure_ready again: success={again.success}, steps={again.steps_performed} "
            f"in {(time.monotonic() - t0) * 1000:.1f} ms"
        )
        answer = driver.generate("Why is the sky blue?", max_tokens=40)
        print(f"  generate → {answer.text!r}")


def run_cli(backend: str) -> None:
    env = dict(os.environ, BACKEND=backend, MODEL_NAME=MODELS[backend])
    for args in (["status"], ["init"], ["generate", "Hello there", "--max-tokens", "20"]):
        print(f"\n$ BACKEND={backend} MODEL_NAME={MODELS[backend]} lmsdrive {' '.join(args)}")
        out = subprocess.run(
            [sys.executable, "-m", "lmsdrive", *args], env=env, text=True, capture_output=True
        )
        print((out.stdout + out.stderr).rstrip())
        print(f"(exit status {out.returncode})")


def run_real_llama() -> None:
    """LM Studio's HTTP side against a REAL OpenAI-compatible server (llama.cpp), when built."""
    import tempfile
    from pathlib import Path

    from .testing.llama_server import LlamaServer, find_llama_python
    from .testing.tiny_model import write_tiny_llama

    print("\n=== LM Studio's HTTP API against a real llama.cpp server ===")
    python = find_llama_python()
    if python is None:
        print("  skipped: the llama.cpp server is not built here (run `make llama-server`)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        model = write_tiny_llama(Path(tmp) / "tiny-llama.gguf")
        with LlamaServer(model, python=python) as server:
            print(f"  llama.cpp server at {server.base_url} (ready in {server.startup_s:.2f}s)")
            config = Config(backend="lmstudio", model_name="tiny-llama", url=server.base_url)
            with Driver(config) as driver:
                print(f"  server answers: {driver.status().running}")
                answer = driver.generate("Say hello", max_tokens=8)
                print(f"  generate → {answer.text!r} (finish: {answer.finish_reason})")
                pieces = list(driver.generate_stream("Say hello", max_tokens=4))
                print(f"  streamed pieces → {pieces}")
    print("  (a tiny random-weight model whose weights force one token: the output is exact)")


def main() -> int:
    print("lmsdrive demo — against FAKE runtimes (lmsdrive.testing): recorded real outputs of")
    print("`ollama` and `lms`, replayed; no real model runs here.")
    for backend in ("ollama", "lmstudio"):
        with FakeRuntime(pull_seconds=1.5, pull_frames=12):
            run_backend(backend)
    for backend in ("ollama", "lmstudio"):
        with FakeRuntime(pull_seconds=1.0):
            run_cli(backend)
    run_real_llama()
    print(next_steps())
    return 0


def next_steps() -> str:
    """The closing advice: commands that work as printed, pasted into a shell (the variables
    exported, so every command sees them)."""
    blocks = [
        f"  export BACKEND={backend} MODEL_NAME={model}\n"
        "  lmsdrive init && lmsdrive generate 'Hello'"
        for backend, model in MODELS.items()
    ]
    return (
        "\nOn a machine with Ollama installed, the same runs for real:\n"
        f"{blocks[0]}\nor with LM Studio:\n{blocks[1]}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
