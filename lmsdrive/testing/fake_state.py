"""The state shared by the fake ``ollama``/``lms`` commands and the fake HTTP server.

One JSON file (its path in ``LMSDRIVE_FAKE_STATE``) holds what a real installation keeps on
disk and in its daemons: downloaded models, loaded models, the registry of pullable names,
running servers (pid, port) and the scenario knobs that inject faults. Every process of a
fake runtime (CLI invocations, ``ollama serve``, the detached LM Studio server) reads and
writes it under an exclusive ``fcntl`` lock on ``<state>.lock``; writes are atomic
(temporary file + rename), so readers never see half a file.

Beside the state file, in the same directory, two append-only logs count what tests care
about: ``spawns.jsonl`` (one line per fake CLI invocation) and ``requests.jsonl`` (one line
per HTTP request a fake server answered).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .fakes import FAKES

ENV_STATE = "LMSDRIVE_FAKE_STATE"
#: Set in the environment of processes a fake runtime starts for its own setup: their
#: invocations are not logged as spawns.
ENV_NO_SPAWN_LOG = "LMSDRIVE_FAKE_NO_SPAWN_LOG"
#: The PID of the process that made the fake runtime: its servers end when it is gone.
ENV_OWNER = "LMSDRIVE_FAKE_OWNER"
BACKENDS = tuple(FAKES)


@dataclass
class Knobs:
    """Scenario knobs: versions, timing, and the faults a test can switch on."""

    ollama_version: str = "0.12.3"
    lms_commit: str = "ac18535"
    #: Duration of a whole download (``ollama pull``, ``/api/pull``, ``lms get``), seconds.
    pull_seconds: float = 0.5
    #: Progress updates of the largest layer / file during a download.
    pull_frames: int = 8
    #: The server (``ollama serve``, the LM Studio service) dies when a download passes this
    #: overall percentage.
    pull_dies_at_percent: float | None = None
    #: A download fails half way with this runtime error (without ``Error: ``), e.g. a full
    #: disk: Ollama's server ends ``/api/pull`` with ``{"error": ...}`` (``ollama pull`` prints
    #: ``Error: ...``), ``lms get`` prints ``Error: ...``; nothing is recorded as downloaded.
    pull_error: str | None = None
    #: ``ollama serve`` prints its first log lines (socket bound) but never its readiness line
    #: and never answers; ``lms server start`` hangs on ``Waking up LM Studio service...``.
    serve_hangs: bool = False
    #: How long a hanging ``lms server start`` waits before giving up like the real one.
    hang_seconds: float = 3600.0
    #: Informational: :class:`~lmsdrive.testing.runtime.FakeRuntime` holds both ports with
    #: a foreign HTTP responder, so binds fail for real.
    port_taken: bool = False
    #: What generation answers; ``None``: a deterministic sentence quoting the prompt (and,
    #: for a JSON schema, a value that fits it). Set, it is the answer to every format.
    generate_text: str | None = None
    #: The model runner crashes on generation (Ollama 500, LM Studio 400 error object).
    generate_dies: bool = False
    #: Pause between streamed tokens, seconds.
    token_seconds: float = 0.0
    #: Duration of ``lms load`` / an Ollama load, seconds.
    load_seconds: float = 0.2
    #: ``lms server start`` gives its server this many probes this far apart to answer, as
    #: the real one does (5 x 1 s, reference lms-cli.md §4.2); it probes more often within
    #: that time, so a quick server is reported without waiting for the next 1-s step.
    lms_verify_attempts: int = 5
    lms_verify_interval: float = 1.0
    #: LM Studio's Just-In-Time loading, on by default as in LM Studio: ``/v1/models`` and
    #: ``/api/v0/models`` list every downloaded model (``"state": "not-loaded"`` until it is
    #: loaded) and a chat or embeddings request loads its model. False: they list only loaded
    #: models and a request for another one is refused (docs/reference/runtimes-2026.md §6.3).
    lms_jit: bool = True
    #: The LM Studio service cannot be woken up (commands that need it fail like the real lms).
    lms_service_fails: bool = False
    #: lms commands wake a stopped daemon (llmster) themselves, as the real lms does when it
    #: finds an install. False: they fail as the real-cli-no-daemon recordings show (``Error: LM
    #: Studio daemon is not running and no valid installation could be found or installed.``,
    #: exit 1) until ``lms daemon up`` starts it.
    lms_daemon_wakes: bool = True
    #: False: no llmster install either, so ``lms daemon up`` fails with that error too.
    lms_daemon_installed: bool = True
    #: What ``lms daemon status``/``up --json`` print as llmster's version.
    lms_daemon_version: str = "0.0.20+1"
    #: The fake servers require ``Authorization: Bearer <api_token>`` on every route but
    #: ``/lmstudio-greeting``: HTTP 401 without it or with another one (LM Studio: the
    #: ``invalid_api_key`` body of docs/reference/runtimes-2026.md §3.3; Ollama, as a proxy in front
    #: of it answers: ``{"error":"unauthorized"}``).
    api_token: str | None = None
    #: The fake LM Studio serves REST API v1 (0.4+). False: an older LM Studio, whose v1
    #: routes get HTTP 200 ``{"error":"Unexpected endpoint or method. (GET /api/v1/models)"}``.
    lms_rest_v1: bool = True
    #: The fake lms has the ``daemon`` command (0.4+). False: an older lms, which answers it as
    #: Commander.js answers any unknown command (``error: unknown command 'daemon'``, exit 1).
    lms_daemon_command: bool = True
    #: The memory LM Studio's resource guardrails allow a model (``lms load
    #: --estimate-only``: "may be loaded" up to this, "will fail to load" above).
    lms_guardrail_bytes: int = 32 << 30


@dataclass
class RegistryEntry:
    """A pullable model: its layers (bytes, the weights first) and metadata."""

    layers: list[int]
    params: str = "3.2B"
    quantization: str = "Q4_K_M"
    family: str = "llama"
    type: str = "llm"
    context_length: int = 131072
    #: 12-hex prefixes of the layer digests (real ones where known); derived when empty.
    digests: list[str] = field(default_factory=list)
    #: LM Studio hub artifacts: the manifest's size (``↓ To download: model KEY - 171.39 KB``)
    #: and the file's display name in the plan (derived from the key when empty).
    manifest_size: int = 171390
    display_name: str = ""

    @property
    def size(self) -> int:
        return sum(self.layers)

    def layer_digests(self, name: str) -> list[str]:
        """Full ``sha256:<64 hex>`` digests of the layers."""
        out = []
        for i, _ in enumerate(self.layers):
            prefix = self.digests[i] if i < len(self.digests) else ""
            tail = hashlib.sha256(f"{name}#{i}#{prefix}".encode()).hexdigest()
            out.append("sha256:" + (prefix + tail)[:64])
        return out


@dataclass
class Model:
    """A downloaded model (Ollama name with tag, or LM Studio model key)."""

    name: str
    size: int
    digest: str
    modified_at: float
    params: str = "3.2B"
    quantization: str = "Q4_K_M"
    family: str = "llama"
    type: str = "llm"
    context_length: int = 131072
    #: What a runtime says of the model beyond these fields, in its own keys (LM Studio's
    #: ModelInfo: ``displayName``, ``path``, ``variants``, ``vision``, ...); the fake derives
    #: the keys missing here.
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Loaded:
    """A loaded model instance."""

    name: str
    identifier: str
    size: int
    context_length: int = 4096
    loaded_at: float = 0.0
    #: Unix time it unloads; ``None`` = never (Ollama keep_alive < 0, lms without TTL).
    expires_at: float | None = None
    ttl_seconds: int | None = None
    #: Loaded by a request under LM Studio's JIT loading (Auto-Evict unloads it for the next).
    jit: bool = False


@dataclass
class Server:
    pid: int
    port: int


@dataclass
class BackendState:
    downloaded: list[Model] = field(default_factory=list)
    loaded: list[Loaded] = field(default_factory=list)
    server: Server | None = None
    #: LM Studio only: the background service (woken by lms), and the HTTP server port of
    #: ``.internal/http-server-config.json`` (last used).
    service_running: bool = False
    config_port: int | None = None
    #: LM Studio only: the PID ``lms daemon up|status`` print for the running daemon.
    daemon_pid: int | None = None

    def find(self, name: str) -> Model | None:
        for m in self.downloaded:
            if m.name == name:
                return m
        return None

    def live_loaded(self, now: float | None = None) -> list[Loaded]:
        """Loaded instances whose keep-alive has not expired."""
        now = time.time() if now is None else now
        return [x for x in self.loaded if x.expires_at is None or x.expires_at > now]


def _default_registry() -> dict[str, RegistryEntry]:
    # llama3.2:3b: the layer digests and sizes of the real pull in
    # fixtures/ollama/pull/pingcap102-success-colon (2.0 GB, 1.4 KB, 7.7 KB, 6.0 KB, 96 B, 561 B).
    llama32 = RegistryEntry(
        layers=[2019377376, 1429, 7711, 6016, 96, 561],
        params="3.2B",
        digests=[
            "dde5aa3fc5ff",
            "966de95ca8a6",
            "fcc5a6bec9da",
            "a70ff7e570d9",
            "56bb8bd477a5",
            "34bb5ab01051",
        ],
    )
    return {
        "llama3.2:3b": llama32,
        "llama3.2:latest": llama32,
        "llama3.2:1b": RegistryEntry(layers=[1321082688, 1429, 7711, 6016, 96, 485], params="1.2B"),
        "qwen2.5:0.5b": RegistryEntry(
            layers=[397807936, 1482, 11343, 11357, 488], params="494.03M", family="qwen2"
        ),
        "smollm2:135m": RegistryEntry(
            layers=[270898464, 1429, 11357, 138, 490], params="134.52M", quantization="F16"
        ),
        "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M": RegistryEntry(
            layers=[807694464, 1429, 191, 558], params="1.24B"
        ),
        # chat-and-embeddings fakes: an embedding model and a thinking model (Ollama), a
        # reasoning model (LM Studio); sizes of the weights as the library lists them.
        "nomic-embed-text:latest": RegistryEntry(
            layers=[274290656, 11357, 420],
            params="137M",
            quantization="F16",
            family="nomic-bert",
            type="embedding",
            context_length=2048,
        ),
        "qwen3:0.6b": RegistryEntry(
            layers=[522650208, 1482, 11343, 488], params="751.63M", family="qwen3"
        ),
        "openai/gpt-oss-20b": RegistryEntry(
            layers=[12109566560], params="20B", family="gptoss", quantization="MXFP4"
        ),
        # a vision model without tool calling (Ollama's library: completion, vision)
        "gemma3:4b": RegistryEntry(
            layers=[3338792448, 8378, 358, 77, 492], params="4.3B", family="gemma3"
        ),
        # LM Studio model keys (hub artifacts)
        "qwen/qwen3-4b": RegistryEntry(
            layers=[2497281088], params="4B", family="qwen3", context_length=40960
        ),
        "qwen/qwen3-8b": RegistryEntry(
            layers=[5027783488], params="8B", family="qwen3", context_length=40960
        ),
        "google/gemma-3-1b": RegistryEntry(
            layers=[720425472], params="1B", family="gemma3", context_length=32768
        ),
        "google/gemma-3-4b": RegistryEntry(
            layers=[3341081856], params="4B", family="gemma3", context_length=131072
        ),
        "text-embedding-nomic-embed-text-v1.5": RegistryEntry(
            layers=[84106624],
            params="",
            family="nomic-bert",
            type="embedding",
            context_length=2048,
            quantization="Q4_K_M",
        ),
    }


@dataclass
class FakeState:
    """Every runtime's side (``st.ollama``, ``st.lms``: one per registered fake), the
    registry of pullable names and the knobs."""

    sides: dict[str, BackendState] = field(
        default_factory=lambda: {b: BackendState() for b in BACKENDS}
    )
    registry: dict[str, RegistryEntry] = field(default_factory=_default_registry)
    knobs: Knobs = field(default_factory=Knobs)

    def __getattr__(self, name: str) -> BackendState:
        try:
            return self.__dict__["sides"][name]  # type: ignore[no-any-return]
        except KeyError:
            raise AttributeError(name) from None

    def backend(self, name: str) -> BackendState:
        if name not in self.sides:
            raise ValueError(f"unknown backend {name!r}; expected one of {BACKENDS}")
        return self.sides[name]

    # ----- JSON ---------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        return {**data.pop("sides"), **data}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FakeState:
        def backend(d: Mapping[str, Any]) -> BackendState:
            srv = d.get("server")
            return BackendState(
                downloaded=[Model(**m) for m in d.get("downloaded", [])],
                loaded=[Loaded(**m) for m in d.get("loaded", [])],
                server=Server(**srv) if srv else None,
                service_running=bool(d.get("service_running", False)),
                config_port=d.get("config_port"),
                daemon_pid=d.get("daemon_pid"),
            )

        reg = data.get("registry")
        return cls(
            sides={b: backend(data.get(b, {})) for b in BACKENDS},
            registry=(
                {k: RegistryEntry(**v) for k, v in reg.items()}
                if reg is not None
                else _default_registry()
            ),
            knobs=Knobs(**data.get("knobs", {})),
        )


# ----- model helpers ----------------------------------------------------------------------
def make_model(name: str, entry: RegistryEntry | None = None, *, modified_at: float = 0.0) -> Model:
    """A downloaded model from its registry entry (or made-up, deterministic metadata)."""
    if entry is None:
        h = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
        entry = RegistryEntry(layers=[1_000_000_000 + h % 4_000_000_000, 1429, 96])
    return Model(
        name=name,
        size=entry.size,
        digest=hashlib.sha256(("manifest:" + name).encode()).hexdigest(),
        modified_at=modified_at or time.time(),
        params=entry.params,
        quantization=entry.quantization,
        family=entry.family,
        type=entry.type,
        context_length=entry.context_length,
    )


# ----- file access ------------------------------------------------------------------------
def state_path_from_env(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    value = env.get(ENV_STATE)
    if not value:
        raise RuntimeError(
            f"{ENV_STATE} is not set: run the fake runtimes through "
            "lmsdrive.testing.FakeRuntime (or set it to a state file)"
        )
    return Path(value)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(str(path) + ".lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _read(path: Path) -> FakeState:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return FakeState()
    return FakeState.from_json(json.loads(raw)) if raw.strip() else FakeState()


def _write(path: Path, state: FakeState) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state.to_json(), indent=1), encoding="utf-8")
    os.replace(tmp, path)


def load_state(path: Path | str) -> FakeState:
    """A snapshot of the state (a missing file is the default, empty state)."""
    path = Path(path)
    with _locked(path):
        return _read(path)


def save_state(path: Path | str, state: FakeState) -> None:
    path = Path(path)
    with _locked(path):
        _write(path, state)


@contextlib.contextmanager
def edit_state(path: Path | str) -> Iterator[FakeState]:
    """Read-modify-write under the lock: ``with edit_state(p) as st: st.knobs.x = 1``."""
    path = Path(path)
    with _locked(path):
        state = _read(path)
        yield state
        _write(path, state)


# ----- logs -------------------------------------------------------------------------------
def _append(path: Path, record: Mapping[str, Any]) -> None:
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)


def _read_log(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def spawn_log(state_path: Path | str) -> Path:
    return Path(state_path).with_name("spawns.jsonl")


def request_log(state_path: Path | str) -> Path:
    return Path(state_path).with_name("requests.jsonl")


def log_spawn(state_path: Path | str, argv: list[str]) -> None:
    _append(spawn_log(state_path), {"argv": argv, "pid": os.getpid(), "time": time.time()})


def log_request(state_path: Path | str, server: str, method: str, path: str) -> None:
    _append(
        request_log(state_path),
        {"server": server, "method": method, "path": path, "pid": os.getpid(), "time": time.time()},
    )


def read_spawns(state_path: Path | str) -> list[dict[str, Any]]:
    return _read_log(spawn_log(state_path))


def read_requests(state_path: Path | str) -> list[dict[str, Any]]:
    return _read_log(request_log(state_path))
