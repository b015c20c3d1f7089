"""The built wheel carries the fixture tree: ``iter_fixtures()`` works after ``pip install``."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("hatchling", reason="building the wheel needs hatchling (make install)")


def test_installed_wheel_finds_its_fixtures(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("lmsdrive-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert any(n.startswith("lmsdrive/_fixtures/ollama/list/") for n in names)
        zf.extractall(site)
    probe = (
        "from lmsdrive.golden import default_root, iter_fixtures; "
        "import lmsdrive; print(default_root()); print(len(list(iter_fixtures())))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    expected = len(list((ROOT / "fixtures").rglob("*.json")))
    assert out[0].startswith(str(site)) and out[0].endswith("_fixtures")
    assert int(out[1]) == expected > 100
