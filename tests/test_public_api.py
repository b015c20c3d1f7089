"""Every type a caller receives from the public API is importable from ``lmsdrive`` itself
(as ollama-python does), so no one reaches into a private module."""

from __future__ import annotations

import inspect
import typing

import pytest

import lmsdrive
from lmsdrive import AsyncDriver, Driver


def lmsdrive_classes(tp: object) -> set[type]:
    """The lmsdrive classes named anywhere in a type hint."""
    found: set[type] = set()
    if isinstance(tp, type) and tp.__module__.startswith("lmsdrive"):
        found.add(tp)
    for arg in typing.get_args(tp):
        found |= lmsdrive_classes(arg)
    return found


METHODS = [
    (cls, name)
    for cls in (Driver, AsyncDriver)
    for name, fn in inspect.getmembers(cls, inspect.isfunction)
    if not name.startswith("_")
]


@pytest.mark.parametrize(("cls", "name"), METHODS, ids=[f"{c.__name__}.{n}" for c, n in METHODS])
def test_what_a_method_returns_is_exported(cls: type, name: str) -> None:
    fn = getattr(cls, name)
    # Names a module imports only for type checking resolve through lmsdrive's exports: a
    # type that is not exported stays unresolved and fails here.
    exported = {n: getattr(lmsdrive, n) for n in lmsdrive.__all__}
    hints = typing.get_type_hints(fn, globalns={**vars(inspect.getmodule(fn)), **exported})
    returned = lmsdrive_classes(hints.get("return"))
    taken = set().union(*(lmsdrive_classes(h) for k, h in hints.items() if k != "return"))
    missing = {c.__name__ for c in returned | taken if getattr(lmsdrive, c.__name__, None) is not c}
    assert missing == set(), f"{cls.__name__}.{name} uses types not exported by lmsdrive"


def test_every_export_resolves() -> None:
    for name in lmsdrive.__all__:
        assert getattr(lmsdrive, name) is not None
    assert {"Driver", "InitReport", "Progress", "ChatReply", "LoadOptions", "Status"} <= set(
        lmsdrive.__all__
    )
