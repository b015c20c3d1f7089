"""The golden-regression check (``lmsdrive fixtures check``): re-parse a fixture tree and
say, per fixture, what the parsers now read differently from what was stored.

The baseline of a fixture is its syrupy snapshot,
``<snapshots>/test_fixture[<case id>].json`` (``tests/__snapshots__/test_fixtures/`` in the
repository: the whole result as the tests last accepted it); without one, its ``expected``
facts; without either, nothing (the fixture is only parsed). ``expected`` facts are checked
too when a snapshot exists. The case id is the fixture's path below the nearest folder named
``fixtures`` (else below the tree checked), ``/`` replaced by ``-``, without ``.txt``: the
id the fixture test gives it.

Statuses: ``same``, ``changed`` (differences listed as ``path: before → now``, the
``expected`` facts compared on the keys they name), ``error`` (the parser raised: the
fixture no longer parses), ``unchecked`` (no baseline; parsed fine). ``lmsdrive fixtures
accept`` (:mod:`.accept`) writes a baseline from what parses now.
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
    "parse_now",
    "snapshot_path",
]

CheckStatus = Literal["same", "changed", "error", "unchecked"]
#: The ``.json`` key ``fixtures accept`` sets: ``expected`` is a whole result, so keys that
#: appear later are differences too (hand-written facts are compared on their own keys).
COMPLETE = "expected_complete"
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


def diff_values(before: Any, now: Any, path: str = "", *, new_keys: bool = True) -> list[str]:
    """Human-readable differences between two JSON values, one line per changed leaf
    (``path: before → now``). ``new_keys=False`` compares objects on the keys ``before``
    names only (how ``expected`` facts are checked)."""
    where = path or "(result)"
    if isinstance(before, dict) and isinstance(now, dict):
        out: list[str] = []
        for key in list(before) + [k for k in now if k not in before and new_keys]:
            sub = f"{path}.{key}" if path else str(key)
            b, n = before.get(key, _MISSING), now.get(key, _MISSING)
            if b is _MISSING:
                out.append(f"{sub}: new key → {_show(n)}")
            elif n is _MISSING:
                out.append(f"{sub}: {_show(b)} → no longer read")
            else:
                out.extend(diff_values(b, n, sub, new_keys=new_keys))
        return out
    if isinstance(before, list) and isinstance(now, list):
        out = []
        if len(before) != len(now):
            out.append(f"{where}: {len(before)} items → {len(now)} items")
        for i, (b, n) in enumerate(zip(before, now, strict=False)):
            out.extend(diff_values(b, n, f"{path}[{i}]", new_keys=new_keys))
        return out
    if before != now or type(before) is not type(now):
        return [f"{where}: {_show(before)} → {_show(now)}"]
    return []


def snapshot_path(case_id: str, snapshots: Path | None) -> Path | None:
    """The syrupy snapshot file of a case, when ``snapshots`` holds one."""
    snap = snapshots / f"test_fixture[{case_id}].json" if snapshots is not None else None
    return snap if snap is not None and snap.is_file() else None


def parse_now(fx: Fixture) -> Any:
    """What the parser reads from a fixture today (strict), as plain JSON values; raises
    ``ParseError`` (or ``ValueError`` for an unknown parser)."""
    from ..parsers import parse_transcript, resolve

    result = parse_transcript(resolve(fx.parser), fx.transcript(), strict=True).to_dict()
    return json.loads(json.dumps(result, ensure_ascii=False))


def _volatile(parser: str) -> tuple[str, ...]:
    """The parser's facts that change with the moment of capture (``ParserInfo.volatile``)."""
    from ..parsers import resolve

    return resolve(parser).volatile


def without(value: Any, paths: tuple[str, ...]) -> Any:
    """``value`` without the facts at ``paths`` (``models[].modified``: that key of every
    item of ``models``), so a fact that changes with the moment of capture is not compared.

    >>> without({"models": [{"name": "a", "modified": "2 s ago"}]}, ("models[].modified",))
    {'models': [{'name': 'a'}]}
    """
    for path in paths:
        value = _drop(value, path.split("."))
    return value


def _drop(value: Any, parts: list[str]) -> Any:
    head, rest = parts[0], parts[1:]
    key, each = head.removesuffix("[]"), head.endswith("[]")
    if not isinstance(value, dict) or key not in value:
        return value
    if not rest:
        return {k: v for k, v in value.items() if k != key}
    inner = value[key]
    if each and isinstance(inner, list):
        inner = [_drop(item, rest) for item in inner]
    elif not each:
        inner = _drop(inner, rest)
    return {**value, key: inner}


def _check(fx: Fixture, root: Path, snapshots: Path | None) -> FixtureCheck:
    case_id = fixture_case_id(fx.path, root)
    snap = snapshot_path(case_id, snapshots)
    baseline: Literal["snapshot", "expected"] | None = None
    if snap is not None:
        baseline = "snapshot"
    elif fx.expected:
        baseline = "expected"
    try:
        now = parse_now(fx)
    except (ParseError, ValueError) as exc:
        return FixtureCheck(case_id, fx.path, fx.parser, "error", baseline, [str(exc)])
    differences: list[str] = []
    volatile = _volatile(fx.parser)
    if snap is not None:
        before = json.loads(snap.read_text(encoding="utf-8"))
        differences += diff_values(without(before, volatile), without(now, volatile))
    if fx.expected:
        if fx.expected_read_as:  # facts of a shared transcript, some read lmsdrive's way
            facts = expected_mismatches(fx.expected, now, fx.expected_read_as)
        else:  # a baseline (``fixtures accept``): every leaf but the volatile, as a diff
            facts = diff_values(
                without(fx.expected, volatile),
                without(now, volatile),
                new_keys=bool(fx.meta.get(COMPLETE)),
            )
        differences += [f"expected fact {d}" for d in facts] if snap is not None else facts
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
