"""The one error tree of lmsdrive.

Every error derives from :class:`LmsdriveError`. Each subclass also inherits the builtin
that fits, so callers can ``except FileNotFoundError`` or ``except TimeoutError`` without
importing lmsdrive. Messages always say what to do next. Each class names its ``kind``, a stable
short word (``"not_installed"``, ``"model_not_found"``, ...) a program can branch on (the MCP
server's tool errors carry it beside the message).
"""

from __future__ import annotations

from typing import ClassVar


class LmsdriveError(Exception):
    """Root of every error raised by lmsdrive."""

    kind: ClassVar[str] = "error"


class ConfigError(LmsdriveError, ValueError):
    """An environment variable or argument has a value lmsdrive cannot use."""

    kind: ClassVar[str] = "config"


class InvalidModelNameError(LmsdriveError, ValueError):
    """A model name is empty, looks like a flag, or holds whitespace/control characters."""

    kind: ClassVar[str] = "invalid_model_name"


class InvalidMessageError(LmsdriveError, ValueError):
    """A chat message is not ``{"role": "system" | "user" | "assistant" | "tool", "content":
    text}``; refused before any request, naming the message and what is wrong."""

    kind: ClassVar[str] = "invalid_message"


class ParseError(LmsdriveError, ValueError):
    """A parser met output it does not understand.

    ``command`` names the parser (``"ollama list"``), ``line_number`` is 1-based within
    the text the parser read, ``line`` is that line as read (ANSI removed).
    """

    kind: ClassVar[str] = "parse_error"

    def __init__(
        self, command: str, message: str, line_number: int | None = None, line: str | None = None
    ) -> None:
        self.command = command
        self.reason = message
        self.line_number = line_number
        self.line = line
        where = f" at line {line_number}" if line_number is not None else ""
        shown = f": {line!r}" if line is not None else ""
        super().__init__(f"{command}: {message}{where}{shown}")


class NotInstalledError(LmsdriveError, FileNotFoundError):
    """The runtime's command-line tool was not found."""

    kind: ClassVar[str] = "not_installed"


class ServerNotRunningError(LmsdriveError, ConnectionError):
    """The runtime's server does not answer.

    ``reason``: why, in a few words (``[Errno 111] Connection refused``, ``the connection
    dropped: …``), where known. ``url``: the server's base URL, set on the message every face
    shows (the driver's: where the server is and what to do). ``startable``: lmsdrive can
    start this server (it is on this machine and the runtime's CLI is installed), so a face
    may suggest its ``init``."""

    def __init__(
        self,
        message: str = "",
        *,
        reason: str | None = None,
        url: str | None = None,
        startable: bool = False,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.url = url
        self.startable = startable

    kind: ClassVar[str] = "server_not_running"


class ServerStartError(LmsdriveError, RuntimeError):
    """The server could not be started (it exited, or its port is held by something else)."""

    kind: ClassVar[str] = "server_start_failed"


class NotStartedByLmsdriveError(LmsdriveError, PermissionError):
    """``stop``: the running server is not one lmsdrive started (or it restarted since), so
    lmsdrive leaves it alone."""

    kind: ClassVar[str] = "not_started_by_lmsdrive"


class ModelNotFoundError(LmsdriveError, LookupError):
    """The model does not exist locally or in the registry.

    ``local``: the model is missing on the server (not downloaded, not loaded) rather than in
    the runtime's catalog; the message then already says so, and no face rewords it as a
    catalog miss. ``model``: the name (as the backend spells it), where known;
    ``downloaded``: for a local miss, whether the server has it downloaded (``True``: it is
    only not loaded; ``None``: could not tell). ``detail``: the runtime's own words, without
    advice, where the message adds some."""

    kind: ClassVar[str] = "model_not_found"

    def __init__(
        self,
        message: str = "",
        *,
        local: bool = False,
        model: str | None = None,
        downloaded: bool | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.local = local
        self.model = model
        self.downloaded = downloaded
        self.detail = detail


class PullError(LmsdriveError, RuntimeError):
    """A download failed; the message is the runtime's own."""

    kind: ClassVar[str] = "pull_failed"


def pull_failed_hint(message: str) -> str:
    """What to do after a failed download whose error (or last output) is ``message``, as a
    sentence to append: free disk space when the runtime says the disk is full, else fix
    the cause and download again."""
    low = message.lower()
    if any(w in low for w in ("no space left", "enospc", "disk full", "not enough disk space")):
        return (
            "The disk is full: free space where the runtime keeps its models, then run the "
            "download again."
        )
    return "Fix the cause (network, disk space, model name), then run the download again."


class CommandError(LmsdriveError, RuntimeError):
    """A runtime command failed; carries its transcript for diagnosis."""

    kind: ClassVar[str] = "command_failed"

    def __init__(self, message: str, transcript: object | None = None) -> None:
        super().__init__(message)
        self.transcript = transcript


class CommandTimeoutError(LmsdriveError, TimeoutError):
    """A command or request did not finish before its deadline.

    ``transcript`` holds what a timed-out command printed before it was stopped (or None).
    """

    kind: ClassVar[str] = "timeout"

    def __init__(self, message: str, transcript: object | None = None) -> None:
        super().__init__(message)
        self.transcript = transcript


class APIError(LmsdriveError, RuntimeError):
    """An HTTP API answered with an error (status code and the server's message)."""

    kind: ClassVar[str] = "api_error"

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message if status_code is None else f"{message} (HTTP {status_code})")
        self.message = message
        self.status_code = status_code


def error_for(
    kind: str | None, message: str, *, api: bool = False, status_code: int | None = None
) -> LmsdriveError:
    """The typed exception for a runtime's error report of ``kind`` (a parse result's
    ``kind``): the one mapping every layer uses.

    ``model_not_found`` → :class:`ModelNotFoundError`, ``authentication`` →
    :class:`AuthenticationError`; for an HTTP API's answer (``api``) every other kind →
    :class:`APIError` with ``status_code`` (the server answered, so it runs); otherwise
    ``server_not_running`` → :class:`ServerNotRunningError`, ``pull_failed`` →
    :class:`PullError`, ``bind_failed`` → :class:`ServerStartError`, and any other kind →
    :class:`CommandError`. ``message`` is used as given.
    """
    if kind == "model_not_found":
        return ModelNotFoundError(message)
    if kind == "authentication":
        return AuthenticationError(message, status_code)
    if api:
        return APIError(message, status_code)
    by_kind: dict[str, type[LmsdriveError]] = {
        "server_not_running": ServerNotRunningError,
        "pull_failed": PullError,
        "bind_failed": ServerStartError,
    }
    return by_kind.get(kind or "", CommandError)(message)


class AuthenticationError(LmsdriveError, PermissionError):
    """The server refused the request for want of a valid API token (HTTP 401/403, or LM
    Studio's ``invalid_api_key`` body). The message names the variable(s) to set; it never
    holds the token."""

    kind: ClassVar[str] = "authentication"

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ServerTooOldError(LmsdriveError, RuntimeError):
    """The server answers but lacks the API lmsdrive needs for this (e.g. an LM Studio older
    than 0.4 has no REST API v1 for downloads on a remote host)."""

    kind: ClassVar[str] = "server_too_old"


class CapabilityError(LmsdriveError, ValueError):
    """The model or runtime cannot serve the call: an embedding model asked to chat, a chat
    model asked to embed, ``think`` on a model without thinking, a delete on LM Studio (no
    delete in ``lms`` or its APIs). The message names what cannot be done, and what to do
    instead."""

    kind: ClassVar[str] = "capability"


class WontFitError(LmsdriveError, MemoryError):
    """``ensure_ready(check_fit=True)``: the model will not fit in the memory of the machine
    that would load it; refused before the download (or the load). ``estimate`` holds the
    numbers (:class:`lmsdrive.Estimate`)."""

    kind: ClassVar[str] = "wont_fit"

    def __init__(self, message: str, estimate: object = None) -> None:
        super().__init__(message)
        self.estimate = estimate


class StructuredOutputError(LmsdriveError, ValueError):
    """A reply asked for as JSON (a ``format`` / JSON schema) is not valid JSON, or does not
    match the schema. ``text`` is the reply as the model wrote it; ``problems`` what is
    wrong with it."""

    kind: ClassVar[str] = "structured_output"

    def __init__(self, message: str, text: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.text = text
        self.problems = list(problems or [])
