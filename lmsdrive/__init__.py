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

from ._version import __version__ as __version__

_EXPORTS = {
    "Config": ".config",
    "ModelRef": ".model_ref",
    "Driver": ".driver",
    "AsyncDriver": ".async_driver",
    "AsyncChatStream": ".async_driver",
    "AsyncGenerationStream": ".async_driver",
    "InitReport": ".driver",
    "ModelReport": ".driver",
    "CheckResult": ".health",
    "ModelCheck": ".health",
    "KeepEvent": ".keep",
    "Transcript": ".transcript",
    "parse": ".parsers",
    "resolve": ".parsers",
    "Progress": "._types",
    "LoadOptions": "._types",
    "Generation": "._types",
    "DaemonState": "._types",
    "ChatReply": "._types",
    "ChatRequest": "._types",
    "ChatStream": ".http",
    "CapabilityError": ".errors",
    "StructuredOutputError": ".errors",
    "LocalModel": "._types",
    "LoadedModel": "._types",
    "Readiness": "._types",
    "StartResult": "._types",
    "ToolCall": "._types",
    "Estimate": "._types",
    "PullReport": "._types",
    "ToolLoopError": ".tools",
    "Memory": ".estimate",
    "WontFitError": ".errors",
    "Tool": ".tools",
    "KeepAlive": "._types",
    "Status": ".status",
    "RuntimeSpec": ".runtimes",
    "RUNTIMES": ".runtimes",
    "Result": ".parsers",
    "ParserInfo": ".parsers",
    "GenerationStream": ".http",
    "LmsdriveError": ".errors",
    "ConfigError": ".errors",
    "InvalidModelNameError": ".errors",
    "InvalidMessageError": ".errors",
    "ParseError": ".errors",
    "NotInstalledError": ".errors",
    "ServerNotRunningError": ".errors",
    "ServerStartError": ".errors",
    "NotStartedByLmsdriveError": ".errors",
    "ModelNotFoundError": ".errors",
    "PullError": ".errors",
    "CommandError": ".errors",
    "CommandTimeoutError": ".errors",
    "APIError": ".errors",
    "AuthenticationError": ".errors",
    "ServerTooOldError": ".errors",
}

__all__ = [
    "RUNTIMES",
    "APIError",
    "AsyncChatStream",
    "AsyncDriver",
    "AsyncGenerationStream",
    "AuthenticationError",
    "CapabilityError",
    "ChatReply",
    "ChatRequest",
    "ChatStream",
    "CheckResult",
    "CommandError",
    "CommandTimeoutError",
    "Config",
    "ConfigError",
    "DaemonState",
    "Driver",
    "Estimate",
    "Generation",
    "GenerationStream",
    "InitReport",
    "InvalidMessageError",
    "InvalidModelNameError",
    "KeepAlive",
    "KeepEvent",
    "LmsdriveError",
    "LoadOptions",
    "LoadedModel",
    "LocalModel",
    "Memory",
    "ModelCheck",
    "ModelNotFoundError",
    "ModelRef",
    "ModelReport",
    "NotInstalledError",
    "NotStartedByLmsdriveError",
    "ParseError",
    "ParserInfo",
    "Progress",
    "PullError",
    "PullReport",
    "Readiness",
    "Result",
    "RuntimeSpec",
    "ServerNotRunningError",
    "ServerStartError",
    "ServerTooOldError",
    "StartResult",
    "Status",
    "StructuredOutputError",
    "Tool",
    "ToolCall",
    "ToolLoopError",
    "Transcript",
    "WontFitError",
    "parse",
    "resolve",
]

if TYPE_CHECKING:
    from ._types import LoadOptions, Progress
    from .async_driver import AsyncChatStream, AsyncDriver, AsyncGenerationStream
    from .config import Config
    from .driver import Driver, InitReport, ModelReport
    from .errors import (
        APIError,
        AuthenticationError,
        CommandError,
        CommandTimeoutError,
        ConfigError,
        InvalidMessageError,
        InvalidModelNameError,
        LmsdriveError,
        ModelNotFoundError,
        NotInstalledError,
        NotStartedByLmsdriveError,
        ParseError,
        PullError,
        ServerNotRunningError,
        ServerStartError,
        ServerTooOldError,
    )
    from .health import CheckResult, ModelCheck
    from .keep import KeepEvent
    from .model_ref import ModelRef
    from .parsers import parse, resolve
    from .transcript import Transcript


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lmsdrive' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
