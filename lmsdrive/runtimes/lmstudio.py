"""LM Studio's spec: ``lms`` on PATH or in its install dirs, its server at ``LMSTUDIO_URL``."""

from __future__ import annotations

import logging
from pathlib import Path

from .._platform import exe_name
from ..errors import InvalidModelNameError
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


def _model_store(home: Path) -> Path:
    """``models`` in the LM Studio home ``findLMStudioHome`` picks: the pointer's folder, else
    the legacy one if it exists, else ``~/.lmstudio`` (the app may move the folder; the home
    still names the one store)."""
    *pointed, legacy, default = _homes(home)
    return (pointed[0] if pointed else legacy if legacy.is_dir() else default) / "models"


#: Names already said to be respelled (each is said once per process).
_RESPELLED: set[str] = set()


def _spell(ref: ModelRef, source: str) -> str:
    """``user/repo[@quant]``. LM Studio's keys never hold ``:``, and ``@`` selects a
    quantization: an Ollama library name (``llama3.2:1b``) or registry name has no LM Studio
    spelling (``llama3.2@1b`` would ask for a quantization ``1b``) and is refused;
    ``user/repo:TAG`` becomes ``user/repo@TAG``, said once (a warning on the ``lmsdrive``
    logger); ``hf.co/user/repo:QUANT`` is the same model and quantization, said nothing."""
    name = ref.for_lmstudio()
    if not ref.tag or ref.separator != ":" or ref.is_huggingface:
        return name
    if ref.namespace is None or ref.host is not None:
        raise InvalidModelNameError(
            f"{str(ref)!r} is an Ollama model name (model:tag); LM Studio names a model by its "
            f"key and reads @{ref.tag} as a quantization. Use an LM Studio key such as "
            "qwen/qwen3-8b (`lms ls` lists the downloaded ones), or user/repo@quant."
        )
    if str(ref) not in _RESPELLED:
        _RESPELLED.add(str(ref))
        logging.getLogger("lmsdrive").warning(
            "LM Studio takes %r as %r (the tag %r as its quantization)", str(ref), name, ref.tag
        )
    return name


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
    model_hint="Use a model key such as {example}, or user/repo@quant for a variant.",
    backend="lmsdrive.backends.lmstudio:LMStudioBackend",
    read_url=_read_url,
    spell=_spell,
    matches=ModelRef.matches_lmstudio,
    model_examples=("qwen/qwen3-8b", "google/gemma-3-4b"),
    model_store=_model_store,
)
