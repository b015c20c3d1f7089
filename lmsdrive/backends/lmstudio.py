"""LM Studio: the ``lms`` CLI for server, downloads and loading; the OpenAI-compatible HTTP
API to check state and to generate.

| operation | how |
|---|---|
| installed? | ``lms`` on PATH or in LM Studio's install dirs (no process spawned) |
| running? downloaded? loaded? | ``GET /api/v0/models``; ``lms ls --json`` if it cannot tell |
| start | ``lms server start --port N``; ready at ``Success! Server is now running on port N`` |
| pull | ``lms get NAME -y``, progress streamed through the ``lms get`` parser |
| load / unload | ``lms load NAME -y`` / ``lms unload ID`` |
| generate | ``POST /v1/chat/completions`` |
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from ..discovery import find_binary
from ..errors import (
    APIError,
    CommandError,
    CommandTimeoutError,
    LmsdriveError,
    ModelNotFoundError,
    NotInstalledError,
    ServerNotRunningError,
    ServerStartError,
)
from ..http._client import GenerationStream
from ..http.lmstudio import LMStudioAPI
from ..model_ref import ModelRef
from ..parsers import lms_get, lms_load, lms_ls, lms_ps, lms_server_start, lms_unload
from ..parsers._base import Progress
from ..runner import run
from ..transcript import Transcript
from ._locks import machine_lock
from ._pull import PullOutcome, raise_for_outcome, stream_progress
from .base import (
    Generation,
    LoadedModel,
    LocalModel,
    ProgressCallback,
    Readiness,
    StartResult,
)

_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def _tail(t: Transcript, n: int = 10) -> str:
    lines = t.text.strip().splitlines()[-n:]
    return "\n".join(f"    {line}" for line in lines) or "    (no output)"


class LMStudioBackend:
    """Drive LM Studio through ``lms`` and its HTTP server at ``url``."""

    name = "lmstudio"
    display_name = "LM Studio"

    def __init__(
        self,
        url: str = "http://localhost:1234",
        *,
        binary: str | os.PathLike[str] | None = None,
        command_timeout: float = 120.0,
        pull_idle_timeout: float = 600.0,
        api: LMStudioAPI | None = None,
    ) -> None:
        self._url = url.rstrip("/")
        self._binary_arg = binary
        self.command_timeout = command_timeout
        self.pull_idle_timeout = pull_idle_timeout
        self.api = api if api is not None else LMStudioAPI(self._url)

    @property
    def url(self) -> str:
        return self._url

    @property
    def port(self) -> int:
        parts = urlsplit(self._url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def close(self) -> None:
        self.api.close()

    # -- process helpers -----------------------------------------------------------------
    def binary(self) -> Path:
        return find_binary("lms", self._binary_arg)

    def _run(self, *args: str, timeout: float | None = None) -> Transcript:
        return run([str(self.binary()), *args], timeout=timeout or self.command_timeout)

    # -- installed / running -------------------------------------------------------------
    def is_installed(self) -> bool:
        try:
            self.binary()
        except NotInstalledError:
            return False
        return True

    def is_running(self) -> bool:
        return self.api.is_running()

    def readiness(self, model: str) -> Readiness:
        ref = ModelRef.parse(model)
        try:
            listed = self.api.models_v0()
        except ServerNotRunningError:
            return Readiness(running=False)
        except APIError:
            if not self.is_running():
                return Readiness(running=False)  # another program answers on the port
            listed = None  # not LM Studio's REST API (an older LM Studio, or another server)
        if listed is not None:
            for m in listed.models:
                if ref.matches_lmstudio(m.id):
                    return Readiness(True, downloaded=True, loaded=m.state == "loaded")
        # /api/v0/models lists only loaded models when JIT loading is off: ask lms.
        downloaded = self.has_model(model)
        return Readiness(True, downloaded=downloaded, loaded=downloaded and self.is_loaded(model))

    def start(self, timeout: float = 60.0) -> StartResult:
        """``lms server start --port N``; already running is success."""
        host = urlsplit(self._url).hostname or "localhost"
        with machine_lock(f"lmstudio-{self.port}", timeout):
            if self.is_running():
                return StartResult(url=self._url, already_running=True)
            if host not in _LOCAL_HOSTS:
                raise ServerNotRunningError(
                    f"LM Studio server at {self._url} does not answer, and lmsdrive can only "
                    "start a server on this machine: start it on that host, or fix LMSTUDIO_URL."
                )
            try:
                t = self._run("server", "start", "--port", str(self.port), timeout=timeout)
            except CommandTimeoutError as exc:
                partial = getattr(exc, "transcript", None)
                shown = _tail(partial) if isinstance(partial, Transcript) else "    (no output)"
                raise ServerStartError(
                    f"`lms server start` did not finish within {timeout:.0f}s.\n"
                    f"Last output:\n{shown}"
                ) from exc
            result = lms_server_start.parse(t)
            if result.error or not result.running:
                why = result.error or f"exit status {t.exit_code}"
                raise ServerStartError(
                    f"Could not start the LM Studio server on port {self.port}: {why}. "
                    f"If another program holds port {self.port}, stop it or set LMSTUDIO_URL "
                    f"to a free port.\nLast output:\n{_tail(t)}"
                )
            if not self.is_running():
                raise ServerStartError(
                    f"`lms server start` reported success but {self._url} does not answer; "
                    f"check LMSTUDIO_URL.\nLast output:\n{_tail(t)}"
                )
            return StartResult(url=self._url, already_running=False)

    # -- models --------------------------------------------------------------------------
    def list_models(self) -> list[LocalModel]:
        t = self._run("ls", "--json")
        if t.exit_code not in (0, None) and "unknown option" in t.text:
            t = self._run("ls")  # an lms too old for --json
        result = lms_ls.parse(t)
        if result.error:
            raise CommandError(f"`lms ls` failed: {result.error}", t)
        return [
            LocalModel(name=m.key, size_bytes=m.size_bytes, type=m.type)
            for m in result.models
            if m.key
        ]

    def has_model(self, name: str) -> bool:
        ref = ModelRef.parse(name)
        return any(ref.matches_lmstudio(m.name) for m in self.list_models())

    def pull(self, name: str, on_progress: ProgressCallback | None = None) -> Iterator[Progress]:
        """``lms get NAME -y``: typed progress events while the download runs.

        When the iterator is exhausted: :class:`ModelNotFoundError` for an unknown name,
        :class:`PullError` for any other failure. Closing the iterator stops ``lms get``.
        """
        ref = ModelRef.parse(name)  # refuses flag-like names before any process starts
        argv = [str(self.binary()), "get", ref.for_lmstudio(), "-y"]
        reader = lms_get.GetParser()
        outcome = PullOutcome()
        yield from stream_progress(
            argv,
            reader,
            outcome,
            idle_timeout=self.pull_idle_timeout,
            on_progress=on_progress,
        )
        result = outcome.result
        assert result is None or isinstance(result, lms_get.LmsGetResult)
        raise_for_outcome(
            outcome,
            what=ref.for_lmstudio(),
            command="lms get",
            succeeded=result is not None and not result.error,
            error=result.error if result is not None else None,
            kind=result.kind if result is not None else None,
        )

    def load(self, name: str, on_progress: ProgressCallback | None = None) -> LoadedModel | None:
        """``lms load NAME -y``, its spinner/percent streamed as ``loading`` events."""
        ref = ModelRef.parse(name)
        argv = [str(self.binary()), "load", ref.for_lmstudio(), "-y"]
        reader = lms_load.LoadParser()
        outcome = PullOutcome()
        for _ in stream_progress(
            argv,
            reader,
            outcome,
            idle_timeout=self.command_timeout,
            on_progress=on_progress,
        ):
            pass
        result = outcome.result
        assert result is None or isinstance(result, lms_load.LmsLoadResult)
        if result is None or result.error or outcome.exit_code != 0:
            message = (result.error if result else None) or (
                f"lms load exited with status {outcome.exit_code}\n{outcome.tail}"
            )
            if result is not None and result.kind == "model_not_found":
                raise ModelNotFoundError(message)
            raise CommandError(f"Loading {ref.for_lmstudio()} failed: {message}")
        ident = result.identifier or ref.for_lmstudio()
        return LoadedModel(name=result.model_key or ident, identifier=ident)

    def loaded_models(self) -> list[LoadedModel]:
        t = self._run("ps", "--json")
        result = lms_ps.parse(t)
        if result.error:
            raise CommandError(f"`lms ps` failed: {result.error}", t)
        return [
            LoadedModel(
                name=m.model or m.identifier or "",
                identifier=m.identifier or m.model or "",
                size_bytes=m.size_bytes,
                context_length=m.context_length,
            )
            for m in result.models
        ]

    def is_loaded(self, name: str) -> bool:
        ref = ModelRef.parse(name)
        return any(
            ref.matches_lmstudio(m.name) or ref.matches_lmstudio(m.identifier)
            for m in self.loaded_models()
        )

    def unload(self, name: str) -> None:
        ref = ModelRef.parse(name)
        t = self._run("unload", ref.for_lmstudio())
        result = lms_unload.parse(t)
        if result.error:
            if result.kind == "model_not_found":
                raise ModelNotFoundError(result.error)
            raise CommandError(f"Unloading {ref.for_lmstudio()} failed: {result.error}", t)

    def generate(
        self, prompt: str, model: str, *, temperature: float = 0.1, max_tokens: int = 100
    ) -> Generation:
        ref = ModelRef.parse(model)
        return self.api.generate(
            ref.for_lmstudio(), prompt, temperature=temperature, max_tokens=max_tokens
        )

    def generate_stream(
        self, prompt: str, model: str, *, temperature: float = 0.1, max_tokens: int = 100
    ) -> GenerationStream:
        """The answer's text pieces as the server sends them; ``.result`` is the whole
        :class:`Generation` once exhausted. Closing it closes the HTTP response."""
        return self.api.generate_stream(
            ModelRef.parse(model).for_lmstudio(),
            prompt,
            temperature=temperature,
            max_tokens=max_tokens,
        )

    def version(self) -> str | None:
        from ..parsers import lms_version

        try:
            t = self._run("version")
            r = lms_version.parse(t)
        except LmsdriveError:
            return None
        return r.semver or r.cli_commit
