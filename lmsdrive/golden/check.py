"""The golden-regression check (``lmsdrive fixtures check``): re-parse a fixture tree and
say, per fixture, what the parsers now read differently from what was stored.

The baseline of a fixture is its syrupy snapshot,
``<snapshots>/test_fixture[<case id>].json`` (``tests/__snapshots__/test_fixtures/`` in the
repository: the whole result as the tests last accepted it); without one, its ``expected``
facts; without either, nothing (the fixture is only parsed). ``expected`` facts are checked
too when a snapshot exists. The case id is the fixture's path below the nearest folder named
``fixtures`` (else below the tree checked), ``/`` replaced by ``-``, without ``.txt``: the
id the fixture test gives it.

Statuses: ``same``, ``changed`` (differences listed as ``path: before → now``), ``error``
(the parser raised: the fixture no longer parses), ``unchecked`` (no baseline; parsed fine).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import ParseError
from .tree import Fixture, expected_mismatches, iter_fixtures

__all__ = [
    "FixtureCheck",
    "check_fixtures",
    "default_snapshot_dir",
    "diff_values",
    "fixture_case_id",
]

CheckStatus = Literal["same", "changed", "error", "unchecked"]
SNAPSHOT_SUBDIR = Path("tests") / "__snapshots__" / "test_fixtures"
_MISSING = object()


@dataclass(frozen=True)
class FixtureCheck:
    """One fixture's verdict."""

    case_id: str
    path: Path
    parser: str
    status: CheckStatus
    baseline: Literal["snapshot", "expected"] | None
    differences: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status in ("changed", "error")

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "path": str(self.path),
            "parser": self.parser,
            "status": self.status,
            "baseline": self.baseline,
            "differences": list(self.differences),
        }


def fixture_case_id(txt: Path, root: Path) -> str:
    """The test id of a fixture (see the module docstring)."""
    base = next((p for p in txt.parents if p.name == "fixtures"), root)
    rel = txt.relative_to(base)
    return rel.with_suffix("").as_posix().replace("/", "-")


def default_snapshot_dir(root: Path) -> Path | None:
    """``tests/__snapshots__/test_fixtures`` beside the fixture tree (or above it)."""
    for parent in (root, *root.resolve().parents):
        candidate = parent / SNAPSHOT_SUBDIR
        if candidate.is_dir():
            return candidate
    return None


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def diff_values(before: Any, now: Any, path: str = "") -> list[str]:
    """Human-readable differences between two JSON values, one line per changed leaf."""
    where = path or "(result)"
    if isinstance(before, dict) and isinstance(now, dict):
        out: list[str] = []
        for key in list(before) + [k for k in now if k not in before]:
            sub = f"{path}.{key}" if path else str(key)
            b, n = before.get(key, _MISSING), now.get(key, _MISSING)
            if b is _MISSING:
                out.append(f"{sub}: new key → {_show(n)}")
            elif n is _MISSING:
                out.append(f"{sub}: {_show(b)} → no longer read")
            else:
                out.extend(diff_values(b, n, sub))
        return out
    if isinstance(before, list) and isinstance(now, list):
        out = []
        if len(before) != len(now):
            out.append(f"{where}: {len(before)} items → {len(now)} items")
        for i, (b, n) in enumerate(zip(before, now, strict=False)):
            out.extend(diff_values(b, n, f"{path}[{i}]"))
        return out
    if before != now or type(before) is not type(now):
        return [f"{where}: {_show(before)} → {_show(now)}"]
    return []


def _check(fx: Fixture, root: Path, snapshots: Path | None) -> FixtureCheck:
    from ..parsers import parse_transcript, resolve

    case_id = fixture_case_id(fx.path, root)
    snap = snapshots / f"test_fixture[{case_id}].json" if snapshots is not None else None
    baseline: Literal["snapshot", "expected"] | None = None
    if snap is not None and snap.is_file():
        baseline = "snapshot"
    elif fx.expected:
        baseline = "expected"
    try:
        result = parse_transcript(resolve(fx.parser), fx.transcript(), strict=True).to_dict()
    except (ParseError, ValueError) as exc:
        return FixtureCheck(case_id, fx.path, fx.parser, "error", baseline, [str(exc)])
    now = json.loads(json.dumps(result, ensure_ascii=False))
    differences: list[str] = []
    if snap is not None and baseline == "snapshot":
        differences += diff_values(json.loads(snap.read_text(encoding="utf-8")), now)
    if fx.expected:
        differences += [
            f"expected fact {p}" for p in expected_mismatches(fx.expected, now, fx.expected_read_as)
        ]
    if baseline is None:
        return FixtureCheck(case_id, fx.path, fx.parser, "unchecked", None)
    status: CheckStatus = "changed" if differences else "same"
    return FixtureCheck(case_id, fx.path, fx.parser, status, baseline, differences)


def check_fixtures(root: Path | str, snapshots: Path | str | None = None) -> Iterator[FixtureCheck]:
    """Check every fixture under ``root`` (in a stable order) against its baseline.

    ``snapshots`` defaults to :func:`default_snapshot_dir`. Raises ``FileNotFoundError``
    when ``root`` is not a directory.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory of fixtures")
    snap_dir = Path(snapshots) if snapshots is not None else default_snapshot_dir(root)
    for fx in iter_fixtures(root):
        yield _check(fx, root, snap_dir)
