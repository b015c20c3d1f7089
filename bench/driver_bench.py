"""Row 5 (issue 3): the live driver against the fake runtimes.

* ``ensure_ready`` when everything is ready: wall time of ``Driver(config).ensure_ready()``
  (a fresh Driver each time: client made, connection opened), process spawns (every
  ``subprocess.Popen``/``fork``/``forkpty``/``posix_spawn``/``system`` of this process,
  counted with an audit hook) and HTTP requests (counted by the fake server) — against the
  original's sequence measured for real: ``which ollama`` (subprocess) and a fresh
  ``httpx.Client`` making ``GET /api/tags``, ``/api/ps``, ``/api/version``.
* Readiness detection latency: from the moment the fake ``ollama serve`` prints its
  ``Listening on`` line (the slog ``time=`` stamp it writes on that line: millisecond
  precision, truncated, so our figure is overstated by up to 1 ms) to ``OllamaBackend
  .start()`` returning — against a loop that polls ``GET /`` once a second, the same fake
  server, the same stamp. The loop's phase relative to the spawn is spread evenly over the
  second ((k+½)/N), as for a user who cannot know when the server will be up: the mean
  estimates the expected latency of a 1 s poll (~0.5 s). Both sides: mean of N starts.
* Pull-progress latency: ``OllamaBackend.pull`` runs the fake ``ollama pull`` through a
  pass-through wrapper that reads the fake's stderr and timestamps every chunk before
  forwarding it to lmsdrive's pseudo-terminal. The same chunks are replayed offline
  through the parser to learn which chunk completes which event; the latency of an event
  is its arrival in the caller's loop minus its chunk's timestamp (the wrapper's forwarding
  hop is included: an upper bound). Compared with Ollama's redraw interval (100 ms).
"""

from __future__ import annotations

import base64
import codecs
import datetime as dt
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from lmsdrive._types import Progress
from lmsdrive.backends.ollama import OllamaBackend
from lmsdrive.config import Config
from lmsdrive.driver import Driver
from lmsdrive.parsers import ollama_pull

from .common import Row, median

SECTION = "5 driver"
OLLAMA_MODEL = "llama3.2:1b"
LMS_MODEL = "qwen/qwen3-4b"
PULL_MODEL = "llama3.2:3b"
REDRAW = 0.1  # Ollama's progress redraw interval, seconds
_SPAWN_EVENTS = frozenset(
    {"subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn", "os.system", "os.spawn"}
)
_spawns = [0]
_hooked = [False]


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event in _SPAWN_EVENTS:
        _spawns[0] += 1


def spawn_count() -> int:
    """Processes this interpreter started since the hook was installed."""
    if not _hooked[0]:
        sys.addaudithook(_audit)
        _hooked[0] = True
    return _spawns[0]


@contextmanager
def _runtime(**kw: Any) -> Iterator[Any]:
    from lmsdrive.testing.runtime import FakeRuntime

    with FakeRuntime(**kw) as rt:
        yield rt


# ----- ensure_ready when all is ready -------------------------------------------------------


def _original(url: str) -> None:
    """The original's check: ``which ollama`` and three HTTP calls."""
    r = subprocess.run(["which", "ollama"], capture_output=True, check=False)
    if r.returncode != 0:
        raise RuntimeError("which ollama: not found")
    with httpx.Client(base_url=url, timeout=5.0) as client:
        for path in ("/api/tags", "/api/ps", "/api/version"):
            client.get(path).raise_for_status()


def ensure_ready_rows(reps: int = 15) -> list[Row]:
    spawn_count()
    out: list[Row] = []
    with _runtime(
        models_loaded={"ollama": [OLLAMA_MODEL], "lms": [LMS_MODEL]}, server_running=True
    ) as rt:
        configs = {
            "Ollama": Config(backend="ollama", model_name=OLLAMA_MODEL, url=rt.ollama_url),
            "LM Studio": Config(backend="lmstudio", model_name=LMS_MODEL, url=rt.lms_url),
        }
        measured: dict[str, tuple[list[float], list[int], list[int], list[int]]] = {}

        def measure(name: str, fn: Any) -> None:
            fn()  # warm-up (imports, caches)
            times, spawns, fake_spawns, requests = [], [], [], []
            for _ in range(reps):
                rt.reset_counts()
                s0 = spawn_count()
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
                spawns.append(spawn_count() - s0)
                fake_spawns.append(rt.spawn_count())
                requests.append(len(rt.requests()))
            measured[name] = (times, spawns, fake_spawns, requests)

        for label, config in configs.items():

            def ready(config: Config = config) -> None:
                with Driver(config) as d:
                    report = d.ensure_ready()
                if not report.success or report.steps_performed:
                    raise RuntimeError(f"ensure_ready did work or failed: {report.to_dict()}")

            measure(label, ready)
        measure("original", lambda: _original(rt.ollama_url))

    o_t, o_s, _, o_r = measured["original"]
    for label in configs:
        t, s, fs, rq = measured[label]
        base = label == "Ollama"
        orig = "original: which + 3 GETs"
        out.append(
            Row(
                SECTION,
                f"ensure_ready, all ready ({label}): wall time",
                "lmsdrive Driver.ensure_ready",
                median(t),
                "s",
                orig if base else "",
                median(o_t) if base else None,
                f"fresh Driver per call, median of {reps}",
            )
        )
        out.append(
            Row(
                SECTION,
                f"ensure_ready, all ready ({label}): process spawns",
                "lmsdrive Driver.ensure_ready",
                max(s),
                "n",
                orig if base else "",
                max(o_s) if base else None,
                f"max over {reps} calls (audit hook); fake CLI invocations: {max(fs)}",
            )
        )
        out.append(
            Row(
                SECTION,
                f"ensure_ready, all ready ({label}): HTTP requests",
                "lmsdrive Driver.ensure_ready",
                max(rq),
                "n",
                orig if base else "",
                max(o_r) if base else None,
                f"max over {reps} calls, counted by the fake server",
            )
        )
    return out


# ----- readiness detection ------------------------------------------------------------------

_STAMP_RE = re.compile(r"^time=(\S+) .*msg=\"?Listening on", re.M)


def _ready_stamp(log: Path, deadline: float = 5.0) -> float:
    """Epoch seconds of the ``Listening on`` line in the server's log."""
    end = time.monotonic() + deadline
    while True:
        m = _STAMP_RE.search(log.read_text(encoding="utf-8", errors="replace"))
        if m:
            return dt.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
        if time.monotonic() > end:
            raise RuntimeError(f"no readiness line in {log}")
        time.sleep(0.01)


def _poll_start(rt: Any, phase: float, log: Path, period: float = 1.0) -> float:
    """Spawn the fake ``ollama serve`` and poll ``GET /`` every ``period`` s; latency."""
    env = dict(os.environ, OLLAMA_HOST=f"127.0.0.1:{rt.ollama_port}")
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [str(rt.bin_dir / "ollama"), "serve"],
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=fh,
            env=env,
            start_new_session=True,
        )
    try:
        tick = time.monotonic() + phase
        with httpx.Client(timeout=1.0) as client:
            for _ in range(30):
                time.sleep(max(0.0, tick - time.monotonic()))
                try:
                    if client.get(rt.ollama_url + "/").status_code == 200:
                        seen = time.time()
                        break
                except httpx.TransportError:
                    pass
                tick += period
            else:
                raise RuntimeError("the fake ollama serve never answered")
        return seen - _ready_stamp(log)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def readiness_rows(runs: int = 6) -> list[Row]:
    ours: list[float] = []
    theirs: list[float] = []
    with _runtime(models_downloaded={"ollama": [OLLAMA_MODEL]}, server_running=False) as rt:
        for _ in range(runs):
            backend = OllamaBackend(url=rt.ollama_url)
            try:
                res = backend.start(timeout=30)
                returned = time.time()
            finally:
                backend.close()
            if res.already_running or res.log_path is None:
                raise RuntimeError("the fake server was already running")
            ours.append(returned - _ready_stamp(Path(res.log_path)))
            rt.stop_server("ollama")
        phases = [(k + 0.5) / runs for k in range(runs)]
        random.Random(7).shuffle(phases)
        with tempfile.TemporaryDirectory(prefix="lmsdrive-bench-") as tmp:
            for k, phase in enumerate(phases):
                theirs.append(_poll_start(rt, phase, Path(tmp) / f"serve-{k}.log"))
    return [
        Row(
            SECTION,
            "readiness detection latency (ollama serve)",
            "lmsdrive OllamaBackend.start",
            statistics.mean(ours),
            "s",
            "1 s polling loop",
            statistics.mean(theirs),
            f"readiness line → start() returns, mean of {runs}; the poll's phases spread "
            f"evenly over its period; ours max {max(ours) * 1e3:.0f} ms, poll "
            f"{min(theirs) * 1e3:.0f}–{max(theirs) * 1e3:.0f} ms",
        )
    ]


# ----- pull progress latency ----------------------------------------------------------------

_WRAPPER = """\
import base64, json, os, subprocess, sys, time
FAKE, SIDE = {fake!r}, {side!r}
if sys.argv[1:2] != ["pull"]:
    os.execv(FAKE, [FAKE, *sys.argv[1:]])
proc = subprocess.Popen([FAKE, *sys.argv[1:]], stderr=subprocess.PIPE)
fd = proc.stderr.fileno()
seen = []
while True:
    data = os.read(fd, 65536)
    if not data:
        break
    seen.append((time.time_ns(), data))
    os.write(2, data)
code = proc.wait()
with open(SIDE, "w") as fh:
    json.dump([[t, base64.b64encode(d).decode()] for t, d in seen], fh)
sys.exit(code)
"""


def _key(e: Progress) -> tuple[Any, ...]:
    return (e.phase, e.item, e.percent, e.completed, e.message)


def _chunk_of_events(chunks: list[tuple[int, bytes]]) -> list[tuple[tuple[Any, ...], int]]:
    """Replay the fake's chunks through the parser: (event key, index of its chunk)."""
    reader = ollama_pull.PullReader()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    out = []
    for i, (_, data) in enumerate(chunks):
        out += [(_key(e), i) for e in reader.feed(decoder.decode(data))]
    out += [(_key(e), len(chunks) - 1) for e in reader.close()]
    return out


def pull_latency_rows(pull_seconds: float = 3.0) -> list[Row]:
    live: list[tuple[int, Progress]] = []
    with _runtime(
        server_running=["ollama"], pull_seconds=pull_seconds, pull_frames=int(pull_seconds * 10)
    ) as rt:
        wrap_dir = Path(rt.dir) / "bench-bin"
        wrap_dir.mkdir()
        side = wrap_dir / "chunks.json"
        wrapper = wrap_dir / "ollama"
        fake = str(rt.bin_dir / "ollama")
        wrapper.write_text(
            f"#!{sys.executable}\n" + _WRAPPER.format(fake=fake, side=str(side)), encoding="utf-8"
        )
        wrapper.chmod(0o755)
        backend = OllamaBackend(url=rt.ollama_url, binary=wrapper)
        try:
            for event in backend.pull(PULL_MODEL):
                live.append((time.time_ns(), event))
        finally:
            backend.close()
        raw = json.loads(side.read_text(encoding="utf-8"))
    chunks = [(int(t), base64.b64decode(d)) for t, d in raw]
    offline = _chunk_of_events(chunks)
    latencies: list[float] = []
    j = 0
    for t_live, event in live:
        key = _key(event)
        k = j
        while k < len(offline) and offline[k][0] != key:
            k += 1
        if k == len(offline):
            continue
        latencies.append((t_live - chunks[offline[k][1]][0]) / 1e9)
        j = k + 1
    frames = sum(d.count(b"\x1b[?2026l") for _, d in chunks)
    if not latencies:
        raise RuntimeError(f"no event matched ({len(live)} live, {len(offline)} offline)")
    latencies.sort()
    p90 = latencies[int(0.9 * (len(latencies) - 1))]
    return [
        Row(
            SECTION,
            "pull progress latency (frame printed → event in caller)",
            "lmsdrive OllamaBackend.pull",
            median(latencies),
            "s",
            "Ollama redraw interval",
            REDRAW,
            f"{len(latencies)}/{len(live)} events matched over {frames} frames; "
            f"p90 {p90 * 1e3:.2f} ms, max {latencies[-1] * 1e3:.2f} ms; via a timestamping "
            "pass-through (upper bound)",
        )
    ]


def rows(ensure_reps: int = 15, readiness_runs: int = 6, pull_seconds: float = 3.0) -> list[Row]:
    return (
        ensure_ready_rows(ensure_reps)
        + readiness_rows(readiness_runs)
        + pull_latency_rows(pull_seconds)
    )
