"""Dependencies flow down: a module imports only modules of its own layer or below.

Every ``lmsdrive`` import counts, also the lazy ones inside functions; imports under
``if TYPE_CHECKING:`` (types only, never run) do not. The layers, bottom first:
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "lmsdrive"

#: Module prefix → layer. The longest matching prefix wins.
LAYERS: dict[str, int] = {
    "lmsdrive.errors": 0,
    "lmsdrive.transcript": 0,
    "lmsdrive._types": 0,
    "lmsdrive._schema": 0,
    "lmsdrive._text": 0,
    "lmsdrive._platform": 0,
    "lmsdrive._version": 0,
    "lmsdrive._sdnotify": 0,
    "lmsdrive._keep_alive": 0,
    "lmsdrive.estimate": 0,
    "lmsdrive.tools": 0,
    "lmsdrive.model_ref": 1,
    "lmsdrive.runtimes": 2,
    "lmsdrive.parsers": 2,
    "lmsdrive.config": 3,
    "lmsdrive.discovery": 3,
    "lmsdrive.runner": 3,
    "lmsdrive.http": 3,
    "lmsdrive.golden": 4,
    "lmsdrive.backends": 5,
    "lmsdrive.keep": 5,  # the resident-model loop: backends below, the Driver above
    "lmsdrive.driver": 6,
    "lmsdrive.status": 6,
    "lmsdrive.health": 6,
    "lmsdrive.async_driver": 7,
    "lmsdrive.cli": 8,
    "lmsdrive.mcp_server": 8,
    "lmsdrive.mcp_http": 8,
    "lmsdrive.mcp_tasks": 7,
    "lmsdrive.testing": 9,
    "lmsdrive.demo": 10,
    "lmsdrive.__main__": 10,
    "lmsdrive": 10,  # the package's lazy exports
}


def layer(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every lmsdrive import outside ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names = [f"{target}.{a.name}" for a in node.names] if not node.module else [target]
            found += [(node.lineno, n) for n in names if n.startswith("lmsdrive")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("lmsdrive")]
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_imports_flow_down(path: Path) -> None:
    own = layer(module_name(path))
    uphill = [
        f"line {line}: {target} (layer {layer(target)})"
        for line, target in imports(path)
        if layer(target) > own
    ]
    assert uphill == [], f"{module_name(path)} (layer {own}) imports upward: {uphill}"


def test_the_check_sees_an_uphill_import(tmp_path: Path) -> None:
    """The checker itself: a parser importing a backend is caught, a TYPE_CHECKING one not."""
    probe = PACKAGE / "parsers" / "lms_ls.py"
    tree = imports(probe)
    assert all(layer(t) <= layer("lmsdrive.parsers") for _, t in tree)
    assert layer("lmsdrive.backends.ollama") > layer("lmsdrive.parsers.lms_ls")
    assert layer("lmsdrive.http._client") < layer("lmsdrive.backends.base")
