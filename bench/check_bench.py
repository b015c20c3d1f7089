"""The ``check`` rows (issue 14): is the health check cheap enough for a probe every few
seconds? Against the fake runtimes' servers, model loaded:

* in process: ``Driver(config).check()`` (a fresh Driver each time, as each probe is: client
  made, connection opened, two requests) vs a fresh ``httpx.Client`` making one GET of the
  same first endpoint (``/api/tags``, ``/api/v0/models``): what ``curl`` would do;
* as a process, what a probe's exec costs: ``python -m lmsdrive check`` vs ``python -c``
  running that bare httpx GET (same interpreter, so the import of httpx is on both sides).
"""

from __future__ import annotations

import functools
import subprocess
import sys
from typing import Any

import httpx

from lmsdrive.config import Config
from lmsdrive.driver import Driver

from .common import Row, time_call

SECTION = "5 driver"
MODELS = {"ollama": "llama3.2:1b", "lmstudio": "qwen/qwen3-4b"}
FIRST = {"ollama": "/api/tags", "lmstudio": "/api/v0/models"}
FLOOR = "bare httpx GET (curl-equivalent)"


def _check(backend: str, url: str) -> bool:
    config = Config(backend=backend, model_name=MODELS[backend], url=url)
    with Driver(config) as driver:
        return driver.check().ok


def _bare(url: str) -> int:
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        return client.get(url).status_code


def _process(argv: list[str], env: dict[str, Any]) -> int:
    return subprocess.run(argv, env=env, capture_output=True, check=False).returncode


def rows(reps: int = 20, process_reps: int = 5) -> list[Row]:
    from lmsdrive.testing.runtime import FakeRuntime

    out: list[Row] = []
    loaded = {"ollama": [MODELS["ollama"]], "lms": [MODELS["lmstudio"]]}
    with FakeRuntime(models_loaded=loaded, server_running=True, patch_environ=False) as rt:
        for backend, fake in (("ollama", "ollama"), ("lmstudio", "lms")):
            url = rt.url(fake)
            if not _check(backend, url):
                raise RuntimeError(f"check is not ok on the fake {backend} server")
            ours, _ = time_call(functools.partial(_check, backend, url), reps)
            floor, _ = time_call(functools.partial(_bare, url + FIRST[backend]), reps)
            out.append(
                Row(
                    SECTION,
                    f"check, model loaded ({backend})",
                    "lmsdrive Driver.check",
                    ours,
                    "s",
                    FLOOR,
                    floor,
                    f"median of {reps}, a fresh client each; ours: up to two requests, the floor "
                    f"one ({FIRST[backend]})",
                )
            )
        env = {**rt.env, "BACKEND": "ollama", "MODEL_NAME": MODELS["ollama"]}
        ours_argv = [sys.executable, "-m", "lmsdrive", "check"]
        code = f"import httpx; httpx.get({rt.ollama_url + '/api/tags'!r}, trust_env=False)"
        floor_argv = [sys.executable, "-c", code]
        if _process(ours_argv, env) != 0:
            raise RuntimeError("`lmsdrive check` did not exit 0 against the fake server")
        ours, _ = time_call(lambda: _process(ours_argv, env), process_reps)
        floor, _ = time_call(lambda: _process(floor_argv, env), process_reps)
        out.append(
            Row(
                SECTION,
                "check as a probe's process (ollama)",
                "python -m lmsdrive check",
                ours,
                "s",
                "python -c httpx.get",
                floor,
                f"median of {process_reps} whole processes",
            )
        )
    return out
