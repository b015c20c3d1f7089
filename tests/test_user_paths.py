"""What a careful user met trying lmsdrive on the fakes: each test failed before its fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lmsdrive import Config, Driver
from lmsdrive.cli import main
from lmsdrive.errors import ModelNotFoundError
from lmsdrive.testing.runtime import FakeRuntime

MakeRuntime = Callable[..., FakeRuntime]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("BACKEND", "MODEL_NAME", "MODEL_SOURCE", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)


# -- a model missing on the server is not a catalog miss ---------------------------------
@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["load", "nosuch:1b"], "Model 'nosuch:1b' is not downloaded in Ollama"),
        (["unload", "nosuch:1b"], "Model 'nosuch:1b' is not loaded in Ollama"),
        (["chat", "--model", "nosuch:1b", "hi"], "Model 'nosuch:1b' is not downloaded in Ollama"),
        (
            ["--backend", "lmstudio", "chat", "--model", "nosuch/model", "hi"],
            "Model 'nosuch/model' is not downloaded in LM Studio",
        ),
        (
            ["--backend", "lmstudio", "unload", "qwen/qwen3-4b"],
            "Model 'qwen/qwen3-4b' is not loaded in LM Studio",
        ),
    ],
)
def test_missing_on_the_server_says_so(
    fake_runtime: MakeRuntime,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    said: str,
) -> None:
    fake_runtime(server_running=True)
    if argv[-1] == "hi":  # chat reads its message from stdin
        argv = argv[:-1]
        monkeypatch.setattr("sys.stdin", __import__("io").StringIO("hi\n"))
    assert main(argv) == 5
    err = capsys.readouterr().err
    assert said in err
    if "not downloaded" in said:  # the command that fixes it
        assert f"Run `lmsdrive pull {said.split(chr(39))[1]}` to download it." in err
    assert "catalog" not in err and "library" not in err  # not a registry miss
    assert "Traceback" not in err


def test_pull_of_an_unknown_model_is_still_a_catalog_miss(fake_runtime: MakeRuntime) -> None:
    fake_runtime(server_running=True)
    with Driver(Config.from_env()) as driver:
        with pytest.raises(ModelNotFoundError) as info:
            list(driver.pull("nosuch:1b"))
        assert info.value.local is False
        with pytest.raises(ModelNotFoundError) as info:
            driver.load("nosuch:1b")
        assert info.value.local is True
        assert isinstance(info.value, LookupError)


def test_embed_and_stream_of_a_missing_model(
    fake_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_runtime(server_running=True)
    monkeypatch.setenv("MODEL_NAME", "nosuch:1b")
    with Driver(Config.from_env()) as driver:
        with pytest.raises(ModelNotFoundError, match="not downloaded in Ollama"):
            driver.embed("x")
        with pytest.raises(ModelNotFoundError, match="not downloaded in Ollama"):
            list(driver.generate_stream("x"))
        with pytest.raises(ModelNotFoundError, match="not downloaded in Ollama"):
            list(driver.chat_stream([{"role": "user", "content": "x"}]))


# -- LM Studio: a model loaded under --identifier is unloaded by its key -----------------
def test_lmstudio_unload_by_key_after_identifier(
    fake_runtime: MakeRuntime, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_runtime(server_running=True, models_downloaded=["qwen/qwen3-4b"])
    base = ["--backend", "lmstudio"]
    assert main([*base, "load", "qwen/qwen3-4b", "--identifier", "mine"]) == 0
    assert main([*base, "unload", "qwen/qwen3-4b"]) == 0
    capsys.readouterr()
    with Driver(Config.from_env(backend="lmstudio")) as driver:
        assert driver.loaded_models() == []


# -- parse --file of a file that is not there ----------------------------------------------
def test_parse_file_missing_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.txt"
    assert main(["parse", "--file", str(missing), "ollama", "list"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"cannot read {missing}" in captured.err and "No such file" in captured.err
