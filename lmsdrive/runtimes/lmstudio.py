"""LM Studio's spec: ``lms`` on PATH or in its install dirs, its server at ``LMSTUDIO_URL``."""

from __future__ import annotations

from pathlib import Path

from .._platform import exe_name
from ..model_ref import ModelRef
from ._spec import RuntimeSpec
from ._urls import DEFAULT_LMSTUDIO_URL, parse_http_url


def _read_url(value: str | None, variable: str) -> str:
    return parse_http_url(value or DEFAULT_LMSTUDIO_URL, variable=variable)


def _homes(home: Path) -> list[Path]:
    """LM Studio home folders, most authoritative first: the folder named in
    ``~/.lmstudio-home-pointer``, then ``~/.cache/lm-studio`` (legacy), then ``~/.lmstudio``
    (``findLMStudioHome`` in lms-common-server)."""
    homes: list[Path] = []
    pointer = home / ".lmstudio-home-pointer"
    try:
        content = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        content = ""
    if content:
        homes.append(Path(content).expanduser())
    return [*homes, home / ".cache" / "lm-studio", home / ".lmstudio"]


def _install_places(home: Path, root: Path) -> list[Path]:
    return [h / "bin" / exe_name("lms") for h in _homes(home)]


def _spell(ref: ModelRef, source: str) -> str:
    return ref.for_lmstudio()


LMSTUDIO = RuntimeSpec(
    id="lmstudio",
    tool="lms",
    display_name="LM Studio",
    url_variable="LMSTUDIO_URL",
    bin_variable="LMSDRIVE_LMS_BIN",
    install_places=_install_places,
    token_variables=("LM_API_TOKEN", "LMSTUDIO_API_TOKEN"),
    install_hint=(
        "LM Studio CLI not found. Install from https://lmstudio.ai and enable CLI in settings."
    ),
    start_hint=(
        "start it with `lms server start` (or from the LM Studio app), or set LMSTUDIO_URL "
        "to where it listens"
    ),
    catalog="LM Studio's catalog or Hugging Face",
    model_hint="Use a model key such as qwen/qwen3-8b, or user/repo@quant for a variant.",
    backend="lmsdrive.backends.lmstudio:LMStudioBackend",
    read_url=_read_url,
    spell=_spell,
    matches=ModelRef.matches_lmstudio,
)
