# -*- coding: utf-8 -*-
# Copyright (c) lmsdrive contributors
# MIT License (see the LICENSE section of README.md)
"""What both modules share: the guarded import of the lmsdrive library (installed on the
managed host), the connection options, the Driver they build, and the failure they report
(the lmsdrive error kind and its message; never the token)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    from lmsdrive import Config, Driver, LoadOptions
    from lmsdrive.driver import friendly_message
    from lmsdrive.errors import LmsdriveError, ServerNotRunningError
    from lmsdrive.model_ref import ModelRef
    from lmsdrive.runtimes import get_runtime
except ImportError:
    HAS_LMSDRIVE = False
    LMSDRIVE_IMPORT_ERROR = traceback.format_exc()
    Config = Driver = LoadOptions = ModelRef = friendly_message = get_runtime = None
    LmsdriveError = ServerNotRunningError = Exception
else:
    HAS_LMSDRIVE = True
    LMSDRIVE_IMPORT_ERROR = None

#: The errors a module reports as a failure (lmsdrive's tree, and OS errors of a spawn).
ERRORS = (LmsdriveError, OSError)

#: The options of every module: which runtime, where its server is, its token.
CONNECTION_ARGS = dict(
    backend=dict(type="str", default="ollama", choices=["ollama", "lmstudio"]),
    url=dict(type="str"),
    token=dict(type="str", no_log=True),
)


def require_lmsdrive(module):
    """Fail with Ansible's missing-library message, naming the package, when lmsdrive
    cannot be imported by the managed host's Python."""
    if not HAS_LMSDRIVE:
        module.fail_json(
            msg=missing_required_lib(
                "lmsdrive", reason="to drive Ollama and LM Studio (pip install lmsdrive)"
            ),
            exception=LMSDRIVE_IMPORT_ERROR,
            error_kind="MissingLibrary",
        )


def make_driver(params, model=None):
    """A Driver for the module's connection options. Nothing comes from the managed host's
    environment (OLLAMA_HOST, tokens): the task says it all; ``url`` takes every form the
    runtime does (Ollama: ``host:port`` too) and defaults to the runtime's own."""
    config = Config.from_env(
        {},
        backend=params["backend"],
        model_name=model,
        url=params.get("url"),
        api_token=params.get("token"),
    )
    return Driver(config)


def failure(backend, model, exc):
    """``fail_json`` keywords for an lmsdrive error: its kind (the class name) and the
    message lmsdrive gives users (a server that does not answer keeps its whole message:
    which URL, and what to do, naming the ``url`` and ``token`` options where lmsdrive names
    the environment variables the module does not read)."""
    if isinstance(exc, ServerNotRunningError) or friendly_message is None:
        message = str(exc)
    else:
        message = friendly_message(backend, model, exc)
    if get_runtime is not None:
        runtime = get_runtime(backend)
        message = message.replace("set %s " % runtime.url_variable, "set the url option ")
        tokens = " or ".join(runtime.token_variables)
        message = message.replace("in %s:" % tokens, "in the token option:")
        message = message.replace("set %s " % tokens, "set the token option ")
    return dict(msg=message, error_kind=type(exc).__name__)
