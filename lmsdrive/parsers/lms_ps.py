"""``lms ps`` and ``lms ps --json`` (docs/reference/lms-cli.md §3): the loaded model instances.

Usage::

    from lmsdrive.parsers import parse
    parse("lms ps", text).to_dict()

Layouts read:

* E3+ table (Aug 27 2025 – ): ``IDENTIFIER MODEL STATUS SIZE CONTEXT PARALLEL DEVICE TTL``,
  any subset and order, columns read from the header; unknown columns kept in ``extra``;
* the interim table of Aug 25–27 2025: ``IDENTIFIER MODEL SIZE FORMAT``;
* the E0–E2 block format: ``LOADED MODELS`` title, ``Identifier: <id>`` then
  ``• Type:  LLM``, ``• Path:``, ``• Size:``, ``• Architecture:`` (or
  ``Cannot find more information``);
* empty states: ``No models are currently loaded[.]`` + ``To load a model, run:`` +
  ``lms load <model path>`` (also prefixed ``E `` / ``Error: `` as in E1–E3);
* ``--json``: an array of ModelInstanceInfo (``[]`` when nothing is loaded).

JSON Schema::

    {
      "models": [{
        "identifier":     string        # API identifier (":2" for a second instance)
        "model":          string|null   # model key (MODEL column / modelKey)
        "status":         string|null   # "IDLE", "GENERATING", "PROCESSINGPROMPT"… (JSON
                                        #  camelCase upper-cased the same way)
        "size_bytes":     integer|null  # base 1000
        "size_text":      string|null   # "29.53 GB" as printed
        "context_length": integer|null
        "parallel":       integer|null  # "-" (embeddings) is null
        "device":         string|null   # "Local", LM Link peer
        "ttl":            string|null   # "52m / 1h" as printed
        "ttl_ms":         integer|null  # --json
        "type":           "llm"|"embedding"|null
        "path":           string|null   # block format / --json
        "arch":           string|null   # block format / --json
        "format":         string|null   # interim FORMAT column, --json
        "queued":         integer|null  # --json
        "extra":          object        # unknown columns / JSON keys
      }],
      "empty_message":  boolean   # the "No models are currently loaded" message was printed
      "format":         "table"|"blocks"|"json"|"empty"
      "warnings":       [string]
      "truncated":      true      # only when the last row was cut (its missing cells null)
      "error", "kind":  string|null
    }

Noise skipped: blank lines, ``D``/``I`` log lines, ``Waking up LM Studio service...``, the
``LOADED MODELS`` title, the ``To load a model, run:`` / ``lms load …`` hint of the empty
state. Empty input reads as no model loaded (``models: []``, ``empty_message: false``):
``--quiet`` hides the stderr message.

Example::

    IDENTIFIER          MODEL               STATUS    SIZE        CONTEXT    DEVICE    TTL
    qwen/qwen3.8-27b    qwen/qwen3.8-27b    IDLE      29.53 GB    131072     Local

    {"models": [{"identifier": "qwen/qwen3.8-27b", "model": "qwen/qwen3.8-27b",
      "status": "IDLE", "size_bytes": 29530000000, "size_text": "29.53 GB",
      "context_length": 131072, "device": "Local", "ttl": null, ...}],
     "empty_message": false, ...}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from .._text import clean_lines, parse_size
from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._json import find_json, json_field
from ._lms import (
    Column,
    assign,
    cells,
    cut_last,
    error_or_raise,
    header_columns,
    is_cut,
    is_noise,
    json_warnings,
    last_line,
)
from .lms_error import strip_log_prefix

COMMAND = "lms ps"

_KNOWN = ("IDENTIFIER", "MODEL", "STATUS", "SIZE", "CONTEXT", "PARALLEL", "DEVICE", "TTL")
#: Columns every whole row fills (a row without them at the end of a paste was cut).
_FILLED = ("STATUS", "SIZE", "CONTEXT", "DEVICE")
#: The kind of a typed column's cell (``_cut``): what a cut last row may end inside.
_KINDS = {"SIZE": "size", "CONTEXT": "number", "PARALLEL": "number"}
_EMPTY_RE = re.compile(r"^No models are currently loaded\.?\s*$")
_HINT_RE = re.compile(r"^(?:To load a model, run:|lms load\b.*)\s*$")
_TITLE_RE = re.compile(r"^LOADED MODELS$")
_BLOCK_RE = re.compile(r"^Identifier:\s*(?P<id>\S.*?)\s*$")
_FIELD_RE = re.compile(r"^[•·*-]?\s*(?P<name>Type|Path|Size|Architecture):\s*(?P<value>.*?)\s*$")
_NO_INFO_RE = re.compile(r"^Cannot find more information\s*$")


@dataclass(frozen=True)
class LmsPsModel:
    """One loaded model instance."""

    identifier: str
    model: str | None = None
    status: str | None = None
    size_bytes: int | None = None
    size_text: str | None = None
    context_length: int | None = None
    parallel: int | None = None
    device: str | None = None
    ttl: str | None = None
    ttl_ms: int | None = None
    type: str | None = None
    path: str | None = None
    arch: str | None = None
    format: str | None = None
    queued: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class PsResult(Result):
    """Loaded models as ``lms ps`` lists them."""

    models: list[LmsPsModel] = field(default_factory=list)
    empty_message: bool = False
    format: str = "empty"
    warnings: list[str] = field(default_factory=list)
    truncated: bool | None = None

    omit_none: ClassVar[tuple[str, ...]] = ("truncated",)


def _int(text: str | None) -> int | None:
    if text is None or text.strip() in ("", "-"):
        return None
    t = text.strip().replace(",", "")
    if not t.isdigit():
        raise ValueError(text)
    return int(t)


def _row(named: dict[str, str]) -> LmsPsModel:
    ident = named.pop("IDENTIFIER", None)
    if not ident:
        raise ValueError("no identifier")
    size_text = named.pop("SIZE", None)
    size = parse_size(size_text)
    if size_text is not None and size is None:
        raise ValueError(size_text)
    fmt = named.pop("FORMAT", None)
    return LmsPsModel(
        identifier=ident,
        model=named.pop("MODEL", None),
        status=named.pop("STATUS", None),
        size_bytes=size,
        size_text=size_text,
        context_length=_int(named.pop("CONTEXT", None)),
        parallel=_int(named.pop("PARALLEL", None)),
        device=named.pop("DEVICE", None),
        ttl=named.pop("TTL", None) or None,
        format=fmt,
        extra=dict(named),
    )


def _block_field(model: LmsPsModel, name: str, value: str) -> LmsPsModel:
    if name == "Type":
        return replace(model, type=value.strip().lower() or None)
    if name == "Path":
        return replace(model, path=value or None)
    if name == "Architecture":
        return replace(model, arch=value or None)
    size = parse_size(value)
    if size is None:
        raise ValueError(value)
    return replace(model, size_bytes=size, size_text=value)


def _text(lines: list[str]) -> PsResult:
    models: list[LmsPsModel] = []
    warnings: list[str] = []
    unknown: list[int] = []
    columns: list[Column] | None = None
    block: LmsPsModel | None = None
    empty = False
    fmt = "empty"
    last, truncated = last_line(lines), None
    for i, line in enumerate(lines):
        if is_noise(line):
            continue
        level, text = strip_log_prefix(line)
        s = text.strip()
        if level == "warn":
            warnings.append(s)
            continue
        if _EMPTY_RE.match(s):
            empty = True
            continue
        if level is not None:
            unknown.append(i)
            continue
        if empty and _HINT_RE.match(s):
            continue
        if _TITLE_RE.match(s):
            fmt = "blocks"
            continue
        m = _BLOCK_RE.match(s)
        if m:
            if block is not None:
                models.append(block)
            block = LmsPsModel(identifier=m.group("id"))
            fmt = "blocks"
            continue
        if block is not None:
            fm = _FIELD_RE.match(s)
            try:
                if fm:
                    block = _block_field(block, fm.group("name"), fm.group("value"))
                    continue
            except ValueError:
                unknown.append(i)
                continue
            if _NO_INFO_RE.match(s):
                continue
        hcols = header_columns(line, _KNOWN)
        if hcols and hcols[0].name == "IDENTIFIER":
            columns, fmt = hcols, "table"
            continue
        if columns is None:
            unknown.append(i)
            continue
        row = cells(line)
        named = assign(row, columns)
        sentence = len(named) == 1 and " " in s  # a sentence after the table, not a cut row
        cut = (
            cut_last(line, row, named, columns, _KINDS, _FILLED)
            if i == last
            else is_cut(named, columns, _FILLED)
        )
        try:
            if cut and (i != last or sentence):
                raise ValueError("a row cut before its last cells")
            models.append(_row(named))
        except ValueError:
            unknown.append(i)
            continue
        truncated = truncated or (cut or None)
    if block is not None:
        models.append(block)
    err = error_or_raise(COMMAND, lines, unknown)
    return PsResult(
        models=models,
        empty_message=empty,
        format=fmt,
        warnings=warnings,
        truncated=truncated,
        error=err[0] if err else None,
        kind=err[1] if err else None,
    )


_JSON_KNOWN = {
    "identifier", "modelKey", "status", "sizeBytes", "contextLength", "parallel",
    "deviceIdentifier", "ttlMs", "type", "path", "architecture", "format", "queued",
}  # fmt: skip


def _json_model(d: Any, line: int) -> LmsPsModel:
    if not isinstance(d, dict):
        raise ValueError("element is not an object")

    def _get(key: str, kind: type[Any]) -> Any:
        return json_field(d, key, kind, COMMAND, line)

    ident = _get("identifier", str) or _get("modelKey", str) or _get("path", str)
    if ident is None:
        raise ValueError("element without identifier")
    status = _get("status", str)
    device: str | None = None
    if "deviceIdentifier" in d:
        device = _get("deviceIdentifier", str) or "Local"
    return LmsPsModel(
        identifier=ident,
        model=_get("modelKey", str),
        status=status.upper() if status else None,
        size_bytes=_get("sizeBytes", int),
        context_length=_get("contextLength", int),
        parallel=_get("parallel", int),
        device=device,
        ttl_ms=_get("ttlMs", int),
        type=_get("type", str),
        path=_get("path", str),
        arch=_get("architecture", str),
        format=_get("format", str),
        queued=_get("queued", int),
        extra={k: v for k, v in d.items() if k not in _JSON_KNOWN},
    )


def parse(transcript: Transcript) -> PsResult:
    """Parse ``lms ps`` text or ``--json`` output."""
    lines = clean_lines(transcript.text)
    found = find_json(lines, COMMAND)
    if found is None:
        return _text(lines)
    value, start, end = found
    if not isinstance(value, list):
        raise ParseError(COMMAND, "lms ps --json prints a JSON array", start + 1, lines[start])
    try:
        models = [_json_model(el, start + 1) for el in value]
    except ValueError as e:
        raise ParseError(
            COMMAND, f"unexpected --json element: {e}", start + 1, lines[start]
        ) from None
    warnings = json_warnings(COMMAND, lines, start, end)
    return PsResult(models=models, format="json", warnings=warnings)
