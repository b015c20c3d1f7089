# -*- coding: utf-8 -*-
# Copyright (c) lmsdrive contributors
# MIT License (see the LICENSE section of README.md)
"""Run a module's ``main()`` in the test process with given arguments."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

try:  # ansible-core 2.19+
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # older ansible-core: the module reads basic._ANSIBLE_ARGS
    import contextlib

    from ansible.module_utils import basic

    @contextlib.contextmanager
    def patch_module_args(args=None):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved


def run_module(main, args, capsys):
    """Run a module's ``main`` with ``args``; its JSON result (exit or fail)."""
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            main()
    return json.loads(capsys.readouterr().out)
