"""The runtimes lmsdrive drives, one :class:`RuntimeSpec` each, in one registry.

Everything that differs between runtimes and is not a process or a request lives in its
spec: the names people see, the variables that configure it, the messages that say what to
do, and how it spells a :class:`~lmsdrive.model_ref.ModelRef`. :class:`~lmsdrive.config.Config`,
:class:`~lmsdrive.driver.Driver`, :mod:`~lmsdrive.status`, the CLI's ``--backend`` choices and
the MCP shim read :data:`RUNTIMES`; none of them names a runtime.

Adding a runtime: a spec module here, a backend module in :mod:`lmsdrive.backends`, its
parser modules (registered in :data:`lmsdrive.parsers.PARSERS`) and its fakes; then one line
in :data:`RUNTIMES`.

>>> sorted(RUNTIMES)
['lmstudio', 'ollama']
>>> get_runtime("lmstudio").display_name
'LM Studio'
"""

from __future__ import annotations

from ._spec import RuntimeSpec
from .lmstudio import LMSTUDIO
from .ollama import OLLAMA

__all__ = ["RUNTIMES", "RuntimeSpec", "get_runtime"]

#: Every runtime, by its ``BACKEND`` value; the first is the default.
RUNTIMES: dict[str, RuntimeSpec] = {spec.id: spec for spec in (OLLAMA, LMSTUDIO)}


def get_runtime(name: str) -> RuntimeSpec:
    """The spec of the runtime called ``name`` (a ``BACKEND`` value, any case).

    >>> get_runtime("Ollama").tool
    'ollama'
    """
    from ..errors import ConfigError

    spec = RUNTIMES.get(name.strip().lower())
    if spec is None:
        raise ConfigError(
            f"BACKEND={name!r} is not supported; choose one of: {', '.join(RUNTIMES)}"
        )
    return spec
