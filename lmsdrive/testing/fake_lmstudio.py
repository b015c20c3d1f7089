"""The fake LM Studio (``lms`` of 2026 and its server): the ``lms`` executable and its HTTP API.

``lms`` (E4/E5 formats of the shared reference notes; the real-cli recordings of lms
07b7252): ``server start|stop|status [--json]``, ``status``, ``ls``/``ps`` (``--json``),
``get NAME[@quant] [-y]`` (plan tree, bar frames with ``\\r``/``ESC[s``/``ESC[u``), ``load``
(spinner, GiB size, identifier line), ``unload``, ``version``/``-v``, ``daemon
up|down|status``. Commands that need LM Studio wake its service first (``Waking up LM Studio
service...``). Texts not recorded anywhere and therefore approximations: the error when the
service dies during ``lms get`` and the chat error for a model that is not loaded while
another one is.

The API (Express): ``/lmstudio-greeting``, ``/v1/models`` and ``/api/v0/models``
(pretty-printed; with Just-In-Time loading, on by default as in LM Studio, every downloaded
model, else only loaded ones), ``POST /v1/chat/completions`` (plain, or SSE ending with
``data: [DONE]``; a model not loaded is loaded by the request under JIT, else HTTP 400
error object; ``response_format``
``json_schema``/``json_object`` answered with JSON that fits; ``reasoning`` apart for the
gpt-oss family), ``POST /v1/embeddings`` (embedding models only), REST API v1 (0.4+: models
with ``loaded_instances``, a download job with progress, load, unload); any other route or
method: HTTP **200** ``{"error":"Unexpected endpoint or method. (POST /x)"}``; without the
token: 401 and the ``invalid_api_key`` body.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import string
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from . import _lmstudio_format as R
from .fake_cli import SPINNER, Conn, err, kill_pid, out, spawn_server
from .fake_server import (
    NO_TOOL_FAMILIES,
    VISION_FAMILIES,
    Handler,
    chat_answer,
    fake_tool_call,
    fake_vector,
    rfc3339,
    text_content,
    tokens_of,
)
from .fake_state import (
    BackendState,
    FakeState,
    Loaded,
    Model,
    RegistryEntry,
    edit_state,
    load_state,
    make_model,
)
from .fakes import FakeSpec

DEFAULT_PORT = 1234


def lms_key(name: str) -> str:
    """An LM Studio model key without its ``@quant`` variant selector."""
    return name.split("@", 1)[0]


# ----- the executable -------------------------------------------------------------------------


LMS_LOGO = (
    "   __   __  ___  ______          ___        _______   ____",
    "  / /  /  |/  / / __/ /___ _____/ (_)__    / ___/ /  /  _/",
    " / /__/ /|_/ / _\\ \\/ __/ // / _  / / _ \\  / /__/ /___/ /",
    "/____/_/  /_/ /___/\\__/\\_,_/\\_,_/_/\\___/  \\___/____/___/",
)
LMS_TAGLINE = "lms is LM Studio's CLI utility for your models, server, and inference runtime."


def greeting_ok(port: int, timeout: float = 0.5) -> bool:
    """``GET /lmstudio-greeting`` answers ``{"lmstudio": true}`` (what lms probes)."""
    try:
        status, data = Conn("127.0.0.1", port, timeout).json("GET", "/lmstudio-greeting")
    except (OSError, http.client.HTTPException):
        return False
    return status == 200 and isinstance(data, dict) and data.get("lmstudio") is True


_NO_DAEMON = (
    "LM Studio daemon is not running and no valid installation could be found or installed."
)
_NO_CONNECTION = "Failed to start or connect to local LM Studio API server."


class Lms:
    def __init__(self, state_path: Path) -> None:
        self.state_path = state_path
        self.state = load_state(state_path)
        self.quiet = False

    # --- output --------------------------------------------------------------------------
    def info(self, text: str) -> None:
        if not self.quiet:
            err(text + "\n")

    def warn(self, text: str) -> None:
        self.info("W " + text)

    def error(self, text: str) -> None:
        self.info("Error: " + text)

    def titled(self, title: str, body: str) -> None:
        self.info(f"{title}\n\n{body}")

    # --- entry ---------------------------------------------------------------------------
    def run(self, args: list[str]) -> int:
        if "--quiet" in args:
            self.quiet = True
            args = [a for a in args if a != "--quiet"]
        if not args:
            out(
                f"{LMS_TAGLINE}\nCLI commit: {self.state.knobs.lms_commit}\n\n"
                "Usage: lms [options] [command]\n"
            )
            return 0
        cmd, rest = args[0], args[1:]
        if cmd in ("-v", "--version"):
            out(f"CLI commit: {self.state.knobs.lms_commit}\n")
            return 0
        handlers: dict[str, Callable[[list[str]], int]] = {
            "server": self.server,
            "status": self.status,
            "ls": self.ls,
            "ps": self.ps,
            "get": self.get,
            "load": self.load,
            "unload": self.unload,
            "version": self.version,
            "daemon": self.daemon,
        }
        handler = handlers.get(cmd)
        if cmd == "daemon" and not self.state.knobs.lms_daemon_command:
            handler = None
        if handler is None:
            if cmd.startswith("-"):
                err(f"error: unknown option '{cmd}'\n")
            else:
                err(f"error: unknown command '{cmd}'\n")
            return 1
        return handler(rest)

    def _split(
        self, args: list[str], flags: set[str], options: set[str]
    ) -> tuple[list[str], set[str], dict[str, str]] | None:
        pos: list[str] = []
        seen: set[str] = set()
        opts: dict[str, str] = {}
        it = iter(args)
        for a in it:
            name, eq, value = a.partition("=")
            if name in options:
                v = value if eq else next(it, None)
                if v is None:
                    err(f"error: option '{name} <value>' argument missing\n")
                    return None
                opts[name] = v
            elif a in flags:
                seen.add(a)
            elif a.startswith("-") and a != "-":
                err(f"error: unknown option '{a}'\n")
                return None
            else:
                pos.append(a)
        return pos, seen, opts

    def _wake(self, *, daemon_up: bool = False) -> bool:
        """Make sure the LM Studio service runs, as lms does before talking to it."""
        if self.state.lms.service_running:
            return True
        knobs = self.state.knobs
        if not knobs.lms_daemon_installed or not (knobs.lms_daemon_wakes or daemon_up):
            self.error(_NO_DAEMON)
            self.error(_NO_CONNECTION)
            return False
        self.info("Waking up LM Studio service...")
        if knobs.lms_service_fails:
            self.error("Timed out waiting for LM Studio daemon to start.")
            self.error(_NO_CONNECTION)
            return False
        with edit_state(self.state_path) as st:
            st.lms.service_running = True
            st.lms.daemon_pid = os.getpid()
            self.state = st
        return True

    # --- daemon (llmster) ----------------------------------------------------------------
    def daemon(self, args: list[str]) -> int:
        sub, rest = (args[0], args[1:]) if args else ("", [])
        handlers = {"up": self.daemon_up, "down": self.daemon_down, "status": self.daemon_status}
        handler = handlers.get(sub)
        if handler is None:
            err(f"error: unknown command '{sub}'\n" if sub else "error: missing command\n")
            return 1
        parsed = self._split(rest, {"--json"} if sub != "down" else set(), set())
        if parsed is None:
            return 1
        return handler("--json" in parsed[1])

    def _daemon_json(self, *, version: bool) -> str:
        obj: dict[str, Any] = {"status": "running", "pid": self.state.lms.daemon_pid}
        obj["isDaemon"] = True
        if version:
            obj["version"] = self.state.knobs.lms_daemon_version
        return json.dumps(obj, separators=(",", ":")) + "\n"

    def daemon_up(self, as_json: bool) -> int:
        was_running = self.state.lms.service_running
        if not self._wake(daemon_up=True):
            return 1
        pid = self.state.lms.daemon_pid
        if as_json:
            out(self._daemon_json(version=True))
        elif was_running:
            out(f"The daemon is already running (PID: {pid}).\n")
        else:
            out(f"llmster started (PID: {pid}).\n")
        return 0

    def daemon_status(self, as_json: bool) -> int:
        running = self.state.lms.service_running
        if as_json:
            out(
                self._daemon_json(version=False)
                if running
                else json.dumps({"status": "not-running"}, separators=(",", ":")) + "\n"
            )
        elif running:
            version, pid = self.state.knobs.lms_daemon_version, self.state.lms.daemon_pid
            out(f"llmster v{version} is running (PID: {pid})\n")
        else:
            out("LM Studio is not running\n")
        return 0

    def daemon_down(self, as_json: bool) -> int:
        if not self.state.lms.service_running:
            self.info("Daemon is not running.")
            return 1
        self.info("Shutting down llmster...")
        self._service_died()
        with edit_state(self.state_path) as st:
            st.lms.daemon_pid = None
        self.info("Done.")
        return 0

    # --- server --------------------------------------------------------------------------
    def server(self, args: list[str]) -> int:
        sub, rest = (args[0], args[1:]) if args else ("", [])
        if sub == "start":
            return self.server_start(rest)
        if sub == "stop":
            return self.server_stop(rest)
        if sub == "status":
            return self.server_status(rest)
        err(f"error: unknown command '{sub}'\n" if sub else "error: missing command\n")
        return 1

    def server_start(self, args: list[str]) -> int:
        parsed = self._split(args, {"--cors"}, {"--port", "-p", "--bind"})
        if parsed is None:
            return 1
        _, flags, opts = parsed
        knobs = self.state.knobs
        port_text = opts.get("--port") or opts.get("-p")
        port = int(port_text) if port_text else (self.state.lms.config_port or DEFAULT_PORT)
        if knobs.serve_hangs:
            self.info("Waking up LM Studio service...")
            time.sleep(knobs.hang_seconds)
            self.error("Timed out waiting for LM Studio daemon to start.")
            self.error(_NO_CONNECTION)
            return 1
        if not self._wake():
            return 1
        if "--cors" in flags:
            self.warn(
                "CORS is enabled. This means any website you visit can use the LM Studio server."
            )
        bind = opts.get("--bind", "127.0.0.1")
        if bind not in ("127.0.0.1", "localhost"):
            self.warn(
                "Server will accept connections from the network. Only use this if you "
                "know what you are doing!"
            )
        with edit_state(self.state_path) as st:
            st.lms.config_port = port
        if greeting_ok(port):
            self.info(f"Success! Server is now running on port {port}")
            return 0
        proc = spawn_server(self.state_path, "lms", port)  # it records itself once bound
        # The real lms asks the running service to start its server and verifies it once
        # that request returns; here the request returns when the server process has bound
        # (it records itself), so a slow start of that Python process on a busy machine
        # does not eat the verification time.
        _started(self.state_path, proc)
        deadline = time.monotonic() + knobs.lms_verify_attempts * knobs.lms_verify_interval
        while time.monotonic() < deadline:
            if greeting_ok(port):
                self.info(f"Success! Server is now running on port {port}")
                return 0
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        kill_pid(proc.pid)
        with edit_state(self.state_path) as st:
            st.lms.server = None
        self.error("Failed to verify the server is running. Please try to use another port.")
        return 1

    def server_stop(self, args: list[str]) -> int:
        srv = self.state.lms.server
        if srv is None or not greeting_ok(srv.port):
            self.error("The server is not running.")
            return 1
        kill_pid(srv.pid)
        with edit_state(self.state_path) as st:
            st.lms.server = None
        self.info(f"Stopped the server on port {srv.port}.")
        return 0

    def server_status(self, args: list[str]) -> int:
        parsed = self._split(args, {"--json", "--verbose"}, set())
        if parsed is None:
            return 1
        _, flags, _ = parsed
        port = self.state.lms.config_port
        running = port is not None and greeting_ok(port)
        if "--json" in flags:
            obj: dict[str, Any] = {"running": running}
            if port is not None:
                obj["port"] = port
            out(json.dumps(obj, separators=(",", ":")) + "\n")
            return 0
        self.info(
            f"The server is running on port {port}." if running else "The server is not running."
        )
        return 0

    def status(self, args: list[str]) -> int:
        if not self._wake():
            return 1
        port = self.state.lms.config_port
        running = port is not None and greeting_ok(port)
        if running:
            lines = [f"Server: ON (port: {port})", ""]
        else:
            lines = [
                "Server:  OFF ",
                "",
                "(i) To start the server, run the following command:",
                "",
                "    lms server start",
                "",
            ]
        loaded = self.state.lms.live_loaded()
        if not running:
            pass  # lms 07b7252 lists the models only while the server runs
        elif loaded:
            lines.append("Loaded Models")
            lines += [f"  · {x.identifier} - {R.lms_bytes(x.size)}" for x in loaded]
        else:
            lines.append("No Models Loaded")
        out("\n".join(lines) + "\n")
        return 0

    # --- models --------------------------------------------------------------------------
    def ls(self, args: list[str]) -> int:
        parsed = self._split(args, {"--json", "--llm", "--embedding", "--detailed"}, set())
        if parsed is None:
            return 1
        pos, flags, _ = parsed
        if not self._wake():
            return 1
        models = list(self.state.lms.downloaded)
        if "--llm" in flags:
            models = [m for m in models if m.type == "llm"]
        if "--embedding" in flags:
            models = [m for m in models if m.type == "embedding"]
        if pos:
            models = [m for m in models if m.name == pos[0]]
        loaded = {x.name for x in self.state.lms.live_loaded()}
        if "--json" in flags:
            out(json.dumps([R.model_info(m) for m in models], separators=(",", ":")) + "\n")
            return 0
        out(R.lms_ls_text(models, loaded))
        return 0

    def ps(self, args: list[str]) -> int:
        parsed = self._split(args, {"--json"}, set())
        if parsed is None:
            return 1
        _, flags, _ = parsed
        if not self._wake():
            return 1
        now = time.time()
        loaded = self.state.lms.live_loaded(now)
        if "--json" in flags:
            infos = []
            for x in loaded:
                m = self.state.lms.find(x.name)
                info: dict[str, Any] = R.model_info(m) if m is not None else {"modelKey": x.name}
                info.update(
                    identifier=x.identifier,
                    ttlMs=None if x.ttl_seconds is None else x.ttl_seconds * 1000,
                    lastUsedTime=None,
                    contextLength=x.context_length,
                    status="idle",
                    queued=0,
                    parallel=None if m is not None and m.type == "embedding" else 4,
                )
                infos.append(R.ordered(info, R.PS_KEYS))
            out(json.dumps(infos, separators=(",", ":")) + "\n")
            return 0
        if not loaded:
            self.info(
                "No models are currently loaded.\n\nTo load a model, run:\n\n"
                "    lms load <model path>"
            )
            return 0
        out(R.lms_ps_text(loaded, now))
        return 0

    def get(self, args: list[str]) -> int:
        parsed = self._split(args, {"-y", "--yes", "--mlx", "--gguf", "--select"}, set())
        if parsed is None:
            return 1
        pos, flags, _ = parsed
        if not pos:
            err("error: missing required argument 'modelName'\n")
            return 1
        if not self._wake():
            return 1
        raw = pos[0]
        key, _, quant = raw.partition("@")
        registry = {k: v for k, v in self.state.registry.items() if ":" not in k}
        if "/" not in key:
            self.info(f"Searching staff picks with the term {key}")
            term = key.lower()
            exact = [k for k in registry if term in (k.lower(), k.split("/", 1)[-1].lower())]
            match = exact or [k for k in registry if term in k.lower()]
            if not match:
                self.error("No staff picks found with the specified search criteria.")
                return 1
            if len(match) > 1 and flags & {"-y", "--yes"}:
                self.info(
                    "Multiple staff picks found. Automatically selecting the first one due to "
                    "--yes."
                )
            key = match[0]
        entry = registry.get(key)
        if entry is None:
            self.error("No models found with the specified search criteria.")
            return 1
        if quant and quant.lower() != entry.quantization.lower():
            self.error(f"Cannot find variant {quant}.")
            return 1
        out(f"\x1b[?25l\r\x1b[0K\n\r   ⧗ {key} - Pending...\x1b[0K\n")
        out(f"\r\x1b[0K\n\r{SPINNER[0]} Resolving download plan...\x1b[0K\n")
        display = entry.display_name or " ".join(
            p.capitalize() if not p[:1].isdigit() else p.upper()
            for p in key.split("/")[-1].split("-")
        )
        file = f"{display} {entry.quantization} [GGUF]"
        if self.state.lms.find(key) is not None:
            out(f"\r\x1b[0K\n\r   ✓ Satisfied {key}\x1b[0K\n\r   └─ ✓ Satisfied {file}\x1b[0K\n")
            out("\x1b[?25h")
            self.info(f"Model already downloaded. To use, run: lms load {key}")
            self.info(f"If you wish to download a variant, run: lms get {key} --select")
            return 0
        size = R.lms_bytes(entry.size)
        # without --yes lms asks on a terminal; through a pipe it goes on without asking
        footer = (
            f"Resolution completed. Downloading {size}..."
            if flags & {"-y", "--yes"}
            else f"About to download {size}."
        )
        out(
            f"\r\x1b[0K\n\r   ↓ To download: model {key} - {R.lms_bytes(entry.manifest_size)}"
            f"\x1b[0K\n\r   └─ ↓ To download: {file} - {size}\x1b[0K\n\r\x1b[0K\n"
            f"\r{footer}\x1b[0K\n\x1b[?25h"
        )
        if not flags & {"-y", "--yes"} and sys.stdout.isatty():
            return self._ask_to_download()
        try:
            return self._download(key, entry)
        except KeyboardInterrupt:
            out("\x1b[2K\x1b[1G\x1b[?25h")
            self.warn("Download canceled.")
            return 1

    def _ask_to_download(self) -> int:
        """On a terminal, without --yes, lms asks (real-cli-no-yes-confirmation-pty) and
        waits, even with stdin at /dev/null. Answering is not faked: it waits for Ctrl-C.
        Ctrl-C as soon as the prompt shows cancels it as at any later time (exit 1, not the
        130 of an interrupted fake): Node draws the prompt in one synchronous write and
        handles SIGINT after it, so SIGINT is held while the prompt is drawn."""
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            out(
                "\n\x1b[34m?\x1b[39m \x1b[1mStart download?\x1b[22m\n\x1b[36m❯ Yes\x1b[39m\n"
                "  No\n  Change variant selection\n\n\x1b[1m↑↓\x1b[22m \x1b[2mnavigate\x1b[22m"
                "\x1b[2m • \x1b[22m\x1b[1m⏎\x1b[22m \x1b[2mselect\x1b[22m\x1b[?25l\x1b[23G"
            )
            signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a Ctrl-C held meanwhile: here
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            out("\n\x1b[?25h")
            return 1

    def _download(self, key: str, entry: RegistryEntry) -> int:
        knobs = self.state.knobs
        frames = max(knobs.pull_frames, 1)
        pad, t0, last_clear = 0, time.monotonic(), -1e9
        for k in range(frames + 1):
            done = entry.size * k // frames
            pct = done / entry.size * 100 if entry.size else 100.0
            if knobs.pull_dies_at_percent is not None and pct > knobs.pull_dies_at_percent:
                out("\x1b[2K\x1b[1G\x1b[?25h")
                self._service_died()
                self.error("Download failed: the connection to LM Studio was lost.")
                return 1
            if knobs.pull_error is not None and pct > 50:
                out("\x1b[2K\x1b[1G\x1b[?25h")
                self.error(knobs.pull_error)
                return 1
            elapsed = time.monotonic() - t0
            speed = done / elapsed if elapsed > 0 and done else 0.0
            clear = time.monotonic() - last_clear >= 3.0
            if clear:
                last_clear = time.monotonic()
            frame, pad = R.lms_get_frame(k, done, entry.size, speed, pad, clear)
            out(frame)
            if k < frames:
                time.sleep(knobs.pull_seconds / frames)
        out("\x1b[2K\x1b[1G\x1b[?25h")
        self.info("Finalizing download...")
        with edit_state(self.state_path) as st:
            st.lms.downloaded = [m for m in st.lms.downloaded if m.name != key]
            st.lms.downloaded.append(make_model(key, entry))
        self.info("Download completed.")
        return 0

    def _service_died(self) -> None:
        with edit_state(self.state_path) as st:
            srv = st.lms.server
            st.lms.server = None
            st.lms.service_running = False
            st.lms.loaded = []
        if srv is not None:
            kill_pid(srv.pid)

    def load(self, args: list[str]) -> int:
        parsed = self._split(
            args,
            {"-y", "--yes", "--exact", "--estimate-only"},
            {"--identifier", "--ttl", "-c", "--context-length", "--gpu", "--parallel"},
        )
        if parsed is None:
            return 1
        pos, flags, opts = parsed
        yes = bool(flags & {"-y", "--yes"})
        if not yes:
            out("\n")
        if not self._wake():
            return 1
        term = lms_key(pos[0]) if pos else ""
        models = [m for m in self.state.lms.downloaded]
        exact = [m for m in models if m.name == term]
        fuzzy = exact or (
            []
            if "--exact" in flags
            else [m for m in models if term and term.lower() in m.name.lower()]
        )
        if not fuzzy:
            self.titled("Model not found", f'No model found that matches model key "{term}".')
            return 1
        if len(fuzzy) > 1:
            self.warn(
                f"{len(fuzzy)} models match the provided model key on the same device. "
                "Loading the first one."
            )
        model = fuzzy[0]
        if "--estimate-only" in flags:
            return self._estimate(model, opts)
        ident = opts.get("--identifier") or model.name
        taken = {x.identifier for x in self.state.lms.live_loaded()}
        n = 2
        base = ident
        while ident in taken:
            ident, n = f"{base}:{n}", n + 1
        ctx_text = opts.get("-c") or opts.get("--context-length")
        ttl = int(opts["--ttl"]) if "--ttl" in opts else None
        t0 = time.monotonic()
        steps = 10
        try:
            for k in range(steps + 1):
                spin = SPINNER[k % len(SPINNER)]
                out(f"\rLoading {model.name} {k * 100 // steps}% {spin}")
                time.sleep(self.state.knobs.load_seconds / steps)
        except KeyboardInterrupt:
            out("\r\x1b[K")
            self.warn("Load cancelled.")
            return 1
        out("\r\x1b[K")
        now = time.time()
        with edit_state(self.state_path) as st:
            st.lms.loaded = st.lms.live_loaded(now)
            st.lms.loaded.append(
                Loaded(
                    name=model.name,
                    identifier=ident,
                    size=model.size,
                    context_length=int(ctx_text) if ctx_text else 4096,
                    loaded_at=now,
                    expires_at=None if ttl is None else now + ttl,
                    ttl_seconds=ttl,
                )
            )
        self.info(
            f"Model loaded successfully in {R.lms_elapsed(time.monotonic() - t0)}.\n"
            f"({R.lms_gib(model.size)})"
        )
        self.info(f'To use the model in the API/SDK, use the identifier "{ident}".')
        return 0

    def _estimate(self, model: Any, opts: dict[str, str]) -> int:
        """``lms load --estimate-only``: the block of the real-cli-estimate-only recording
        (Context Length / GPU Offload only when given), judged against the
        ``lms_guardrail_bytes`` knob (the machine's memory as LM Studio's guardrails see it)."""
        ctx_text = opts.get("-c") or opts.get("--context-length")
        ctx = int(ctx_text) if ctx_text else 4096
        gpu_text = opts.get("--gpu", "max")
        ratio = {"max": 1.0, "off": 0.0}.get(gpu_text)
        ratio = float(gpu_text) if ratio is None else ratio
        total = int(model.size * 1.05) + ctx * 131072
        lines = [f"Model: {model.name}"]
        if ctx_text:
            lines.append(f"Context Length: {ctx:,}")
        if "--gpu" in opts:
            lines.append(f"GPU Offload: {ratio * 100:g}%")
        lines += [
            f"Estimated GPU Memory:   {R.lms_gib(total * ratio)}",
            f"Estimated Total Memory: {R.lms_gib(total)}",
            "",
        ]
        fits = total <= self.state.knobs.lms_guardrail_bytes
        verdict = "may be loaded" if fits else "will fail to load"
        lines.append(f"Estimate: This model {verdict} based on your resource guardrails settings.")
        self.info("\n".join(lines))
        return 0

    def unload(self, args: list[str]) -> int:
        parsed = self._split(args, {"--all", "-a"}, set())
        if parsed is None:
            return 1
        pos, flags, _ = parsed
        if not self._wake():
            return 1
        loaded = self.state.lms.live_loaded()
        if flags & {"--all", "-a"}:
            if not loaded:
                self.info("No models to unload.")
                return 0
            for x in loaded:
                self.info(f'Unloading "{x.identifier}"...')
            self._drop({x.identifier for x in loaded})
            n = len(loaded)
            self.info(f"Unloaded {n} model{'s' if n != 1 else ''}.")
            return 0
        if not pos:
            if not loaded:
                self.info('You don\'t have any models loaded. Use "lms load" to load a model.')
                return 1
            if len(loaded) > 1:
                out("! To unload all models, use the --all flag.\n")
                self.info("? Select a model to unload")
                return 1
            pos = [loaded[0].identifier]
        ident = pos[0]
        if ident not in {x.identifier for x in loaded}:
            self.titled(
                "Model Not Found",
                f'Cannot find a model with the identifier "{ident}".\n\n'
                "To see a list of loaded models, run:\n\n    lms ps",
            )
            return 0
        self._drop({ident})
        self.info(f'Model "{ident}" unloaded.')
        return 0

    def _drop(self, identifiers: set[str]) -> None:
        with edit_state(self.state_path) as st:
            st.lms.loaded = [x for x in st.lms.live_loaded() if x.identifier not in identifiers]

    def version(self, args: list[str]) -> int:
        commit = self.state.knobs.lms_commit
        if "--json" in args:
            out(json.dumps({"version": commit}, separators=(",", ":")) + "\n")
            return 0
        colours = (63, 99, 135, 171)
        logo = "".join(
            f"\x1b[38;5;{c}m{line}\x1b[0m\n" for c, line in zip(colours, LMS_LOGO, strict=True)
        )
        out(f"{logo}\n{LMS_TAGLINE}\nCLI commit: {commit}\n")
        return 0


# ----- the API --------------------------------------------------------------------------------

#: LM Studio 0.4.18's answer to a request without a token (docs/reference/runtimes-2026.md §3.3).
LMS_TOKEN_REQUIRED = {
    "error": {
        "type": "invalid_request",
        "code": "invalid_api_key",
        "message": (
            "An LM Studio API token is required to make requests to this server, but none was "
            "provided using the Authorization header using the 'Bearer' scheme (i.e., "
            "'Authorization: Bearer $LM_API_TOKEN'). Learn more at: "
            "https://lmstudio.ai/docs/developer/core/authentication."
        ),
    }
}
_LMS_PATHS = ("/lmstudio-greeting", "/v1/", "/api/v0/", "/api/v1/")
LMS_NOT_LOADED = (
    "No models loaded. Please load a model in the developer page or use the `lms load` command."
)


def _chat_id(n: int) -> str:
    alphabet = string.ascii_lowercase + string.digits
    seed, out = n * 2654435761 + 12345, []
    for _ in range(21):
        seed, r = divmod(seed * 6364136223846793005 + 1442695040888963407, 36)
        seed %= 2**64
        out.append(alphabet[r])
    return "chatcmpl-" + "".join(out)


class LmStudioRoutes(Handler):
    """LM Studio's API (see the module docstring)."""

    OPEN_PATHS = ("/lmstudio-greeting",)

    def _lms_json(self, status: int, obj: object, *, pretty: bool = True) -> None:
        text = json.dumps(obj, indent=2) if pretty else json.dumps(obj, separators=(",", ":"))
        self._send(
            status, text.encode(), "application/json; charset=utf-8", {"X-Powered-By": "Express"}
        )

    @classmethod
    def claims(cls, path: str) -> bool:
        return path.startswith(_LMS_PATHS)

    def not_found(self, path: str) -> None:
        msg = f"Unexpected endpoint or method. ({self.command} {path})"
        self._lms_json(200, {"error": msg}, pretty=False)

    def refuse(self) -> None:
        self._lms_json(401, LMS_TOKEN_REQUIRED)

    def route(self, path: str) -> bool:
        m = self.command
        if path == "/lmstudio-greeting" and m == "GET":
            self._lms_json(200, {"lmstudio": True}, pretty=False)
        elif path == "/v1/models" and m == "GET":
            st = self._state()
            ids = self._lms_visible(st)
            data = [{"id": i, "object": "model", "owned_by": "organization_owner"} for i in ids]
            self._lms_json(200, {"data": data, "object": "list"})
        elif path == "/api/v0/models" and m == "GET":
            self._lms_json(200, {"data": self._v0_models(self._state()), "object": "list"})
        elif path == "/v1/chat/completions" and m == "POST":
            self._chat()
        elif path == "/v1/embeddings" and m == "POST":
            self._lms_embeddings()
        elif path.startswith("/api/v1/") and self._state().knobs.lms_rest_v1:
            return self._v1_route(path)
        else:
            return False
        return True

    # --- LM Studio REST API v1 (0.4+; docs/reference/runtimes-2026.md §2.1-2.5) ---------------
    def _v1_route(self, path: str) -> bool:
        m = self.command
        status_prefix = "/api/v1/models/download/status/"
        if path == "/api/v1/models" and m == "GET":
            self._lms_json(200, {"models": self._v1_models(self._state())})
        elif path == "/api/v1/models/download" and m == "POST":
            self._v1_download()
        elif path.startswith(status_prefix) and m == "GET":
            job = self._v1_job(path[len(status_prefix) :])
            if job is None:
                self._v1_error(404, "job_not_found", "Download job not found")
            else:
                self._lms_json(200, job)
        elif path == "/api/v1/models/load" and m == "POST":
            self._v1_load()
        elif path == "/api/v1/models/unload" and m == "POST":
            self._v1_unload()
        else:
            return False
        return True

    def _v1_start_job(self, key: str, total: int) -> dict[str, Any]:
        """Start a download job of ``key``: it progresses over ``pull_seconds`` in
        ``pull_frames`` steps (or fails half way with ``pull_error``)."""
        jobs = self.fake.jobs
        with self.fake.lock:
            number = len(jobs) + 1
            job_id = f"job_{hashlib.sha256(f'{key}#{number}'.encode()).hexdigest()[:10]}"
            jobs[job_id] = (key, total, time.time())
        return self._v1_job(job_id) or {}

    def _v1_job(self, job_id: str) -> dict[str, Any] | None:
        """The job's status now, as ``GET .../download/status/{job_id}`` answers it; a
        finished job records the model as downloaded (once)."""
        with self.fake.lock:
            job = self.fake.jobs.get(job_id)
        if job is None:
            return None
        key, total, started = job
        knobs = load_state(self.fake.state_path).knobs
        frames = max(knobs.pull_frames, 1)
        share = min(1.0, (time.time() - started) / max(knobs.pull_seconds, 1e-6))
        step = int(share * frames)  # progress moves in whole frames, as a real poll sees it
        done = total * step // frames
        base = {
            "job_id": job_id,
            "total_size_bytes": total,
            "started_at": rfc3339(started),
        }
        if knobs.pull_error is not None and step * 2 > frames:
            return {**base, "status": "failed", "downloaded_bytes": total // 2}
        if step < frames:
            speed = int(total / max(knobs.pull_seconds, 1e-6))
            left = knobs.pull_seconds * (1 - share)
            return {
                **base,
                "status": "downloading",
                "downloaded_bytes": done,
                "bytes_per_second": speed,
                "estimated_completion": rfc3339(time.time() + left),
            }
        with edit_state(self.fake.state_path) as s:
            if s.lms.find(key) is None:
                s.lms.downloaded.append(make_model(key, s.registry.get(key)))
        return {
            **base,
            "status": "completed",
            "downloaded_bytes": total,
            "completed_at": rfc3339(started + knobs.pull_seconds),
        }

    def _v1_error(self, status: int, etype: str, message: str) -> None:
        self._lms_json(status, {"error": {"type": etype, "message": message}})

    @staticmethod
    def _v1_models(st: FakeState) -> list[dict[str, Any]]:
        live = st.lms.live_loaded()
        out = []
        for x in st.lms.downloaded:
            out.append(
                {
                    "type": x.type,
                    "publisher": x.name.split("/", 1)[0] if "/" in x.name else "lmstudio-community",
                    "key": x.name,
                    "display_name": x.name.rsplit("/", 1)[-1],
                    "architecture": x.family,
                    "quantization": {"name": x.quantization, "bits_per_weight": 4},
                    "size_bytes": x.size,
                    "params_string": x.params or None,
                    "loaded_instances": [
                        {"id": i.identifier, "config": _v1_instance_config(i.context_length)}
                        for i in live
                        if i.name == x.name
                    ],
                    "max_context_length": x.context_length,
                    "format": "gguf",
                    **_v1_llm_fields(x),
                }
            )
        return out

    def _v1_download(self) -> None:
        body, err = self._body()
        key = lms_key(str((body or {}).get("model") or ""))
        if not key:
            self._v1_error(
                400, "invalid_request", f'"model" is required{f" ({err})" if err else ""}'
            )
            return
        st = self._state()
        if st.lms.find(key) is not None:
            self._lms_json(200, {"status": "already_downloaded"})
            return
        entry = st.registry.get(key)
        if entry is None:
            self._v1_error(404, "model_not_found", f"Model not found: {key}")
            return
        job = self._v1_start_job(key, entry.size)
        self._lms_json(200, job)

    def _v1_load(self) -> None:
        body, err = self._body()
        key = lms_key(str((body or {}).get("model") or ""))
        st = self._state()
        model = st.lms.find(key) if key else None
        if model is None:
            self._v1_error(404, "model_not_found", f"Model not found: {key or err}")
            return
        ctx = (body or {}).get("context_length")
        time.sleep(st.knobs.load_seconds)
        now = time.time()
        with edit_state(self.fake.state_path) as s:
            taken = {x.identifier for x in s.lms.live_loaded(now)}
            ident, n = key, 2
            while ident in taken:
                ident, n = f"{key}:{n}", n + 1
            context = int(ctx) if isinstance(ctx, int) else 4096
            s.lms.loaded = s.lms.live_loaded(now)
            s.lms.loaded.append(
                Loaded(
                    name=key,
                    identifier=ident,
                    size=model.size,
                    context_length=context,
                    loaded_at=now,
                )
            )
        answer: dict[str, Any] = {
            "type": model.type,
            "instance_id": ident,
            "load_time_seconds": st.knobs.load_seconds,
            "status": "loaded",
        }
        if (body or {}).get("echo_load_config"):
            answer["load_config"] = {"context_length": context}
        self._lms_json(200, answer)

    def _v1_unload(self) -> None:
        body, _ = self._body()
        ident = str((body or {}).get("instance_id") or "")
        with edit_state(self.fake.state_path) as s:
            found = any(x.identifier == ident for x in s.lms.live_loaded())
            s.lms.loaded = [x for x in s.lms.live_loaded() if x.identifier != ident]
        if not found:
            self._v1_error(404, "model_not_found", f"No loaded model instance: {ident}")
            return
        self._lms_json(200, {"instance_id": ident})

    @staticmethod
    def _lms_visible(st: FakeState) -> list[str]:
        if st.knobs.lms_jit:
            return [x.name for x in st.lms.downloaded]
        return [x.identifier for x in st.lms.live_loaded()]

    @staticmethod
    def _v0_models(st: FakeState) -> list[dict[str, Any]]:
        loaded = {x.name: x for x in st.lms.live_loaded()}
        out = []
        for x in st.lms.downloaded:
            inst = loaded.get(x.name)
            if inst is None and not st.knobs.lms_jit:
                continue
            vision = _vision(x)
            obj: dict[str, Any] = {
                "id": x.name,
                "object": "model",
                "type": "embeddings" if x.type == "embedding" else "vlm" if vision else "llm",
                "publisher": x.name.split("/", 1)[0] if "/" in x.name else "lmstudio-community",
                "arch": x.family,
                "compatibility_type": "gguf",
                "quantization": x.quantization,
                "state": "loaded" if inst else "not-loaded",
                "max_context_length": x.context_length,
            }
            if inst is not None:
                obj["loaded_context_length"] = inst.context_length
            if x.type != "embedding":  # LM Studio 0.3.16+
                obj["capabilities"] = [] if x.family in NO_TOOL_FAMILIES else ["tool_use"]
            out.append(obj)
        return out

    def _jit_load(self, st: FakeState, key: str, ttl: object) -> Loaded:
        """Just-In-Time loading: the request's downloaded model ``key`` is loaded, with the
        request's ``ttl`` (seconds) or JIT's default of 60 min; Auto-Evict (on by default)
        first unloads the model an earlier request loaded (docs/reference/runtimes-2026.md
        §6.1: at most one JIT-loaded model)."""
        time.sleep(st.knobs.load_seconds)
        model = st.lms.find(key)
        assert model is not None
        ttl = ttl if isinstance(ttl, int) and not isinstance(ttl, bool) and ttl > 0 else 3600
        now = time.time()
        inst = Loaded(
            name=key,
            identifier=key,
            size=model.size,
            loaded_at=now,
            expires_at=now + ttl,
            ttl_seconds=ttl,
            jit=True,
        )
        with edit_state(self.fake.state_path) as s:
            s.lms.loaded = [x for x in s.lms.live_loaded(now) if not x.jit] + [inst]
        return inst

    def _lms_error(self, message: str, *, param: str | None = "model") -> None:
        err: dict[str, Any] = {"message": message, "type": "invalid_request_error"}
        if param is not None:
            err["param"] = param
        self._lms_json(400, {"error": err})

    def _chat(self) -> None:
        body, err = self._body()
        if body is None:
            self._lms_error(f"'messages' field is required ({err})", param="messages")
            return
        st = self._state()
        want = str(body.get("model") or "")
        live = st.lms.live_loaded()
        inst = next((x for x in live if want in (x.identifier, x.name)), None)
        if inst is None and not want and len(live) == 1:
            inst = live[0]
        if inst is None and st.knobs.lms_jit and st.lms.find(lms_key(want)) is not None:
            inst = self._jit_load(st, lms_key(want), body.get("ttl"))
        if inst is None:
            if not live:
                self._lms_error(LMS_NOT_LOADED)
            else:
                self._lms_error(f'Model "{want}" is not loaded. Load it with `lms load {want}`.')
            return
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            self._lms_error("'messages' field is required", param="messages")
            return
        if st.knobs.generate_dies:
            with edit_state(self.fake.state_path) as s:
                s.lms.loaded = [x for x in s.lms.loaded if x.identifier != inst.identifier]
            self._lms_error("The model has crashed without additional information. (Exit code: 6)")
            return
        prompt = ""
        for msg in messages:
            if isinstance(msg, dict) and msg.get("role") == "user":
                prompt = text_content(msg.get("content"))
        listed = st.lms.find(inst.name)
        if listed is not None and listed.type == "embedding":
            self._lms_error(f'Model "{want}" is an embedding model: it cannot chat.')
            return
        images = [
            p
            for m in messages
            if isinstance(m, dict) and isinstance(m.get("content"), list)
            for p in m["content"]
            if isinstance(p, dict) and p.get("type") == "image_url"
        ]
        if images and not (listed is not None and _vision(listed)):
            self._lms_error("Model does not support images. Please use a model that does.")
            return
        fmt = self._response_format(body.get("response_format"))
        text = chat_answer(st, inst.identifier, messages, fmt)
        if images:
            text = f"{text} [saw {len(images)} image{'s' if len(images) > 1 else ''}]"
        toks = tokens_of(text)
        call = fake_tool_call(messages, body.get("tools"))
        if call is not None:
            toks = []
        # LM Studio 0.3.23+ sends gpt-oss reasoning apart (``reasoning``); other thinking
        # models keep it in the content unless a setting says otherwise: not faked.
        thinks = listed is not None and listed.family == "gptoss"
        reasoning = tokens_of(f"The user asks: {prompt}") if thinks else []
        limit = body.get("max_tokens")
        reason = "stop" if call is None else "tool_calls"
        if isinstance(limit, int) and 0 <= limit < len(toks):
            toks, reason = toks[:limit], "length"
        cid, created = _chat_id(self.fake.next_number()), int(time.time())
        call_id = str(self.fake.next_number() * 7919 + 100000000)
        calls: list[dict[str, Any]] = (
            []
            if call is None
            else [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": call[0], "arguments": json.dumps(call[1])},
                }
            ]
        )
        ident = inst.identifier
        pause = st.knobs.token_seconds
        usage = {
            "prompt_tokens": len(tokens_of(prompt)),
            "completion_tokens": len(toks),
            "total_tokens": len(tokens_of(prompt)) + len(toks),
        }
        if not body.get("stream"):
            time.sleep(pause * len(toks))
            self._lms_json(
                200,
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": ident,
                    "choices": [
                        {
                            "index": 0,
                            "logprobs": None,
                            "finish_reason": reason,
                            "message": {
                                "role": "assistant",
                                "content": "".join(toks),
                                **({"reasoning": "".join(reasoning)} if reasoning else {}),
                                **({"tool_calls": calls} if calls else {}),
                            },
                        }
                    ],
                    "usage": usage,
                    "stats": {},
                    "system_fingerprint": ident,
                },
            )
            return

        def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
            obj = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": ident,
                "system_fingerprint": ident,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"

        def chunks() -> Iterator[bytes]:
            for t in reasoning:
                yield chunk({"role": "assistant", "reasoning": t}, None)
            for t in toks:
                time.sleep(pause)
                yield chunk({"role": "assistant", "content": t}, None)
            for c in calls:  # OpenAI's deltas: id and name first, then the arguments in pieces
                fn = c["function"]
                head = {**c, "index": 0, "function": {"name": fn["name"], "arguments": ""}}
                yield chunk({"role": "assistant", "tool_calls": [head]}, None)
                for piece in tokens_of(fn["arguments"]):
                    part = {"index": 0, "function": {"arguments": piece}}
                    yield chunk({"role": "assistant", "tool_calls": [part]}, None)
            yield chunk({}, reason)
            yield b"data: [DONE]\n\n"

        self._stream(
            "text/event-stream",
            chunks(),
            {"Cache-Control": "no-cache", "Connection": "keep-alive", "X-Powered-By": "Express"},
        )

    # --- LM Studio structured output and embeddings ----------------------------------------
    @staticmethod
    def _response_format(value: object) -> object:
        """The schema (or ``"json"``) a ``response_format`` asks for; ``None`` for text."""
        if not isinstance(value, dict):
            return None
        if value.get("type") == "json_schema":
            spec = value.get("json_schema")
            return spec.get("schema") if isinstance(spec, dict) else {}
        if value.get("type") == "json_object":
            return value.get("schema") or "json"
        return None

    def _lms_embeddings(self) -> None:
        body, err = self._body()
        if body is None:
            self._lms_error(f"'input' field is required ({err})", param="input")
            return
        st = self._state()
        want = str(body.get("model") or "")
        inst = next((x for x in st.lms.live_loaded() if want in (x.identifier, x.name)), None)
        model = st.lms.find(inst.name if inst else lms_key(want))
        if model is None or (inst is None and not st.knobs.lms_jit):
            self._lms_error(f'Model "{want}" is not loaded. Load it with `lms load {want}`.')
            return
        if model.type != "embedding":
            self._lms_error(f'Model "{want}" is not an embedding model.')
            return
        if inst is None:
            self._jit_load(st, model.name, body.get("ttl"))
        texts = body.get("input")
        items = [texts] if isinstance(texts, str) else texts
        if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
            self._lms_error("'input' must be a string or an array of strings", param="input")
            return
        n = sum(len(tokens_of(t)) for t in items)
        data = [
            {"object": "embedding", "embedding": fake_vector(t), "index": i}
            for i, t in enumerate(items)
        ]
        self._lms_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": model.name,
                "usage": {"prompt_tokens": n, "total_tokens": n},
            },
        )


# ----- REST v1 model fields (the documented list body, fixture api-v1-models/docs-list) ------

#: Families that think, and the reasoning options LM Studio offers for them.
_REASONING = {"qwen3": ["off", "on"], "deepseek": ["on"], "gpt-oss": ["low", "medium", "high"]}


def _v1_instance_config(context_length: int) -> dict[str, Any]:
    """A loaded instance's ``config`` with LM Studio's defaults (``num_experts``: MoE only)."""
    return {
        "context_length": context_length,
        "eval_batch_size": 512,
        "parallel": 4,
        "flash_attention": True,
        "offload_kv_cache_to_gpu": True,
    }


def _v1_llm_fields(model: Model) -> dict[str, Any]:
    """What the docs' list shows of a language model beyond the common fields (their
    embedding model has none of these)."""
    if model.type == "embedding":
        return {}
    caps: dict[str, Any] = {
        "vision": bool(model.info.get("vision", False)),
        "trained_for_tool_use": bool(model.info.get("trainedForToolUse", False)),
    }
    options = next((v for k, v in _REASONING.items() if model.family.startswith(k)), None)
    if options is not None:
        caps["reasoning"] = {"allowed_options": options, "default": options[-1]}
    variant = f"{model.name}@{model.quantization.lower()}"
    return {
        "capabilities": caps,
        "description": None,
        "variants": [variant],
        "selected_variant": variant,
    }


# ----- the registry's entry -------------------------------------------------------------------


def _started(state_path: Path, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait until the server process ``proc`` has bound its port (it records itself in the
    state) or has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        srv = load_state(state_path).lms.server
        if srv is not None and srv.pid == proc.pid:
            return
        time.sleep(0.02)


def _vision(model: Any) -> bool:
    """Whether the fake serves ``model`` as a vision model (``vlm``); gemma-3-1b is text only."""
    return model.family in VISION_FAMILIES and model.params != "1B"


def _seed(side: BackendState, port: int, up: bool) -> None:
    # the server's last-used port; the service runs when a server or a loaded model does
    side.config_port = port
    side.service_running = up
    if up:
        side.daemon_pid = os.getpid()


def _start_server(
    state_path: Path, bin_dir: Path, env: dict[str, str], port: int
) -> tuple[subprocess.Popen[bytes], str]:
    proc = spawn_server(state_path, "lms", port, env)  # it records itself as the server
    with edit_state(state_path) as st:
        st.lms.service_running = True
        st.lms.daemon_pid = st.lms.daemon_pid or os.getpid()
    return proc, "/lmstudio-greeting"


FAKE = FakeSpec(
    name="lms",
    cli=Lms,
    routes=LmStudioRoutes,
    env=lambda port: {"LMSTUDIO_URL": f"http://127.0.0.1:{port}"},
    normalize=lms_key,
    loaded=lambda model, now: Loaded(model.name, model.name, model.size, loaded_at=now),
    start_server=_start_server,
    seed=_seed,
)
