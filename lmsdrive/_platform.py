"""What differs between operating systems when looking for a program."""

from __future__ import annotations

import sys

__all__ = ["exe_name", "windows"]


def windows() -> bool:
    return sys.platform == "win32"


def exe_name(name: str) -> str:
    return f"{name}.exe" if windows() else name
