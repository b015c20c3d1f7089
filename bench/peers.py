"""The bench's own venv with the peers (never a dependency of lmsdrive).

``ensure_bench_venv()`` creates ``.venv-bench`` (git-ignored) with ``python -m venv``,
installs lmsdrive into it (editable, so every contender runs in one interpreter with the
same httpx) and then each peer on its own, so one that cannot be installed costs only its
rows. Reused on later runs; ``LMSDRIVE_BENCH_VENV`` names another location.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .common import ROOT

PEERS = ("ollama", "openai", "lmstudio", "jc")
STAMP = "bench-peers.json"


@dataclass
class BenchEnv:
    """Where the peers live: ``python`` (``None`` when no venv could be made), each peer's
    installed version, or why it is missing."""

    python: Path | None
    versions: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    def bin(self, name: str) -> Path | None:
        if self.python is None:
            return None
        path = self.python.parent / name
        return path if path.exists() else None

    def why_missing(self, peer: str) -> str:
        if self.python is None:
            return f"bench venv unavailable ({self.error})"
        return self.missing.get(peer, f"{peer} not installed")


def venv_dir() -> Path:
    env = os.environ.get("LMSDRIVE_BENCH_VENV")
    return Path(env) if env else ROOT / ".venv-bench"


def _pip(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def _versions(python: Path) -> dict[str, str]:
    code = (
        "import json, importlib.metadata as m\n"
        "out = {}\n"
        f"for n in {(*PEERS, 'lmsdrive', 'httpx')!r}:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))\n"
    )
    r = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60)
    return dict(json.loads(r.stdout)) if r.returncode == 0 else {}


def _last_line(text: str) -> str:
    lines = [x for x in text.strip().splitlines() if x.strip() and "WARNING" not in x]
    return (lines[-1] if lines else text.strip())[:160]


def ensure_bench_venv(*, install: bool = True, log: bool = True) -> BenchEnv:
    """The bench venv, created and filled when missing (``install=False``: only look)."""
    where = venv_dir()
    python = where / "bin" / "python"
    stamp = where / STAMP
    if not python.exists():
        if not install:
            return BenchEnv(None, error=f"no venv at {where}")
        if log:
            print(f"bench: creating {where} for the peers ({', '.join(PEERS)})", file=sys.stderr)
        r = subprocess.run(
            [sys.executable, "-m", "venv", str(where)], capture_output=True, text=True
        )
        if r.returncode != 0 or not python.exists():
            return BenchEnv(None, error=f"python -m venv failed: {_last_line(r.stderr)}")
    missing: dict[str, str] = {}
    if install and not stamp.exists():
        r = _pip(python, "-e", str(ROOT))
        if r.returncode != 0:
            return BenchEnv(None, error=f"pip install lmsdrive failed: {_last_line(r.stderr)}")
        for peer in PEERS:
            if log:
                print(f"bench: pip install {peer}", file=sys.stderr)
            r = _pip(python, peer)
            if r.returncode != 0:
                missing[peer] = f"pip install {peer} failed: {_last_line(r.stderr)}"
        stamp.write_text(json.dumps({"missing": missing}), encoding="utf-8")
    elif stamp.exists():
        missing = dict(json.loads(stamp.read_text(encoding="utf-8")).get("missing", {}))
    versions = _versions(python)
    for peer in PEERS:
        if peer not in versions:
            missing.setdefault(peer, f"{peer} not installed in {where}")
    return BenchEnv(python, versions=versions, missing=missing)
