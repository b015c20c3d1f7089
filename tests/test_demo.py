"""`make demo`, the README's main job, runs end to end (on the fakes, then LM Studio's HTTP
side on the real llama.cpp server where `make llama-server` built it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lmsdrive.testing.llama_server import find_llama_python

REPO = Path(__file__).resolve().parent.parent


def test_demo_runs_end_to_end() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lmsdrive.demo"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert out.count("ensure_ready: success=True") == 2, out
    assert "ensure_ready again: success=True, steps=[]" in out
    if find_llama_python() is not None:
        assert "generate → ' hello" in out and "streamed pieces → [' hello'" in out
    else:
        assert "skipped: the llama.cpp server is not built here" in out
