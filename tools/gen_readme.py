"""Regenerate the README's parser-schema section from the parsers' result types.

Usage: python tools/gen_readme.py [--check]

For every registered parser (``PARSERS``) the section shows the command, the module, the
result type (the return type of the module's ``parse``), the docstring's first paragraph,
and the JSON that ``result.to_dict()`` gives: every field of the result dataclass, nested
dataclasses inline, with its type as JSON names it (``string | null``, ``[integer]``,
``"a" | "b"``). The types are read from the annotations, so the section lists exactly what a
result holds; a field's comment is the one the module docstring's schema gives it (by field
name), when it gives one. ``--check`` exits 1 when the README differs from what this writes
(tests/test_readme.py runs it).
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import re
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lmsdrive.parsers import PARSERS  # noqa: E402
from lmsdrive.parsers._base import Result  # noqa: E402

START, END = "<!-- schemas:start -->", "<!-- schemas:end -->"
#: Fields of every result, described once above the section (left out while empty).
COMMON = ("skipped", "attempts")
_VALUES_RE = re.compile(r'^"[^"]*"(\s*\|\s*("[^"]*"|null))+$')
_DOC_FIELD_RE = re.compile(r'^\s*"(?P<name>\w+)"\s*:(?P<rest>.*)$')


def schema_lines(doc: str) -> list[str]:
    """The lines of the docstring's ``Schema::`` (or ``JSON Schema::``) block."""
    out: list[str] = []
    inside = False
    for line in doc.splitlines():
        if re.match(r"^\s*(JSON )?Schema\b.*::\s*$", line):
            inside = True
        elif inside and line.strip() and not line.startswith((" ", "\t")):
            inside = False
        elif inside:
            out.append(line)
    return out


def doc_comments(doc: str) -> dict[tuple[int, str], str]:
    """``(depth, field name)`` → the comment the docstring's schema gives that field
    (continuation comment lines joined), depth 0 being the result's own fields (by the
    lines' indentation). A field given with others on one line gets no comment."""
    found: list[tuple[int, str, str]] = []  # (indent, name, comment) of each field line
    for line in schema_lines(doc):
        m = _DOC_FIELD_RE.match(line)
        stripped = line.strip()
        if m:
            value, _, note = m["rest"].partition("#")
            value = value.strip().rstrip(",").strip()
            if re.search(r'"\w+"\s*:', value) or value.endswith(("[{", "{")):
                note = ""  # a line of several fields, or an object's first line
            elif not note.strip() and _VALUES_RE.match(value):  # what a type cannot name
                note = f"one of {value}"
            note = note.strip()
            found.append((len(line) - len(line.lstrip()), m["name"], note))
        elif found and found[-1][2] and stripped.startswith("#"):
            indent, name, note = found[-1]
            found[-1] = (indent, name, f"{note} {stripped[1:].strip()}")
        elif found:
            found.append((-1, "", ""))  # ends a comment's continuation
    levels = sorted({indent for indent, name, _ in found if name})
    out: dict[tuple[int, str], str] = {}
    for indent, name, note in found:
        if name and note:
            out.setdefault((levels.index(indent), name), note)
    return out


Comments = dict[tuple[int, str], str]


def type_name(tp: Any, seen: tuple[type, ...], comments: Comments, indent: int) -> str:
    """How a value of annotation ``tp`` looks in ``to_dict()``'s JSON."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is type(None):
        return "null"
    if tp is Any or tp is object:
        return "any"
    if origin in (typing.Union, types.UnionType):
        names = [type_name(a, seen, comments, indent) for a in args if a is not type(None)]
        return " | ".join(names + (["null"] if type(None) in args else []))
    if origin is typing.Literal:
        return " | ".join(f'"{a}"' if isinstance(a, str) else str(a).lower() for a in args)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return " | ".join(f'"{m.value}"' for m in tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if tp in seen or issubclass(tp, Result):
            return "{…}"  # an earlier result of the same command (``attempts``), or a cycle
        return render_object(tp, (*seen, tp), comments, indent)
    if origin in (tuple, list) or (isinstance(origin, type) and issubclass(origin, Sequence)):
        item = args[0] if args and (len(args) == 1 or args[1] is Ellipsis) else Any
        return f"[{type_name(item, seen, comments, indent)}]"
    if origin is dict or (isinstance(origin, type) and issubclass(origin, Mapping)):
        value = args[1] if len(args) == 2 else Any
        if value is Any or value is object:
            return "object"
        return f"{{string: {type_name(value, seen, comments, indent)}}}"
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object"}
    if tp in simple:
        return simple[tp]
    if tp in (list, tuple):
        return "[any]"
    raise TypeError(f"no JSON name for the annotation {tp!r}: teach tools/gen_readme.py")


def render_object(cls: type, seen: tuple[type, ...], comments: Comments, indent: int = 0) -> str:
    """A dataclass as the JSON object its ``to_dict()`` gives, one field a line."""
    hints = typing.get_type_hints(cls)
    omit = set(getattr(cls, "omit_none", ()))
    pad = "  " * (indent + 1)
    rows: list[tuple[str, str, str]] = []
    for f in dataclasses.fields(cls):
        if f.name in COMMON:
            continue
        shown = type_name(hints[f.name], seen, comments, indent + 1)
        note = comments.get((indent, f.name), "")
        if f.name in omit:
            note = "absent while null" + (f"; {note}" if note else "")
        rows.append((f'"{f.name}":', shown, note))
    width = max((len(k) for k, _, _ in rows), default=0)
    lines = ["{"]
    for i, (key, shown, note) in enumerate(rows):
        comma = "," if i < len(rows) - 1 else ""
        line = f"{pad}{key.ljust(width)} {shown}{comma}"
        if note and "\n" not in shown:
            line = f"{line.ljust(len(pad) + width + 28)} # {note}"
        elif note:  # a nested object: the comment goes on its first line
            first, rest = shown.split("\n", 1)
            line = f"{pad}{key.ljust(width)} {first}  # {note}\n{rest}{comma}"
        lines.append(line)
    lines.append("  " * indent + "}")
    return "\n".join(lines)


def result_type(module: str) -> type:
    mod = importlib.import_module(f"lmsdrive.parsers.{module}")
    cls = typing.get_type_hints(mod.parse)["return"]
    if not (isinstance(cls, type) and issubclass(cls, Result)):
        raise TypeError(f"lmsdrive.parsers.{module}.parse must return a Result subclass")
    return cls


def render() -> str:
    parts = [START, ""]
    for info in PARSERS:
        mod = importlib.import_module(f"lmsdrive.parsers.{info.module}")
        doc = mod.__doc__ or ""
        cls = result_type(info.module)
        summary = " ".join(doc.strip().split("\n\n", 1)[0].split())
        aliases = f" (also: {', '.join(f'`{a}`' for a in info.aliases)})" if info.aliases else ""
        parts.append(f"#### `{info.name}`{aliases}")
        parts.append("")
        parts.append(f"`lmsdrive.parsers.{info.module}.parse` → `{cls.__name__}`. {summary}")
        parts += ["", "```", render_object(cls, (cls,), doc_comments(doc)), "```", ""]
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
