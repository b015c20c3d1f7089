# -*- coding: utf-8 -*-
# Copyright (c) lmsdrive contributors
# MIT License (see the LICENSE section of README.md)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lmsdrive.runtimes.plugins.module_utils import common
from ansible_collections.lmsdrive.runtimes.plugins.modules import model, model_info
from ansible_collections.lmsdrive.runtimes.tests.unit.module_runner import run_module
from lmsdrive.testing.runtime import free_port

LLAMA = "llama3.2:3b"
TOKEN = "sk-secret-Abcd1234"


def test_model_result_and_info(fake, capsys):
    srv = fake("ollama")
    args = dict(name=LLAMA, url=srv.url, state="loaded", token=TOKEN)
    result = run_module(model.main, args, capsys)
    assert result["changed"] is True
    assert result["model"] == LLAMA
    assert len(result["steps"]) == 2 and result["elapsed"] >= 0
    assert result["diff"]["after"]["loaded"] is True
    assert result["status"]["instances"][0]["identifier"] == LLAMA
    info = run_module(model_info.main, dict(name=LLAMA, url=srv.url), capsys)
    assert info["changed"] is False and info["running"] is True and info["ready"] is True
    assert info["version"] == "0.12.3"
    assert [m["name"] for m in info["downloaded"]] == [LLAMA]


def test_failure_carries_the_error_kind_and_never_the_token(capsys):
    url = "http://127.1:%d" % free_port()
    result = run_module(model.main, dict(name=LLAMA, url=url, token=TOKEN), capsys)
    assert result["failed"] is True
    assert result["error_kind"] == "ServerNotRunningError"
    assert "does not answer" in result["msg"] and url in result["msg"]
    # the option the playbook sets, not the environment variable the CLI reads
    assert "set the url option to where it listens" in result["msg"]
    assert "OLLAMA_HOST" not in result["msg"]
    assert TOKEN not in str(result)


def test_a_refused_token_names_the_token_option(fake, capsys):
    for flavor, name in (("ollama", LLAMA), ("lms", "qwen/qwen3-4b")):
        server = fake(flavor, downloaded=[name], token="the-right-one")
        backend = "ollama" if flavor == "ollama" else "lmstudio"
        for token in (TOKEN, None):
            args = dict(name=name, backend=backend, url=server.url, token=token)
            result = run_module(model.main, args, capsys)
            assert result["failed"] is True, result
            assert result["error_kind"] == "AuthenticationError"
            # the option the playbook sets, not the environment variables the CLI reads
            assert "the token option" in result["msg"], result["msg"]
            assert "API_KEY" not in result["msg"] and "API_TOKEN" not in result["msg"]
            assert TOKEN not in str(result)


def test_bad_name_is_a_typed_failure(capsys):
    result = run_module(model.main, dict(name="--bad name"), capsys)
    assert result["failed"] is True and result["error_kind"] == "InvalidModelNameError"


def test_missing_lmsdrive_names_the_package(monkeypatch, capsys):
    monkeypatch.setattr(common, "HAS_LMSDRIVE", False)
    monkeypatch.setattr(common, "LMSDRIVE_IMPORT_ERROR", "ImportError: No module named lmsdrive")
    for main in (model.main, model_info.main):
        result = run_module(main, dict(name=LLAMA), capsys)
        assert result["failed"] is True and result["error_kind"] == "MissingLibrary"
        assert "lmsdrive" in result["msg"] and "pip install lmsdrive" in result["msg"]


def test_what_the_runtime_cannot_do_fails_before_any_request(fake, capsys):
    ollama, lms = fake("ollama"), fake("lms", downloaded=["qwen/qwen3-4b"], host="127.1")
    args = dict(name=LLAMA, url=ollama.url, state="loaded", gpu=0.5)
    result = run_module(model.main, args, capsys)
    assert result["error_kind"] == "ConfigError" and "gpu=0.5" in result["msg"]
    args = dict(name="qwen/qwen3-4b", backend="lmstudio", url=lms.url, state="absent")
    result = run_module(model.main, args, capsys)
    assert result["error_kind"] == "CapabilityError"
    assert result["msg"].startswith("LM Studio cannot delete a model")
    assert ollama.requests() == [] and lms.requests() == []


def test_info_on_a_server_that_does_not_answer_is_not_a_failure(capsys):
    url = "http://127.1:%d" % free_port()
    info = run_module(model_info.main, dict(name=LLAMA, url=url), capsys)
    assert "failed" not in info
    assert info["running"] is False and info["ready"] is False and info["downloaded"] is None
