"""Rows of issue 9: ``ensure_ready`` against a remote server, and a remote LM Studio download.

* Remote and ready: ``Driver.ensure_ready()`` with no ``ollama``/``lms`` on PATH and the
  backend treating its URL as remote (the fake server listens on loopback: no other host is
  reachable from a benchmark). Process spawns (audit hook), HTTP requests (counted by the
  fake server) and wall time, beside the same call against a local server with the CLI
  installed (the driver bench's case).
* Remote LM Studio download (REST API v1): the fake's job advances in whole frames at known
  times (job start + k x frame length, from the ``started_at`` the server reports); the
  latency of a progress event is its arrival in the caller's loop minus the moment its frame
  became visible on the server. Bound: one poll interval (0.5 s).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from lmsdrive._types import Progress
from lmsdrive.backends.lmstudio import LMStudioBackend
from lmsdrive.backends.ollama import OllamaBackend
from lmsdrive.config import Config
from lmsdrive.driver import Driver
from lmsdrive.parsers.lms_api_v1_download import LmsApiV1DownloadResult

from .common import Row, median
from .driver_bench import LMS_MODEL, OLLAMA_MODEL, SECTION, _runtime, spawn_count

POLL = 0.5  # LM Studio download-status poll interval, seconds (the bound of the issue)


def _driver(config: Config, remote: bool) -> Driver:
    if not remote:
        return Driver(config)
    cls: Any = OllamaBackend if config.backend == "ollama" else LMStudioBackend
    return Driver(config, backend=cls(config.backend_url(), remote=True))


def remote_ready_rows(reps: int = 15) -> list[Row]:
    spawn_count()
    out: list[Row] = []
    loaded = {"ollama": [OLLAMA_MODEL], "lms": [LMS_MODEL]}
    for remote in (False, True):
        with _runtime(models_loaded=loaded, server_running=True, remote=remote) as rt:
            configs = {
                "Ollama": Config(backend="ollama", model_name=OLLAMA_MODEL, url=rt.ollama_url),
                "LM Studio": Config(backend="lmstudio", model_name=LMS_MODEL, url=rt.lms_url),
            }
            for label, config in configs.items():
                times: list[float] = []
                spawns: list[int] = []
                requests: list[int] = []
                for i in range(reps + 1):  # the first is a warm-up
                    rt.reset_counts()
                    s0 = spawn_count()
                    t0 = time.perf_counter()
                    with _driver(config, remote) as d:
                        report = d.ensure_ready()
                    took = time.perf_counter() - t0
                    if not report.success or report.steps_performed:
                        raise RuntimeError(f"ensure_ready did work or failed: {report.to_dict()}")
                    if i:
                        times.append(took)
                        spawns.append(spawn_count() - s0 + rt.spawn_count())
                        requests.append(len(rt.requests()))
                key = (label, remote)
                _READY[key] = (median(times), max(spawns), max(requests))
    for label in ("Ollama", "LM Studio"):
        (lt, ls, lr), (rt_, rs, rr) = _READY[(label, False)], _READY[(label, True)]
        what = f"ensure_ready, remote server all ready ({label})"
        local = "same call, local server + CLI"
        note = f"no CLI on PATH, fresh Driver per call, {reps} calls"
        out += [
            Row(SECTION, f"{what}: wall time", "lmsdrive, remote", rt_, "s", local, lt, note),
            Row(
                SECTION,
                f"{what}: process spawns",
                "lmsdrive, remote",
                rs,
                "n",
                note=f"{note}; local server + CLI: {ls} (a zero has no ratio)",
            ),
            Row(SECTION, f"{what}: HTTP requests", "lmsdrive, remote", rr, "n", local, lr, note),
        ]
    return out


_READY: dict[tuple[str, bool], tuple[float, int, int]] = {}


def _epoch(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def remote_download_rows(pull_seconds: float = 6.0) -> list[Row]:
    """Latency from a progress change on the (fake) LM Studio to the caller's event. The
    frame length (0.43 s) is not commensurate with the poll interval, so the poll's phase
    against the changes varies, as it would against a real download."""
    frames = max(2, round(pull_seconds / 0.43))
    live: list[tuple[float, Progress]] = []
    jobs: list[LmsApiV1DownloadResult] = []
    with _runtime(
        server_running=["lms"], remote=True, pull_seconds=pull_seconds, pull_frames=frames
    ) as rt:
        backend = LMStudioBackend(rt.lms_url, remote=True, poll_interval=POLL)
        download = backend.api.download

        def spy(model: str, **kw: Any) -> LmsApiV1DownloadResult:
            job = download(model, **kw)
            jobs.append(job)
            return job

        backend.api.download = spy  # type: ignore[method-assign]
        try:
            for event in backend.pull(LMS_MODEL):
                live.append((time.time(), event))
        finally:
            backend.close()
    (job,) = jobs
    if job.started_at is None:
        raise RuntimeError("the fake's job has no started_at")
    start = _epoch(job.started_at)
    frame = pull_seconds / frames
    latencies: list[float] = []
    for seen, event in live:
        if event.phase != "downloading" or not event.total or event.completed is None:
            continue
        k = round(event.completed * frames / event.total)
        if k == 0:
            continue  # the job's first answer: no change to wait for
        latencies.append(seen - (start + k * frame))
    if not latencies:
        raise RuntimeError(f"no progress event to time ({len(live)} events)")
    latencies.sort()
    return [
        Row(
            SECTION,
            "remote LM Studio download: progress change on the server → event in caller",
            "lmsdrive LMStudioBackend.pull (REST v1)",
            median(latencies),
            "s",
            "one poll interval",
            POLL,
            f"{len(latencies)} changes over {pull_seconds:g} s; max {latencies[-1] * 1e3:.0f} ms "
            f"(bound {POLL * 1e3:.0f} ms)",
        )
    ]


def rows(reps: int = 15, pull_seconds: float = 6.0) -> list[Row]:
    return remote_ready_rows(reps) + remote_download_rows(pull_seconds)
