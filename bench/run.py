"""``make bench``: every figure measured in this one run, side by side, as ratios.

Prints one aligned table and writes it to ``bench/results.json``. Sections:

1. parsing (issue 2 §6): ``ollama list`` / ``lms ls`` tables of 10 / 1,000 / 100,000 rows and
   an ``ollama pull`` stream of 5 and 50 MB vs ``str.splitlines``; time and peak memory;
2. ``lmsdrive parse ollama list`` vs ``jc --asciitable``, whole process and in-process;
3. cold import time vs the ``ollama``, ``openai`` and ``lmstudio`` clients;
4. ``generate`` round trip vs the ``ollama`` / ``openai`` clients and a bare httpx call,
   against the fake runtime's servers and the real llama.cpp server when it is built;
5. the live driver (issue 3): ``ensure_ready`` when ready vs the original's sequence,
   readiness detection vs a 1 s polling loop, pull-progress latency; ``check`` (the health
   probe, issue 14) vs a bare httpx GET of the same endpoint, in process and as a process.

The peers live in the bench's own venv (``.venv-bench``, see ``bench/peers.py``),
never in lmsdrive's dependencies. A figure that cannot be measured on this machine is a
``skipped: <reason>`` row. ``--quick`` runs every section at tiny sizes (seconds).
No figure here is asserted anywhere: the tests only check that the rows exist.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import (
    check_bench,
    driver_bench,
    http_bench,
    imports,
    jc_compare,
    parsing,
    remote_bench,
)
from bench.common import Row, render_table, skipped, write_json
from bench.peers import BenchEnv, ensure_bench_venv

SECTIONS = ("parse", "jc", "import", "http", "driver")
RESULTS = Path(__file__).with_name("results.json")


def plan(env: BenchEnv, quick: bool) -> dict[str, Callable[[], list[Row]]]:
    if quick:
        return {
            "parse": lambda: parsing.rows((10, 200), (20_000, 60_000)),
            "jc": lambda: jc_compare.rows(env, (10, 200)),
            "import": lambda: imports.rows(env, runs=1),
            "http": lambda: http_bench.rows(
                env, calls=5, llama_calls=3, warmup=1, with_llama=False
            ),
            "driver": lambda: (
                driver_bench.rows(ensure_reps=2, readiness_runs=1, pull_seconds=0.6)
                + remote_bench.rows(reps=2, pull_seconds=1.2)
                + check_bench.rows(reps=2, process_reps=1)
            ),
        }
    return {
        "parse": lambda: parsing.rows(),
        "jc": lambda: jc_compare.rows(env),
        "import": lambda: imports.rows(env),
        "http": lambda: http_bench.rows(env),
        "driver": lambda: driver_bench.rows() + remote_bench.rows() + check_bench.rows(),
    }


def run(
    sections: tuple[str, ...] = SECTIONS,
    *,
    quick: bool = False,
    env: BenchEnv | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[list[Row], dict[str, float], list[str]]:
    """Run ``sections``; the rows, each section's duration, and the sections that failed."""
    env = env if env is not None else ensure_bench_venv()
    todo = plan(env, quick)
    rows: list[Row] = []
    durations: dict[str, float] = {}
    failed: list[str] = []
    for name in sections:
        if log:
            log(f"bench: {name} ...")
        t0 = time.perf_counter()
        try:
            rows += todo[name]()
        except Exception as e:  # our own bug: say so in the table, go on, exit non-zero
            failed.append(name)
            traceback.print_exc(file=sys.stderr)
            rows.append(skipped(name, "(section failed)", "-", f"{type(e).__name__}: {e}"[:200]))
        durations[name] = time.perf_counter() - t0
        if log:
            log(f"bench: {name} done in {durations[name]:.1f} s")
    return rows, durations, failed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run in seconds")
    p.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    p.add_argument("--no-peers", action="store_true", help="do not create the peers' venv")
    p.add_argument("--json", type=Path, default=RESULTS, help="where to write the results")
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    env = ensure_bench_venv(install=not args.no_peers)
    sections = tuple(args.only) if args.only else SECTIONS

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    rows, durations, failed = run(sections, quick=args.quick, env=env, log=log)
    total = time.perf_counter() - t0
    meta = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "peer_python": str(env.python) if env.python else None,
        "peer_versions": env.versions,
        "peers_missing": env.missing,
        "section_seconds": {k: round(v, 2) for k, v in durations.items()},
        "total_seconds": round(total, 1),
    }
    print(render_table(rows))
    print()
    print(
        "ratio = value / base value (below 1: lmsdrive is faster or smaller). "
        f"Peers: {', '.join(f'{k} {v}' for k, v in sorted(env.versions.items())) or 'none'}. "
        f"Python {meta['python']}, {meta['cpus']} CPUs, {total:.0f} s in all."
    )
    write_json(args.json, rows, meta)
    print(f"written to {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
