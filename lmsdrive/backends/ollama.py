"""Ollama: the ``ollama`` CLI for serve and pull, its HTTP API for everything else.

| operation | how |
|---|---|
| installed? | binary found (no process spawned) |
| running? downloaded? loaded? | ``GET /api/tags`` + ``GET /api/ps`` (two requests) |
| start | ``ollama serve`` detached; ready at its ``Listening on`` line or when the port answers |
| pull | ``ollama pull NAME`` through the ``ollama pull`` parser; ``POST /api/pull`` |
|  | (streamed) when the server is remote, no ``ollama`` is installed here, or a token |
|  | is configured (``ollama pull`` cannot send one) |
| load / unload | ``POST /api/generate``, empty prompt, ``keep_alive`` (and ``options.num_ctx``) |
| delete | unload if loaded (as ``ollama rm`` does), then ``DELETE /api/delete`` |
| generate | ``POST /api/generate`` |
| chat / embed | ``POST /api/chat`` / ``POST /api/embed`` |
| capabilities | ``POST /api/show`` ``capabilities``, once per model |
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from .._types import (
    Estimate,
    Generation,
    LoadedModel,
    LoadOptions,
    LocalModel,
    Progress,
    Readiness,
    StartResult,
)
from ..errors import (
    APIError,
    AuthenticationError,
    CommandTimeoutError,
    ConfigError,
    LmsdriveError,
    ModelNotFoundError,
    ServerNotRunningError,
    ServerStartError,
)
from ..estimate import Memory, judge, kv_cache_bytes, machine_memory, needed_bytes
from ..http.ollama import OllamaAPI
from ..parsers import ollama_pull, ollama_serve, ollama_version
from ..parsers._base import Result
from ..runner import follow, run, spawn_detached
from ..runtimes.ollama import OLLAMA
from ._locks import machine_lock, state_dir
from ._pull import live
from ._started import StartedServer, process_identity, record_started, still_running
from .base import PullReader, RuntimeBackend, close_iterator


def _tail(log: Path, n: int = 20) -> list[str]:
    return log.read_text(encoding="utf-8", errors="replace").splitlines()[-n:]


def _unix_time(rfc3339: str | None) -> float | None:
    """``/api/ps`` ``expires_at`` as Unix time (``None``: absent or unreadable); Ollama's
    nanoseconds are cut to the microseconds ``datetime`` reads.

    >>> _unix_time("2025-08-08T00:07:26.817827822+02:00")
    1754604446.817827
    """
    if not rfc3339:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", rfc3339.strip()).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _registry_cause(exc: LmsdriveError) -> str:
    """Why a registry request failed, in a few words (a connection's own reason; never the
    client's advice about starting a local server)."""
    if isinstance(exc, ServerNotRunningError) and exc.reason:
        return exc.reason
    if isinstance(exc, CommandTimeoutError):
        return "no answer in time"
    if isinstance(exc, AuthenticationError):
        return f"HTTP {exc.status_code}: it refused the request"
    return str(exc)


#: An ``expires_at`` further away than this is Ollama's "keep loaded forever" (year 2318).
_FOREVER = 100 * 365 * 86400.0


def keep_alive_left(expires_at: str | None, now: float | None = None) -> int | None:
    """The ``keep_alive`` that leaves a loaded model's expiry as ``/api/ps`` shows it:
    the whole seconds left (at least 1), ``-1`` for "forever", ``None`` when unknown.

    >>> keep_alive_left("2026-01-01T00:05:00.123456789Z", now=1767225600.0)
    300
    >>> keep_alive_left("2318-01-01T00:00:00+01:00", now=1767225600.0)
    -1
    """
    when = _unix_time(expires_at)
    if when is None:
        return None
    left = when - (time.time() if now is None else now)
    return -1 if left > _FOREVER else max(1, int(left))


class OllamaBackend(RuntimeBackend):
    """Drive a local Ollama. ``url`` as :func:`lmsdrive.config.parse_ollama_host` gives it."""

    spec = OLLAMA
    api: OllamaAPI
    loads_in_place = True
    #: Where models are looked up before they are downloaded (the manifest's layer sizes);
    #: ``host/namespace/model`` names (``hf.co/...``) use their own host.
    registry: str = "https://registry.ollama.ai"
    #: The context :meth:`estimate` assumes when none is given (Ollama's ``num_ctx`` default).
    default_context: ClassVar[int] = 4096

    def __init__(
        self,
        url: str | None = None,
        *,
        binary: str | os.PathLike[str] | None = None,
        keep_alive: str = "5m",
        pull_idle_timeout: float = 600.0,
        api: OllamaAPI | None = None,
        api_token: str | None = None,
        remote: bool | None = None,
    ) -> None:
        super().__init__(url, binary=binary, api=api, api_token=api_token, remote=remote)
        self.keep_alive = keep_alive
        self.pull_idle_timeout = pull_idle_timeout

    def _make_api(self, url: str, api_token: str | None) -> OllamaAPI:
        return OllamaAPI(url, api_token=api_token)

    def readiness(self, model: str) -> Readiness:
        self.spell(model)  # a bad name is refused before any request
        try:
            tags = self.api.tags()
        except ServerNotRunningError:
            return Readiness(running=False)
        except APIError:
            if self.api.is_running():
                raise  # Ollama answers, with an error: let it be seen
            return Readiness(running=False)  # another program answers on Ollama's port
        if not any(self.matches(model, m.name) for m in tags.models):
            return Readiness(running=True, downloaded=False, loaded=False)
        mine = [m for m in self.api.ps().models if self.matches(model, m.name)]
        expires = [_unix_time(m.expires_at) for m in mine]
        return Readiness(
            running=True,
            downloaded=True,
            loaded=bool(mine),
            expires_at=min((t for t in expires if t is not None), default=None),
        )

    def probe(self, models: Sequence[str]) -> list[Readiness]:
        """:meth:`readiness` of every model in two requests at most (``/api/tags``, then
        ``/api/ps`` when one is downloaded); never spawns a process. A server that wants a
        token raises :class:`~lmsdrive.errors.AuthenticationError`."""
        for model in models:
            self.spell(model)  # a bad name is refused before any request
        try:
            tags = self.api.tags()
        except ServerNotRunningError:
            return [Readiness(running=False) for _ in models]
        present = [any(self.matches(m, t.name) for t in tags.models) for m in models]
        loaded = [p.name for p in self.api.ps().models] if any(present) else []
        return [
            Readiness(
                running=True, downloaded=p, loaded=p and any(self.matches(m, n) for n in loaded)
            )
            for m, p in zip(models, present, strict=True)
        ]

    def probe_answer(self, model: str) -> Generation:
        """One token, leaving how long the model stays loaded as it was: the request's
        ``keep_alive`` is what its ``/api/ps`` entry has left (a request without one would
        reset it to the server's default, 5 minutes, even for a model kept forever)."""
        name = self.spell(model)
        left = next(
            (m.expires_at for m in self.api.ps().models if self.matches(model, m.name)), None
        )
        return self.api.generate(
            name, "Hi", temperature=0.0, max_tokens=1, keep_alive=keep_alive_left(left)
        )

    def _serve_env(self) -> dict[str, str]:
        parts = urlsplit(self._url)
        host = parts.hostname or "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return {"OLLAMA_HOST": f"{host}:{parts.port or 11434}"}

    def start(self, timeout: float = 60.0) -> StartResult:
        """Start ``ollama serve`` detached (it outlives this process).

        Ready at its readiness line or when the port answers, whichever comes first.
        Already running is success. When the server exits, fails to bind, or the deadline
        passes, raises :class:`ServerStartError` with its last output lines.
        """
        with machine_lock(f"ollama-{urlsplit(self._url).port}", timeout):
            if self.is_running():
                return StartResult(url=self._url, already_running=True)
            if self.remote:
                raise self.not_answering()
            binary = self.binary()
            log = state_dir() / f"ollama-serve-{urlsplit(self._url).port}.log"
            log.write_bytes(b"")
            proc = spawn_detached([str(binary), "serve"], env=self._serve_env(), log_path=log)
            deadline = time.monotonic() + timeout
            probe = {"next": 0.0, "up": False}

            def should_stop() -> bool:
                # Called by follow() at every poll: ends on exit, deadline, or a port that answers.
                if proc.poll() is not None or time.monotonic() > deadline:
                    return True
                now = time.monotonic()
                if now >= probe["next"]:
                    probe["next"] = now + 0.25
                    probe["up"] = self.api.is_running(timeout=min(1.0, self._left(deadline)))
                return bool(probe["up"])

            events = ollama_serve.stream(follow(log, stop=should_stop))
            try:
                for event in events:
                    if isinstance(event, ollama_serve.ServeFailed):
                        proc.terminate()
                        raise ServerStartError(self._start_failure(event.error, _tail(log)))
                    if isinstance(event, ollama_serve.ServeReady) and self._wait_answering(
                        deadline
                    ):
                        return self._started(proc.pid, event.version, log)
            finally:
                close_iterator(events)
            if probe["up"] or (time.monotonic() <= deadline and self.api.is_running(timeout=1.0)):
                return self._started(proc.pid, None, log)
            if proc.poll() is not None:
                why = f"ollama serve exited with status {proc.returncode}"
            else:
                proc.terminate()
                why = f"ollama serve did not become ready within {timeout:.0f}s"
            raise ServerStartError(self._start_failure(why, _tail(log)))

    def _started(self, pid: int, version: str | None, log: Path) -> StartResult:
        """Record the server this process started (for :meth:`stop`) and say so."""
        record_started(self.name, self._url, pid, process_identity(pid))
        return StartResult(self._url, False, pid, version, str(log))

    def _still_ours(self, rec: StartedServer) -> bool:
        return still_running(rec)

    def _stop_started(self, rec: StartedServer, timeout: float) -> None:
        """SIGTERM to ``ollama serve``'s process group (it leads its own session), SIGKILL
        after ``timeout``; returns once it is gone."""
        assert rec.pid is not None
        deadline = time.monotonic() + timeout
        with contextlib.suppress(ProcessLookupError):
            os.killpg(rec.pid, signal.SIGTERM)
        while still_running(rec):
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(rec.pid, signal.SIGKILL)
                deadline = time.monotonic() + 5.0
            time.sleep(0.05)

    @staticmethod
    def _left(deadline: float) -> float:
        return max(0.05, deadline - time.monotonic())

    def _wait_answering(self, deadline: float) -> bool:
        while time.monotonic() < deadline:
            if self.api.is_running(timeout=min(1.0, self._left(deadline))):
                return True
            time.sleep(0.05)
        return False

    def _start_failure(self, why: str, tail: list[str]) -> str:
        last = "\n".join(f"    {line}" for line in tail[-10:]) or "    (no output)"
        hint = ""
        if "bind" in why or "address already in use" in why:
            hint = (
                f" Another program holds {self._serve_env()['OLLAMA_HOST']}: stop it, or set "
                "OLLAMA_HOST to a free port."
            )
        return f"Could not start the Ollama server: {why}.{hint}\nLast output:\n{last}"

    # -- models --------------------------------------------------------------------------
    def list_models(self) -> list[LocalModel]:
        """The downloaded models. ``type`` is unknown (``None``): ``/api/tags`` does not say
        whether a model chats or embeds (``capabilities()`` asks ``/api/show``, per model)."""
        return [LocalModel(name=m.name, size_bytes=m.size) for m in self.api.tags().models]

    fingerprint_kind: ClassVar[str] = "digest"

    def fingerprint(self, model: str) -> str | None:
        """The manifest digest ``/api/tags`` lists (``None``: not downloaded)."""
        for m in self.api.tags().models:
            if self.matches(model, m.name):
                return m.digest
        return None

    @property
    def pulls_via_api(self) -> bool:
        """Also with a token configured (``OLLAMA_API_KEY``): ``ollama pull`` sends none
        (and a token never goes in an argv), so the download is ``POST /api/pull`` with it."""
        return self.via_api or self.api.has_token

    def _pull_command(self, name: str) -> tuple[list[str], PullReader, str]:
        """``ollama pull NAME``, its redrawn progress read by the ``ollama pull`` parser."""
        return ["pull", name], ollama_pull.PullReader(), "ollama pull"

    @staticmethod
    def _pulled(result: Result | None) -> bool:
        return isinstance(result, ollama_pull.OllamaPullResult) and result.outcome == "success"

    def _pull_api(self, name: str) -> Iterator[Progress]:
        """``POST /api/pull`` streamed: the server downloads; the same progress events."""
        events = self.api.pull(name)
        try:
            yield from events
        finally:
            close_iterator(events)

    def load(self, model: str, options: LoadOptions | None = None) -> LoadedModel:
        """``/api/generate`` with an empty prompt; ``options.ttl`` as ``keep_alive`` (seconds),
        ``context_length`` as ``options.num_ctx``, ``gpu="off"`` as ``num_gpu: 0``."""
        name = self.spell(model)
        keep_alive, model_options = self._load_request(options or LoadOptions())
        self.api.load(name, keep_alive=keep_alive, options=model_options)
        return LoadedModel(
            name=name, identifier=name, context_length=options.context_length if options else None
        )

    def check_load_options(self, options: LoadOptions) -> None:
        """Refuse, before any work, what Ollama's load cannot honour (ConfigError)."""
        if options.identifier is not None:
            raise ConfigError(
                "Ollama has no instance identifiers: a model is addressed by its name "
                f"({options.identifier!r} cannot be given); leave --identifier out"
            )
        if options.gpu not in (None, "off", "max"):
            raise ConfigError(
                f"Ollama takes no GPU offload ratio (gpu={options.gpu!r}): use 'off' (CPU only) "
                "or 'max' (Ollama's default, as many layers as fit)"
            )

    def _load_request(self, options: LoadOptions) -> tuple[str | int, dict[str, Any]]:
        self.check_load_options(options)
        model_options: dict[str, Any] = {}
        if options.context_length is not None:
            model_options["num_ctx"] = options.context_length
        if options.gpu == "off":
            model_options["num_gpu"] = 0
        keep_alive: str | int = self.keep_alive if options.ttl is None else f"{options.ttl}s"
        if options.ttl == -1:
            keep_alive = -1  # never unload
        return keep_alive, model_options

    def estimate(
        self, model: str, options: LoadOptions | None = None, memory: Memory | None = None
    ) -> Estimate:
        """Weights (``/api/tags``; before the download, the registry manifest) + KV cache
        for the context (``/api/show``) + compute allowance, against ``memory`` (default:
        this machine's, when the server runs here; unknown for a remote server). A registry
        that cannot be reached gives the verdict ``unknown``, naming it and its error."""
        name = self.spell(model)
        options = options or LoadOptions()
        self.check_load_options(options)
        ctx = options.context_length or self.default_context
        listed = next((m for m in self.api.tags().models if self.matches(name, m.name)), None)
        if listed is not None and listed.size:
            show = self.api.show(name)
            kv = kv_cache_bytes(
                show.block_count, show.head_count, show.head_count_kv, show.embedding_length, ctx
            )
            weights, source = listed.size, "ollama /api/tags + /api/show"
            note = "" if kv else "; its KV cache is not counted (/api/show gives no shape)"
        else:
            source, registry_url = "ollama /v2/manifests", self._registry_for(name)
            try:
                with OllamaAPI(registry_url) as registry:
                    weights, kv = registry.manifest(name).weights_bytes, None
            except ModelNotFoundError:
                raise
            except LmsdriveError as exc:  # the registry, not the local server, failed
                return Estimate(
                    model=name,
                    verdict="unknown",
                    reason=f"{name}'s size is not known before the download: the registry at "
                    f"{registry_url} cannot be reached ({_registry_cause(exc)}). Check this "
                    "machine's network (or proxy), or download the model first and ask again",
                    source=source,
                    context_length=ctx,
                    gpu=options.gpu,
                )
            note = f"; before the download the KV cache of {ctx} tokens is not counted"
        if memory is None and not self.remote:
            memory = machine_memory()
        return judge(
            name,
            needed_bytes(weights, kv),
            memory,
            source=source,
            context_length=ctx,
            gpu=options.gpu,
            note=note,
        )

    def _registry_for(self, name: str) -> str:
        parts = name.split("/")
        return f"https://{parts[0]}" if len(parts) == 3 and "." in parts[0] else self.registry

    def loaded_models(self) -> list[LoadedModel]:
        return [
            LoadedModel(
                name=m.name,
                identifier=m.name,
                size_bytes=m.size,
                context_length=m.context_length,
            )
            for m in self.api.ps().models
        ]

    def unload(self, model: str) -> None:
        self.api.unload(self.spell(model))

    def check_delete(self, model: str) -> None:
        """Ollama can delete (``DELETE /api/delete``): nothing to refuse."""

    def delete(self, model: str) -> None:
        """Unload ``model`` if it is loaded (``ollama rm`` does so since v0.3.13: the runner
        holds the file), then ``DELETE /api/delete``."""
        name = self.spell(model)
        if self.is_loaded(name):
            self.api.unload(name)
        self.api.delete(name)

    def version(self, *, server: bool = True) -> str | None:
        """The server's version (``/api/version``); without a server, the CLI's own."""
        if server:
            try:
                return self.api.version()
            except LmsdriveError:
                return None
        try:
            v = live(
                ollama_version.parse,
                run([str(self.binary()), "--version"], timeout=10),
                "ollama --version",
            )
        except (LmsdriveError, OSError):
            return None
        return v.server_version or v.client_version

    # -- chat, embeddings, capabilities ------------------------------------------------------
    reports_thinking: ClassVar[bool] = True

    def _model_capabilities(self, name: str) -> frozenset[str] | None:
        """``POST /api/show`` ``capabilities`` (v0.6.4+; ``None`` on an older server)."""
        caps = self.api.show(name).capabilities
        return None if caps is None else frozenset(caps)

    def _chat_options(
        self, options: Mapping[str, Any] | None, think: bool | str | None
    ) -> dict[str, Any]:
        return {"options": options, "think": think}
