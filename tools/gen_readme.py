"""Regenerate the README's parser-schema section from the parsers' docstrings.

Usage: python tools/gen_readme.py [--check]

Each parser module's docstring carries its schema (jc style); the README shows the first
paragraph and the ``Schema`` block of each, between the ``schemas:start``/``schemas:end``
markers. ``--check`` exits 1 when the README is out of date (tests run it).
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lmsdrive.parsers import PARSERS  # noqa: E402

START, END = "<!-- schemas:start -->", "<!-- schemas:end -->"


def schema_block(doc: str) -> str:
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("Schema") and line.rstrip().endswith("::"):
            body: list[str] = []
            for nxt in lines[i + 1 :]:
                if nxt.strip() and not nxt.startswith((" ", "\t")):
                    break
                body.append(nxt)
            return textwrap.dedent("\n".join(body)).strip("\n")
    return ""


def render() -> str:
    parts = [START, ""]
    for info in PARSERS:
        mod = importlib.import_module(f"lmsdrive.parsers.{info.module}")
        doc = mod.__doc__ or ""
        summary = " ".join(doc.strip().split("\n\n", 1)[0].split())
        aliases = f" (also: {', '.join(f'`{a}`' for a in info.aliases)})" if info.aliases else ""
        parts.append(f"#### `{info.name}`{aliases} — module `lmsdrive.parsers.{info.module}`")
        parts.append("")
        parts.append(summary)
        block = schema_block(doc)
        if block:
            parts += ["", "```", block, "```"]
        parts.append("")
    parts.append(END)
    return "\n".join(parts)


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    new = head + render() + tail
    if "--check" in sys.argv:
        if new != text:
            print("README.md schemas are out of date: run `python tools/gen_readme.py`")
            return 1
        return 0
    readme.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
