"""The MCP server shim (``lmsdrive-mcp``) against the fake runtimes: in process (the SDK's
in-memory client, both protocol eras) and as a real stdio subprocess driven by the SDK's
client. ``fake_runtime`` comes from the ``lmsdrive.testing.pytest_plugin`` conftest loads."""

from __future__ import annotations

import itertools
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent

from lmsdrive import Memory, __version__
from lmsdrive._types import Progress
from lmsdrive.backends.ollama import OllamaBackend
from lmsdrive.mcp_server import DownloadProgress, create_server, main
from lmsdrive.testing.runtime import FakeRuntime, free_port

MakeRuntime = Callable[..., FakeRuntime]
TOOLS = {
    "init_llm",
    "ensure_ready",
    "pull",
    "load",
    "unload",
    "delete",
    "generate",
    "chat",
    "embed",
    "status",
    "list_models",
    "check",
    "fit",
}
MODELS = {"ollama": "qwen2.5:0.5b", "lmstudio": "google/gemma-3-1b"}
#: A model the fakes know but the tests have not downloaded.
OTHER = {"ollama": "smollm2:135m", "lmstudio": "qwen/qwen3-4b"}
BACKEND_NAME = {"ollama": "Ollama", "lmstudio": "LM Studio"}
FAKE_BIN = {"ollama": "ollama", "lmstudio": "lms"}
INSTALL = {
    "ollama": "Ollama is not installed. Please install from https://ollama.com",
    "lmstudio": (
        "LM Studio CLI not found. Install from https://lmstudio.ai and enable CLI in settings."
    ),
}
#: How a server init_llm can start (here, its CLI installed) that does not answer ends.
NOT_RUNNING = {
    "ollama": "or set OLLAMA_HOST to where it listens. Run init_llm to start it.",
    "lmstudio": "or set LMSTUDIO_URL to where it listens. Run init_llm to start it.",
}

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def configure(monkeypatch: pytest.MonkeyPatch, backend: str, model: str | None = None) -> None:
    monkeypatch.setenv("BACKEND", backend)
    monkeypatch.setenv("MODEL_NAME", model or MODELS[backend])
    monkeypatch.delenv("MODEL_SOURCE", raising=False)


def text_of(result: CallToolResult) -> str:
    (block,) = result.content
    assert isinstance(block, TextContent)
    return block.text


class Recorder:
    """A progress callback that keeps every notification."""

    def __init__(self) -> None:
        self.events: list[tuple[float, float | None, str | None]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.events.append((progress, total, message))

    @property
    def values(self) -> list[float]:
        return [p for p, _, _ in self.events]


def check_download_progress(rec: Recorder) -> None:
    values = rec.values
    assert values, "no progress notification during the download"
    assert all(b > a for a, b in itertools.pairwise(values)), values
    assert values[-1] == 100
    for progress, total, message in rec.events:
        assert total == 100
        assert message == f"Downloading model: {int(progress)}%"


@asynccontextmanager
async def stdio_server(log: Path) -> AsyncIterator[Client]:
    """``python -m lmsdrive.mcp_server`` as a subprocess (the environment: the fakes)."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "lmsdrive.mcp_server"], env=dict(os.environ)
    )
    with log.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=60) as c:
            yield c


# --- in process ---------------------------------------------------------------------------------


async def test_tool_list_and_schemas(fake_runtime: MakeRuntime, monkeypatch: Any) -> None:
    fake_runtime()
    configure(monkeypatch, "ollama")
    async with Client(create_server(), raise_exceptions=True) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    init_in = tools["init_llm"].input_schema
    assert set(init_in.get("properties", {})) == {"context_length", "gpu", "ttl", "identifier"}
    assert init_in.get("required", []) == []
    init_out = tools["init_llm"].output_schema
    assert init_out is not None
    assert set(init_out["properties"]) == {"success", "message", "steps_performed", "kind"}
    gen = tools["generate"].input_schema
    assert gen["required"] == ["prompt"]
    assert gen["properties"]["temperature"]["default"] == 0.1
    assert gen["properties"]["max_tokens"]["default"] == 100
    assert "ctx" not in gen["properties"]
    for name in TOOLS:
        assert tools[name].description, name
        assert tools[name].output_schema is not None, name
        annotations = tools[name].annotations
        assert annotations is not None, name
        assert annotations.destructive_hint is (name == "delete") or annotations.read_only_hint
    for name in ("status", "list_models", "generate", "chat", "embed", "check", "fit"):
        assert tools[name].annotations.read_only_hint is True  # type: ignore[union-attr]
    for name in (
        "pull",
        "load",
        "unload",
        "delete",
        "ensure_ready",
        "check",
        "fit",
        "generate",
        "chat",
    ):
        props = tools[name].input_schema.get("properties", {})
        assert "model" in props and "model" not in tools[name].input_schema.get("required", [])


@pytest.mark.parametrize(
    ("backend", "mode"), [("ollama", "auto"), ("lmstudio", "auto"), ("ollama", "legacy")]
)
async def test_init_llm_reports_progress_then_generate(
    fake_runtime: MakeRuntime, monkeypatch: Any, backend: str, mode: str
) -> None:
    fake_runtime(pull_seconds=0.6, pull_frames=40)
    configure(monkeypatch, backend)
    rec = Recorder()
    async with Client(create_server(), raise_exceptions=True, mode=mode) as client:
        result = await client.call_tool("init_llm", {}, progress_callback=rec)
        assert not result.is_error, text_of(result)
        data = result.structured_content
        assert data is not None
        assert set(data) == {"success", "message", "steps_performed", "kind"}
        assert data["kind"] is None
        assert data["success"] is True
        model = MODELS[backend]
        assert data["steps_performed"][1:] == [f"Downloaded model {model}", f"Loaded model {model}"]
        assert data["steps_performed"][0].startswith("Started ")
        check_download_progress(rec)
        if backend == "lmstudio":  # lms draws its bar finely: nothing is thinned below 5 %
            values = [0.0, *rec.values]
            assert max(b - a for a, b in itertools.pairwise(values)) <= 5

        again = Recorder()
        second = await client.call_tool("init_llm", {}, progress_callback=again)
        assert second.structured_content is not None
        assert second.structured_content["success"] is True
        assert second.structured_content["steps_performed"] == []
        assert again.events == []

        gen = await client.call_tool(
            "generate", {"prompt": "Why is the sky blue?", "temperature": 0, "max_tokens": 20}
        )
        assert not gen.is_error, text_of(gen)
        assert gen.structured_content is not None
        assert text_of(gen) == gen.structured_content["text"]
        assert "Why is the sky blue?" in text_of(gen)

        models = await client.call_tool("list_models")
        assert models.structured_content is not None
        assert [m["name"] for m in models.structured_content["models"]] == [model]
        assert len(models.structured_content["loaded"]) == 1

        status = await client.call_tool("status")
        st = status.structured_content
        assert st is not None
        assert st["installed"] and st["running"] and st["ready"]
        assert st["model"] == model
        assert st["model_downloaded"] is True and st["model_loaded"] is True
        assert [m["name"] for m in st["downloaded"]] == [model]
        assert st["problems"] == []


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
async def test_not_installed(fake_runtime: MakeRuntime, monkeypatch: Any, backend: str) -> None:
    other = "lms" if backend == "ollama" else "ollama"
    fake_runtime(backends=[other])
    configure(monkeypatch, backend)
    async with Client(create_server(), raise_exceptions=True) as client:
        rec = Recorder()
        result = await client.call_tool("init_llm", {}, progress_callback=rec)
        assert result.is_error
        assert text_of(result) == INSTALL[backend]
        assert result.structured_content == {
            "success": False,
            "message": INSTALL[backend],
            "steps_performed": [],
            "kind": "not_installed",
        }
        assert rec.events == []

        status = await client.call_tool("status")
        assert not status.is_error
        assert status.structured_content is not None
        assert status.structured_content["installed"] is False
        assert status.structured_content["running"] is False
        assert status.structured_content["ready"] is False

        if backend == "lmstudio":  # lms ls needs the CLI
            listed = await client.call_tool("list_models")
            assert listed.is_error
            assert text_of(listed).endswith(INSTALL[backend])
            assert listed.structured_content == {
                "kind": "not_installed",
                "message": text_of(listed),
            }


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
async def test_not_running(fake_runtime: MakeRuntime, monkeypatch: Any, backend: str) -> None:
    rt = fake_runtime(models_downloaded=[MODELS[backend]])
    configure(monkeypatch, backend)
    async with Client(create_server(), raise_exceptions=True) as client:
        result = await client.call_tool("generate", {"prompt": "hello"})
        assert result.is_error
        assert text_of(result).endswith(NOT_RUNNING[backend])
        url = rt.ollama_url if backend == "ollama" else rt.lms_url
        assert f"server at {url} does not answer" in text_of(result)
        assert result.structured_content == {
            "kind": "server_not_running",
            "message": text_of(result),
        }
        if backend == "ollama":  # `lms ls` answers without the server; Ollama's list needs it
            listed = await client.call_tool("list_models")
            assert listed.is_error
            assert text_of(listed).endswith(NOT_RUNNING[backend])
    # nothing was started behind the user's back
    assert rt.server_pid(FAKE_BIN[backend]) is None


async def test_model_not_found_is_a_tool_error(fake_runtime: MakeRuntime, monkeypatch: Any) -> None:
    fake_runtime(server_running=True)
    configure(monkeypatch, "ollama", "nosuchmodel:1b")
    async with Client(create_server(), raise_exceptions=True) as client:
        result = await client.call_tool("init_llm", {})
    assert result.is_error
    assert text_of(result).startswith("Model 'nosuchmodel:1b' was not found in the Ollama library")
    assert result.structured_content is not None
    assert result.structured_content["success"] is False
    assert result.structured_content["kind"] == "model_not_found"


async def test_bad_environment_answers_every_tool(
    fake_runtime: MakeRuntime, monkeypatch: Any
) -> None:
    fake_runtime()
    monkeypatch.setenv("BACKEND", "vllm")
    async with Client(create_server(), raise_exceptions=True) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert tools == TOOLS
        for name, args in [("init_llm", {}), ("status", {}), ("generate", {"prompt": "x"})]:
            result = await client.call_tool(name, args)
            assert result.is_error, name
            assert "BACKEND='vllm' is not supported" in text_of(result)
            assert result.structured_content is not None
            assert result.structured_content["kind"] == "config"


async def test_a_model_name_the_backend_cannot_take_answers_every_tool(
    fake_runtime: MakeRuntime, monkeypatch: Any
) -> None:
    fake_runtime()
    configure(monkeypatch, "lmstudio", "llama3.2:1b")  # an Ollama name: no LM Studio key
    async with Client(create_server(), raise_exceptions=True) as client:
        for name, args in [("init_llm", {}), ("status", {}), ("generate", {"prompt": "x"})]:
            result = await client.call_tool(name, args)
            assert result.is_error, name
            assert "LM Studio names a model by its key" in text_of(result)


async def test_generate_refuses_bad_arguments(fake_runtime: MakeRuntime, monkeypatch: Any) -> None:
    rt = fake_runtime(server_running=True, models_loaded=[MODELS["ollama"]])
    configure(monkeypatch, "ollama")
    async with Client(create_server(), raise_exceptions=True) as client:
        result = await client.call_tool("generate", {"prompt": "hi", "max_tokens": 0})
    assert result.is_error
    assert "max_tokens" in text_of(result)
    assert not [r for r in rt.requests("ollama") if r["path"] == "/api/generate"]


async def test_generate_refuses_an_empty_prompt(
    fake_runtime: MakeRuntime, monkeypatch: Any
) -> None:
    rt = fake_runtime(server_running=True, models_loaded=[MODELS["ollama"]])
    configure(monkeypatch, "ollama")
    async with Client(create_server(), raise_exceptions=True) as client:
        for prompt in ("", " \n"):
            result = await client.call_tool("generate", {"prompt": prompt})
            assert result.is_error, repr(prompt)
            assert result.structured_content == {
                "kind": "invalid_message",
                "message": text_of(result),
            }
            assert "the prompt is empty" in text_of(result)
    assert not [r for r in rt.requests("ollama") if r["path"] == "/api/generate"]


@pytest.mark.parametrize("tool", ["generate", "chat"])
async def test_generate_and_chat_answer_with_the_model_asked(
    fake_runtime: MakeRuntime, monkeypatch: Any, tool: str
) -> None:
    other = OTHER["ollama"]
    fake_runtime(server_running=True, models_loaded=[MODELS["ollama"], other])
    configure(monkeypatch, "ollama")
    ask: dict[str, Any] = (
        {"prompt": "hi"}
        if tool == "generate"
        else {"messages": [{"role": "user", "content": "hi"}]}
    )
    async with Client(create_server(), raise_exceptions=True) as client:
        default = await client.call_tool(tool, ask)
        chosen = await client.call_tool(tool, {**ask, "model": other})
        missing = await client.call_tool(tool, {**ask, "model": "nope:1b"})
    assert default.structured_content is not None and chosen.structured_content is not None
    assert default.structured_content["model"] == MODELS["ollama"]
    assert chosen.structured_content["model"] == other
    assert missing.is_error and missing.structured_content is not None
    assert missing.structured_content["kind"] == "model_not_found"
    assert "nope:1b" in text_of(missing) and MODELS["ollama"] not in text_of(missing)


@pytest.mark.parametrize("sent", [None, "sk-wrong-0123456789"], ids=["none", "wrong"])
async def test_a_refused_token_names_only_the_runtimes_variable(
    fake_runtime: MakeRuntime, monkeypatch: Any, sent: str | None
) -> None:
    # lmsdrive-mcp's own --token-file is its bearer token, not the runtime's: never advised
    fake_runtime(server_running=True, api_token="sk-right-9876543210")
    configure(monkeypatch, "ollama")
    if sent is not None:
        monkeypatch.setenv("OLLAMA_API_KEY", sent)
    async with Client(create_server(), raise_exceptions=True) as client:
        result = await client.call_tool("generate", {"prompt": "hi"})
    assert result.is_error and result.structured_content is not None
    assert result.structured_content["kind"] == "authentication"
    assert "OLLAMA_API_KEY" in text_of(result)
    assert "token-file" not in text_of(result) and "sk-" not in text_of(result)


# --- the progress translation -----------------------------------------------------------------


def test_download_progress_is_whole_increasing_and_ends_at_100() -> None:
    sent: list[tuple[float, str]] = []
    on_progress = DownloadProgress(lambda p, m: sent.append((p, m)))
    events = [
        Progress(phase="manifest"),
        Progress(phase="downloading", percent=0.4, overall_percent=0.4),
        Progress(phase="downloading", percent=0.9, overall_percent=0.9),  # same whole percent
        Progress(phase="downloading", percent=45.2, overall_percent=45.2),
        Progress(phase="downloading", percent=3.0, overall_percent=45.6),  # next layer restarts
        Progress(phase="downloading", percent=70.0),  # no overall: the item's own
        Progress(phase="downloading", percent=50.0, overall_percent=None),  # backwards
        Progress(phase="error", overall_percent=99.0),
        Progress(phase="verifying", overall_percent=99.5),
        Progress(phase="done"),
        Progress(phase="done"),
    ]
    for event in events:
        on_progress(event)
    assert sent == [
        (0.0, "Downloading model: 0%"),
        (45.0, "Downloading model: 45%"),
        (70.0, "Downloading model: 70%"),
        (99.0, "Downloading model: 99%"),
        (100.0, "Downloading model: 100%"),
    ]


def test_download_progress_forwards_every_percent() -> None:
    sent: list[float] = []
    on_progress = DownloadProgress(lambda p, m: sent.append(p))
    for i in range(0, 1001):
        on_progress(Progress(phase="downloading", overall_percent=i / 10))
    assert sent == [float(v) for v in range(101)]


# --- the real stdio server ----------------------------------------------------------------------


async def test_stdio_server_init_and_generate(
    fake_runtime: MakeRuntime, monkeypatch: Any, tmp_path: Path
) -> None:
    fake_runtime(pull_seconds=0.6, pull_frames=40)
    configure(monkeypatch, "lmstudio")
    log = tmp_path / "server.log"
    rec = Recorder()
    async with stdio_server(log) as client:
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        result = await client.call_tool("init_llm", {}, progress_callback=rec)
        assert not result.is_error, text_of(result) + log.read_text()
        assert result.structured_content is not None
        assert result.structured_content["success"] is True
        gen = await client.call_tool("generate", {"prompt": "ping"})
        assert not gen.is_error, text_of(gen)
        assert "ping" in text_of(gen)
    check_download_progress(rec)
    assert "HTTP Request" not in log.read_text()  # the host's log is not flooded


def test_main_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"lmsdrive-mcp {__version__}"


async def test_stdio_server_errors(
    fake_runtime: MakeRuntime, monkeypatch: Any, tmp_path: Path
) -> None:
    fake_runtime(backends=["lms"])
    configure(monkeypatch, "ollama")
    async with stdio_server(tmp_path / "server.log") as client:
        gen = await client.call_tool("generate", {"prompt": "hi"})
        assert gen.is_error  # no circle: init_llm cannot start it, so it is not suggested
        assert "and lmsdrive cannot start one: " in text_of(gen)
        assert INSTALL["ollama"] in text_of(gen) and "init_llm" not in text_of(gen)
        init = await client.call_tool("init_llm", {})
        assert init.is_error
        assert text_of(init) == INSTALL["ollama"]


# --- the model's life ---------------------------------------------------------------------------


async def test_lifecycle_tools_act_on_any_model(
    fake_runtime: MakeRuntime, monkeypatch: Any
) -> None:
    fake_runtime(server_running=True, pull_seconds=0.4, pull_frames=20)
    configure(monkeypatch, "ollama")
    other = "smollm2:135m"
    async with Client(create_server(), raise_exceptions=True) as client:

        async def call(tool: str, **args: Any) -> dict[str, Any]:
            result = await client.call_tool(tool, args)
            assert not result.is_error, text_of(result)
            assert result.structured_content is not None
            return dict(result.structured_content)

        async def loaded() -> list[str]:
            return [m["name"] for m in (await call("list_models"))["loaded"]]

        ready = await call("ensure_ready", model=other)
        assert ready["steps_performed"] == [f"Downloaded model {other}", f"Loaded model {other}"]
        assert await loaded() == [other]
        assert await call("unload", model=other) == {
            "model": other,
            "message": f"Unloaded model {other}",
        }
        assert await loaded() == []
        instance = await call("load", model=other, context_length=4096)
        assert instance["name"] == other and instance["identifier"]
        assert await loaded() == [other]

        rec = Recorder()
        pulled = await client.call_tool("pull", {}, progress_callback=rec)
        assert pulled.structured_content == {
            "model": MODELS["ollama"],
            "message": f"Downloaded model {MODELS['ollama']}",
        }
        check_download_progress(rec)

        assert (await call("delete", model=other))["message"] == f"Deleted model {other}"
        names = [m["name"] for m in (await call("list_models"))["models"]]
        assert names == [MODELS["ollama"]]
        for tool, model in [("delete", other), ("pull", "nosuchmodel:1b")]:
            failed = await client.call_tool(tool, {"model": model})
            assert failed.is_error, tool
            assert failed.structured_content is not None
            assert failed.structured_content["kind"] == "model_not_found", text_of(failed)
            assert failed.structured_content["message"] == text_of(failed)


async def test_delete_on_lmstudio_is_a_capability_error(
    fake_runtime: MakeRuntime, monkeypatch: Any
) -> None:
    fake_runtime(server_running=True, models_downloaded=[MODELS["lmstudio"]])
    configure(monkeypatch, "lmstudio")
    async with Client(create_server(), raise_exceptions=True) as client:
        result = await client.call_tool("delete", {})
    assert result.is_error
    assert result.structured_content is not None
    assert result.structured_content["kind"] == "capability"


def test_every_error_class_names_its_own_kind() -> None:
    from lmsdrive import errors

    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.LmsdriveError)
    ]
    assert all("kind" in vars(c) for c in classes), [c for c in classes if "kind" not in vars(c)]
    assert len({c.kind for c in classes}) == len(classes)
    assert errors.ModelNotFoundError("x").kind == "model_not_found"


# --- where it fits: check and fit -------------------------------------------------------------


async def call_ok(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    """A tool's structured content; its text is the same object as JSON."""
    result = await client.call_tool(tool, args)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert json.loads(text_of(result)) == result.structured_content
    return dict(result.structured_content)


async def call_failing(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    """A tool error's ``{kind, message}``, its message the text."""
    result = await client.call_tool(tool, args)
    assert result.is_error, result.structured_content
    assert result.structured_content is not None
    assert result.structured_content["message"] == text_of(result)
    return dict(result.structured_content)


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
async def test_check_reports_each_state_and_changes_none(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    model = MODELS[backend]
    rt = fake_runtime(server_running=True, models_downloaded=[model])
    configure(monkeypatch, backend)
    async with Client(create_server(), raise_exceptions=True) as client:
        found = await call_ok(client, "check")
        assert (found["ok"], found["problem"], found["server_up"]) == (False, "not_loaded", True)
        assert found["models"] == [
            {
                "model": model,
                "downloaded": True,
                "loaded": False,
                "answered": None,
                "answer_seconds": None,
                "problem": "not_loaded",
                "message": f"{model} is not loaded: run `lmsdrive init --model {model}`",
            }
        ]
        assert rt.state().lms.loaded == [] and rt.state().ollama.loaded == []  # read-only

        missing = await call_ok(client, "check", model=OTHER[backend])
        assert (missing["problem"], missing["models"][0]["downloaded"]) == ("model_missing", False)

        await call_ok(client, "load")
        ready = await call_ok(client, "check", answer=True, timeout=30)
        assert (ready["ok"], ready["problem"], ready["auth_ok"]) == (True, None, True)
        (checked,) = ready["models"]
        assert (checked["model"], checked["loaded"], checked["answered"]) == (model, True, True)
        assert ready["message"].startswith(f"{BACKEND_NAME[backend]} at ")


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
async def test_check_of_a_server_down_is_its_result(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    rt = fake_runtime(models_downloaded=[MODELS[backend]])
    configure(monkeypatch, backend)
    async with Client(create_server(), raise_exceptions=True) as client:
        found = await call_ok(client, "check")
    url = rt.ollama_url if backend == "ollama" else rt.lms_url
    assert (found["ok"], found["problem"], found["server_up"]) == (False, "server_down", False)
    assert found["message"].startswith(f"{BACKEND_NAME[backend]} server at {url} does not answer")
    assert found["models"] == []
    assert rt.server_pid(FAKE_BIN[backend]) is None  # nothing was started


async def test_check_and_fit_errors_are_tool_errors_with_the_kind(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_runtime(models_downloaded=[MODELS["ollama"]])
    configure(monkeypatch, "ollama")
    async with Client(create_server(), raise_exceptions=True) as client:
        bad_name = await call_failing(client, "check", model="no such model")
        assert bad_name["kind"] == "invalid_model_name"
        bad_gpu = await call_failing(client, "fit", gpu="lots")
        assert bad_gpu == {
            "kind": "config",
            "message": "gpu='lots': expected a number from 0 to 1, 'max' or 'off'",
        }
        down = await call_failing(client, "fit")
        assert down["kind"] == "server_not_running"
        assert down["message"].endswith(NOT_RUNNING["ollama"])


async def test_fit_on_lmstudio_gives_the_verdict_and_the_numbers(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = MODELS["lmstudio"]
    rt = fake_runtime(server_running=True, models_downloaded=[model])
    configure(monkeypatch, "lmstudio")
    memory = Memory(ram_bytes=64 << 30)  # before a download: judged against this machine's
    monkeypatch.setattr("lmsdrive.backends.lmstudio.machine_memory", lambda: memory)
    async with Client(create_server(), raise_exceptions=True) as client:
        whole = await call_ok(client, "fit")
        half = await call_ok(client, "fit", context_length=32768, gpu="0.5")
        rt.set(lms_guardrail_bytes=1 << 30)
        refused = await call_ok(client, "fit")
        planned = await call_ok(client, "fit", model=OTHER["lmstudio"])
    assert set(whole) == {
        "model",
        "verdict",
        "fits",
        "reason",
        "source",
        "needed_bytes",
        "gpu_bytes",
        "ram_bytes",
        "vram_bytes",
        "context_length",
        "gpu",
    }
    assert (whole["model"], whole["verdict"], whole["fits"]) == (model, "fits", True)
    assert whole["source"] == "lms load --estimate-only"
    assert whole["needed_bytes"] > 0 and whole["gpu_bytes"] == whole["needed_bytes"]
    assert (half["verdict"], half["context_length"], half["gpu"]) == ("partial", 32768, 0.5)
    assert (refused["verdict"], refused["fits"]) == ("does_not_fit", False)
    assert "guardrails" in refused["reason"]
    assert (planned["verdict"], planned["source"]) == ("fits", "lms get (download plan)")
    assert rt.state().lms.loaded == []  # estimated, never loaded
    assert rt.state().lms.find(OTHER["lmstudio"]) is None  # nor downloaded


async def test_fit_on_ollama_counts_the_context(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = MODELS["ollama"]
    rt = fake_runtime(server_running=True, models_downloaded=[model])
    configure(monkeypatch, "ollama")
    memory = Memory(ram_bytes=64 << 30)
    monkeypatch.setattr("lmsdrive.backends.ollama.machine_memory", lambda: memory)
    async with Client(create_server(), raise_exceptions=True) as client:
        short = await call_ok(client, "fit")
        long = await call_ok(client, "fit", context_length=32768, gpu="off")
    assert (short["verdict"], short["source"]) == ("fits", "ollama /api/tags + /api/show")
    assert (short["ram_bytes"], short["vram_bytes"]) == (64 << 30, None)
    assert (long["context_length"], long["gpu"], long["verdict"]) == (32768, "off", "fits")
    assert long["needed_bytes"] > short["needed_bytes"]
    assert rt.state().ollama.loaded == []


async def test_fit_with_an_unreachable_registry_is_unknown_not_a_server_error(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_runtime(server_running=True)
    configure(monkeypatch, "ollama", OTHER["ollama"])
    nowhere = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr(OllamaBackend, "registry", nowhere)
    async with Client(create_server(), raise_exceptions=True) as client:
        found = await call_ok(client, "fit")
    assert (found["verdict"], found["fits"], found["needed_bytes"]) == ("unknown", False, None)
    assert f"the registry at {nowhere} cannot be reached" in found["reason"]


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
async def test_pull_of_a_model_already_there_says_so(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    """As the CLI says it: a pull that found the model downloaded is not 'Downloaded'."""
    fake_runtime(server_running=True, models_downloaded=[MODELS[backend]])
    configure(monkeypatch, backend)
    async with Client(create_server(), raise_exceptions=True) as client:
        done = await call_ok(client, "pull")
    assert done == {
        "model": MODELS[backend],
        "message": f"{MODELS[backend]} was already downloaded",
    }
