"""LM Studio: the ``lms`` CLI for server, downloads and loading; the OpenAI-compatible HTTP
API to check state and to generate.

| operation | how |
|---|---|
| installed? | ``lms`` on PATH or in LM Studio's install dirs (no process spawned) |
| running? downloaded? loaded? | ``GET /api/v0/models``; ``lms ls --json`` if it cannot tell |
| start | ``lms server start --port N``; ready at ``Success! Server is now running on port N`` |
| pull | ``lms get NAME -y``, progress streamed through the ``lms get`` parser |
| load / unload | ``lms load NAME -y`` / ``lms unload ID`` |
| generate / chat | ``POST /v1/chat/completions`` |
| embed | ``POST /v1/embeddings`` |
| capabilities | ``GET /api/v0/models`` ``type`` (``embeddings``, ``llm``, ``vlm``), once |
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from .._types import LoadedModel, LocalModel, Progress, Readiness, StartResult
from ..errors import (
    APIError,
    CommandError,
    CommandTimeoutError,
    LmsdriveError,
    ModelNotFoundError,
    ServerNotRunningError,
    ServerStartError,
)
from ..http.lmstudio import LMStudioAPI
from ..parsers import lms_get, lms_load, lms_ls, lms_ps, lms_server_start, lms_unload, lms_version
from ..runner import run
from ..runtimes.lmstudio import LMSTUDIO
from ..transcript import Transcript
from ._locks import machine_lock
from ._pull import PullOutcome, raise_for_outcome, stream_progress
from .base import RuntimeBackend

_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def _tail(t: Transcript, n: int = 10) -> str:
    lines = t.text.strip().splitlines()[-n:]
    return "\n".join(f"    {line}" for line in lines) or "    (no output)"


class LMStudioBackend(RuntimeBackend):
    """Drive LM Studio through ``lms`` and its HTTP server at ``url``."""

    spec = LMSTUDIO
    api: LMStudioAPI
    lists_offline = True

    def __init__(
        self,
        url: str | None = None,
        *,
        binary: str | os.PathLike[str] | None = None,
        command_timeout: float = 120.0,
        pull_idle_timeout: float = 600.0,
        api: LMStudioAPI | None = None,
        api_token: str | None = None,
    ) -> None:
        super().__init__(url, binary=binary, api=api, api_token=api_token)
        self.command_timeout = command_timeout
        self.pull_idle_timeout = pull_idle_timeout

    def _make_api(self, url: str, api_token: str | None) -> LMStudioAPI:
        return LMStudioAPI(url, api_key=api_token)

    @property
    def port(self) -> int:
        parts = urlsplit(self._url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    # -- process helpers -----------------------------------------------------------------
    def _run(self, *args: str, timeout: float | None = None) -> Transcript:
        return run([str(self.binary()), *args], timeout=timeout or self.command_timeout)

    # -- running ----------------------------------------------------------------------------
    def readiness(self, model: str) -> Readiness:
        self.spell(model)  # a bad name is refused before any request
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
                if self.matches(model, m.id):
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

    def pull(self, model: str) -> Iterator[Progress]:
        """``lms get MODEL -y``: typed progress events while the download runs.

        When the iterator is exhausted: :class:`ModelNotFoundError` for an unknown name,
        :class:`PullError` for any other failure. Closing the iterator stops ``lms get``.
        """
        name = self.spell(model)  # refuses flag-like names before any process starts
        outcome = PullOutcome()
        yield from stream_progress(
            [str(self.binary()), "get", name, "-y"],
            lms_get.GetParser(),
            outcome,
            idle_timeout=self.pull_idle_timeout,
        )
        result = outcome.result
        assert result is None or isinstance(result, lms_get.LmsGetResult)
        raise_for_outcome(
            outcome,
            what=name,
            command="lms get",
            succeeded=result is not None and not result.error,
            result=result,
        )

    def load(self, model: str) -> LoadedModel:
        """``lms load MODEL -y`` (its spinner/percent read as ``loading`` events)."""
        name = self.spell(model)
        outcome = PullOutcome()
        for _ in stream_progress(
            [str(self.binary()), "load", name, "-y"],
            lms_load.LoadParser(),
            outcome,
            idle_timeout=self.command_timeout,
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
            raise CommandError(f"Loading {name} failed: {message}")
        ident = result.identifier or name
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

    def unload(self, model: str) -> None:
        name = self.spell(model)
        t = self._run("unload", name)
        result = lms_unload.parse(t)
        if result.error:
            if result.kind == "model_not_found":
                raise ModelNotFoundError(result.error)
            raise CommandError(f"Unloading {name} failed: {result.error}", t)

    def version(self, *, server: bool = True) -> str | None:
        """The CLI's version (``lms version``), with or without a server."""
        try:
            t = self._run("version")
            r = lms_version.parse(t)
        except LmsdriveError:
            return None
        return r.semver or r.cli_commit

    # -- chat, embeddings, capabilities ------------------------------------------------------
    def _model_capabilities(self, name: str) -> frozenset[str] | None:
        """From ``/api/v0/models``: ``type`` ``embeddings`` → ``embedding``, ``llm`` →
        ``completion``, ``vlm`` → ``completion`` + ``vision``; ``tool_use`` → ``tools``.
        ``None`` when the model is not listed (JIT off, not loaded) or there is no v0 API."""
        for m in self.api.models_v0().models:
            if self.matches(name, m.id):
                caps = {"tools"} if "tool_use" in (m.capabilities or []) else set()
                if m.type == "embeddings":
                    caps.add("embedding")
                elif m.type in ("llm", "vlm"):
                    caps.add("completion")
                    if m.type == "vlm":
                        caps.add("vision")
                else:
                    return None  # a type this version does not know: do not guess
                return frozenset(caps)
        return None

    def _chat_options(
        self, options: Mapping[str, Any] | None, think: bool | str | None
    ) -> dict[str, Any]:
        # /v1/chat/completions has no thinking switch: a reasoning model reasons, and its
        # reasoning comes back apart from the answer (ChatReply.thinking).
        return {"extra": options}
