"""``lms ls`` (also ``--llm``, ``--embedding``, ``--variants``, ``lms ls <key>``) and
``lms ls --json`` (docs/reference/lms-cli.md §2), into one result.

Usage::

    from lmsdrive.parsers import parse
    parse("lms ls", text).to_dict()

Layouts read (columns always from the header, by overlap with the header cells, so left-,
right- and centre-aligned layouts read alike; unknown columns land in ``extra``):

* E3–E5 (Aug 2025 – ): summary line, ``LLM`` / ``EMBEDDING`` tables with ``PARAMS``,
  ``ARCH``, ``SIZE``, optional ``DEVICE`` and the unnamed ``✓ LOADED`` / ``✓ LOADED (2)``
  column; `` (N variants)`` key suffixes; ``--variants`` rows (``   key`` / `` * key``
  selected; through a pipe ``* key`` / ``key``) under a bare ``<key> (N variants)`` base
  row, which names how many follow; ``Listing variants for <key>:``;
* E2 late (Jan – Aug 2025): ``LLMs (Large Language Models)`` / ``Embedding Models``
  titles, ``ARCHITECTURE``, right/centre aligned cells, 6-space separator;
* E0–E2 early: grouped rows with ``(...N options)`` in the ARCHITECTURE cell;
* rows without a header (grep'd pastes): cells classified by their content, ``type`` null;
* empty states ``You have not downloaded any models yet.`` and
  ``You have N models, but none of them match the filter.``;
* ``--json`` (one JSON array of ModelInfo; ``--variants --json`` array of
  ``{"model": …, "variants": […]}``), all eras (old ``path``-only elements too).

JSON Schema::

    {
      "model_count":      integer|null  # from the summary line (JSON: base models listed)
      "total_size_bytes": integer|null  # summary total, bytes (base 1000)
      "total_size_text":  string|null   # "64.69 GB" as printed
      "models": [{
        "key":              string        # model key, without the "(N variants)" suffix
        "type":             "llm"|"embedding"|string|null  # from the section; null without header
        "params":           string|null   # "8B", "26B-A4B"
        "arch":             string|null   # "Nomic BERT", "qwen3_5"
        "size_bytes":       integer|null
        "size_text":        string|null   # "4.92 GB" as printed
        "loaded":           boolean|null  # null: not shown (variant base rows, --json)
        "loaded_count":     integer|null  # N of "✓ LOADED (N)"
        "device":           string|null   # "Local", a LM Link peer
        "variant_count":    integer|null  # "(N variants)", "(...N options)", len(variants)
        "variant_of":       string|null   # base key of a --variants row
        "selected_variant": boolean|null  # " * " row / selectedVariant
        "variants":         [string]      # --json: the keys of its variants (when it has)
        "selected_variant_key": string    # --json: selectedVariant (when it has variants)
        "format", "display_name", "publisher", "path": string|null   # --json only
        "max_context_length": integer|null, "vision", "trained_for_tool_use": boolean|null
        "extra":            object        # cells of unknown columns, by header name
      }],
      "abbreviated":      boolean  # a "... (abbreviated ...)" elision line in a paste
      "header_present":   boolean  # a table header was seen (false for grep'd rows, JSON)
      "listing_variants_for": string|null  # `lms ls <key>`
      "filter_mismatch":  boolean  # "none of them match the filter"
      "format":           "text"|"json"
      "warnings":         [string] # W lines (e.g. --detailed deprecation)
      "truncated":        true     # only when the last row was cut (its missing cells null)
      "error", "kind":    string|null  # runtime error report (cannot reach LM Studio…)
    }

Noise skipped: blank lines, ``D``/``I`` log lines, ``Waking up LM Studio service...``.
Empty input is an empty listing (``models: []``): ``--json`` and grep'd pastes can print
nothing; a runtime error report instead fills ``error``/``kind``.

Example::

    LLM                 PARAMS    ARCH      SIZE        DEVICE
    google/gemma-3-4b   4B        gemma3    3.03 GB     Local    ✓ LOADED

    {"models": [{"key": "google/gemma-3-4b", "type": "llm", "params": "4B",
      "arch": "gemma3", "size_bytes": 3030000000, "size_text": "3.03 GB",
      "loaded": true, "device": "Local", ...}], ...}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from .._text import clean_lines, is_size, parse_size
from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._json import find_json, json_field
from ._lms import (
    Cell,
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

COMMAND = "lms ls"

_KNOWN = ("PARAMS", "ARCH", "ARCHITECTURE", "SIZE", "DEVICE", "LOADED", "FORMAT", "TYPE")
_TITLES = {
    "llm": "llm",
    "llms": "llm",
    "llms (large language models)": "llm",
    "embedding": "embedding",
    "embeddings": "embedding",
    "embedding models": "embedding",
}
_SUMMARY_RE = re.compile(
    r"^You have (?P<n>\d+) models?, taking up (?P<size>.+?) of disk space\.?\s*$"
)
_NONE_MATCH_RE = re.compile(r"^You have (?P<n>\d+) models?, but none of them match the filter")
_NOTHING_RE = re.compile(r"^You have not downloaded any models yet")
_ABBREV_RE = re.compile(r"^\s*(?:\.\.\.|…)\s*\(?.*abbreviated.*\)?\s*(?:\.\.\.|…)?\s*$", re.I)
_LISTING_RE = re.compile(r"^Listing variants for (?P<key>\S+?):?\s*$")
_SUFFIX_RE = re.compile(r"\s*\((?P<n>\d+) variants?\)\s*$")
_OPTIONS_RE = re.compile(r"^\(\.\.\.\s*(?P<n>\d+) options?\)$")
_LOADED_RE = re.compile(r"^✓?\s*LOADED(?:\s*\((?P<n>\d+)\))?$")
_PARAMS_RE = re.compile(r"^\d+(?:\.\d+)?[KMBT](?:-A\d+(?:\.\d+)?[KMBT])?$", re.I)
#: Columns every whole row fills (a row without them at the end of a paste was cut).
_FILLED = ("SIZE", "DEVICE")
#: The kind of a typed column's cell (``_cut``): what a cut last row may end inside.
_KINDS = {"SIZE": "size"}
_VARIANT_ROW_RE = re.compile(r"^(?P<mark> ?\* |   )(?P<rest>\S.*)$")


@dataclass(frozen=True)
class LsModel:
    """One row of ``lms ls`` (or one element of ``lms ls --json``)."""

    key: str
    type: str | None = None
    params: str | None = None
    arch: str | None = None
    size_bytes: int | None = None
    size_text: str | None = None
    loaded: bool | None = None
    loaded_count: int | None = None
    device: str | None = None
    variant_count: int | None = None
    variant_of: str | None = None
    selected_variant: bool | None = None
    variants: list[str] | None = None
    selected_variant_key: str | None = None
    format: str | None = None
    display_name: str | None = None
    publisher: str | None = None
    path: str | None = None
    max_context_length: int | None = None
    vision: bool | None = None
    trained_for_tool_use: bool | None = None
    extra: dict[str, str] = field(default_factory=dict)

    #: Left out of the JSON while ``None`` (only ``--json`` has them).
    omit_none: ClassVar[tuple[str, ...]] = ("variants", "selected_variant_key")


@dataclass(frozen=True, kw_only=True)
class LsResult(Result):
    """Downloaded models as ``lms ls`` lists them."""

    model_count: int | None = None
    total_size_bytes: int | None = None
    total_size_text: str | None = None
    models: list[LsModel] = field(default_factory=list)
    abbreviated: bool = False
    header_present: bool = False
    listing_variants_for: str | None = None
    filter_mismatch: bool = False
    format: str = "text"
    warnings: list[str] = field(default_factory=list)
    truncated: bool | None = None

    omit_none: ClassVar[tuple[str, ...]] = ("truncated",)


#: A model key or path: one word of letters, digits and ``. _ - / @ : +`` (``qwen/qwen3-8b``,
#: ``text-embedding-nomic-embed-text-v1.5@q4_k_m``, ``TheBloke/X-GGUF/x.Q4_K_M.gguf``).
_KEY_RE = re.compile(r"^[\w.\-/@:+]+$")


def _title_type(title: str) -> str | None:
    t = title.strip().lower()
    if t in _TITLES:
        return _TITLES[t]
    return None


def _header(line: str) -> tuple[str | None, list[Column]] | None:
    """(type, columns) when the line is a table header."""
    if "SIZE" not in line:  # cheap test first: every data row goes through here
        return None
    cols = header_columns(line, _KNOWN)
    names = {c.name for c in cols}
    if "SIZE" not in names or not names & {"PARAMS", "ARCH", "ARCHITECTURE"}:
        return None
    first = cols[0]
    if first.name in _KNOWN:
        return None
    kind = _title_type(first.name)
    return (kind if kind is not None else first.name.lower()), [
        Column("KEY", first.start, first.end),
        *cols[1:],
    ]


def _loaded(text: str | None) -> tuple[bool, int | None]:
    if not text:
        return False, None
    m = _LOADED_RE.match(text.strip())
    if m is None:
        raise ValueError(text)
    return True, int(m.group("n")) if m.group("n") else None


def _model_from_cells(
    key_cell: str, named: dict[str, str], kind: str | None, base: str | None, selected: bool | None
) -> LsModel:
    key = key_cell
    variant_count: int | None = None
    m = _SUFFIX_RE.search(key)
    if m:
        variant_count = int(m.group("n"))
        key = key[: m.start()]
    if not _KEY_RE.match(key.strip()):
        raise ValueError(key)  # prose where a row should be (a tip, a new notice)
    arch = named.pop("ARCHITECTURE", None) or named.pop("ARCH", None)
    named.pop("ARCH", None)
    if arch is not None:
        om = _OPTIONS_RE.match(arch)
        if om:
            variant_count, arch = int(om.group("n")), None
    size_text = named.pop("SIZE", None)
    size_bytes = parse_size(size_text)
    if size_text is not None and size_bytes is None:
        raise ValueError(size_text)
    loaded_text = named.pop("LOADED", None)
    bare = not named and arch is None and size_text is None and loaded_text is None
    loaded: bool | None
    loaded_count: int | None
    if bare and (variant_count is not None or (base is None and selected is None)):
        loaded, loaded_count = (None, None) if variant_count is not None else (False, None)
    else:
        loaded, loaded_count = _loaded(loaded_text)
    params = named.pop("PARAMS", None)
    device = named.pop("DEVICE", None)
    return LsModel(
        key=key.strip(),
        type=kind,
        params=params,
        arch=arch,
        size_bytes=size_bytes,
        size_text=size_text,
        loaded=loaded,
        loaded_count=loaded_count,
        device=device,
        variant_count=variant_count,
        variant_of=base,
        selected_variant=selected,
        extra=named,
    )


def _split_variant(line: str) -> tuple[str, bool | None]:
    """(line with the variant marker blanked, selected or None for a plain row)."""
    m = _VARIANT_ROW_RE.match(line)
    if m is None:
        return line, None
    mark = m.group("mark")
    return " " * len(mark) + m.group("rest"), "*" in mark


def _headerless(row: list[Cell]) -> dict[str, str]:
    """Classify the cells of a row without a header by their content."""
    named: dict[str, str] = {}
    rest = [c.text for c in row[1:]]
    size_at = next((i for i, t in enumerate(rest) if is_size(t)), None)
    before = rest if size_at is None else rest[:size_at]
    after = [] if size_at is None else rest[size_at + 1 :]
    if size_at is not None:
        named["SIZE"] = rest[size_at]
    if len(before) >= 2:
        named["PARAMS"], named["ARCH"] = before[0], " ".join(before[1:])
    elif before:
        named["PARAMS" if _PARAMS_RE.match(before[0]) else "ARCH"] = before[0]
    for t in after:
        if _LOADED_RE.match(t):
            named["LOADED"] = t
        elif "DEVICE" not in named:
            named["DEVICE"] = t
        else:
            raise ValueError(t)
    return named


def _text(lines: list[str]) -> LsResult:
    model_count: int | None = None
    total_text: str | None = None
    models: list[LsModel] = []
    abbreviated = header_present = filter_mismatch = False
    listing: str | None = None
    warnings: list[str] = []
    unknown: list[int] = []
    columns: list[Column] | None = None
    kind: str | None = None
    base: str | None = None
    remaining = 0  # variant rows still to come under ``base``
    last, truncated, cut = last_line(lines), None, False
    for i, line in enumerate(lines):
        if is_noise(line):
            continue
        level, text = strip_log_prefix(line)
        if level == "warn":
            warnings.append(text.strip())
            continue
        if level is not None:
            unknown.append(i)
            continue
        s = line.strip()
        m = _SUMMARY_RE.match(s)
        if m:
            model_count, total_text = int(m.group("n")), m.group("size").strip()
            continue
        m = _NONE_MATCH_RE.match(s)
        if m:
            model_count, filter_mismatch = int(m.group("n")), True
            continue
        if _NOTHING_RE.match(s):
            model_count = 0
            continue
        if _ABBREV_RE.match(s):
            abbreviated = True
            continue
        m = _LISTING_RE.match(s)
        if m:
            listing = m.group("key")
            continue
        head = _header(line)
        if head is not None:
            kind, columns = head
            header_present = True
            base = None
            continue
        plain, selected = _split_variant(line)
        in_group = base is not None and remaining > 0
        if in_group:  # a variant row of the group above, marked or not (pipes trim " * ")
            selected, remaining = bool(selected), remaining - 1
        row = cells(plain)
        try:
            if columns is not None:
                named = assign(row, columns, extra="LOADED")
                cut = len(named) > 1 and (
                    cut_last(plain, row, named, columns, _KINDS, _FILLED)
                    if i == last
                    and not _OPTIONS_RE.match(named.get("ARCH", "") or "")
                    and not _OPTIONS_RE.match(named.get("ARCHITECTURE", "") or "")
                    else is_cut(named, columns, _FILLED)
                )
                if cut and i != last:
                    raise ValueError("a row cut before its last cells")
                key_cell = named.pop("KEY", None)
                if key_cell is None:
                    raise ValueError("no key")
            else:
                key_cell, cut = row[0].text, False
                named = _headerless(row)
            model = _model_from_cells(
                key_cell, named, kind, base if selected is not None else None, selected
            )
        except ValueError:
            unknown.append(i)
            continue
        if cut:
            model, truncated = replace(model, loaded=None), True
        if selected is None and model.variant_count is not None and model.loaded is None:
            base, remaining = model.key, model.variant_count
        elif selected is None:
            base, remaining = None, 0
        models.append(model)
    err = error_or_raise(COMMAND, lines, unknown)
    return LsResult(
        model_count=model_count,
        total_size_bytes=parse_size(total_text),
        total_size_text=total_text,
        models=models,
        abbreviated=abbreviated,
        header_present=header_present,
        listing_variants_for=listing,
        filter_mismatch=filter_mismatch,
        warnings=warnings,
        truncated=truncated,
        error=err[0] if err else None,
        kind=err[1] if err else None,
    )


_JSON_KNOWN = {
    "type", "modelKey", "paramsString", "architecture", "sizeBytes", "deviceIdentifier",
    "variants", "selectedVariant", "format", "displayName", "publisher", "path",
    "maxContextLength", "vision", "trainedForToolUse",
}  # fmt: skip


def _json_model(
    d: dict[str, Any], line: int, base: str | None = None, selected_key: str | None = None
) -> LsModel:
    def get(key: str, kind: type[Any]) -> Any:
        return json_field(d, key, kind, COMMAND, line)

    key = get("modelKey", str) or get("path", str)
    if key is None:
        raise ValueError("element without modelKey or path")
    variants = get("variants", list)
    keys = [v for v in variants or () if isinstance(v, str)]
    device: str | None = None
    if "deviceIdentifier" in d:
        device = get("deviceIdentifier", str) or "Local"
    return LsModel(
        key=key,
        type=get("type", str),
        params=get("paramsString", str),
        arch=get("architecture", str),
        size_bytes=get("sizeBytes", int),
        loaded=None,
        device=device,
        variant_count=len(variants) if variants is not None else None,
        variant_of=base,
        selected_variant=(key == selected_key) if base is not None else None,
        variants=keys if variants is not None and len(keys) == len(variants) else None,
        selected_variant_key=get("selectedVariant", str),
        format=get("format", str),
        display_name=get("displayName", str),
        publisher=get("publisher", str),
        path=get("path", str),
        max_context_length=get("maxContextLength", int),
        vision=get("vision", bool),
        trained_for_tool_use=get("trainedForToolUse", bool),
        extra={k: v for k, v in d.items() if k not in _JSON_KNOWN},
    )


def _json(value: Any, line_no: int, line: str) -> tuple[list[LsModel], int, int]:
    if not isinstance(value, list):
        raise ParseError(COMMAND, "lms ls --json prints a JSON array", line_no, line)
    models: list[LsModel] = []
    count = 0
    total = 0
    try:
        for el in value:
            if not isinstance(el, dict):
                raise ValueError("element is not an object")
            if isinstance(el.get("model"), dict) and isinstance(el.get("variants"), list):
                base = _json_model(el["model"], line_no)
                models.append(base)
                for v in el["variants"]:
                    if not isinstance(v, dict):
                        raise ValueError("variant is not an object")
                    models.append(_json_model(v, line_no, base.key, base.selected_variant_key))
            else:
                base = _json_model(el, line_no)
                models.append(base)
            count += 1
            total += base.size_bytes or 0
    except ValueError as e:
        raise ParseError(COMMAND, f"unexpected lms ls --json element: {e}", line_no, line) from None
    return models, count, total


def parse(transcript: Transcript) -> LsResult:
    """Parse ``lms ls`` text or ``--json`` output."""
    lines = clean_lines(transcript.text)
    found = find_json(lines, COMMAND)
    if found is None:
        return _text(lines)
    value, start, end = found
    models, count, total = _json(value, start + 1, lines[start])
    warnings = json_warnings(COMMAND, lines, start, end)
    return LsResult(
        model_count=count,
        total_size_bytes=total,
        models=models,
        format="json",
        warnings=warnings,
    )
