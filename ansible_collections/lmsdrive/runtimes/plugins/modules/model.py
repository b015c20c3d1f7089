#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lmsdrive contributors
# MIT License (see the LICENSE section of README.md)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: model
short_description: Make a model downloaded, loaded, unloaded or deleted on Ollama or LM Studio
version_added: 0.1.0
description:
  - Brings one model on one runtime server (Ollama or LM Studio) to the wanted O(state),
    with the lmsdrive library on the managed host.
  - Looks first and acts only where the server says it must, so a second run changes
    nothing; Ansible does the fan-out over hosts, the retries and the reporting.
  - Downloads are read to the end (the runtime's progress is not shown per task).
author:
  - lmsdrive maintainers (!UNKNOWN)
extends_documentation_fragment:
  - lmsdrive.runtimes.connection
options:
  name:
    description:
      - The model, in any form lmsdrive accepts (V(llama3.2:3b), V(qwen/qwen3-4b),
        V(hf.co/user/repo:Q4_K_M)); the runtime's spelling is returned as RV(model).
    type: str
    required: true
  state:
    description:
      - V(present) the model is downloaded.
      - V(loaded) the model is downloaded and loaded, with the load options.
      - V(unloaded) no instance of the model is loaded (it stays downloaded).
      - V(absent) the model is deleted from the server's disk (unloaded first). Only
        Ollama can delete (C(DELETE /api/delete)); LM Studio's C(lms) and its APIs have
        no delete, so O(state=absent) with O(backend=lmstudio) fails before doing anything.
    type: str
    choices: [present, loaded, unloaded, absent]
    default: present
  start_server:
    description:
      - Start the runtime's server on the managed host when none answers at O(url)
        (C(ollama serve), C(lms server start)).
      - Default V(true) when O(url) is on the managed host (V(localhost), V(127.0.0.1),
        V(::1)), V(false) for a server on another host, which is never started.
      - When no server answers and none is started, the task fails.
    type: bool
  start_timeout:
    description:
      - Seconds to wait for a started server to answer.
    type: float
    default: 60
  context_length:
    description:
      - With O(state=loaded), the context length in tokens. A loaded instance with another
        context length is unloaded and loaded again.
    type: int
  gpu:
    description:
      - With O(state=loaded), the share of the model offloaded to the GPU, a number from
        V(0) to V(1), V(max) or V(off) (Ollama takes V(off) and V(max) only).
      - Applied when the module loads the model; a model already loaded is left as it is.
    type: raw
  ttl:
    description:
      - With O(state=loaded), seconds idle before the runtime unloads the model
        (Ollama C(keep_alive), C(lms load --ttl)).
      - Applied when the module loads the model; a model already loaded is left as it is.
    type: int
  identifier:
    description:
      - With O(state=loaded), LM Studio only, the API name of the loaded instance
        (C(lms load --identifier)). An instance with this identifier must be loaded.
      - LM Studio's HTTP API cannot set O(gpu), O(ttl) or O(identifier); they need C(lms)
        on the server's host (a local O(url)).
    type: str
attributes:
  check_mode:
    support: full
    description: Reports what would be done (RV(steps)) and changes nothing.
  diff_mode:
    support: full
    description: Shows the model before and after (downloaded, loaded, load options).
seealso:
  - module: lmsdrive.runtimes.model_info
"""

EXAMPLES = r"""
- name: Llama 3.2 loaded on every Ollama host, with an 8k context
  lmsdrive.runtimes.model:
    name: llama3.2:3b
    state: loaded
    context_length: 8192

- name: A model downloaded on a remote LM Studio that wants a token
  lmsdrive.runtimes.model:
    name: qwen/qwen3-4b
    backend: lmstudio
    url: http://gpu-box-1:1234
    token: "{{ lm_api_token }}"
    state: present

- name: Free the GPU, keep the files
  lmsdrive.runtimes.model:
    name: llama3.2:3b
    state: unloaded

- name: Delete an old model (Ollama only)
  lmsdrive.runtimes.model:
    name: llama3:8b
    state: absent
"""

RETURN = r"""
model:
  description: The model as the runtime spells it.
  returned: success
  type: str
  sample: llama3.2:3b
steps:
  description:
    - What the module did, in order; in check mode what it would do
      (V(Would download model ...)). Empty when nothing was needed.
  returned: always
  type: list
  elements: str
  sample: ["Downloaded model llama3.2:3b through the server's API", "Loaded model llama3.2:3b through the server's API"]
status:
  description: What the server says of the model at the end (in check mode, before).
  returned: success
  type: dict
  contains:
    running:
      description: The server answers.
      type: bool
      returned: success
    downloaded:
      description: The model is on the server's disk (null while no server runs).
      type: bool
      returned: success
    loaded:
      description: An instance of the model is loaded (null while no server runs).
      type: bool
      returned: success
    instances:
      description: The model's loaded instances.
      type: list
      elements: dict
      returned: success
      sample: [{"identifier": "llama3.2:3b", "context_length": 8192}]
elapsed:
  description: Seconds the module took.
  returned: always
  type: float
  sample: 2.031
error_kind:
  description:
    - On failure, the lmsdrive error class (V(ServerNotRunningError), V(ModelNotFoundError),
      V(CapabilityError), V(AuthenticationError), ...), or V(MissingLibrary) when lmsdrive is
      not installed on the managed host. C(msg) holds lmsdrive's message.
  returned: failure
  type: str
  sample: ServerNotRunningError
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lmsdrive.runtimes.plugins.module_utils.common import (
    CONNECTION_ARGS,
    ERRORS,
    failure,
    make_driver,
    require_lmsdrive,
)
from ansible_collections.lmsdrive.runtimes.plugins.module_utils.model_state import (
    STATES,
    ModelState,
)


def main():
    argument_spec = dict(
        CONNECTION_ARGS,
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=list(STATES)),
        start_server=dict(type="bool"),
        start_timeout=dict(type="float", default=60),
        context_length=dict(type="int"),
        gpu=dict(type="raw"),
        ttl=dict(type="int"),
        identifier=dict(type="str"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    require_lmsdrive(module)
    p = module.params
    run = None
    try:
        with make_driver(p, p["name"]) as driver:
            run = ModelState(
                driver,
                p["state"],
                load=dict((k, p[k]) for k in ("context_length", "gpu", "ttl", "identifier")),
                start_server=p["start_server"],
                start_timeout=p["start_timeout"],
                check_mode=module.check_mode,
            )
            run.run()
    except ERRORS as exc:
        extra = {}
        if run is not None:
            extra = dict(steps=run.steps, model=run.name, elapsed=run.elapsed,
                         changed=run.changed and not module.check_mode)
        module.fail_json(**dict(extra, **failure(p["backend"], p["name"], exc)))
    module.exit_json(
        changed=run.changed,
        model=run.name,
        steps=run.steps,
        status=run.status,
        elapsed=run.elapsed,
        diff=dict(before=run.before, after=run.after),
    )


if __name__ == "__main__":
    main()
