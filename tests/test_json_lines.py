"""Several models in one run and logs a machine reads (issue 14 items 2 and 3; issue 20
item 11's progress parts): ``--json`` event streams, throttled progress, overall bytes,
one ETA format, "already downloaded" said once."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from lmsdrive import Driver, ModelReport, Progress
from lmsdrive.cli import EXIT_MODEL_NOT_FOUND, EXIT_OK, EXIT_USAGE, main
from lmsdrive.cli._commands import worst_status
from lmsdrive.cli._events import PROGRESS_PER_SECOND, JsonLines
from lmsdrive.cli._ui import ProgressView, Ui, human_seconds, parse_eta
from lmsdrive.runtimes import RUNTIMES
from lmsdrive.testing.runtime import FakeRuntime

Factory = Callable[..., FakeRuntime]
A, B = "llama3.2:1b", "qwen3:0.6b"
LMS = "qwen/qwen3-8b"
TOKEN = "sk-lm-Abcd1234:Zyxw9876Vuts5432Rqpo"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("BACKEND", "MODEL_NAME", "MODEL_SOURCE", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    for spec in RUNTIMES.values():
        for var in spec.token_variables:
            monkeypatch.delenv(var, raising=False)


def events_of(out: str) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in out.splitlines()]
    assert events and all(isinstance(e["event"], str) and e["ts"] for e in events)
    assert events[-1]["event"] in ("result", "status")
    return events


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- several models ----------------------------------------------------------------------
def test_init_several_models_one_report_each_idempotent(
    fake_runtime: Factory, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = fake_runtime(models_downloaded=[A])
    assert main(["init", "--model", A, "--model", B]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"OK Ollama is ready: model {A} is loaded." in out
    assert f"OK Ollama is ready: model {B} is loaded." in out
    assert out.count("Starting the Ollama server") == 1
    rt.reset_counts()
    assert main(["init", "--model", A, "--model", B]) == EXIT_OK  # idempotent per model
    again = capsys.readouterr().out
    assert "Downloading" not in again and again.count("was already ready") == 2
    assert rt.spawn_count() == 0


def test_model_name_list_and_the_worst_exit_status(
    fake_runtime: Factory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_runtime(server_running=True, models_downloaded=[A])
    monkeypatch.setenv("MODEL_NAME", f"{A}, no-such-model:1b")
    assert main(["init", "--json"]) == EXIT_MODEL_NOT_FOUND
    events = events_of(capsys.readouterr().out)
    kinds = [(e["event"], e.get("model")) for e in events]
    assert kinds.index(("model", A)) < kinds.index(("step", "no-such-model:1b"))  # as done
    models = [e for e in events if e["event"] == "model"]
    assert [(m["model"], m["ok"], m["exit_status"]) for m in models] == [
        (A, True, EXIT_OK),
        ("no-such-model:1b", False, EXIT_MODEL_NOT_FOUND),
    ]
    assert events[-1]["exit_status"] == EXIT_MODEL_NOT_FOUND and events[0]["models"] == [
        A,
        "no-such-model:1b",
    ]
    assert main(["check"]) == EXIT_MODEL_NOT_FOUND  # check reads the list too
    assert main(["status", "--json"]) == EXIT_OK  # status too: ready only when all are
    status = events_of(capsys.readouterr().out)[-1]
    assert status["model"] == f"{A}, no-such-model:1b" and status["ready"] is False
    assert main(["status", "--json", "--model", A]) == EXIT_OK
    assert events_of(capsys.readouterr().out)[-1]["ready"] is True


def test_ensure_ready_takes_several_models(fake_runtime: Factory) -> None:
    fake_runtime(server_running=True)
    begun: list[str] = []
    done: list[ModelReport] = []
    with Driver() as d:
        report = d.ensure_ready(models=[A, B], on_model=begun.append, on_model_done=done.append)
        assert report.success and begun == [A, B] and done == report.models
        assert [(r.model, r.success) for r in report.models] == [(A, True), (B, True)]
        assert all(isinstance(r, ModelReport) for r in report.models)
        assert report.steps_performed[-1] == f"Loaded model {B}"
        assert d.check([A, B]).ok


def test_a_server_failure_ends_the_run(fake_runtime: Factory) -> None:
    fake_runtime(backends=["lms"])  # no ollama here: nothing is tried for the second model
    with Driver() as d:
        report = d.ensure_ready(models=[A, B])
    assert not report.success and len(report.models) == 2
    assert all(r.message == RUNTIMES["ollama"].install_hint for r in report.models)


def test_worst_status_order() -> None:
    assert worst_status([0, 7, 9, 5]) == 5
    assert worst_status([5, 4]) == 4 and worst_status([0]) == 0


# -- JSON lines --------------------------------------------------------------------------
def test_init_json_events_with_download_and_no_token(
    fake_runtime: Factory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # No ollama here (remote=True): the download goes through the server's API, with the token.
    fake_runtime(remote=True, server_running=True, api_token=TOKEN, pull_seconds=0.6)
    monkeypatch.setenv("OLLAMA_API_KEY", TOKEN)
    assert main(["init", "--model", A, "--json"]) == EXIT_OK
    out = capsys.readouterr().out
    assert TOKEN not in out
    events = events_of(out)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "begin" and kinds[-2:] == ["model", "result"]
    steps = [e["message"] for e in events if e["event"] == "step"]
    assert steps == [f"Downloading model {A}", f"Loading model {A}"]
    progress = [e for e in events if e["event"] == "progress"]
    assert progress and all(e["model"] == A and e["backend"] == "ollama" for e in progress)
    percents = [e["percent"] for e in progress if e["percent"] is not None]
    assert percents == sorted(percents) and percents[-1] == 100.0
    last = progress[-1]
    assert last["completed_bytes"] == last["total_bytes"] and last["total_bytes"] > 1e9
    assert events[-1]["exit_status"] == EXIT_OK


def test_json_progress_is_throttled() -> None:
    out, clock = io.StringIO(), Clock()
    log = JsonLines("pull", "ollama", out=out, clock=clock)
    log.for_model(A)
    total = 2000
    for done in range(0, total + 1, 2):  # 1001 events over 2 s
        clock.now = done / 1000
        pct = done * 100 / total
        log.progress(
            Progress(
                phase="downloading", item="l1", completed=done, total=total, overall_percent=pct
            )
        )
    log.progress(Progress(phase="done", overall_percent=100.0))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) <= 2 * PROGRESS_PER_SECOND + 2
    assert lines[-1]["phase"] == "done" and lines[-1]["percent"] == 100.0


def test_pull_load_status_json(fake_runtime: Factory, capsys: pytest.CaptureFixture[str]) -> None:
    fake_runtime(server_running=True)
    assert main(["pull", A, "--json"]) == EXIT_OK
    pull = events_of(capsys.readouterr().out)
    assert pull[-2]["event"] == "model" and pull[-2]["already_downloaded"] is False
    assert main(["load", A, "--json"]) == EXIT_OK
    load = events_of(capsys.readouterr().out)
    assert [e["event"] for e in load] == ["begin", "step", "model", "result"]
    assert main(["status", "--json", "--model", A]) == EXIT_OK
    (status,) = events_of(capsys.readouterr().out)  # one line: the status is the result
    assert status["event"] == "status" and status["ready"] is True
    assert status["exit_status"] == EXIT_OK


# -- what a person reads -----------------------------------------------------------------
def test_plain_progress_shows_overall_bytes_and_one_eta_format() -> None:
    out, clock = io.StringIO(), Clock()
    view = ProgressView(Ui(out=out), clock=clock)
    big, small = 1_000_000_000, 1_000_000
    view.update(
        Progress(phase="downloading", item="big", completed=big, total=big, overall_percent=99.0)
    )
    clock.now = 2.0
    view.update(
        Progress(
            phase="downloading",
            item="small",
            completed=small // 2,
            total=small,
            overall_percent=99.5,
        )
    )
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    # overall bytes beside the overall percent, not the small layer's 500.0 kB / 1.0 MB
    assert "99.5%  1.0 GB / 1.0 GB" in lines[1]


@pytest.mark.parametrize(
    ("eta", "shown"), [("01:45", "ETA 1m45s"), ("1m20s", "ETA 1m20s"), ("0:00:17", "ETA 17s")]
)
def test_the_runtimes_etas_in_one_format(eta: str, shown: str) -> None:
    out = io.StringIO()
    ProgressView(Ui(out=out)).update(Progress(phase="downloading", overall_percent=50.0, eta=eta))
    assert out.getvalue().rstrip().endswith(shown)


def test_a_computed_eta_in_the_same_format() -> None:
    out, clock = io.StringIO(), Clock()
    view = ProgressView(Ui(out=out), clock=clock)
    for second in range(3):  # 10 MB/s, 100 MB to go after 20 MB
        clock.now = float(second)
        done = second * 10_000_000
        view.update(
            Progress(
                phase="downloading",
                item="w",
                completed=done,
                total=120_000_000,
                overall_percent=done / 1_200_000,
            )
        )
    assert out.getvalue().splitlines()[-1].endswith("10.0 MB/s  ETA 10s")


def test_plain_label_changes_are_throttled() -> None:
    out, clock = io.StringIO(), Clock()
    view = ProgressView(Ui(out=out), clock=clock)
    for i in range(50):  # 50 layers in half a second, overall stuck below 10%
        clock.now = i / 100
        view.update(
            Progress(
                phase="downloading", item=f"layer{i}", completed=1, total=100, overall_percent=5.0
            )
        )
    assert len(out.getvalue().splitlines()) == 1


def test_eta_formats() -> None:
    assert [human_seconds(s) for s in (0, 17, 80, 3725)] == ["0s", "17s", "1m20s", "1h02m05s"]
    assert [parse_eta(t) for t in ("00:17", "0:00:17", "17s", "1m20s")] == [17, 17, 17, 80]
    assert parse_eta("Infinity:NaN:NaN") is None and parse_eta("soon") is None


@pytest.mark.parametrize("remote", [False, True], ids=["lms-get", "rest-api"])
def test_pull_of_a_present_model_says_so_once(
    fake_runtime: Factory, remote: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_runtime(remote=remote, server_running=True, models_downloaded={"lms": [LMS]})
    assert main(["--backend", "lmstudio", "pull", LMS]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.count("already downloaded") == 1, out
    assert f"OK {LMS} was already downloaded" in out
    assert "Downloaded" not in out and "already_downloaded" not in out
    assert main(["--backend", "lmstudio", "pull", LMS, "--json"]) == EXIT_OK
    events = events_of(capsys.readouterr().out)
    assert [e["already_downloaded"] for e in events if e["event"] == "model"] == [True]


# -- every --json run: the same events, and a result at the end (QA) -----------------------
@pytest.mark.parametrize(
    ("command", "doing", "done"),
    [("unload", "Unloading", "Unloaded"), ("rm", "Deleting", "Deleted")],
)
def test_unload_and_rm_json_events_as_load(
    fake_runtime: Factory, command: str, doing: str, done: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_runtime(server_running=True, models_loaded={"ollama": [A]})
    assert main([command, A, "--json"]) == EXIT_OK
    events = events_of(capsys.readouterr().out)  # JSON lines only: no "OK ..." text
    assert [e["event"] for e in events] == ["begin", "step", "model", "result"]
    assert events[0]["command"] == command and events[0]["models"] == [A]
    assert events[2]["model"] == A and events[2]["ok"] is True
    assert events[2]["message"] == events[3]["message"] == f"{done} {A}"
    again = main([command, A])  # as text: unload is idempotent, rm finds it gone
    assert again == (EXIT_OK if command == "unload" else EXIT_MODEL_NOT_FOUND)
    assert capsys.readouterr().out.startswith(f"-> {doing} {A} with Ollama")


def test_a_failed_pull_json_has_its_model_event_and_one_result(
    fake_runtime: Factory, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_runtime(server_running=True)
    assert main(["pull", "nope:9b", "--json"]) == EXIT_MODEL_NOT_FOUND
    captured = capsys.readouterr()
    events = [e for e in events_of(captured.out) if e["event"] != "progress"]  # manifest
    assert [e["event"] for e in events] == ["begin", "step", "model", "result"]
    model, result = events[2], events[3]
    assert (model["model"], model["ok"], model["exit_status"]) == ("nope:9b", False, 5)
    assert (result["ok"], result["exit_status"]) == (False, EXIT_MODEL_NOT_FOUND)
    assert model["message"] == result["message"] and result["message"] in captured.err


def test_a_usage_error_json_ends_with_a_result_and_no_model_event(
    fake_runtime: Factory, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_runtime(server_running=True)
    assert main(["unload", "--json"]) == EXIT_USAGE  # no model named
    (result,) = events_of(capsys.readouterr().out)
    assert result["event"] == "result" and result["exit_status"] == EXIT_USAGE
