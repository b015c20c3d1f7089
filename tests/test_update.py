"""``pull --update`` / ``Driver.update`` (issue 17 item 5): pull again and say whether the
model changed, against the FAKE runtimes (Ollama: the digest ``/api/tags`` lists; LM Studio
lists none: the size stands in)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from lmsdrive import Config, Driver, Progress
from lmsdrive.cli import main
from lmsdrive.testing.runtime import FakeRuntime

Factory = Callable[..., FakeRuntime]
OLLAMA = "llama3.2:3b"
OLD = "0" * 64


def test_ollama_update_reports_the_digest_before_and_after(fake_runtime: Factory) -> None:
    rt = fake_runtime(server_running=True, models_downloaded={"ollama": [OLLAMA]})
    events: list[Progress] = []
    with Driver(Config.from_env(backend="ollama", model_name=OLLAMA)) as d:
        current = d.update()
        with rt.edit() as st:  # an older version of the model is on disk
            st.ollama.downloaded[0].digest = OLD
        updated = d.update(on_progress=events.append)
    assert (current.changed, current.compared) == (False, "digest")
    assert current.digest_before == current.digest_after != OLD
    assert (updated.digest_before, updated.digest_after) == (OLD, current.digest_after)
    assert updated.changed is True
    assert events and events[-1].phase == "done"


def test_update_of_a_model_not_downloaded_downloads_it(fake_runtime: Factory) -> None:
    fake_runtime(server_running=True)
    with Driver(Config.from_env(backend="ollama", model_name=OLLAMA)) as d:
        report = d.update()
    assert report.digest_before is None and report.digest_after and report.changed


def test_lmstudio_update_compares_the_size(fake_runtime: Factory) -> None:
    fake_runtime(server_running=True, models_downloaded={"lms": ["qwen/qwen3-4b"]})
    with Driver(Config.from_env(backend="lmstudio", model_name="qwen/qwen3-4b")) as d:
        report = d.update()
    assert (report.compared, report.changed) == ("size", False)
    assert report.digest_before == report.digest_after == "2497281088"


def test_cli_pull_update(fake_runtime: Factory, capsys: pytest.CaptureFixture[str]) -> None:
    rt = fake_runtime(server_running=True, models_downloaded={"ollama": [OLLAMA]})
    assert main(["pull", "--update", "--json", OLLAMA]) == 0  # the pull's JSON-lines events
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[:2] == ["begin", "step"] and kinds[-2:] == ["model", "result"]
    assert set(kinds[2:-2]) == {"progress"}  # the pull again, its progress
    model = events[-2]
    assert (model["model"], model["ok"], model["changed"], model["compared"]) == (
        OLLAMA,
        True,
        False,
        "digest",
    )
    assert model["digest_before"] == model["digest_after"] and events[-1]["exit_status"] == 0
    assert main(["pull", "--update", OLLAMA]) == 0
    assert "is already up to date (digest " in capsys.readouterr().out
    with rt.edit() as st:
        st.ollama.downloaded[0].digest = OLD
    assert main(["pull", "--update", OLLAMA]) == 0
    assert f"Updated {OLLAMA}: digest 000000000000 → " in capsys.readouterr().out
