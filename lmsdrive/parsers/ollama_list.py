"""Parser of ``ollama list`` / ``ollama ls``: the downloaded models.

Reads every era of the table (docs/reference/ollama-cli.md §1): ``NAME SIZE MODIFIED``
(v0.0.6 – v0.0.16) and ``NAME ID SIZE MODIFIED`` (v0.0.17+); TAB-separated cells
(≤ v0.3.10, raw captures) or four spaces (v0.3.11+); tab-expanded pastes where columns are
one space apart; trailing padding or none; CRLF; ANSI colour; rows misaligned against the
header (edited names); rows without a header (grep'd pastes); several tables in one paste
(rows concatenated); a cut last row (kept with the missing cells ``null``); a column a
future version adds (kept in ``extra`` under its lower-cased header word).

Rows are never sliced at header offsets: each is read with a grammar (``ID`` 12 hex,
``SIZE`` ``<number> <unit>`` or ``-``, ``MODIFIED`` the time phrase) in the order the header
names the columns, ``NAME`` being the first cell (names never hold spaces).

Usage::

    from lmsdrive.parsers import parse
    result = parse("ollama list", text)          # OllamaListResult
    result.to_dict()["models"][0]["size_bytes"]

Schema (``OllamaListResult.to_dict()``)::

    {
      "error":     string | null,   # the CLI's error report, "Error: " removed
      "kind":      string | null,   # one of ERROR_KINDS (server_not_running, …)
      "models": [
        {
          "name":       string,          # "llama3.2:3b", "hf.co/user/Repo-GGUF:Q4_K_M"
          "id":         string | null,   # 12 hex of the manifest digest; null before v0.0.17
          "size_bytes": integer | null,  # decimal value as printed ("19 GB" → 19000000000,
                                         # "4.1 kB" → 4100); null for "-" (cloud models)
          "size_text":  string | null,   # as printed: "19 GB", "4.7 GB", "-"
          "modified":   string | null,   # as printed: "2 weeks ago", "About an hour ago"
          "extra":      {string: string} # cells of columns this parser does not know
        }
      ],
      "warnings":  [string],        # "Warning: …" lines, prefix removed
      "truncated": boolean          # the last row was cut (its missing cells are null)
    }

Noise skipped on purpose: blank lines. Shell prompts and the command line itself
(``$ ollama list``, `` ~/src> ./ollama list``, ``PS C:\\> ollama ls``, a bare prompt) and the
llama.cpp/ggml/SYCL backend lines that third-party builds such as Intel ipex-llm print before
the table (``ggml_sycl_init: found 1 SYCL devices:``, any ``snake_case_name: …`` line, the
``|ID| Device Type|…|`` device table, ``Found N SYCL devices``) are removed by the pre-pass
(``_session``). Any other line is not understood: ``ParseError`` when strict, listed in
``skipped`` when lenient.

Empty output raises ``ParseError``: ``ollama list`` always prints the header, so no output at
all means the command did not run to completion. A header alone is an empty model list.
An error report (``Error: could not connect to ollama app, is it running?``) sets ``error``
and ``kind`` and leaves ``models`` empty (or holding the rows printed before it).

Example::

    $ ollama list
    NAME               ID              SIZE      MODIFIED
    llama3.2:latest    a80c4f17acd5    2.0 GB    3 weeks ago

    {"error": null, "kind": null, "models": [{"name": "llama3.2:latest",
     "id": "a80c4f17acd5", "size_bytes": 2000000000, "size_text": "2.0 GB",
     "modified": "3 weeks ago", "extra": {}}], "warnings": [], "truncated": false}
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .._text import clean_lines, parse_size
from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._ollama_table import Row, read_table

__all__ = ["ListedModel", "OllamaListResult", "parse"]

COMMAND = "ollama list"

_ERAS = (("NAME", "ID", "SIZE", "MODIFIED"), ("NAME", "SIZE", "MODIFIED"))
_KNOWN = {"NAME", "ID", "SIZE", "MODIFIED"}


@dataclass(frozen=True)
class ListedModel:
    """One row of ``ollama list``."""

    name: str
    id: str | None = None
    size_bytes: int | None = None
    size_text: str | None = None
    modified: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class OllamaListResult(Result):
    """The models ``ollama list`` shows (or its error report)."""

    models: list[ListedModel] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False


def _model(row: Row) -> ListedModel:
    cells = row.cells
    size = cells.get("SIZE")
    return ListedModel(
        name=cells["NAME"],
        id=cells.get("ID"),
        size_bytes=parse_size(size),
        size_text=size,
        modified=cells.get("MODIFIED"),
        extra={k.lower(): v for k, v in cells.items() if k not in _KNOWN},
    )


def parse(transcript: Transcript) -> OllamaListResult:
    """The models of an ``ollama list`` output; ``ParseError`` on a line it cannot read."""
    lines = clean_lines(transcript.text)
    if not any(line.strip() for line in lines):
        raise ParseError(COMMAND, "empty output (ollama list always prints a header)")
    table = read_table(COMMAND, lines, _ERAS)
    if not table.rows and not table.headers and table.error is None:
        raise ParseError(COMMAND, "no table header, row or error report in the output")
    return OllamaListResult(
        error=table.error.error if table.error else None,
        kind=table.error.kind if table.error else None,
        models=[_model(row) for row in table.rows],
        warnings=table.warnings,
        truncated=any(row.truncated for row in table.rows),
    )
