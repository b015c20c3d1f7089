"""Chat messages in each API's own form: images and tool calls.

:meth:`Driver.chat` takes one form for both runtimes:

* ``{"role": "user", "content": "What is this?", "images": [image, ...]}``; an image is a
  file path (``str`` or ``Path``), raw ``bytes``, or base64 text (a ``data:`` URL too);
* ``{"role": "assistant", "content": "", "tool_calls": [ToolCall | {"name", "arguments",
  "id"}]}`` (:attr:`ChatReply.message` gives it);
* ``{"role": "tool", "content": "...", "name": tool, "tool_call_id": id}``
  (:func:`lmsdrive.tools.tool_message` gives it).

Ollama (``/api/chat``, docs/reference/runtimes-2026.md §5.8) takes ``images`` as a list of
base64 strings beside ``content``, ``tool_calls`` as ``{"function": {"name", "arguments":
{object}}}`` and a tool result as ``tool_name``; OpenAI-compatible servers (LM Studio's
``/v1/chat/completions``) take the image as a ``content`` part ``{"type": "image_url",
"image_url": {"url": "data:image/png;base64,..."}}``, ``tool_calls`` as ``{"id", "type":
"function", "function": {"name", "arguments": "<JSON text>"}}`` and a tool result by its
``tool_call_id``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._types import ToolCall
from ..errors import InvalidMessageError

__all__ = ["has_images", "image_data", "ollama_messages", "openai_messages", "read_images"]

#: Largest image read from a file or given as bytes (a model's context holds far less).
MAX_IMAGE_BYTES = 64 << 20

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)


def _mime(data: bytes) -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in _MAGIC if data.startswith(magic)), "image/png")


def image_data(image: object, where: str, *, paths: bool = True) -> tuple[str, str]:
    """(base64 text, MIME type) of one image: a path, bytes, or base64 text (or a ``data:``
    URL). Anything else is an :class:`InvalidMessageError` naming ``where``. ``paths``
    false: text is never read as a path (an MCP host on another machine)."""
    raw: bytes | None = None
    if isinstance(image, (bytes, bytearray, memoryview)):
        raw = bytes(image)
    elif isinstance(image, (str, os.PathLike)):
        text = os.fspath(image)
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if text.startswith("data:") and ";base64," in text[:200]:
            header, _, text = text.partition(";base64,")
            return _b64(text, where, paths), header.removeprefix("data:") or "image/png"
        path = Path(text).expanduser()
        if paths and (isinstance(image, os.PathLike) or (len(text) < 4096 and path.is_file())):
            try:
                if path.stat().st_size > MAX_IMAGE_BYTES:
                    raise InvalidMessageError(
                        f"{where}: {path} is larger than {MAX_IMAGE_BYTES >> 20} MiB"
                    )
                raw = path.read_bytes()
            except OSError as exc:
                raise InvalidMessageError(
                    f"{where}: cannot read the image {path} ({exc.strerror or exc})"
                ) from None
        else:
            b64 = _b64(text, where, paths)
            return b64, _mime(base64.b64decode(b64[:64]))
    else:
        raise InvalidMessageError(
            f"{where}: expected a file path, bytes or base64 text, got {type(image).__name__}"
        )
    if not raw:
        raise InvalidMessageError(f"{where}: the image is empty")
    if len(raw) > MAX_IMAGE_BYTES:
        raise InvalidMessageError(f"{where}: the image is larger than {MAX_IMAGE_BYTES >> 20} MiB")
    return base64.b64encode(raw).decode("ascii"), _mime(raw)


def _b64(text: str, where: str, paths: bool) -> str:
    cleaned = "".join(text.split())
    try:
        base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        shown = text[:60] + ("..." if len(text) > 60 else "")
        what = (
            "a file, nor base64 text: give a path to the image, its bytes, or its base64 encoding"
            if paths
            else "base64 text: give the image's base64 encoding, or a data: URL (no path is "
            "read here)"
        )
        raise InvalidMessageError(f"{where}: {shown!r} is not {what}") from None
    if not cleaned:
        raise InvalidMessageError(f"{where}: the image is empty")
    return cleaned


def _images(message: Mapping[str, Any], n: int, paths: bool = True) -> list[tuple[str, str]]:
    images = message.get("images")
    if images is None:
        return []
    if isinstance(images, (str, bytes, os.PathLike)) or not isinstance(images, Sequence):
        images = [images]
    where = f"message {n}, image "
    return [image_data(img, f"{where}{k}", paths=paths) for k, img in enumerate(images, 1)]


def read_images(messages: Sequence[Any], *, paths: bool = True) -> list[Any]:
    """``messages`` with every image read once, as a ``data:`` URL: a file that cannot be
    read or text that is not base64 is an :class:`InvalidMessageError` before any request.
    What is not a message is left for :func:`check_messages` to name. ``paths`` false:
    no image is read from a file (:func:`image_data`)."""
    out: list[Any] = []
    for n, m in enumerate(messages, 1):
        if isinstance(m, Mapping) and m.get("images"):
            urls = [f"data:{mime};base64,{b64}" for b64, mime in _images(m, n, paths)]
            m = {**m, "images": urls}
        out.append(m)
    return out


def has_images(messages: Sequence[Mapping[str, Any]]) -> bool:
    """Whether any message carries images."""
    return any(m.get("images") for m in messages if isinstance(m, Mapping))


def _calls(message: Mapping[str, Any], n: int) -> list[ToolCall]:
    calls = message.get("tool_calls") or []
    if not isinstance(calls, Sequence) or isinstance(calls, (str, bytes)):
        raise InvalidMessageError(f"message {n}: 'tool_calls' should be a list")
    out = []
    for call in calls:
        if isinstance(call, ToolCall):
            out.append(call)
        elif isinstance(call, Mapping) and isinstance(call.get("function"), Mapping):
            fn = call["function"]  # already in an API's form
            out.append(ToolCall.of(str(fn.get("name") or ""), fn.get("arguments"), call.get("id")))
        elif isinstance(call, Mapping) and call.get("name"):
            out.append(ToolCall.of(str(call["name"]), call.get("arguments"), call.get("id")))
        else:
            raise InvalidMessageError(
                f"message {n}: a tool call should be a ToolCall or {{'name', 'arguments'}}"
            )
    return out


_NEUTRAL = ("images", "tool_calls", "tool_call_id", "name")


def ollama_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` as ``/api/chat`` takes them."""
    out = []
    for n, m in enumerate(messages, 1):
        msg = {k: v for k, v in m.items() if k not in _NEUTRAL}
        images = _images(m, n)
        if images:
            msg["images"] = [b64 for b64, _ in images]
        calls = _calls(m, n)
        if calls:
            msg["tool_calls"] = [
                {"function": {"name": c.name, "arguments": c.arguments}, **_id(c)} for c in calls
            ]
        if m.get("role") == "tool":
            if m.get("name"):
                msg["tool_name"] = m["name"]
            if m.get("tool_call_id"):
                msg["tool_call_id"] = m["tool_call_id"]
        out.append(msg)
    return out


def _id(call: ToolCall) -> dict[str, str]:
    return {} if call.id is None else {"id": call.id}


def openai_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` as ``/v1/chat/completions`` takes them."""
    out: list[dict[str, Any]] = []
    for n, m in enumerate(messages, 1):
        msg = {k: v for k, v in m.items() if k not in _NEUTRAL}
        images = _images(m, n)
        if images:
            content = m.get("content")
            parts: list[Any] = (
                list(content)
                if isinstance(content, list)
                else [{"type": "text", "text": content or ""}]
            )
            parts += [
                {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{b64}"}}
                for b64, mime in images
            ]
            msg["content"] = parts
        calls = _calls(m, n)
        if calls:
            msg["tool_calls"] = [
                {
                    "id": c.id or f"call_{n}_{k}",
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for k, c in enumerate(calls)
            ]
        if m.get("role") == "tool":
            msg["tool_call_id"] = m.get("tool_call_id") or _answered_id(out, m.get("name"))
            if msg["tool_call_id"] is None:  # the server would refuse it with no reason given
                raise InvalidMessageError(
                    f"message {n}: a tool message answers a call: give the call's id "
                    "(tool_call_id), or the name of a tool an earlier message called"
                )
        out.append(msg)
    return out


def _answered_id(sent: list[dict[str, Any]], name: object) -> str | None:
    """The id of the last call to ``name`` (a tool message that names no id: Ollama's)."""
    for msg in reversed(sent):
        for call in reversed(msg.get("tool_calls") or []):
            if call["function"]["name"] == name:
                return str(call["id"])
    return None
