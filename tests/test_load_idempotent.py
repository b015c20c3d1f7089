"""Load, unload and pull are idempotent on both backends (against the FAKE runtimes of
lmsdrive.testing): a second ``load`` loads no second copy (real ``lms load`` would: ``:2``),
``unload`` of a model not loaded exits 0 on both, and options asked of a model already
loaded are not silently dropped."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from lmsdrive import Config, Driver
from lmsdrive.cli import main
from lmsdrive.testing.runtime import FakeRuntime

Factory = Callable[..., FakeRuntime]
BACKENDS = ["ollama", "lmstudio"]
MODEL = {"ollama": "llama3.2:3b", "lmstudio": "qwen/qwen3-4b"}
FAKE = {"ollama": "ollama", "lmstudio": "lms"}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("BACKEND", "MODEL_NAME", "MODEL_SOURCE", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)


def driver(backend: str) -> Driver:
    return Driver(Config.from_env(backend=backend, model_name=MODEL[backend]))


def run_again(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> list[dict[str, Any]]:
    """Run ``argv`` on a model already there: exit 0, ``said`` printed; then with
    ``--json``: its events."""
    assert main(argv) == 0
    assert said in capsys.readouterr().out
    assert main([*argv, "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("backend", BACKENDS)
def test_load_of_a_loaded_model_loads_no_second_copy(fake_runtime: Factory, backend: str) -> None:
    fake_runtime(server_running=True, models_downloaded=[MODEL[backend]])
    with driver(backend) as d:
        first = d.load()
        assert not first.already_loaded
        second = d.load()
        assert second.already_loaded
        assert second.identifier == first.identifier
        assert [m.identifier for m in d.loaded_models()] == [first.identifier]


def test_lmstudio_load_with_a_new_identifier_loads_another_instance(
    fake_runtime: Factory,
) -> None:
    from lmsdrive._types import LoadOptions

    fake_runtime(server_running=True, models_loaded=[MODEL["lmstudio"]])
    with driver("lmstudio") as d:
        other = d.load(options=LoadOptions(identifier="second"))
        assert not other.already_loaded and other.identifier == "second"
        again = d.load(options=LoadOptions(identifier="second"))
        assert again.already_loaded
        assert sorted(m.identifier for m in d.loaded_models()) == [MODEL["lmstudio"], "second"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_cli_load_twice_says_already_loaded(
    fake_runtime: Factory, capsys: pytest.CaptureFixture[str], backend: str
) -> None:
    fake_runtime(server_running=True, models_downloaded=[MODEL[backend]])
    argv = ["--backend", backend, "load", MODEL[backend]]
    assert main(argv) == 0
    assert f"OK Loaded {MODEL[backend]}" in capsys.readouterr().out
    lines = run_again(argv, f"OK {MODEL[backend]} was already loaded", capsys)
    model = next(e for e in lines if e["event"] == "model")
    assert model["already_loaded"] is True and model["exit_status"] == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_unload_of_a_model_not_loaded_is_exit_0_on_both(
    fake_runtime: Factory, capsys: pytest.CaptureFixture[str], backend: str
) -> None:
    fake_runtime(server_running=True, models_downloaded=[MODEL[backend]])
    assert main(["--backend", backend, "unload", MODEL[backend]]) == 0
    assert f"OK {MODEL[backend]} was not loaded" in capsys.readouterr().out
    with driver(backend) as d:
        assert d.unload() is False
        d.load()
        assert d.unload() is True
        assert d.loaded_models() == []


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("command", ["init", "load"])
def test_a_context_asked_of_a_loaded_model_is_not_dropped_silently(
    fake_runtime: Factory, capsys: pytest.CaptureFixture[str], backend: str, command: str
) -> None:
    rt = fake_runtime(server_running=True, models_loaded=[MODEL[backend]])
    (before,) = rt.state().backend(FAKE[backend]).live_loaded()
    assert before.context_length == 4096
    argv = ["--backend", backend, command, "--context-length", "8192", MODEL[backend]]
    assert main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"{MODEL[backend]} is loaded with context 4096, not the 8192 asked" in out, out
    assert f"lmsdrive unload {MODEL[backend]}" in out, out
    # not reloaded behind the user's back: the same instance, the same context
    (after,) = rt.state().backend(FAKE[backend]).live_loaded()
    assert (after.identifier, after.context_length) == (before.identifier, 4096)
    assert main([*argv[:3], MODEL[backend]]) == 0  # no context asked: nothing to say
    assert "not the" not in capsys.readouterr().out


def test_ensure_ready_reports_the_context_it_did_not_change(fake_runtime: Factory) -> None:
    from lmsdrive._types import LoadOptions

    fake_runtime(server_running=True, models_loaded=[MODEL["ollama"]])
    with driver("ollama") as d:
        report = d.ensure_ready(load_options=LoadOptions(context_length=4096))
        assert report.success and "not the" not in report.message
        report = d.ensure_ready(load_options=LoadOptions(context_length=8192))
        assert report.success and report.steps_performed == []
        assert "is loaded with context 4096, not the 8192 asked" in report.message


@pytest.mark.parametrize("backend", BACKENDS)
def test_pull_of_a_downloaded_model_says_already_downloaded(
    fake_runtime: Factory, capsys: pytest.CaptureFixture[str], backend: str
) -> None:
    fake_runtime(server_running=True, models_downloaded=[MODEL[backend]])
    argv = ["--backend", backend, "pull", MODEL[backend]]
    lines = run_again(argv, f"OK {MODEL[backend]} was already downloaded", capsys)
    model = next(e for e in lines if e["event"] == "model")
    assert model["already_downloaded"] is True, lines
    last = [e for e in lines if e["event"] == "progress"][-1]
    assert (last["phase"], last["percent"], last.get("already_downloaded")) == ("done", 100.0, True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pull_of_a_new_model_is_not_already_downloaded(
    fake_runtime: Factory, capsys: pytest.CaptureFixture[str], backend: str
) -> None:
    fake_runtime(server_running=True)
    assert main(["--backend", backend, "pull", "--json", MODEL[backend]]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    model = next(e for e in lines if e["event"] == "model")
    assert model["already_downloaded"] is False and model["message"].startswith("Downloaded")


def test_ollama_pull_of_a_downloaded_model_asks_the_list_not_the_registry(
    fake_runtime: Factory,
) -> None:
    rt = fake_runtime(server_running=True, models_downloaded=[MODEL["ollama"]])
    with driver("ollama") as d:
        (event,) = list(d.pull())
        assert (event.phase, event.percent, event.message) == ("done", 100.0, "already downloaded")
        assert not [s for s in rt.spawns() if s["argv"][1:2] == ["pull"]]
        report = d.update()  # pull --update still pulls again
        assert not report.changed and report.digest_before is not None
        assert [s for s in rt.spawns() if s["argv"][1:2] == ["pull"]]
