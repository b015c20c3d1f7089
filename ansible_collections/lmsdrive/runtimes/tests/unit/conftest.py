# -*- coding: utf-8 -*-
# Copyright (c) lmsdrive contributors
# MIT License (see the LICENSE section of README.md)
"""Fake Ollama and LM Studio servers (lmsdrive.testing) on loopback, spelled 127.1 (a host
lmsdrive counts as another machine, and routable on macOS too, unlike 127.0.0.2): the modules reach them through the HTTP
API and never start a server. Each server has its own state file, whose request log shows
what the module asked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from lmsdrive.testing.fake_server import FakeServer
from lmsdrive.testing.fake_state import (
    FakeState,
    load_state,
    make_model,
    read_requests,
    save_state,
)


class Fake(object):
    """A running fake server and its state file."""

    def __init__(self, server):
        self.server = server
        self.url = server.url

    def requests(self):
        return [(r["method"], r["path"]) for r in read_requests(self.server.state_path)]

    def writes(self):
        return [r for r in self.requests() if r[0] in ("POST", "DELETE", "PUT")]

    def state(self):
        return load_state(self.server.state_path)


@pytest.fixture
def fake(tmp_path):
    """``fake(flavor, downloaded=(), host=..., token=None)``: a started fake server (with
    ``token``, one that requires it)."""
    started = []

    def make(flavor, downloaded=(), host="127.1", token=None):
        state = FakeState()
        state.knobs.api_token = token
        state.knobs.pull_seconds = 0.05
        state.knobs.load_seconds = 0.0
        state.lms.service_running = True
        side = state.backend(flavor)
        for name in downloaded:
            side.downloaded.append(make_model(name, state.registry[name]))
        path = tmp_path / ("%s-%d" % (flavor, len(started))) / "state.json"
        path.parent.mkdir()
        save_state(path, state)
        server = FakeServer(path, flavor=flavor, host=host).start()
        started.append(server)
        return Fake(server)

    yield make
    for server in started:
        server.stop()
