# -*- coding: utf-8 -*-
# Copyright (c) lmsdrive contributors
# MIT License (see the LICENSE section of README.md)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options every module of lmsdrive.runtimes takes: which runtime, where, its token.
    DOCUMENTATION = r"""
options:
  backend:
    description:
      - The runtime that serves the models.
    type: str
    choices: [ollama, lmstudio]
    default: ollama
  url:
    description:
      - The runtime's server, as seen from the managed host.
      - Any form the runtime itself takes (for Ollama also V(host:port), as in E(OLLAMA_HOST)).
      - Defaults to the runtime's own address on the managed host,
        V(http://127.0.0.1:11434) (Ollama) or V(http://localhost:1234) (LM Studio).
      - A server on another host is never started by the module; the module talks to it
        through its HTTP API.
    type: str
  token:
    description:
      - "The server's API token, sent as C(Authorization: Bearer ...)."
      - Never shown in the module's output, its errors or its log.
    type: str
requirements:
  - The Python library C(lmsdrive) on the managed host, for the Python that Ansible runs
    there (C(pip install lmsdrive)).
notes:
  - The module runs on the managed host and calls the lmsdrive library there; the
    runtime's CLI (C(ollama), C(lms)) is needed only to start a server on that host, and
    is used for downloads and loads when it is installed and the server is local.
"""
