"""Golden fixtures: the fixture tree (:mod:`.tree`), recording a runtime's output as a new
fixture (:mod:`.record`, ``lmsdrive record``) and re-checking a tree against its snapshots
(:mod:`.check`, ``lmsdrive fixtures check``) and accepting what parses now as a case's
baseline (:mod:`.accept`, ``lmsdrive fixtures accept``). The CLI and :mod:`lmsdrive.testing`
both use it.

>>> from lmsdrive.golden import iter_fixtures, default_root
>>> any(True for _ in iter_fixtures(default_root()))
True
"""

from __future__ import annotations

from .tree import DEFAULT_ROOT, Fixture, default_root, expected_mismatches, iter_fixtures

__all__ = ["DEFAULT_ROOT", "Fixture", "default_root", "expected_mismatches", "iter_fixtures"]
