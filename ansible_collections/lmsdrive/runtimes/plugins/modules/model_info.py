#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lmsdrive contributors
# MIT License (see the LICENSE section of README.md)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: model_info
short_description: What an Ollama or LM Studio server has, for assert tasks and inventories
version_added: 0.1.0
description:
  - Reads, with the lmsdrive library on the managed host, a runtime's version, whether its
    server answers, the models downloaded and loaded, and LM Studio's daemon (llmster).
  - Read-only; a server that does not answer is reported (RV(running=false)), not a failure.
author:
  - lmsdrive maintainers (!UNKNOWN)
extends_documentation_fragment:
  - lmsdrive.runtimes.connection
options:
  name:
    description:
      - A model to report on (RV(model_downloaded), RV(model_loaded), RV(ready)).
    type: str
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to show.
seealso:
  - module: lmsdrive.runtimes.model
"""

EXAMPLES = r"""
- name: Look at the Ollama server
  lmsdrive.runtimes.model_info:
    name: llama3.2:3b
  register: ollama

- name: The model is ready everywhere
  ansible.builtin.assert:
    that:
      - ollama.running
      - ollama.ready
    fail_msg: "{{ inventory_hostname }}: {{ ollama.problems | join('; ') }}"
"""

RETURN = r"""
backend:
  description: The runtime (V(ollama) or V(lmstudio)).
  returned: success
  type: str
  sample: ollama
version:
  description: The server's version, else the runtime CLI's own; null when neither answers.
  returned: success
  type: str
  sample: 0.12.3
url:
  description: The server asked.
  returned: success
  type: str
  sample: http://127.0.0.1:11434
running:
  description: The server answers.
  returned: success
  type: bool
installed:
  description: The runtime's CLI is installed on the managed host.
  returned: success
  type: bool
downloaded:
  description: The downloaded models; null when they could not be listed.
  returned: success
  type: list
  elements: dict
  sample: [{"name": "llama3.2:3b", "size_bytes": 2019393189, "type": null}]
loaded:
  description: The loaded model instances; null when they could not be listed.
  returned: success
  type: list
  elements: dict
  sample: [{"name": "llama3.2:3b", "identifier": "llama3.2:3b", "size_bytes": 2876768256, "context_length": 4096}]
daemon:
  description: LM Studio's daemon (llmster) when its CLI is on the managed host; null otherwise.
  returned: success
  type: dict
  sample: {"running": true, "pid": 4242, "version": "0.0.20+1", "is_daemon": true}
model:
  description: O(name) as the runtime spells it; null without O(name).
  returned: success
  type: str
model_downloaded:
  description: O(name) is downloaded; null without O(name) or when it could not be told.
  returned: success
  type: bool
model_loaded:
  description: O(name) is loaded; null without O(name) or when it could not be told.
  returned: success
  type: bool
ready:
  description: The server answers and O(name) is downloaded and loaded.
  returned: success
  type: bool
problems:
  description: What could not be found out, and why.
  returned: success
  type: list
  elements: str
error_kind:
  description: On failure (a bad option, lmsdrive missing), the lmsdrive error class.
  returned: failure
  type: str
  sample: ConfigError
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lmsdrive.runtimes.plugins.module_utils.common import (
    CONNECTION_ARGS,
    ERRORS,
    failure,
    make_driver,
    require_lmsdrive,
)


def main():
    argument_spec = dict(CONNECTION_ARGS, name=dict(type="str"))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    require_lmsdrive(module)
    p = module.params
    try:
        with make_driver(p, p["name"]) as driver:
            status = driver.status().to_dict()
    except ERRORS as exc:
        module.fail_json(**failure(p["backend"], p["name"], exc))
    status.pop("display_name", None)
    status.pop("binary", None)
    module.exit_json(changed=False, **status)


if __name__ == "__main__":
    main()
