"""`make demo`, the README's main job, runs end to end: on the fakes with the llama.cpp server
hidden (it says it skipped that part), and with the real llama.cpp server where
`make llama-server` built it (LM Studio's HTTP side answers)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lmsdrive.testing.llama_server import NOT_BUILT, find_llama_python

REPO = Path(__file__).resolve().parent.parent


def demo(**env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "lmsdrive.demo"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1", **env},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert out.count("ensure_ready: success=True") == 2, out
    assert out.count("ensure_ready again: success=True, steps=[]") == 2, out
    return out


def llama_part(out: str) -> list[str]:
    """The lines of the demo's part on the real llama.cpp server."""
    part = out.split("=== LM Studio's HTTP API against a real llama.cpp server ===\n", 1)[1]
    return part.split("\n\n", 1)[0].splitlines()


def test_demo_without_the_llama_server_says_it_skipped_that_part(tmp_path: Path) -> None:
    out = demo(LMSDRIVE_LLAMA_PYTHON=str(tmp_path / "absent" / "python"))
    assert llama_part(out) == [
        "  skipped: the llama.cpp server is not built here (run `make llama-server`)"
    ]


@pytest.mark.llama_server
def test_demo_on_the_real_llama_server_generates_and_streams() -> None:
    if find_llama_python() is None:
        pytest.skip(NOT_BUILT)
    lines = llama_part(demo())
    assert lines[0].startswith("  llama.cpp server at http://127.0.0.1:")
    assert lines[1:] == [
        "  server answers: True",
        "  generate → ' hello hello hello hello hello hello hello hello' (finish: length)",
        "  streamed pieces → [' hello', ' hello', ' hello', ' hello']",
        "  (a tiny random-weight model whose weights force one token: the output is exact)",
    ]
