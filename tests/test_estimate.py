"""Will it fit? (issue 17 item 4): ``Driver.estimate``, ``lmsdrive fit`` and
``ensure_ready(check_fit=True)`` against the FAKE runtimes: Ollama's registry manifest (before
the download), ``/api/tags`` + ``/api/show`` (after it) and the machine's memory (given, so
the verdicts do not depend on this machine); LM Studio's ``lms load --estimate-only`` (the
fake prints the block of the real-cli-estimate-only recording)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from lmsdrive import (
    AsyncDriver,
    CapabilityError,
    Config,
    Driver,
    Estimate,
    InitReport,
    LoadOptions,
    Memory,
    ModelNotFoundError,
    WontFitError,
)
from lmsdrive.backends.lmstudio import LMStudioBackend
from lmsdrive.backends.ollama import OllamaBackend
from lmsdrive.cli import main
from lmsdrive.estimate import kv_cache_bytes, needed_bytes
from lmsdrive.testing.fake_cli import pid_alive
from lmsdrive.testing.runtime import FakeRuntime, free_port

Factory = Callable[..., FakeRuntime]
GIB = 1 << 30
OLLAMA = "llama3.2:3b"
LMS = "qwen/qwen3-4b"
#: llama3.2:3b's weights in the fake registry (the real pull's layer).
WEIGHTS = 2019377376


def ollama_driver(model: str = OLLAMA) -> Driver:
    d = Driver(Config.from_env(backend="ollama", model_name=model))
    assert isinstance(d.backend, OllamaBackend)
    d.backend.registry = d.backend.url  # the fake server is the registry too
    return d


def count(rt: FakeRuntime, path: str) -> int:
    return sum(r["path"] == path for r in rt.requests())


@pytest.mark.parametrize(
    ("memory", "verdict", "gpu_bytes"),
    [
        (Memory(ram_bytes=16 * GIB), "fits", 0),
        (Memory(ram_bytes=16 * GIB, vram_bytes=8 * GIB), "fits", needed_bytes(WEIGHTS, None)),
        (Memory(ram_bytes=16 * GIB, vram_bytes=1 * GIB), "partial", 1 * GIB),
        (Memory(ram_bytes=1 * GIB, vram_bytes=512 << 20), "does_not_fit", None),
    ],
)
def test_ollama_before_the_download_from_the_registry_manifest(
    fake_runtime: Factory, memory: Memory, verdict: str, gpu_bytes: int | None
) -> None:
    rt = fake_runtime(server_running=True)
    with ollama_driver() as d:
        est = d.estimate(memory=memory)
    assert (est.verdict, est.gpu_bytes) == (verdict, gpu_bytes)
    assert est.needed_bytes == needed_bytes(WEIGHTS, None)
    assert est.source == "ollama /v2/manifests"
    assert "KV cache of 4096 tokens is not counted" in est.reason
    assert est.fits is (verdict != "does_not_fit")
    assert count(rt, "/api/pull") == 0  # nothing was downloaded to tell


def test_ollama_after_the_download_counts_the_kv_cache(fake_runtime: Factory) -> None:
    fake_runtime(server_running=True, models_downloaded={"ollama": [OLLAMA]})
    big = Memory(ram_bytes=64 * GIB)
    with ollama_driver() as d:
        short = d.estimate(memory=big)
        long = d.estimate(options=LoadOptions(context_length=32768), memory=big)
    kv = kv_cache_bytes(28, 24, 8, 3072, 4096)
    assert kv == 448 << 20
    assert short.source == "ollama /api/tags + /api/show"
    assert short.needed_bytes is not None and long.needed_bytes is not None
    assert long.needed_bytes - short.needed_bytes == 7 * kv  # 8x the context
    assert (long.context_length, long.verdict) == (32768, "fits")


def test_ollama_remote_server_memory_is_unknown_unless_given(fake_runtime: Factory) -> None:
    fake_runtime(server_running=True)
    config = Config.from_env(backend="ollama", model_name=OLLAMA)
    backend: Any = OllamaBackend(config.backend_url(), remote=True)  # (Backend: a Protocol)
    backend.registry = backend.url
    with Driver(config, backend=backend) as d:
        unknown = d.estimate()
        told = d.estimate(memory=Memory(ram_bytes=1 * GIB))
    assert unknown.verdict == "unknown" and not unknown.fits
    assert "not known here (it is on another machine)" in unknown.reason
    assert unknown.needed_bytes == needed_bytes(WEIGHTS, None)
    assert told.verdict == "does_not_fit"


def test_ollama_model_not_in_the_registry(fake_runtime: Factory) -> None:
    fake_runtime(server_running=True)
    with ollama_driver("llama3.2:99b") as d, pytest.raises(ModelNotFoundError, match="registry"):
        d.estimate(memory=Memory(ram_bytes=GIB))


def test_lmstudio_estimate_from_lms(fake_runtime: Factory) -> None:
    rt = fake_runtime(server_running=True, models_downloaded={"lms": [LMS]})
    with Driver(Config.from_env(backend="lmstudio", model_name=LMS)) as d:
        whole = d.estimate()
        half = d.estimate(options=LoadOptions(context_length=32768, gpu=0.5))
        rt.set(lms_guardrail_bytes=GIB)
        refused = d.estimate()
    assert (whole.verdict, whole.source) == ("fits", "lms load --estimate-only")
    assert whole.needed_bytes is not None and whole.gpu_bytes == whole.needed_bytes
    assert (half.verdict, half.context_length, half.gpu) == ("partial", 32768, 0.5)
    assert half.gpu_bytes is not None and half.needed_bytes is not None
    assert abs(half.gpu_bytes * 2 - half.needed_bytes) < half.needed_bytes / 100
    assert refused.verdict == "does_not_fit" and "guardrails" in refused.reason
    spawned = [s["argv"] for s in rt.spawns() if "--estimate-only" in s["argv"]]
    assert spawned[1][-4:] == ["--context-length", "32768", "--gpu", "0.5"]


#: qwen/qwen3-8b's download in the fake registry, as its plan prints it ("5.03 GB").
QWEN8_DOWNLOAD = 5_030_000_000


def lms_get_spawns(rt: FakeRuntime) -> list[dict[str, Any]]:
    return [s for s in rt.spawns() if s["argv"][:2] == ["lms", "get"]]


def assert_nothing_downloaded(rt: FakeRuntime, model: str) -> None:
    """No ``lms get`` ran with --yes, each one ended, and the fake has no new model."""
    gets = lms_get_spawns(rt)
    assert gets and all(not {"-y", "--yes"} & set(s["argv"]) for s in gets)
    assert not any(pid_alive(s["pid"]) for s in gets)
    assert rt.state().lms.find(model) is None


@pytest.mark.parametrize(
    ("memory", "verdict", "gpu_bytes"),
    [
        (Memory(ram_bytes=16 * GIB), "fits", 0),
        (Memory(ram_bytes=16 * GIB, vram_bytes=2 * GIB), "partial", 2 * GIB),
        (Memory(ram_bytes=2 * GIB), "does_not_fit", None),
    ],
)
def test_lmstudio_before_the_download_from_the_plan_of_lms_get(
    fake_runtime: Factory, memory: Memory, verdict: str, gpu_bytes: int | None
) -> None:
    rt = fake_runtime(server_running=True)
    with Driver(Config.from_env(backend="lmstudio", model_name="qwen/qwen3-8b")) as d:
        est = d.estimate(options=LoadOptions(context_length=8192), memory=memory)
    assert (est.verdict, est.gpu_bytes, est.source) == (
        verdict,
        gpu_bytes,
        "lms get (download plan)",
    )
    assert est.needed_bytes == needed_bytes(QWEN8_DOWNLOAD, None)
    assert (est.context_length, est.ram_bytes) == (8192, memory.ram_bytes)
    assert "5.03 GB download: before the download the KV cache is not counted" in est.reason
    assert [s["argv"] for s in lms_get_spawns(rt)] == [["lms", "get", "qwen/qwen3-8b"]]
    assert_nothing_downloaded(rt, "qwen/qwen3-8b")


def test_lmstudio_plan_is_judged_against_this_machine(
    fake_runtime: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = fake_runtime(server_running=True)
    small = Memory(ram_bytes=GIB)
    monkeypatch.setattr("lmsdrive.backends.lmstudio.machine_memory", lambda: small)
    with Driver(Config.from_env(backend="lmstudio", model_name="qwen/qwen3-8b")) as d:
        est = d.estimate()
    assert (est.verdict, est.ram_bytes) == ("does_not_fit", GIB)
    assert_nothing_downloaded(rt, "qwen/qwen3-8b")


def test_lmstudio_plan_of_a_model_lm_studio_cannot_find(fake_runtime: Factory) -> None:
    rt = fake_runtime(server_running=True)
    config = Config.from_env(backend="lmstudio", model_name="nobody/no-such-model")
    with Driver(config) as d, pytest.raises(ModelNotFoundError, match="cannot find nobody/"):
        d.estimate(memory=Memory(ram_bytes=GIB))
    assert not any(pid_alive(s["pid"]) for s in lms_get_spawns(rt))


def test_lmstudio_async_driver_refuses_before_downloading(
    fake_runtime: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = fake_runtime(server_running=True)
    monkeypatch.setattr("lmsdrive.backends.lmstudio.machine_memory", lambda: Memory(GIB))

    async def session() -> tuple[Estimate, InitReport]:
        async with AsyncDriver(Config.from_env(backend="lmstudio", model_name=LMS)) as d:
            return await d.estimate(), await d.ensure_ready(check_fit=True)

    est, report = asyncio.run(session())
    assert (est.verdict, est.source) == ("does_not_fit", "lms get (download plan)")
    assert isinstance(report.error, WontFitError) and report.steps_performed == []
    assert_nothing_downloaded(rt, LMS)


def test_cli_fit_before_the_download_on_lmstudio(
    fake_runtime: Factory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = fake_runtime(server_running=True)
    memory = Memory(ram_bytes=16 * GIB)
    monkeypatch.setattr("lmsdrive.backends.lmstudio.machine_memory", lambda: memory)
    flags = ["--backend", "lmstudio", "--model", "qwen/qwen3-8b"]
    assert main(["fit", *flags]) == 0
    shown = capsys.readouterr()
    assert "lms get (download plan)" in shown.out and "fits" in shown.out
    assert "KV cache is not counted" in shown.out + shown.err
    assert main(["fit", *flags, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["verdict"], data["fits"], data["needed_bytes"], data["ram_bytes"]) == (
        "fits",
        True,
        needed_bytes(QWEN8_DOWNLOAD, None),
        16 * GIB,
    )
    memory = Memory(ram_bytes=2 * GIB)  # what the patched machine_memory now gives
    assert main(["fit", *flags]) == 1
    assert "does not fit" in capsys.readouterr().out
    assert main(["init", *flags, "--check-fit"]) == 1
    assert "does not fit" in capsys.readouterr().err
    assert main(["fit", "--backend", "lmstudio", "--model", "nobody/no-such-model"]) == 5
    assert "'nobody/no-such-model' was not found" in capsys.readouterr().err
    assert_nothing_downloaded(rt, "qwen/qwen3-8b")
    assert not rt.state().lms.loaded


def test_lmstudio_remote_cannot_estimate(fake_runtime: Factory) -> None:
    fake_runtime(server_running=True)
    config = Config.from_env(backend="lmstudio", model_name=LMS)
    backend: Any = LMStudioBackend(config.backend_url(), remote=True)
    with Driver(config, backend=backend) as d, pytest.raises(CapabilityError, match="lmsdrive fit"):
        d.estimate()


def test_ensure_ready_refuses_before_downloading(
    fake_runtime: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = fake_runtime(server_running=True)
    monkeypatch.setattr("lmsdrive.backends.ollama.machine_memory", lambda: Memory(ram_bytes=GIB))
    with ollama_driver() as d:
        report = d.ensure_ready(check_fit=True)
    assert not report.success and isinstance(report.error, WontFitError)
    assert "does not fit" in report.message and "smaller model" in report.message
    assert report.steps_performed == []
    assert count(rt, "/api/pull") == 0 and not [s for s in rt.spawns() if "pull" in s["argv"]]
    monkeypatch.setattr(
        "lmsdrive.backends.ollama.machine_memory", lambda: Memory(ram_bytes=64 * GIB)
    )
    with ollama_driver() as d:
        assert d.ensure_ready(check_fit=True).success


def test_lmstudio_ensure_ready_refuses_before_downloading(
    fake_runtime: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = fake_runtime(server_running=True)
    monkeypatch.setattr("lmsdrive.backends.lmstudio.machine_memory", lambda: Memory(GIB))
    with Driver(Config.from_env(backend="lmstudio", model_name=LMS)) as d:
        report = d.ensure_ready(check_fit=True)
    assert not report.success and isinstance(report.error, WontFitError)
    assert isinstance(report.error.estimate, Estimate)
    assert report.error.estimate.source == "lms get (download plan)"
    assert "does not fit" in report.message and "smaller model" in report.message
    assert report.steps_performed == []
    assert_nothing_downloaded(rt, LMS)
    assert not rt.state().lms.loaded


def test_lmstudio_ensure_ready_checks_again_after_the_download(
    fake_runtime: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The plan fits this machine, but LM Studio's guardrails (KV cache counted) refuse the
    # downloaded model: refused before loading it.
    rt = fake_runtime(server_running=True)
    rt.set(lms_guardrail_bytes=GIB)
    monkeypatch.setattr("lmsdrive.backends.lmstudio.machine_memory", lambda: Memory(64 * GIB))
    with Driver(Config.from_env(backend="lmstudio", model_name=LMS)) as d:
        report = d.ensure_ready(check_fit=True)
    assert not report.success and isinstance(report.error, WontFitError)
    assert isinstance(report.error.estimate, Estimate)
    assert report.error.estimate.source == "lms load --estimate-only"
    assert report.steps_performed == [f"Downloaded model {LMS}"]
    assert not rt.state().lms.loaded
    rt.set(lms_guardrail_bytes=64 * GIB)
    with Driver(Config.from_env(backend="lmstudio", model_name=LMS)) as d:
        assert d.ensure_ready(check_fit=True).success
    assert [x.name for x in rt.state().lms.loaded] == [LMS]


def test_cli_fit(fake_runtime: Factory, capsys: pytest.CaptureFixture[str]) -> None:
    rt = fake_runtime(server_running=True, models_downloaded={"lms": [LMS]})
    flags = ["--backend", "lmstudio", "--model", LMS]
    assert main(["fit", *flags, "--json", "--context-length", "8192"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["verdict"], data["fits"], data["context_length"]) == ("fits", True, 8192)
    assert main(["fit", *flags]) == 0
    assert "Verdict" in capsys.readouterr().out
    rt.set(lms_guardrail_bytes=GIB)
    assert main(["fit", *flags]) == 1
    shown = capsys.readouterr()
    assert "does not fit" in shown.out and "guardrails" in shown.err
    assert main(["init", *flags, "--check-fit"]) == 1
    assert "does not fit" in capsys.readouterr().err


def test_an_unreachable_registry_gives_unknown_never_blames_the_server(
    fake_runtime: Factory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # No network: the registry manifest cannot be fetched. The local server is up and says
    # nothing wrong, so the verdict is unknown (exit 1), naming the registry and its error.
    rt = fake_runtime(server_running=True)
    nowhere = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr(OllamaBackend, "registry", nowhere)
    with Driver(Config.from_env(backend="ollama", model_name=OLLAMA)) as d:
        est = d.estimate(memory=Memory(ram_bytes=16 * GIB))
    assert (est.verdict, est.fits, est.needed_bytes) == ("unknown", False, None)
    assert f"the registry at {nowhere} cannot be reached (" in est.reason
    assert "refused" in est.reason.lower() and "ollama serve" not in est.reason
    flags = ["--backend", "ollama", "--model", OLLAMA]
    assert main(["fit", *flags]) == 1
    shown = capsys.readouterr()
    assert "cannot be told" in shown.out and "registry" in shown.err
    assert rt.ollama_url not in shown.err and "lmsdrive init" not in shown.err
    assert main(["fit", *flags, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["verdict"], data["fits"], data["model"]) == ("unknown", False, OLLAMA)
    assert main(["init", *flags, "--check-fit"]) == 0  # unknown is not refused
    assert OLLAMA in [m.name for m in rt.state().ollama.loaded]


def test_cli_fit_json_prints_an_object_when_the_estimate_fails(
    fake_runtime: Factory, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_runtime()  # no server runs
    assert main(["fit", "--backend", "ollama", "--model", OLLAMA, "--json"]) == 4
    shown = capsys.readouterr()
    data = json.loads(shown.out)
    assert (data["model"], data["verdict"], data["fits"]) == (OLLAMA, "unknown", False)
    assert (data["error"], data["exit_status"]) == ("server_not_running", 4)
    assert "does not answer" in data["reason"] and "does not answer" in shown.err
