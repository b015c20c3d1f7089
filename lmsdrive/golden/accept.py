"""Accept a fixture's baseline (``lmsdrive fixtures accept``): what parses now becomes what
``lmsdrive fixtures check`` compares with.

Without case names, every fixture that has no baseline gets one; with names, those cases are
re-baselined (after a runtime upgrade whose new output is right). A case is named by its id
(``ollama-list-mine``, as ``check`` prints it), its ``record --name`` (``mine``) or its path
below the tree (``ollama/list/mine``).

Where the baseline goes is where ``check`` reads it: a case with a syrupy snapshot (lmsdrive's
own tree) gets its snapshot file rewritten; any other case gets the whole parse result as
``expected`` in its ``.json``, marked ``"expected_complete": true`` so that ``check`` also
reports keys that appear later (an ``unreadable_expected`` list there goes: every key is read
now).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ParseError
from .check import (
    COMPLETE,
    default_snapshot_dir,
    diff_values,
    fixture_case_id,
    parse_now,
    snapshot_path,
)
from .tree import Fixture, iter_fixtures

__all__ = ["Accepted", "UnknownCaseError", "accept_fixtures", "flatten"]


class UnknownCaseError(ValueError):
    """A ``--case`` names no fixture of the tree, or more than one."""


@dataclass(frozen=True)
class Accepted:
    """One case's new baseline: where it went and what it holds, or why it was not written."""

    case_id: str
    path: Path
    written_to: Path | None
    facts: Any = None
    #: ``path: before → now`` against the baseline it replaced (``None``: it had none).
    differences: list[str] | None = None
    error: str | None = None
    replaced: bool = field(default=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "path": str(self.path),
            "written_to": str(self.written_to) if self.written_to else None,
            "replaced": self.replaced,
            "differences": self.differences,
            "error": self.error,
            "facts": self.facts,
        }


def flatten(value: Any, path: str = "") -> list[str]:
    """A JSON value as ``path: value`` lines, one per leaf (an empty list or object is a leaf)."""
    if isinstance(value, dict) and value:
        return [line for k, v in value.items() for line in flatten(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list) and value:
        return [line for i, v in enumerate(value) for line in flatten(v, f"{path}[{i}]")]
    return [f"{path or '(result)'}: {json.dumps(value, ensure_ascii=False)}"]


def _select(found: list[tuple[Fixture, str]], cases: Sequence[str], root: Path) -> list[int]:
    """Indexes into ``found`` of the named cases, each once, in the tree's order."""
    names = [
        {cid, fx.path.stem, fx.path.relative_to(root).with_suffix("").as_posix()}
        for fx, cid in found
    ]
    chosen: set[int] = set()
    for name in cases:
        hits = [i for i, known in enumerate(names) if name in known]
        if not hits:
            raise UnknownCaseError(f"no fixture named {name!r} (see `lmsdrive fixtures check -v`)")
        if len(hits) > 1:
            ids = ", ".join(found[i][1] for i in hits)
            raise UnknownCaseError(f"{name!r} names several fixtures ({ids}): give the case id")
        chosen.add(hits[0])
    return sorted(chosen)


def _accept(fx: Fixture, case_id: str, snapshots: Path | None) -> Accepted:
    try:
        now = parse_now(fx)
    except (ParseError, ValueError) as exc:
        return Accepted(case_id, fx.path, None, error=f"it does not parse: {exc}")
    snap = snapshot_path(case_id, snapshots)
    if snap is not None:
        before = json.loads(snap.read_text(encoding="utf-8"))
        text = json.dumps(now, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        snap.write_text(text, encoding="utf-8")
        return Accepted(case_id, fx.path, snap, now, diff_values(before, now), replaced=True)
    meta_path = fx.path.with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    old = fx.expected
    meta["expected"] = now
    meta[COMPLETE] = True
    meta.pop("unreadable_expected", None)
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    differences = diff_values(old, now, new_keys=bool(fx.meta.get(COMPLETE))) if old else None
    return Accepted(case_id, fx.path, meta_path, now, differences, replaced=bool(old))


def accept_fixtures(
    root: Path | str,
    cases: Sequence[str] = (),
    snapshots: Path | str | None = None,
) -> list[Accepted]:
    """Write the baseline of every case under ``root`` that has none (or of the named
    ``cases``, replacing theirs) from what parses now; what was written, per case.

    Raises ``FileNotFoundError`` when ``root`` is not a directory, :class:`UnknownCaseError`
    when a name matches no case or several. A case that no longer parses is not written
    (its :attr:`Accepted.error` says why).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory of fixtures")
    snap_dir = Path(snapshots) if snapshots is not None else default_snapshot_dir(root)
    found = [(fx, fixture_case_id(fx.path, root)) for fx in iter_fixtures(root)]
    if cases:
        todo = [found[i] for i in _select(found, cases, root)]
    else:
        todo = [
            (fx, c) for fx, c in found if snapshot_path(c, snap_dir) is None and not fx.expected
        ]
    return [_accept(fx, case_id, snap_dir) for fx, case_id in todo]
