"""Row 2: ``lmsdrive parse ollama list`` vs jc's generic table parser (``jc --asciitable``).

The same generated ``ollama list`` tables, whole process (wall time of the command with the
table on stdin and its JSON sent to /dev/null, median of a few runs) and in-process (both
parsers in one interpreter, the bench venv's, median of a few calls after a warm-up); the
two contenders' runs interleaved.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from . import gen
from .common import Row, median, skipped
from .peers import BenchEnv

SECTION = "2 vs jc"
SIZES = (10, 1_000, 100_000)
WORKER = Path(__file__).with_name("peer_worker.py")


def _reps(n: int) -> int:
    return 3 if n >= 100_000 else 5


def _run(argv: list[str], stdin: Path) -> float:
    with stdin.open("rb") as fh:
        t0 = time.perf_counter()
        r = subprocess.run(argv, stdin=fh, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        took = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {r.stderr.decode(errors='replace')[-200:]}")
    return took


def _wall(commands: list[list[str]], stdin: Path, reps: int) -> list[float]:
    """Median wall time of each command, runs interleaved (drift hits all alike)."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(reps):
        for i, argv in enumerate(commands):
            times[i].append(_run(argv, stdin))
    return [median(t) for t in times]


def _lmsdrive_cmd(env: BenchEnv) -> list[str]:
    """The installed ``lmsdrive`` command (the bench venv's, else this interpreter's)."""
    exe = env.bin("lmsdrive") or Path(sys.executable).parent / "lmsdrive"
    if exe.exists():
        return [str(exe), "parse", "ollama", "list"]
    return [sys.executable, "-m", "lmsdrive", "parse", "ollama", "list"]


def rows(env: BenchEnv, sizes: Sequence[int] = SIZES) -> list[Row]:
    out: list[Row] = []
    jc = env.bin("jc")
    python = env.python
    with tempfile.TemporaryDirectory(prefix="lmsdrive-bench-") as tmp:
        for n in sizes:
            path = Path(tmp) / f"ollama-list-{n}.txt"
            path.write_text(gen.ollama_list_table(n), encoding="utf-8")
            reps = _reps(n)
            what = f"ollama list {n:,} rows"
            if jc is None or "jc" in env.missing:
                (ours,) = _wall([_lmsdrive_cmd(env)], path, reps)
                out.append(
                    Row(
                        SECTION,
                        f"{what}: whole process",
                        "lmsdrive parse (CLI)",
                        ours,
                        "s",
                        note=f"jc: {env.why_missing('jc')}",
                    )
                )
                out.append(
                    skipped(
                        SECTION, f"{what}: whole process", "jc --asciitable", env.why_missing("jc")
                    )
                )
            else:
                ours, theirs = _wall([_lmsdrive_cmd(env), [str(jc), "--asciitable"]], path, reps)
                out.append(
                    Row(
                        SECTION,
                        f"{what}: whole process",
                        "lmsdrive parse (CLI)",
                        ours,
                        "s",
                        "jc --asciitable",
                        theirs,
                        f"wall time, stdin→JSON, median of {reps}",
                    )
                )
            if python is None:
                out.append(
                    skipped(SECTION, f"{what}: in-process", "lmsdrive parse", env.why_missing("jc"))
                )
                continue
            job = {"job": "parse", "file": str(path), "reps": reps}
            r = subprocess.run(
                [str(python), str(WORKER)], input=json.dumps(job), capture_output=True, text=True
            )
            if r.returncode != 0:
                reason = f"worker failed: {r.stderr.strip().splitlines()[-1:]}"
                out.append(skipped(SECTION, f"{what}: in-process", "lmsdrive parse", reason))
                continue
            res = json.loads(r.stdout)
            mine = res["lmsdrive ollama_list.parse"]
            other = res["jc asciitable"]
            if "error" in mine:
                out.append(skipped(SECTION, f"{what}: in-process", "lmsdrive parse", mine["error"]))
                continue
            t = median(mine["times"])
            if "error" in other:
                out.append(
                    Row(
                        SECTION,
                        f"{what}: in-process",
                        "lmsdrive parse",
                        t,
                        "s",
                        note=f"jc: {other['error']}",
                    )
                )
            else:
                out.append(
                    Row(
                        SECTION,
                        f"{what}: in-process",
                        "lmsdrive parse",
                        t,
                        "s",
                        "jc.parse('asciitable')",
                        median(other["times"]),
                        f"same interpreter, median of {reps}; jc rows={other['rows']}",
                    )
                )
    return out
