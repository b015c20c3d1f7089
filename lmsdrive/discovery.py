"""Finding the runtimes' command-line tools: ``ollama`` and LM Studio's ``lms``.

Order, first match wins (:func:`candidates` lists the places in that order):

1. the explicit argument (a path, or a bare name looked up on PATH);
2. ``LMSDRIVE_OLLAMA_BIN`` / ``LMSDRIVE_LMS_BIN``;
3. ``PATH``;
4. the known install places:

   * ``lms``: LM Studio's home rule (``findLMStudioHome`` in lms-common-server, reference
     lms-cli.md §1.1): the folder named in ``~/.lmstudio-home-pointer`` when that file
     exists, then ``~/.cache/lm-studio`` (legacy home), then ``~/.lmstudio``, each with
     ``bin/lms`` (``bin\\lms.exe`` on Windows);
   * ``ollama``: ``/usr/local/bin/ollama``, ``/usr/bin/ollama``, ``/opt/homebrew/bin/ollama``,
     the macOS app's own copy ``/Applications/Ollama.app/Contents/Resources/ollama``,
     ``~/.local/bin/ollama``, and on Windows ``%LOCALAPPDATA%\\Programs\\Ollama\\ollama.exe``.

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
import sys
from pathlib import Path
from typing import Literal

from .errors import NotInstalledError

__all__ = [
    "ENV_VARS",
    "NOT_INSTALLED",
    "OLLAMA_SYSTEM_PATHS",
    "Tool",
    "candidates",
    "find_binary",
]

Tool = Literal["ollama", "lms"]

#: The environment variable naming each tool's binary.
ENV_VARS: dict[str, str] = {"ollama": "LMSDRIVE_OLLAMA_BIN", "lms": "LMSDRIVE_LMS_BIN"}

#: The friendly first sentence of the not-installed error (the original tool's wording).
NOT_INSTALLED: dict[str, str] = {
    "ollama": "Ollama is not installed. Please install from https://ollama.com",
    "lms": "LM Studio CLI not found. Install from https://lmstudio.ai and enable CLI in settings.",
}

#: Fixed places where Ollama's installers put the binary (POSIX).
OLLAMA_SYSTEM_PATHS: tuple[str, ...] = (
    "/usr/local/bin/ollama",
    "/usr/bin/ollama",
    "/opt/homebrew/bin/ollama",
    "/Applications/Ollama.app/Contents/Resources/ollama",
)


def _windows() -> bool:
    return sys.platform == "win32"


def _exe(name: str) -> str:
    return f"{name}.exe" if _windows() else name


def _check_tool(tool: str) -> None:
    if tool not in ENV_VARS:
        raise ValueError(f"unknown tool {tool!r}: expected 'ollama' or 'lms'")


def _lmstudio_homes(home: Path) -> list[Path]:
    """LM Studio home folders, most authoritative first (lms-cli.md §1.1)."""
    homes: list[Path] = []
    pointer = home / ".lmstudio-home-pointer"
    try:
        content = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        content = ""
    if content:
        homes.append(Path(content).expanduser())
    homes += [home / ".cache" / "lm-studio", home / ".lmstudio"]
    return homes


def _install_places(tool: str) -> list[Path]:
    home = Path.home()
    if tool == "lms":
        return [h / "bin" / _exe("lms") for h in _lmstudio_homes(home)]
    places: list[Path] = []
    if _windows():
        local = os.environ.get("LOCALAPPDATA")
        if local:
            places.append(Path(local) / "Programs" / "Ollama" / "ollama.exe")
    else:
        places += [Path(p) for p in OLLAMA_SYSTEM_PATHS]
    places.append(home / ".local" / "bin" / _exe("ollama"))
    return places


def _path_places(name: str) -> list[Path]:
    names = [name]
    if _windows():
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
    variable = ENV_VARS[tool]
    value = os.environ.get(variable, "")
    if value:
        places += _named(value, variable)
    places += [(p, "PATH") for p in _path_places(tool)]
    places += [(p, "install folder") for p in _install_places(tool)]
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


def candidates(tool: Tool, explicit: str | os.PathLike[str] | None = None) -> list[Path]:
    """Where :func:`find_binary` looks for ``tool``, in order (existing or not).

    >>> str(candidates("ollama", "/opt/x/ollama")[0])
    '/opt/x/ollama'
    >>> [p.parent.parent.name for p in candidates("lms")][-1]
    '.lmstudio'
    """
    _check_tool(tool)
    return [path for path, _ in _labelled(tool, explicit)]


def find_binary(tool: Tool, explicit: str | os.PathLike[str] | None = None) -> Path:
    """The path of ``tool``'s executable (see the module docstring for the order).

    Raises :class:`~lmsdrive.errors.NotInstalledError` (a ``FileNotFoundError``) whose
    message starts with the friendly install hint and lists every place looked at.
    """
    _check_tool(tool)
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
    lines = [NOT_INSTALLED[tool]]
    if forced is not None:
        lines.append(f"The {forced} names no executable file:")
    else:
        lines.append("Looked in:")
    lines += [f"  - {path} ({label})" for path, label in places]
    variable = ENV_VARS[tool]
    if forced is None:
        lines.append(f"If it is installed elsewhere, set {variable} to its path.")
    else:
        lines.append("Fix the path, or leave it unset to search PATH and the install folders.")
    return "\n".join(lines)
