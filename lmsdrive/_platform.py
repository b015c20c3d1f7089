"""What differs between operating systems: program names, where a user's data lives."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["data_dir", "exe_name", "windows"]


def windows() -> bool:
    return sys.platform == "win32"


def exe_name(name: str) -> str:
    return f"{name}.exe" if windows() else name


def data_dir() -> Path:
    """Where lmsdrive keeps a user's data (the chat history): ``$XDG_DATA_HOME/lmsdrive``
    when that is set (an absolute path), else the platform's place: ``~/.local/share``
    (Linux and other Unix), ``~/Library/Application Support`` (macOS), ``%APPDATA%``
    (Windows). Not created here."""
    xdg = os.environ.get("XDG_DATA_HOME", "")
    if os.path.isabs(xdg):
        base = Path(xdg)
    elif windows():
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path.home() / ".local" / "share"
    return base / "lmsdrive"
