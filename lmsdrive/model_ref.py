"""Model names in every form the two runtimes accept, and conversion between them.

Accepted forms:

* ``model`` / ``model:tag`` — Ollama library (``llama3.2``, ``llama3.2:3b``);
  ``namespace/model:tag`` for other namespaces of the Ollama registry;
* ``hf.co/user/repo`` / ``hf.co/user/repo:QUANT`` — a Hugging Face GGUF repo through Ollama
  (``MODEL_SOURCE=huggingface``); ``https://huggingface.co/user/repo`` is read the same way;
* ``user/repo`` / ``user/repo@QUANT`` — LM Studio (hub or Hugging Face), ``@`` selecting a
  quantization variant.

>>> ref = ModelRef.parse("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M")
>>> ref.for_lmstudio()
'bartowski/Llama-3.2-1B-Instruct-GGUF@Q4_K_M'
>>> ModelRef.parse("bartowski/Llama-3.2-1B-Instruct-GGUF@Q4_K_M").for_ollama(source="huggingface")
'hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M'
>>> ModelRef.parse("llama3.2:3b").for_ollama()
'llama3.2:3b'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .errors import InvalidModelNameError

FORMS = (
    "model:tag (llama3.2:3b), hf.co/user/repo[:quant] (Ollama with MODEL_SOURCE=huggingface), "
    "user/repo or user/repo@quant (LM Studio)"
)
HF_HOSTS = ("hf.co", "huggingface.co", "www.huggingface.co")
_PART_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]*$")
_HOST_RE = re.compile(r"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|localhost)(?::\d{1,5})?$")


#: Names already parsed (valid ones only; a refused name is checked again each time). Every
#: request spells its model, so the parse is kept; bounded: cleared when it fills.
_PARSED: dict[str, ModelRef] = {}
_PARSED_MAX = 512


def _refuse(name: str, why: str) -> InvalidModelNameError:
    return InvalidModelNameError(f"invalid model name {name!r}: {why}. Accepted forms: {FORMS}.")


@dataclass(frozen=True)
class ModelRef:
    """A parsed model name: ``[host/][namespace/]repo[(:|@)tag]``."""

    repo: str
    namespace: str | None = None
    host: str | None = None
    tag: str | None = None
    separator: str = ":"

    @classmethod
    def parse(cls, name: str) -> ModelRef:
        """Parse and validate; a name that could reach a command line as a flag, or that
        holds whitespace or control characters, is refused before any process starts."""
        if type(name) is str and cls is ModelRef:
            ref = _PARSED.get(name)
            if ref is None:
                ref = cls._parse(name)
                if len(_PARSED) >= _PARSED_MAX:
                    _PARSED.clear()
                _PARSED[name] = ref
            return ref
        return cls._parse(name)

    @classmethod
    def _parse(cls, name: str) -> ModelRef:
        if not isinstance(name, str) or not name:
            raise _refuse(str(name), "the name is empty")
        if name.startswith("-"):
            raise _refuse(name, "it starts with '-' and would be read as a command-line flag")
        if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in name):
            raise _refuse(name, "it contains whitespace or control characters")
        text = name
        for prefix in ("https://", "http://"):
            if text.lower().startswith(prefix):
                text = text[len(prefix) :].rstrip("/")
        *front, last = text.split("/")
        sep, tag = ":", None
        for mark in ("@", ":"):
            if mark in last:
                last, tag = last.rsplit(mark, 1)
                sep = mark
                break
        parts = [*front, last]
        if tag is not None and not _TAG_RE.match(tag):
            raise _refuse(name, f"the tag {tag!r} is not valid")
        host: str | None = None
        if len(parts) == 3:
            host = parts.pop(0)
            if not _HOST_RE.match(host):
                raise _refuse(name, f"{host!r} is not a registry host")
            if host.lower() in HF_HOSTS:
                host = "hf.co"
        elif len(parts) == 2 and parts[0].lower() in HF_HOSTS:
            raise _refuse(name, "a registry host must be followed by user/repo")
        elif len(parts) > 3:
            raise _refuse(name, "it has more than host/user/repo")
        if not all(_PART_RE.match(p) for p in parts):
            raise _refuse(name, "it is not of a known form")
        namespace, repo = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
        return cls(repo=repo, namespace=namespace, host=host, tag=tag, separator=sep)

    @property
    def is_huggingface(self) -> bool:
        return self.host == "hf.co"

    @property
    def path(self) -> str:
        """``namespace/repo`` (or ``repo``) without host or tag."""
        return f"{self.namespace}/{self.repo}" if self.namespace else self.repo

    def for_ollama(self, source: Literal["ollama", "huggingface"] = "ollama") -> str:
        """The name ``ollama pull`` takes. ``source="huggingface"`` gives ``hf.co/user/repo``."""
        if self.is_huggingface or (source == "huggingface" and self.namespace and not self.host):
            base = f"hf.co/{self.path}"
        elif self.host:
            base = f"{self.host}/{self.path}"
        else:
            base = self.path
        return f"{base}:{self.tag}" if self.tag else base

    def for_lmstudio(self) -> str:
        """The name ``lms get``/``lms load`` take: ``user/repo[@quant]`` (or a bare key)."""
        return f"{self.path}@{self.tag}" if self.tag else self.path

    def matches_ollama(self, listed: str) -> bool:
        """Whether a name listed by Ollama (always with a tag) is this model.

        >>> ModelRef.parse("llama3.2").matches_ollama("llama3.2:latest")
        True
        >>> ModelRef.parse("hf.co/u/R:Q4_K_M").matches_ollama("hf.co/u/r:q4_k_m")
        True
        """
        want = self.for_ollama()
        if ":" not in want.rsplit("/", 1)[-1]:
            want += ":latest"
        return listed.lower() == want.lower()

    def matches_lmstudio(self, key: str) -> bool:
        """Whether an LM Studio model key (``lms ls``/``lms ps``) is this model."""
        key = key.lower()
        full = self.for_lmstudio().lower()
        return key == full or key == self.path.lower() or key.split("@")[0] == full

    def __str__(self) -> str:
        host = f"{self.host}/" if self.host else ""
        tag = f"{self.separator}{self.tag}" if self.tag else ""
        return f"{host}{self.path}{tag}"
