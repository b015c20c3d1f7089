"""The fixture tree: recorded transcripts on disk, beside their provenance.

``fixtures/<tool>/<command>/<case>.txt`` holds what the command printed (a terminal paste,
or stdout alone when ``<case>.stderr`` beside it holds stderr: a capture that kept the
two streams apart); ``<case>.json`` beside it holds ``source`` (or ``synthetic: true`` and
``reason``), the ``parser`` that reads it, ``argv``, ``exit_code``, ``http_status``, version,
OS and the ``expected`` facts a correct parser must read from it. The folder names the
parser module that reads the case (``ParserInfo.folder``: ``ollama/api-tags``,
``lms/server-status``); ``tests/test_fixtures.py`` checks it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..transcript import Transcript


def default_root() -> Path:
    """lmsdrive's own fixture tree: inside an installed wheel (``lmsdrive/_fixtures``, where
    the build puts the repository's ``fixtures/``), else in the source checkout."""
    package = Path(__file__).resolve().parent.parent
    packaged = package / "_fixtures"
    return packaged if packaged.is_dir() else package.parent / "fixtures"


#: lmsdrive's own fixture tree (see :func:`default_root`).
DEFAULT_ROOT = default_root()
#: The file beside ``<case>.txt`` that holds the case's stderr, when captured apart.
STDERR_SUFFIX = ".stderr"


@dataclass(frozen=True)
class Fixture:
    """One recorded output and its metadata."""

    path: Path
    meta: dict[str, Any]

    @property
    def case_id(self) -> str:
        return self.path.with_suffix("").as_posix().split("fixtures/", 1)[-1].replace("/", "-")

    @property
    def parser(self) -> str:
        return str(self.meta["parser"])

    @property
    def stderr_path(self) -> Path:
        """``<case>.stderr``: stderr of a capture that kept the streams apart."""
        return self.path.with_suffix(STDERR_SUFFIX)

    @property
    def stdout(self) -> str:
        return self.path.read_bytes().decode("utf-8")

    @property
    def stderr(self) -> str:
        p = self.stderr_path
        return p.read_bytes().decode("utf-8") if p.exists() else ""

    @property
    def text(self) -> str:
        """Everything printed: stdout, then stderr when kept apart (``Transcript.text``)."""
        return self.transcript().text

    def transcript(self) -> Transcript:
        argv = self.meta.get("argv") or ()
        return Transcript(
            stdout=self.stdout,
            stderr=self.stderr,
            argv=tuple(argv),
            exit_code=self.meta.get("exit_code"),
            http_status=self.meta.get("http_status"),
            meta=self.meta,
        )

    @property
    def expected(self) -> dict[str, Any] | None:
        """The `expected` facts, lists as `{"models": [...]}`, minus `unreadable_expected`."""
        exp = self.meta.get("expected")
        if isinstance(exp, list):
            return {"models": exp}
        if isinstance(exp, dict):
            skip = self.meta.get("unreadable_expected") or {}
            return {k: v for k, v in exp.items() if k not in skip}
        return exp

    @property
    def expected_read_as(self) -> dict[str, dict[str, Any]]:
        """How lmsdrive reads some `expected` facts, by path (:func:`expected_mismatches`)."""
        rules = self.meta.get("expected_read_as")
        return rules if isinstance(rules, dict) else {}


def iter_fixtures(root: Path | str = DEFAULT_ROOT) -> Iterator[Fixture]:
    """Every fixture under ``root``, in a stable order."""
    for txt in sorted(Path(root).rglob("*.txt")):
        meta_path = txt.with_suffix(".json")
        if meta_path.exists():
            yield Fixture(txt, json.loads(meta_path.read_text(encoding="utf-8")))


def expected_mismatches(
    expected: dict[str, Any],
    actual: dict[str, Any],
    read_as: Mapping[str, Mapping[str, Any]] | None = None,
    _at: str = "",
) -> list[str]:
    """What ``actual`` reads differently from the ``expected`` facts (empty when it agrees).

    Every expected key must be present with an equal value; a list of objects
    (``models``) must have the same length, and each object (like any nested object) must
    agree on the keys the expected one names. ``read_as`` (a fixture's ``expected_read_as``)
    says how lmsdrive reads one fact, by path (``outcome``, ``models[].status``): under
    another ``field``; its ``words`` for the fact's; ``casefold``-ed; ``within`` N of it;
    as a text that ``contains`` it.
    """
    rules = read_as or {}
    problems: list[str] = []
    for key, want in expected.items():
        rule = rules.get(_at + key, {})
        field = rule.get("field", key)
        if field not in actual:
            problems.append(f"{key}: missing (expected {want!r})")
            continue
        got = actual[field]
        if isinstance(want, list) and want and all(isinstance(w, dict) for w in want):
            if not isinstance(got, list) or len(got) != len(want):
                n = len(got) if isinstance(got, list) else got
                problems.append(f"{key}: {n} items, expected {len(want)}")
                continue
            for i, (w, g) in enumerate(zip(want, got, strict=True)):
                g = g if isinstance(g, dict) else {}
                for sub in expected_mismatches(w, g, rules, f"{_at}{key}[]."):
                    problems.append(f"{key}[{i}].{sub}")
        elif isinstance(want, dict) and isinstance(got, dict):
            subs = expected_mismatches(want, got, rules, f"{_at}{key}.")
            problems.extend(f"{key}.{sub}" for sub in subs)
        elif not _agrees(want, got, rule):
            problems.append(f"{key}: got {got!r}, expected {want!r}")
    return problems


def _agrees(want: Any, got: Any, rule: Mapping[str, Any]) -> bool:
    if isinstance(want, str) and isinstance(rule.get("words"), Mapping):
        want = rule["words"].get(want, want)
    if rule.get("casefold") and isinstance(want, str) and isinstance(got, str):
        return want.casefold() == got.casefold()
    if rule.get("contains") and isinstance(want, str) and isinstance(got, str):
        return want in got
    within = rule.get("within")
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (want, got))
    if isinstance(within, int | float) and numbers:
        return bool(abs(got - want) <= within)
    return bool(got == want)
