"""Parser of ``ollama ps``: the models loaded in memory.

Reads every era of the table (docs/reference/ollama-cli.md §2): ``NAME ID SIZE PROCESSOR UNTIL``
(v0.1.38 – v0.9.6) and ``NAME ID SIZE PROCESSOR CONTEXT UNTIL`` (v0.10.0+); TAB-separated
(≤ v0.3.10) or four-space (v0.3.11+) cells, tab-expanded pastes with single-space gaps
(``42%/58% CPU/GPU 4 minutes from now``), trailing padding or none, CRLF, ANSI colour,
rows without a header, several tables in one paste (``watch``-style repeated runs: rows of
all tables concatenated in order), a cut last row, unknown new columns (kept in ``extra``).

Columns are read with a grammar in the order the header names them, never at offsets:
``ID`` 12 hex, ``SIZE`` ``<number> <unit>``, ``PROCESSOR`` ``100% GPU`` / ``100% CPU`` /
``C%/G% CPU/GPU`` / ``Unknown``, ``CONTEXT`` digits, ``UNTIL`` the rest (``4 minutes from
now``, ``About a minute from now``, ``Forever``, ``Stopping...``, old ``Never`` and
``N seconds ago``).

Usage::

    from lmsdrive.parsers import parse
    parse("ollama ps", text).to_dict()["models"]

Schema (``OllamaPsResult.to_dict()``)::

    {
      "error":  string | null,   # the CLI's error report, "Error: " removed
      "kind":   string | null,   # one of ERROR_KINDS
      "models": [
        {
          "name":        string,          # "qwen3:4b", "hf.co/user/Repo:latest"
          "id":          string | null,   # 12 hex of the manifest digest
          "size_bytes":  integer | null,  # memory in use, decimal as printed ("35 GB")
          "size_text":   string | null,   # as printed
          "processor":   string | null,   # as printed: "100% GPU", "42%/58% CPU/GPU", "Unknown"
          "cpu_percent": integer | null,  # share in system memory (null for "Unknown")
          "gpu_percent": integer | null,  # share in VRAM (null for "Unknown")
          "until":       string | null,   # as printed: "4 minutes from now", "Forever",
                                          # "Stopping..."
          "context":     integer | null,  # CONTEXT column (v0.10.0+), null before
          "extra":       {string: string} # cells of columns this parser does not know
        }
      ],
      "warnings":  [string],     # "Warning: …" lines, prefix removed
      "truncated": boolean       # the last row was cut (its missing cells are null)
    }

Noise skipped on purpose: blank lines (the separators between repeated tables). Shell prompts
and the command line itself (``$ ollama ps``, ``PS C:\\> ollama ps``) and llama.cpp/ggml/SYCL
backend lines of third-party builds (``snake_case_name: …``, the ``|…|`` SYCL device
table) are removed by the pre-pass (``_session``). Any other line is not understood.

Empty output raises ``ParseError`` (``ollama ps`` always prints its header); a header alone
means no model is loaded (``models: []``). An error report sets ``error`` and ``kind``.

Example::

    $ ollama ps
    NAME             ID              SIZE      PROCESSOR          CONTEXT    UNTIL
    llama4:16x17b    bf31604e25c2    159 GB    52%/48% CPU/GPU    128000     Forever

    {"error": null, "kind": null, "models": [{"name": "llama4:16x17b",
     "id": "bf31604e25c2", "size_bytes": 159000000000, "size_text": "159 GB",
     "processor": "52%/48% CPU/GPU", "cpu_percent": 52, "gpu_percent": 48,
     "until": "Forever", "context": 128000, "extra": {}}], "warnings": [],
     "truncated": false}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .._text import clean_lines, parse_size
from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._ollama_table import Row, read_table

__all__ = ["OllamaPsResult", "OllamaPsRow", "parse", "processor_split"]

COMMAND = "ollama ps"

_ERAS = (
    ("NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"),
    ("NAME", "ID", "SIZE", "PROCESSOR", "UNTIL"),
)
_KNOWN = {"NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"}
_SPLIT_RE = re.compile(r"^(\d{1,3})%/(\d{1,3})% CPU/GPU$")
_ONE_RE = re.compile(r"^(\d{1,3})% (CPU|GPU)$")


@dataclass(frozen=True)
class OllamaPsRow:
    """One row of ``ollama ps``."""

    name: str
    id: str | None = None
    size_bytes: int | None = None
    size_text: str | None = None
    processor: str | None = None
    cpu_percent: int | None = None
    gpu_percent: int | None = None
    until: str | None = None
    context: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class OllamaPsResult(Result):
    """The models ``ollama ps`` shows (or its error report)."""

    models: list[OllamaPsRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False


def processor_split(text: str | None) -> tuple[int | None, int | None]:
    """``(cpu_percent, gpu_percent)`` of a PROCESSOR cell; ``(None, None)`` for ``Unknown``.

    >>> processor_split("42%/58% CPU/GPU")
    (42, 58)
    >>> processor_split("100% GPU")
    (0, 100)
    """
    if text is None:
        return None, None
    m = _SPLIT_RE.match(text)
    if m:
        return int(m.group(1)), int(m.group(2))
    m = _ONE_RE.match(text)
    if m:
        pct = int(m.group(1))
        return (pct, 100 - pct) if m.group(2) == "CPU" else (100 - pct, pct)
    return None, None


def _model(row: Row) -> OllamaPsRow:
    cells = row.cells
    size = cells.get("SIZE")
    processor = cells.get("PROCESSOR")
    cpu, gpu = processor_split(processor)
    context = cells.get("CONTEXT")
    return OllamaPsRow(
        name=cells["NAME"],
        id=cells.get("ID"),
        size_bytes=parse_size(size),
        size_text=size,
        processor=processor,
        cpu_percent=cpu,
        gpu_percent=gpu,
        until=cells.get("UNTIL"),
        context=int(context) if context is not None else None,
        extra={k.lower(): v for k, v in cells.items() if k not in _KNOWN},
    )


def parse(transcript: Transcript) -> OllamaPsResult:
    """The loaded models of an ``ollama ps`` output; ``ParseError`` on a line it cannot read."""
    lines = clean_lines(transcript.text)
    if not any(line.strip() for line in lines):
        raise ParseError(COMMAND, "empty output (ollama ps always prints a header)")
    table = read_table(COMMAND, lines, _ERAS)
    if not table.rows and not table.headers and table.error is None:
        raise ParseError(COMMAND, "no table header, row or error report in the output")
    return OllamaPsResult(
        error=table.error.error if table.error else None,
        kind=table.error.kind if table.error else None,
        models=[_model(row) for row in table.rows],
        warnings=table.warnings,
        truncated=any(row.truncated for row in table.rows),
    )
