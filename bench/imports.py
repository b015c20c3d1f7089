"""Row 3: cold import time of lmsdrive vs the ``ollama``, ``openai`` and ``lmstudio`` clients.

Each statement runs in a fresh ``python -X importtime -c STATEMENT`` (the bench venv's
interpreter, where all four are installed); its cost is the sum of the cumulative times
of the top-level imports that a bare ``python -c pass`` does not make (interpreter start-up
excluded). One discarded warm-up run per statement, then the median of ``runs`` runs,
interleaved. The wall time of the process is given in the note.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from .common import Row, median, skipped
from .peers import BenchEnv

SECTION = "3 import"
LMSDRIVE = "from lmsdrive.http.ollama import OllamaAPI"
#: Shown for information: the lazy top-level imports.
LMSDRIVE_LAZY = {"import lmsdrive": "import lmsdrive", "Driver": "from lmsdrive import Driver"}
PEERS = {
    "ollama": "import ollama",
    "openai": "from openai import OpenAI",
    "lmstudio": "import lmstudio",
}
HEAVY = ("pexpect", "pyte", "rich", "mcp", "pydantic", "httpx", "anyio")


def _importtime(python: Path, statement: str) -> tuple[dict[str, int], float]:
    """Top-level imports (name → cumulative µs) and the process's wall time."""
    t0 = time.perf_counter()
    r = subprocess.run(
        [str(python), "-X", "importtime", "-c", statement], capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "failed")
    top: dict[str, int] = {}
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _head, cum, name = line.split("|", 2)
        if name.startswith(" ") and not name.startswith("  "):  # nesting: 2 spaces a level
            top[name.strip()] = top.get(name.strip(), 0) + int(cum)
    return top, wall


def _cost(python: Path, statement: str, startup: set[str]) -> tuple[float, float]:
    top, wall = _importtime(python, statement)
    return sum(v for k, v in top.items() if k not in startup) / 1e6, wall


def heavy_modules(python: Path, statement: str) -> list[str]:
    code = f"{statement}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    r = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return r.stdout.split() if r.returncode == 0 else []


def rows(env: BenchEnv, runs: int = 5) -> list[Row]:
    python = env.python
    if python is None:
        python = Path(sys.executable)
    startup = set(_importtime(python, "pass")[0])
    statements = {"lmsdrive": LMSDRIVE, **LMSDRIVE_LAZY}
    errors: dict[str, str] = {}
    for peer, stmt in PEERS.items():
        if peer in env.missing or env.python is None:
            errors[peer] = env.why_missing(peer)
        else:
            statements[peer] = stmt
    costs: dict[str, list[float]] = {k: [] for k in statements}
    walls: dict[str, list[float]] = {k: [] for k in statements}
    for k, stmt in statements.items():  # warm-up: file cache, .pyc files
        try:
            _cost(python, stmt, startup)
        except RuntimeError as e:
            errors[k] = f"import failed: {e}"
    for _ in range(runs):
        for k, stmt in statements.items():
            if k in errors:
                continue
            c, w = _cost(python, stmt, startup)
            costs[k].append(c)
            walls[k].append(w)
    if "lmsdrive" in errors:
        return [skipped(SECTION, "cold import", "lmsdrive", errors["lmsdrive"])]
    ours = median(costs["lmsdrive"])
    out = [
        Row(
            SECTION,
            "cold import",
            f"lmsdrive: {stmt}",
            median(costs[k]),
            "s",
            note=(
                f"-X importtime, median of {runs}; process {median(walls[k]) * 1e3:.0f} ms; "
                f"loads {', '.join(heavy_modules(python, stmt)) or 'none'} of {', '.join(HEAVY)}"
            ),
        )
        for k, stmt in LMSDRIVE_LAZY.items()
        if k not in errors
    ]
    for peer, stmt in PEERS.items():
        if peer in errors:
            out.append(skipped(SECTION, "cold import", f"lmsdrive vs {peer}", errors[peer]))
            continue
        version = env.versions.get(peer, "?")
        out.append(
            Row(
                SECTION,
                "cold import",
                f"lmsdrive vs {peer} {version}",
                ours,
                "s",
                stmt,
                median(costs[peer]),
                f"subject: {LMSDRIVE} (a usable client, httpx included); {peer} process "
                f"{median(walls[peer]) * 1e3:.0f} ms, loads "
                f"{', '.join(heavy_modules(python, stmt)) or 'none'}",
            )
        )
    return out
