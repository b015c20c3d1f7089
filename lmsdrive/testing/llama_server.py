"""A real llama.cpp server (``llama-cpp-python[server]``) on loopback, serving the tiny
model of :mod:`lmsdrive.testing.tiny_model`: the OpenAI-compatible API that LM Studio also
serves (``/v1/models``, ``/v1/chat/completions`` plain and SSE), for tests of the LM Studio
HTTP path without LM Studio.

The server lives in its own venv, built once per machine by ``make llama-server``
(``tools/llama-server.sh``) under ``${LMSDRIVE_CACHE:-~/.cache/lmsdrive}/llama-venv``;
``$LMSDRIVE_LLAMA_PYTHON`` names another interpreter that has ``llama_cpp.server``.

Usage::

    python = find_llama_python()          # None when not built
    with LlamaServer(write_tiny_llama(tmp / "tiny.gguf"), python=python) as server:
        httpx.get(server.base_url + "/v1/models")
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

#: What to tell a user whose machine lacks the server.
NOT_BUILT = "llama.cpp server not built: run `make llama-server` (llama-cpp-python[server])"


def cache_dir() -> Path:
    """``$LMSDRIVE_CACHE`` or ``~/.cache/lmsdrive``."""
    env = os.environ.get("LMSDRIVE_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "lmsdrive"


def find_llama_python() -> Path | None:
    """The interpreter that runs ``llama_cpp.server``, or ``None`` when it is not built."""
    env = os.environ.get("LMSDRIVE_LLAMA_PYTHON")
    candidate = Path(env) if env else cache_dir() / "llama-venv" / "bin" / "python"
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LlamaServerError(RuntimeError):
    """The server exited or did not answer before its deadline; holds its last output."""


class LlamaServer:
    """``python -m llama_cpp.server`` on 127.0.0.1 and a free port, as a context manager.

    ``start()`` returns once ``GET /v1/models`` answers 200 (``startup_s`` says how long
    that took); ``stop()`` sends SIGTERM, then SIGKILL after ``stop_timeout``.
    """

    def __init__(
        self,
        model: Path,
        *,
        python: Path,
        alias: str = "tiny-llama",
        n_ctx: int = 256,
        startup_timeout: float = 60.0,
        stop_timeout: float = 5.0,
        embedding: bool = False,
    ) -> None:
        self.model = Path(model)
        self.python = Path(python)
        self.alias = alias
        self.n_ctx = n_ctx
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        #: Serve ``/v1/embeddings`` too (``--embedding True``; the model needs a pooling type
        #: for one vector per input: ``write_tiny_llama(..., pooling="mean")``).
        self.embedding = embedding
        self.port = 0
        self.startup_s: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: tempfile._TemporaryFileWrapper[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs (tests pause it with SIGSTOP)."""
        return None if self._proc is None else self._proc.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        return [
            str(self.python),
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--model_alias",
            self.alias,
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            "1",
            "--verbose",
            "False",
            *(["--embedding", "True"] if self.embedding else []),
        ]

    def output(self, last: int = 20) -> str:
        """The server's last ``last`` lines of output (stdout and stderr merged)."""
        if self._log is None:
            return ""
        self._log.flush()
        lines = Path(self._log.name).read_bytes().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-last:])

    def start(self) -> LlamaServer:
        # A free port can be taken between our probe and the server's bind: retry.
        for _attempt in range(3):
            self.port = _free_port()
            self._log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log")  # noqa: SIM115
            t0 = time.monotonic()
            self._proc = subprocess.Popen(
                self.argv(),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            if self._wait_ready(t0):
                self.startup_s = time.monotonic() - t0
                return self
            out = self.output()
            self.stop()
            if "address already in use" not in out.lower():
                break
        raise LlamaServerError(
            f"llama.cpp server did not become ready on {self.base_url}; last output:\n{out}"
        )

    def _wait_ready(self, t0: float) -> bool:
        assert self._proc is not None
        with httpx.Client(timeout=httpx.Timeout(2.0, connect=0.5)) as client:
            while time.monotonic() - t0 < self.startup_timeout:
                if self._proc.poll() is not None:
                    return False
                try:
                    if client.get(self.base_url + "/v1/models").status_code == 200:
                        return True
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                proc.wait()
        elif proc is not None:
            proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
