"""Finding the runtimes' command-line tools: ``ollama`` and LM Studio's ``lms``.

Order, first match wins (:func:`candidates` lists the places in that order):

1. the explicit argument (a path, or a bare name looked up on PATH);
2. the runtime's variable, ``LMSDRIVE_OLLAMA_BIN`` / ``LMSDRIVE_LMS_BIN``;
3. ``PATH``;
4. the runtime's install places (its spec's ``install_places``, :mod:`lmsdrive.runtimes`):

   * ``lms``: LM Studio's home rule (``findLMStudioHome`` in lms-common-server,
     docs/reference/lms-cli.md §1.1): the folder named in ``~/.lmstudio-home-pointer`` when
     that file exists, then ``~/.cache/lm-studio`` (legacy home), then ``~/.lmstudio``, each with
     ``bin/lms`` (``bin\\lms.exe`` on Windows);
   * ``ollama``: ``/usr/local/bin/ollama``, ``/usr/bin/ollama``, ``/opt/homebrew/bin/ollama``,
     the macOS app's own copy ``/Applications/Ollama.app/Contents/Resources/ollama``,
     ``~/.local/bin/ollama``, and on Windows ``%LOCALAPPDATA%\\Programs\\Ollama\\ollama.exe``.

   The system-wide folders are resolved under ``LMSDRIVE_INSTALL_ROOT`` (default ``/``): an
   image mounted elsewhere, or a test's empty folder so that no real install is ever found
   (:mod:`lmsdrive.testing` points it, and ``HOME``, at folders of its own).

A place counts when it is a file we may execute. An explicit argument or environment
variable that names nothing usable is an error at once (it is never silently replaced by
another binary). When nothing is found, :class:`~lmsdrive.errors.NotInstalledError` starts
with the friendly text of the original tool and lists every place looked at.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> fake = os.path.join(folder, "ollama")
>>> with open(fake, "w") as fh:
...     _ = fh.write("#!/bin/sh\\n")
>>> os.chmod(fake, 0o755)
>>> find_binary("ollama", fake) == Path(fake)
True
"""

from __future__ import annotations

import os
from pathlib import Path

from ._platform import windows
from .errors import NotInstalledError
from .runtimes import RUNTIMES, RuntimeSpec

__all__ = ["INSTALL_ROOT_VARIABLE", "candidates", "find_binary"]

#: The folder the runtimes' system-wide install places are resolved under (default ``/``).
INSTALL_ROOT_VARIABLE = "LMSDRIVE_INSTALL_ROOT"


def _spec(tool: str) -> RuntimeSpec:
    for spec in RUNTIMES.values():
        if spec.tool == tool:
            return spec
    known = ", ".join(repr(s.tool) for s in RUNTIMES.values())
    raise ValueError(f"unknown tool {tool!r}: expected one of {known}")


def _path_places(name: str) -> list[Path]:
    names = [name]
    if windows():
        exts = os.environ.get("PATHEXT", ".COM;.EXE;.BAT;.CMD").split(";")
        names = [name + ext.lower() for ext in exts if ext] + [name]
    return [
        Path(folder) / n
        for folder in os.environ.get("PATH", "").split(os.pathsep)
        if folder  # an empty entry would mean the current folder: never searched
        for n in names
    ]


def _labelled(tool: str, explicit: str | os.PathLike[str] | None) -> list[tuple[Path, str]]:
    """Every place to look, in order, with where it came from; duplicates removed."""
    places: list[tuple[Path, str]] = []
    if explicit is not None and os.fspath(explicit):
        places += _named(os.fspath(explicit), "explicit argument")
    spec = _spec(tool)
    value = os.environ.get(spec.bin_variable, "")
    if value:
        places += _named(value, spec.bin_variable)
    places += [(p, "PATH") for p in _path_places(tool)]
    root = Path(os.environ.get(INSTALL_ROOT_VARIABLE) or os.sep)
    places += [(p, "install folder") for p in spec.install_places(Path.home(), root)]
    seen: set[Path] = set()
    unique = []
    for path, label in places:
        if path not in seen:
            seen.add(path)
            unique.append((path, label))
    return unique


def _named(value: str, label: str) -> list[tuple[Path, str]]:
    """An explicit path, or a bare name looked up on PATH."""
    if os.sep in value or (os.altsep and os.altsep in value) or value.startswith("~"):
        return [(Path(value).expanduser(), label)]
    return [(p, label) for p in _path_places(value)]


def _usable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def candidates(tool: str, explicit: str | os.PathLike[str] | None = None) -> list[Path]:
    """Where :func:`find_binary` looks for ``tool``, in order (existing or not).

    >>> str(candidates("ollama", "/opt/x/ollama")[0])
    '/opt/x/ollama'
    >>> [p.parent.parent.name for p in candidates("lms")][-1]
    '.lmstudio'
    """
    return [path for path, _ in _labelled(tool, explicit)]


def find_binary(tool: str, explicit: str | os.PathLike[str] | None = None) -> Path:
    """The path of ``tool``'s executable (see the module docstring for the order).

    Raises :class:`~lmsdrive.errors.NotInstalledError` (a ``FileNotFoundError``) whose
    message starts with the friendly install hint and lists every place looked at.
    """
    places = _labelled(tool, explicit)
    forced = [(p, label) for p, label in places if label not in ("PATH", "install folder")]
    if forced:
        # An explicit choice is honoured or reported, never replaced by another binary.
        first_label = forced[0][1]
        chosen = [(p, label) for p, label in forced if label == first_label]
        for path, _ in chosen:
            if _usable(path):
                return path
        raise NotInstalledError(_message(tool, chosen, forced=first_label))
    for path, _ in places:
        if _usable(path):
            return path
    raise NotInstalledError(_message(tool, places))


def _message(tool: str, places: list[tuple[Path, str]], forced: str | None = None) -> str:
    spec = _spec(tool)
    lines = [spec.install_hint]
    if forced is not None:
        lines.append(f"The {forced} names no executable file:")
    else:
        lines.append("Looked in:")
    lines += [f"  - {path} ({label})" for path, label in places]
    if forced is None:
        lines.append(f"If it is installed elsewhere, set {spec.bin_variable} to its path.")
    else:
        lines.append("Fix the path, or leave it unset to search PATH and the install folders.")
    return "\n".join(lines)
