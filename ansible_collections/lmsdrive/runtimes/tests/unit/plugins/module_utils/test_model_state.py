# -*- coding: utf-8 -*-
# Copyright (c) lmsdrive contributors
# MIT License (see the LICENSE section of README.md)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.lmsdrive.runtimes.plugins.module_utils.common import make_driver
from ansible_collections.lmsdrive.runtimes.plugins.module_utils.model_state import ModelState
from lmsdrive.errors import CapabilityError, ServerNotRunningError
from lmsdrive.testing.runtime import FakeRuntime, free_port

LLAMA = "llama3.2:3b"
QWEN = "qwen/qwen3-4b"


def converge(url, state, backend="ollama", model=LLAMA, check_mode=False, **kw):
    params = dict(backend=backend, url=url, token=None)
    with make_driver(params, model) as driver:
        return ModelState(driver, state, check_mode=check_mode, **kw).run()


@pytest.mark.parametrize("backend,flavor,model", [("ollama", "ollama", LLAMA),
                                                  ("lmstudio", "lms", QWEN)])
def test_loaded_then_nothing_to_do(fake, backend, flavor, model):
    srv = fake(flavor)
    run = converge(srv.url, "loaded", backend, model)
    assert run.changed
    assert [s.split(" model")[0] for s in run.steps] == ["Downloaded", "Loaded"]
    assert run.before == dict(downloaded=False, loaded=False, options={})
    assert run.after["downloaded"] and run.after["loaded"]
    assert run.status["running"] and run.status["loaded"]
    again = converge(srv.url, "loaded", backend, model)
    assert not again.changed and again.steps == [] and again.before == again.after


def test_check_mode_says_what_it_would_do_and_writes_nothing(fake):
    srv = fake("ollama")
    run = converge(srv.url, "loaded", check_mode=True)
    assert run.changed
    assert run.steps == [
        "Would download model %s through the server's API" % LLAMA,
        "Would load model %s through the server's API" % LLAMA,
    ]
    assert run.after == dict(downloaded=True, loaded=True,
                             options=dict(identifier=LLAMA, context_length=None))
    assert srv.writes() == []
    assert srv.state().ollama.downloaded == []


def test_another_context_length_reloads(fake):
    srv = fake("ollama", downloaded=[LLAMA])
    converge(srv.url, "loaded", load=dict(context_length=4096))
    run = converge(srv.url, "loaded", load=dict(context_length=8192))
    assert run.changed
    assert run.steps[0].startswith("Unloaded model %s (context length 4096, 8192 wanted)" % LLAMA)
    assert run.before["options"]["context_length"] == 4096
    assert run.after["options"]["context_length"] == 8192
    assert not converge(srv.url, "loaded", load=dict(context_length=8192)).changed


def test_unloaded_and_absent_on_ollama(fake):
    srv = fake("ollama", downloaded=[LLAMA])
    converge(srv.url, "loaded")
    assert converge(srv.url, "unloaded").steps == ["Unloaded model %s" % LLAMA]
    assert not converge(srv.url, "unloaded").changed
    assert converge(srv.url, "absent").steps == ["Deleted model %s" % LLAMA]
    assert ("DELETE", "/api/delete") in srv.requests()
    assert not converge(srv.url, "absent").changed
    assert srv.state().ollama.downloaded == []


def test_absent_on_lmstudio_is_refused_before_any_request(fake):
    srv = fake("lms", downloaded=[QWEN])
    with pytest.raises(CapabilityError, match="LM Studio cannot delete a model"):
        converge(srv.url, "absent", "lmstudio", QWEN)
    assert srv.requests() == []


def test_a_remote_server_that_does_not_answer_is_never_started():
    url = "http://127.0.0.2:%d" % free_port()
    with pytest.raises(ServerNotRunningError, match="does not answer"):
        converge(url, "present", start_server=True)


def test_a_local_server_is_started_only_when_allowed():
    url = "http://127.0.0.1:%d" % free_port()
    with pytest.raises(ServerNotRunningError, match="set start_server: true"):
        converge(url, "present", start_server=False)
    run = converge(url, "present", check_mode=True)  # default for a local URL: start it
    assert run.steps == ["Would start the Ollama server at %s" % url]
    assert run.changed and run.before == dict(running=False)


def test_a_local_server_is_started_with_the_runtime_on_this_host():
    # FakeRuntime puts a fake `ollama` first on PATH (and HOME in its own directory)
    with FakeRuntime(backends=("ollama",)) as rt:
        run = converge(rt.ollama_url, "present")
        assert run.steps == ["Started the Ollama server at %s" % rt.ollama_url,
                             "Downloaded model %s" % LLAMA]
        assert run.status["running"] and run.status["downloaded"]
        assert [s["argv"][:2] for s in rt.spawns()] == [["ollama", "serve"], ["ollama", "pull"]]
