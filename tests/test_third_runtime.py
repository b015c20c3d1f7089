"""Adding a runtime touches no existing module but the registry: a toy runtime, written
here as a spec and a backend of its own (a third runtime's own files), registered with one
line in ``RUNTIMES``, is configured, driven end to end, shown in ``status`` and offered by the
CLI, through the same code paths as Ollama and LM Studio."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lmsdrive import Config, Driver, Generation, LoadedModel, LocalModel, Progress, Readiness
from lmsdrive._types import LoadOptions, StartResult
from lmsdrive.backends.base import RuntimeBackend
from lmsdrive.cli import build_parser
from lmsdrive.model_ref import ModelRef
from lmsdrive.runtimes import RUNTIMES, RuntimeSpec
from lmsdrive.runtimes._urls import parse_http_url


class ToyAPI:
    """The toy runtime's server, in memory (a real one would be an http.BaseAPI client)."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url, self.token = url, token
        self.downloaded: list[str] = []
        self.loaded: list[str] = []

    def is_running(self) -> bool:
        return True

    def close(self) -> None:
        pass


class ToyBackend(RuntimeBackend):
    spec = RuntimeSpec(
        id="toyllm",
        tool="toyllm",
        display_name="ToyLLM",
        url_variable="TOYLLM_URL",
        bin_variable="LMSDRIVE_TOYLLM_BIN",
        install_places=lambda home, root: [home / ".toyllm" / "bin" / "toyllm"],
        token_variables=("TOYLLM_TOKEN",),
        install_hint="ToyLLM is not installed: pip install toyllm",
        start_hint="start it with `toyllm serve`",
        catalog="the ToyLLM hub",
        model_hint="Use a name such as toy/tiny.",
        backend=f"{__name__}:ToyBackend",
        read_url=lambda value, variable: parse_http_url(
            value or "http://127.0.0.1:7777", variable=variable
        ),
        spell=lambda ref, source: ref.for_lmstudio(),
        matches=ModelRef.matches_lmstudio,
    )
    api: ToyAPI

    def _make_api(self, url: str, api_token: str | None) -> ToyAPI:
        return ToyAPI(url, api_token)

    def readiness(self, model: str) -> Readiness:
        name = self.spell(model)
        return Readiness(True, name in self.api.downloaded, name in self.api.loaded)

    def start(self, timeout: float = 60.0) -> StartResult:
        return StartResult(url=self.url, already_running=True)

    def list_models(self) -> list[LocalModel]:
        return [LocalModel(name=n) for n in self.api.downloaded]

    def loaded_models(self) -> list[LoadedModel]:
        return [LoadedModel(name=n, identifier=n) for n in self.api.loaded]

    def pull(self, model: str) -> Iterator[Progress]:
        yield Progress(phase="downloading", overall_percent=50.0)
        self.api.downloaded.append(self.spell(model))
        yield Progress(phase="done", overall_percent=100.0)

    def load(self, model: str, options: LoadOptions | None = None) -> LoadedModel:
        self.api.loaded.append(self.spell(model))
        return LoadedModel(name=self.spell(model), identifier=self.spell(model))

    def unload(self, model: str) -> None:
        self.api.loaded.remove(self.spell(model))

    def generate(
        self,
        model: str,
        prompt: str,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        keep_alive: int | float | str | None = None,
    ) -> Generation:
        return Generation(text=f"toy answer to {prompt}", model=self.spell(model))

    def version(self, *, server: bool = True) -> str | None:
        return "0.0.1"


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RuntimeSpec:
    monkeypatch.setitem(RUNTIMES, "toyllm", ToyBackend.spec)  # the one registry line
    binary = tmp_path / "toyllm"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("LMSDRIVE_TOYLLM_BIN", str(binary))
    return ToyBackend.spec


def test_a_third_runtime_needs_only_its_own_files_and_a_registry_line(toy: RuntimeSpec) -> None:
    config = Config.from_env(
        {
            "BACKEND": "ToyLLM",
            "MODEL_NAME": "toy/tiny",
            "TOYLLM_URL": "http://toy-box:7000/",
            "TOYLLM_TOKEN": "s3cret",
        }
    )
    assert (config.backend, config.backend_url(), config.api_token) == (
        "toyllm",
        "http://toy-box:7000",
        "s3cret",
    )
    assert "s3cret" not in repr(config)
    events: list[Progress] = []
    with Driver(config) as driver:
        assert isinstance(driver.backend, ToyBackend)
        assert driver.backend.api.token == "s3cret"
        report = driver.ensure_ready(on_progress=events.append)
        assert report.success, report.message
        assert report.steps_performed == [  # toy-box is another machine: through its API
            "Downloaded model toy/tiny through the server's API",
            "Loaded model toy/tiny through the server's API",
        ]
        assert [e.overall_percent for e in events] == [50.0, 100.0]
        assert driver.generate("hi").text == "toy answer to hi"
        status = driver.status().to_dict()
        assert (status["backend"], status["display_name"], status["ready"]) == (
            "toyllm",
            "ToyLLM",
            True,
        )
        assert status["daemon"] is None and status["version"] == "0.0.1"
    backend_flag = next(a for a in build_parser()._actions if a.dest == "backend")
    assert backend_flag.choices is not None and "toyllm" in backend_flag.choices


def test_a_third_runtimes_messages_come_from_its_spec(toy: RuntimeSpec) -> None:
    from lmsdrive.driver import friendly_message
    from lmsdrive.errors import ModelNotFoundError, NotInstalledError

    assert friendly_message("toyllm", None, NotInstalledError("x")) == toy.install_hint
    assert "the ToyLLM hub" in friendly_message("toyllm", "toy/x", ModelNotFoundError("gone"))
