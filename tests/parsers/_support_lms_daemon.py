"""Helpers shared by the tests of the lms daemon parsers (tests/parsers/)."""

from __future__ import annotations

import subprocess

from lmsdrive.testing import FakeRuntime

NO_INSTALL = (
    "Error: LM Studio daemon is not running and no valid installation could be found or "
    "installed.\nError: Failed to start or connect to local LM Studio API server.\n"
)


def _lms(rt: FakeRuntime, *args: str) -> tuple[int, str, str]:
    p = subprocess.run(
        [str(rt.bin_dir / "lms"), *args],
        env=rt.env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    return p.returncode, p.stdout.decode(), p.stderr.decode()
