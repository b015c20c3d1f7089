"""lmsdrive: get a local LLM ready and talk to it, on Ollama or LM Studio.

>>> import lmsdrive
>>> lmsdrive.parse("ollama list", "NAME    ID    SIZE    MODIFIED \\n").to_dict()["models"]
[]

Names are imported lazily, so ``import lmsdrive`` stays cheap (no httpx, pexpect or pyte
until a name that needs them is used).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Config": ".config",
    "ModelRef": ".model_ref",
    "Driver": ".driver",
    "AsyncDriver": ".async_driver",
    "InitReport": ".driver",
    "Transcript": ".transcript",
    "parse": ".parsers",
    "resolve": ".parsers",
    "Progress": ".parsers._base",
    "LmsdriveError": ".errors",
    "ConfigError": ".errors",
    "InvalidModelNameError": ".errors",
    "ParseError": ".errors",
    "NotInstalledError": ".errors",
    "ServerNotRunningError": ".errors",
    "ServerStartError": ".errors",
    "ModelNotFoundError": ".errors",
    "PullError": ".errors",
    "CommandError": ".errors",
    "CommandTimeoutError": ".errors",
    "APIError": ".errors",
}

__all__ = [
    "APIError",
    "AsyncDriver",
    "CommandError",
    "CommandTimeoutError",
    "Config",
    "ConfigError",
    "Driver",
    "InitReport",
    "InvalidModelNameError",
    "LmsdriveError",
    "ModelNotFoundError",
    "ModelRef",
    "NotInstalledError",
    "ParseError",
    "Progress",
    "PullError",
    "ServerNotRunningError",
    "ServerStartError",
    "Transcript",
    "parse",
    "resolve",
]

if TYPE_CHECKING:
    from .async_driver import AsyncDriver
    from .config import Config
    from .driver import Driver, InitReport
    from .errors import (
        APIError,
        CommandError,
        CommandTimeoutError,
        ConfigError,
        InvalidModelNameError,
        LmsdriveError,
        ModelNotFoundError,
        NotInstalledError,
        ParseError,
        PullError,
        ServerNotRunningError,
        ServerStartError,
    )
    from .model_ref import ModelRef
    from .parsers import parse, resolve
    from .parsers._base import Progress
    from .transcript import Transcript


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lmsdrive' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
