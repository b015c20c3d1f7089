"""LM Studio: the ``lms`` CLI for server, downloads and loading; the OpenAI-compatible HTTP
API to check state and to generate.

| operation | how |
|---|---|
| installed? | ``lms`` on PATH or in LM Studio's install dirs (no process spawned) |
| running? downloaded? loaded? | ``GET /api/v0/models``; ``lms ls --json`` (remote: |
|  | ``GET /api/v1/models``) if it cannot tell |
| start | ``lms server start --port N [--bind ADDR] [--cors]``; ready at ``Success! Server is now |
|  | running on port N`` |
| pull | ``lms get NAME -y``, progress streamed through the ``lms get`` parser |
| load / unload | ``lms load NAME -y [--context-length N --gpu X --ttl S --identifier ID]`` / |
|  | ``lms unload ID`` |
| generate / chat | ``POST /v1/chat/completions`` |
| embed | ``POST /v1/embeddings`` |
| capabilities | ``GET /api/v0/models`` ``type`` (``embeddings``, ``llm``, ``vlm``), once |

When the server is remote, or no ``lms`` is installed here (:attr:`via_api`), models are listed,
downloaded, loaded and unloaded through LM Studio's REST API v1 (0.4+): ``GET /api/v1/models``,
``POST /api/v1/models/download`` then ``GET /api/v1/models/download/status/{job_id}`` polled
every :attr:`poll_interval` seconds, ``POST /api/v1/models/load`` and ``/unload``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from .._types import (
    DaemonState,
    Estimate,
    LoadedModel,
    LoadOptions,
    LocalModel,
    Progress,
    Readiness,
    StartResult,
)
from ..errors import (
    APIError,
    CapabilityError,
    CommandError,
    CommandTimeoutError,
    ConfigError,
    LmsdriveError,
    ModelNotFoundError,
    NotInstalledError,
    PullError,
    ServerNotRunningError,
    ServerStartError,
    ServerTooOldError,
    pull_failed_hint,
)
from ..estimate import Memory, judge, machine_memory, needed_bytes
from ..http.lmstudio import LMStudioAPI
from ..parsers import (
    lms_daemon_down,
    lms_daemon_status,
    lms_daemon_up,
    lms_get,
    lms_load,
    lms_ls,
    lms_ps,
    lms_server_start,
    lms_server_stop,
    lms_unload,
    lms_version,
)
from ..parsers._base import Result
from ..parsers.lms_api_v1_download import LmsApiV1DownloadResult
from ..parsers.lms_api_v1_models import V1Model
from ..runner import run
from ..runtimes.lmstudio import LMSTUDIO
from ..transcript import Transcript
from ._download_plan import read_download_plan
from ._locks import machine_lock
from ._pull import PullOutcome, live, stream_progress
from ._started import StartedServer, record_started
from .base import PullReader, RuntimeBackend

#: The fact an lms without the ``daemon`` command is reported as.
NO_DAEMON_COMMAND = (
    "this lms has no `daemon` command (an LM Studio older than 0.4): it has no headless "
    "daemon (llmster) to report"
)


def _tail(t: Transcript, n: int = 10) -> str:
    lines = t.text.strip().splitlines()[-n:]
    return "\n".join(f"    {line}" for line in lines) or "    (no output)"


class LMStudioBackend(RuntimeBackend):
    """Drive LM Studio through ``lms`` and its HTTP server at ``url``."""

    spec = LMSTUDIO
    api: LMStudioAPI
    lists_offline = True
    pull_says_present = True

    def __init__(
        self,
        url: str | None = None,
        *,
        binary: str | os.PathLike[str] | None = None,
        command_timeout: float = 120.0,
        pull_idle_timeout: float = 600.0,
        api: LMStudioAPI | None = None,
        api_token: str | None = None,
        remote: bool | None = None,
        poll_interval: float = 0.5,
    ) -> None:
        super().__init__(url, binary=binary, api=api, api_token=api_token, remote=remote)
        self.command_timeout = command_timeout
        self.pull_idle_timeout = pull_idle_timeout
        #: Seconds between two download-status requests of an API download (at most 0.5).
        self.poll_interval = min(poll_interval, 0.5)

    def _make_api(self, url: str, api_token: str | None) -> LMStudioAPI:
        return LMStudioAPI(url, api_token=api_token)

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
        if self.via_api:  # one more request: what REST v1 lists (downloaded and loaded)
            entry = self._v1_entry(model)
            return Readiness(
                True, downloaded=entry is not None, loaded=bool(entry and entry.loaded_instances)
            )
        # /api/v0/models lists only loaded models when JIT loading is off: ask lms.
        downloaded = self.has_model(model)
        return Readiness(True, downloaded=downloaded, loaded=downloaded and self.is_loaded(model))

    def probe(self, models: Sequence[str]) -> list[Readiness]:
        """:meth:`readiness` of every model through the server's API only, never ``lms``:
        ``/api/v0/models`` (the state of each model it lists), then ``/api/v1/models`` for
        those it does not list: two requests at most. A server without LM Studio's REST API
        (another OpenAI-compatible server) serves what its ``/v1/models`` lists; an LM Studio
        without REST v1 leaves "downloaded" unknown for a model v0 does not list. A server
        that wants a token raises :class:`~lmsdrive.errors.AuthenticationError`."""
        for model in models:
            self.spell(model)  # a bad name is refused before any request
        try:
            v0 = self.api.models_v0().models
        except ServerNotRunningError:
            return [Readiness(running=False) for _ in models]
        except APIError:
            ids = self.api.model_ids()
            served = [any(self.matches(m, i) for i in ids) for m in models]
            return [Readiness(True, downloaded=s, loaded=s) for s in served]
        found = {
            m: Readiness(True, downloaded=True, loaded=e.state == "loaded")
            for m in models
            for e in v0
            if self.matches(m, e.id)
        }
        if len(found) < len(models):
            try:
                v1 = self.api.models_v1().models
            except (APIError, ServerTooOldError):
                v1 = None
            for m in models:
                if m in found:
                    continue
                e = next((x for x in v1 or [] if self._v1_names(m, x)), None)
                known = None if v1 is None else e is not None
                found[m] = Readiness(True, downloaded=known, loaded=bool(e and e.loaded_instances))
        return [found[m] for m in models]

    def start(
        self, timeout: float = 60.0, *, bind: str | None = None, cors: bool = False
    ) -> StartResult:
        """``lms server start --port N`` (``--bind ADDR``: listen there, e.g. ``0.0.0.0``;
        ``--cors``); already running is success."""
        args = ["server", "start", "--port", str(self.port)]
        if bind is not None:
            if not bind.strip() or bind.startswith("-") or any(c.isspace() for c in bind):
                raise ConfigError(f"bind={bind!r}: expected an address such as 0.0.0.0")
            args += ["--bind", bind]
        if cors:
            args.append("--cors")
        with machine_lock(f"lmstudio-{self.port}", timeout):
            if self.is_running():
                return StartResult(url=self._url, already_running=True)
            if self.remote:
                raise self.not_answering()
            t, result = self._server_start(args, timeout)
            daemon = None
            if result.kind == "server_not_running" and "daemon" in (result.error or "").lower():
                daemon = self.daemon_up()  # llmster is down and lms did not wake it
                t, result = self._server_start(args, timeout)
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
            self._record_start(daemon_started=daemon is not None)
            return StartResult(url=self._url, already_running=False, daemon=daemon)

    # -- stop what lmsdrive started (see RuntimeBackend.stop) ------------------------------
    def _daemon_identity(self) -> str | None:
        """The server runs inside LM Studio's daemon: it is the one lmsdrive started while
        that daemon (its PID) runs. ``None`` when ``lms daemon status`` cannot tell."""
        try:
            daemon = self.daemon_status()  # None: an lms without a daemon
        except LmsdriveError:
            return None
        pid = None if daemon is None else daemon.pid
        return None if pid is None else f"daemon-pid:{pid}"

    def _record_start(self, *, daemon_started: bool) -> None:
        ident = self._daemon_identity()
        pid = int(ident.rsplit(":", 1)[1]) if ident else None
        record_started(self.name, self._url, pid, ident, daemon_started=daemon_started)

    def _still_ours(self, rec: StartedServer) -> bool:
        return rec.identity is None or self._daemon_identity() == rec.identity

    def _stop_started(self, rec: StartedServer, timeout: float) -> None:
        """``lms server stop``; and ``lms daemon down`` when lmsdrive brought the daemon up."""
        t = self._run("server", "stop", timeout=timeout)
        result = live(lms_server_stop.parse, t, "lms server stop")
        if result.error and result.kind != "server_not_running":
            raise CommandError(f"`lms server stop` failed: {result.error}", t)
        if rec.daemon_started:
            self.daemon_down()

    def _server_start(
        self, args: list[str], timeout: float
    ) -> tuple[Transcript, lms_server_start.ServerStartResult]:
        try:
            t = self._run(*args, timeout=timeout)
        except CommandTimeoutError as exc:
            partial = getattr(exc, "transcript", None)
            shown = _tail(partial) if isinstance(partial, Transcript) else "    (no output)"
            raise ServerStartError(
                f"`lms server start` did not finish within {timeout:.0f}s.\nLast output:\n{shown}"
            ) from exc
        return t, live(lms_server_start.parse, t, "lms server start")

    # -- the headless daemon (llmster) -----------------------------------------------------
    def daemon_status(self) -> DaemonState | None:
        """``lms daemon status``: whether llmster (or the app as a service) runs; ``None``
        for an lms without the ``daemon`` command (older than 0.4), which goes to
        :attr:`notes` once and is not asked again."""
        if NO_DAEMON_COMMAND in self.notes:
            return None
        t = self._run("daemon", "status")
        r = live(lms_daemon_status.parse, t, "lms daemon status")
        if r.error and r.kind == "usage" and "unknown command" in r.error:
            self.notes.append(NO_DAEMON_COMMAND)
            return None
        if r.error:
            raise CommandError(f"`lms daemon status` failed: {r.error}", t)
        return DaemonState(r.running, r.pid, r.version, r.is_daemon)

    def daemon_up(self) -> DaemonState:
        """``lms daemon up``: start llmster (already running is success)."""
        t = self._run("daemon", "up")
        r = live(lms_daemon_up.parse, t, "lms daemon up")
        if r.error or r.outcome is None:
            raise ServerStartError(
                f"LM Studio's daemon (llmster) is not running and `lms daemon up` could not "
                f"start it: {r.error or f'exit status {t.exit_code}'}. Install llmster "
                "(https://lmstudio.ai/docs: `curl -fsSL https://lmstudio.ai/install.sh | bash`) "
                f"or open the LM Studio app, then try again.\nLast output:\n{_tail(t)}"
            )
        return DaemonState(True, r.pid, r.version, r.is_daemon)

    def daemon_down(self) -> str:
        """``lms daemon down``: stop llmster; returns the outcome (``stopped``,
        ``not_running``); the app running as the daemon is a :class:`CommandError`."""
        t = self._run("daemon", "down")
        r = live(lms_daemon_down.parse, t, "lms daemon down")
        if r.outcome == "refused" or r.outcome is None:
            raise CommandError(
                f"`lms daemon down` did not stop the daemon: {r.error or r.message}", t
            )
        return r.outcome

    # -- models --------------------------------------------------------------------------
    # -- REST API v1 (remote, or no lms here) -----------------------------------------------
    def _v1_models(self) -> list[V1Model]:
        """``GET /api/v1/models``; a local server that does not answer, with no ``lms`` here
        to start it, is the install hint."""
        try:
            return self.api.models_v1().models
        except ServerNotRunningError:
            if not self.remote and not self.is_installed():
                raise NotInstalledError(self.spec.install_hint) from None
            raise

    def _v1_entry(self, model: str) -> V1Model | None:
        return next((m for m in self._v1_models() if self._v1_names(model, m)), None)

    def _v1_names(self, model: str, entry: V1Model) -> bool:
        """Whether ``model`` names REST v1's ``entry`` (its key or a loaded instance's id)."""
        return self.matches(model, entry.key) or any(
            self.matches(model, i.id) for i in entry.loaded_instances
        )

    def _pull_api(self, name: str) -> Iterator[Progress]:
        """``POST /api/v1/models/download``, then its job's status polled every
        :attr:`poll_interval` s: one event per change (overall percent never goes back)."""
        job = self.api.download(name)
        best = 0.0
        seen: tuple[object, ...] | None = None
        changed = time.monotonic()
        while True:
            if job.status in ("completed", "already_downloaded"):
                total = job.total_size_bytes
                yield Progress(
                    phase="done",
                    item=name,
                    completed=total,
                    total=total,
                    percent=100.0,
                    overall_percent=100.0,
                    message=job.status,
                )
                return
            if job.status == "failed" or not job.job_id:
                raise PullError(
                    f"LM Studio at {self._url} reports the download of {name} as "
                    f"{job.status!r} (job {job.job_id}). {pull_failed_hint('')}"
                )
            key = (job.status, job.downloaded_bytes, job.total_size_bytes)
            if key != seen:
                seen, changed = key, time.monotonic()
                yield self._job_event(name, job, best)
                best = max(best, job.percent or 0.0)
            elif time.monotonic() - changed > self.pull_idle_timeout:
                raise PullError(
                    f"the download of {name} on LM Studio at {self._url} made no progress for "
                    f"{self.pull_idle_timeout:.0f} s (status {job.status!r}): check that host"
                )
            time.sleep(self.poll_interval)
            job = self.api.download_status(job.job_id)

    @staticmethod
    def _job_event(name: str, job: LmsApiV1DownloadResult, best: float) -> Progress:
        pct = job.percent
        return Progress(
            phase="downloading",
            item=name,
            completed=job.downloaded_bytes,
            total=job.total_size_bytes,
            percent=pct,
            overall_percent=None if pct is None else max(best, pct),
            speed_bytes_per_s=job.bytes_per_second,
            message=job.status,
        )

    def check_load_options(self, options: LoadOptions) -> None:
        """Refuse, before any work, what the load path cannot honour: REST API v1 (remote,
        or no ``lms`` here) takes only a context length; ``lms load`` takes them all."""
        if not self.via_api:
            return
        unsupported = [
            flag
            for flag, value in (
                ("gpu", options.gpu),
                ("ttl", None if options.ttl == -1 else options.ttl),
                ("identifier", options.identifier),
            )
            if value is not None
        ]
        if unsupported:
            raise ConfigError(
                "LM Studio's REST API v1 load takes only a context length; "
                f"{', '.join(unsupported)} need `lms load` on the server's machine "
                f"({self._url}): leave them out here"
            )

    def _load_api(self, name: str, options: LoadOptions) -> LoadedModel:
        self.check_load_options(options)
        result = self.api.load_v1(name, context_length=options.context_length)
        ident = result.instance_id or name
        return LoadedModel(name=name, identifier=ident, context_length=result.context_length)

    def _unload_api(self, name: str) -> None:
        entry = self._v1_entry(name)
        if entry is None or not entry.loaded_instances:
            raise ModelNotFoundError(f"{name} is not loaded on LM Studio at {self._url}")
        for inst in entry.loaded_instances:
            self.api.unload_v1(inst.id)

    # -- models --------------------------------------------------------------------------
    def list_models(self) -> list[LocalModel]:
        if self.via_api:
            return [
                LocalModel(name=m.key, size_bytes=m.size_bytes, type=m.type)
                for m in self._v1_models()
            ]
        t = self._run("ls", "--json")
        if t.exit_code not in (0, None) and "unknown option" in t.text:
            t = self._run("ls")  # an lms too old for --json
        result = live(lms_ls.parse, t, "lms ls")
        if result.error:
            raise CommandError(f"`lms ls` failed: {result.error}", t)
        return [
            LocalModel(name=m.key, size_bytes=m.size_bytes, type=m.type)
            for m in result.models
            if m.key
        ]

    def _pull_command(self, name: str) -> tuple[list[str], PullReader, str]:
        """``lms get NAME -y``, its bars read by the ``lms get`` parser."""
        return ["get", name, "-y"], lms_get.GetReader(), "lms get"

    @staticmethod
    def _pulled(result: Result | None) -> bool:
        return isinstance(result, lms_get.LmsGetResult) and not result.error

    @staticmethod
    def load_args(options: LoadOptions) -> list[str]:
        """The ``lms load`` flags of ``options`` (docs/reference/runtimes-2026.md §4.2)."""
        args: list[str] = []
        if options.context_length is not None:
            args += ["--context-length", str(options.context_length)]
        if options.gpu is not None:
            args += ["--gpu", options.gpu if isinstance(options.gpu, str) else f"{options.gpu:g}"]
        if options.ttl is not None and options.ttl != -1:  # -1: lms load's default, no TTL
            args += ["--ttl", str(options.ttl)]
        if options.identifier is not None:
            args += ["--identifier", options.identifier]
        return args

    def load(self, model: str, options: LoadOptions | None = None) -> LoadedModel:
        """``lms load MODEL -y`` with the ``options`` flags (its spinner/percent read as
        ``loading`` events); ``POST /api/v1/models/load`` when :attr:`via_api`."""
        name = self.spell(model)
        options = options or LoadOptions()
        if self.via_api:
            return self._load_api(name, options)
        outcome = PullOutcome()
        for _ in stream_progress(
            [str(self.binary()), "load", name, "-y", *self.load_args(options)],
            lms_load.LoadReader(),
            outcome,
            idle_timeout=self.command_timeout,
            command="lms load",
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
        return LoadedModel(
            name=result.model_key or ident, identifier=ident, context_length=options.context_length
        )

    def estimate(
        self, model: str, options: LoadOptions | None = None, memory: Memory | None = None
    ) -> Estimate:
        """A downloaded model: ``lms load MODEL --estimate-only -y`` (with
        ``--context-length``/``--gpu``), judged by LM Studio's own resource guardrails
        (``memory`` is not used: LM Studio knows its machine). A model not downloaded: the
        download size of the plan ``lms get MODEL`` shows before it asks to download
        (answered with Ctrl-C: nothing is downloaded; :mod:`._download_plan`), judged
        against ``memory`` (default: this machine's) by :func:`lmsdrive.estimate.judge`,
        without its KV cache. A model LM Studio cannot find raises
        :class:`ModelNotFoundError`. Both need ``lms`` on the server's machine: a remote LM
        Studio, or one without ``lms`` here, raises :class:`CapabilityError` (its REST API
        estimates nothing)."""
        name = self.spell(model)
        options = options or LoadOptions()
        if self.via_api:
            where = "another machine" if self.remote else "a machine without `lms`"
            raise CapabilityError(
                f"LM Studio at {self._url} is on {where}: LM Studio estimates a model's memory "
                "only with `lms` where it runs (`lms load --estimate-only`; before the "
                f"download, `lms get`'s plan); run `lmsdrive fit {name}` on that machine"
            )
        flags = self.load_args(LoadOptions(context_length=options.context_length, gpu=options.gpu))
        t = self._run("load", name, "--estimate-only", "-y", *flags)
        r = live(lms_load.parse, t, "lms load --estimate-only")
        source = "lms load --estimate-only"
        if r.kind == "model_not_found":
            return self._estimate_from_plan(name, options, memory)
        if r.error or r.outcome != "estimate" or r.total_memory_bytes is None:
            raise CommandError(
                f"`lms load --estimate-only` gave no estimate for {name}: "
                f"{r.error or f'exit status {t.exit_code}'}",
                t,
            )
        total, on_gpu = r.total_memory_bytes, r.gpu_memory_bytes or 0
        if r.passes_guardrails is False:
            verdict, how = "does_not_fit", "does not fit (LM Studio's guardrails would refuse it)"
        elif on_gpu >= total:
            verdict, how = "fits", "fits on the GPU"
        elif on_gpu > 0:
            verdict, how = "partial", f"fits partly on the GPU ({r.gpu_memory_text})"
        else:
            verdict, how = "fits", "fits in RAM"
        low = " (LM Studio's confidence: LOW)" if r.confidence else ""
        return Estimate(
            model=name,
            verdict=verdict,
            reason=f"{name} {how}: it needs about {r.total_memory_text}{low}",
            source=source,
            needed_bytes=total,
            gpu_bytes=r.gpu_memory_bytes,
            context_length=r.context_length or options.context_length,
            gpu=options.gpu,
        )

    def _estimate_from_plan(
        self, name: str, options: LoadOptions, memory: Memory | None
    ) -> Estimate:
        """Before the download: the size ``lms get NAME``'s plan shows, never confirmed."""
        plan = read_download_plan([str(self.binary()), "get", name], self.command_timeout)
        r, source = plan.result, "lms get (download plan)"

        def unknown(reason: str) -> Estimate:
            return Estimate(
                model=name,
                verdict="unknown",
                reason=reason,
                source=source,
                context_length=options.context_length,
                gpu=options.gpu,
            )

        if plan.started:
            raise CommandError(
                f"`lms get {name}` went on to download without asking first (an lms older "
                "than Apr 2026?), and lmsdrive stopped it at once: check `lmsdrive list` and "
                "LM Studio's downloads. Download the model first, then ask again",
                plan.transcript,
            )
        if r.kind == "model_not_found":
            raise ModelNotFoundError(
                f"LM Studio cannot find {name} to download: {r.error}", model=name, detail=r.error
            )
        if r.error:
            raise CommandError(
                f"`lms get {name}` showed no download plan: {r.error}", plan.transcript
            )
        if r.outcome == "already_downloaded":
            return unknown(
                f"LM Studio has {name} downloaded, yet `lms load --estimate-only` does not "
                "find it by that name: ask again with its key as `lmsdrive list` shows it"
            )
        if plan.searched:
            return unknown(
                f"this lms searches Hugging Face for {name} (an lms older than Apr 2026), and "
                "would download a match without asking first, so it was stopped before it "
                "chose: update LM Studio, or download the model first and ask again"
            )
        if r.outcome == "awaiting_selection":
            return unknown(
                f"`lms get {name}` asks which model to download rather than showing one plan: "
                "name the model by its LM Studio key (owner/name, e.g. qwen/qwen3-8b)"
            )
        if r.download_size_bytes is None:
            raise CommandError(
                f"`lms get {name}` showed no download size (outcome {r.outcome!r})",
                plan.transcript,
            )
        if memory is None:
            memory = machine_memory()  # lms runs here: the server is local
        return judge(
            name,
            needed_bytes(r.download_size_bytes, None),
            memory,
            source=source,
            context_length=options.context_length,
            gpu=options.gpu,
            note=f"; from its {r.download_size_text} download: before the download the KV "
            "cache is not counted",
        )

    def loaded_models(self) -> list[LoadedModel]:
        if self.via_api:
            return [
                LoadedModel(
                    name=m.key,
                    identifier=i.id,
                    size_bytes=m.size_bytes,
                    context_length=i.context_length,
                )
                for m in self._v1_models()
                for i in m.loaded_instances
            ]
        t = self._run("ps", "--json")
        result = live(lms_ps.parse, t, "lms ps")
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
        if self.via_api:
            self._unload_api(name)
            return
        missing = self._unload_cli(name)
        if missing is None:
            return
        # `lms unload` takes an instance identifier; a model loaded with `--identifier` is
        # unloaded by its key too (as the REST v1 path does)
        idents = [m.identifier for m in self.loaded_models() if self.matches(name, m.name)]
        if not idents or any(self._unload_cli(i) is not None for i in idents):
            raise ModelNotFoundError(missing)

    def _unload_cli(self, ident: str) -> str | None:
        """``lms unload IDENT``: ``None`` when done, the error when nothing has that id."""
        t = self._run("unload", ident)
        result = live(lms_unload.parse, t, "lms unload")
        if result.error and result.kind != "model_not_found":
            raise CommandError(f"Unloading {ident} failed: {result.error}", t)
        return result.error

    def version(self, *, server: bool = True) -> str | None:
        """The CLI's version (``lms version``), with or without a server."""
        try:
            t = self._run("version")
            r = live(lms_version.parse, t, "lms version")
        except LmsdriveError:
            return None
        return r.semver or r.cli_commit

    # -- chat, embeddings, capabilities ------------------------------------------------------
    def _model_capabilities(self, name: str) -> frozenset[str] | None:
        """From ``/api/v0/models``: ``type`` ``embeddings`` → ``embedding``, ``llm`` →
        ``completion``, ``vlm`` → ``completion`` + ``vision``; ``tool_use`` → ``tools``
        (an LM Studio before 0.3.16 sends no ``capabilities``: it does not say, and tools
        are then not refused). ``None`` when the model is not listed (JIT off, not loaded)
        or there is no v0 API."""
        for m in self.api.models_v0().models:
            if self.matches(name, m.id):
                caps = {"tools"} if "tool_use" in (m.capabilities or []) else set()
                if m.type == "embeddings":
                    caps.add("embedding")
                elif m.type in ("llm", "vlm"):
                    caps.add("completion")
                    if m.type == "vlm":
                        caps.add("vision")
                    if m.capabilities is None:
                        caps.add("tools")  # not said: not refused
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
