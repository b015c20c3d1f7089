"""Parser of a model's manifest in Ollama's registry (``GET /v2/<namespace>/<model>/manifests/
<tag>``): the sizes of a model's layers before it is downloaded.

Shape (the OCI / Docker v2 image manifest Ollama's puller reads, ``server/images.go``
``Manifest``): ``{"schemaVersion": 2, "mediaType":
"application/vnd.docker.distribution.manifest.v2+json", "config": {"mediaType", "digest",
"size"}, "layers": [{"mediaType": "application/vnd.ollama.image.model" | "….projector" |
"….template" | "….license" | "….params" | "….system", "digest": "sha256:…", "size": bytes},
…]}``. Registry errors are ``{"errors": [{"code": "MANIFEST_UNKNOWN", "message": …}]}``
(a missing model or tag: ``model_not_found``).

Usage::

    from lmsdrive.parsers import parse
    parse("ollama /v2/manifests", body).weights_bytes

Schema (``OllamaRegistryManifestResult.to_dict()``)::

    {
      "http_status":   integer | null,
      "error":         string | null,
      "kind":          string | null,
      "config_digest": string | null,
      "layers":        [{"media_type": string, "digest": string | null, "size": integer}],
      "total_bytes":   integer,   # every layer, what a pull downloads
      "weights_bytes": integer    # the model and projector layers: what is loaded
    }

A body that is not one JSON object, or layers without a numeric ``size``, raise
``ParseError``.

Example::

    {"schemaVersion":2,"config":{"digest":"sha256:34bb","size":561},"layers":[{"mediaType":
    "application/vnd.ollama.image.model","digest":"sha256:dde5","size":2019377376}]}

    {"config_digest": "sha256:34bb", "total_bytes": 2019377376,
     "weights_bytes": 2019377376, ...}
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ParseError
from ..transcript import Transcript
from ._base import Result
from ._ollama_api import get_dict, get_list, get_str, single_body

__all__ = ["Layer", "OllamaRegistryManifestResult", "parse"]

COMMAND = "ollama /v2/manifests"

#: The layers that are loaded into memory (the rest is text: template, license, params).
WEIGHTS = ("application/vnd.ollama.image.model", "application/vnd.ollama.image.projector")


@dataclass(frozen=True)
class Layer:
    media_type: str
    digest: str | None
    size: int


@dataclass(frozen=True, kw_only=True)
class OllamaRegistryManifestResult(Result):
    """A model's layers in the registry."""

    http_status: int | None = None
    config_digest: str | None = None
    layers: list[Layer] = field(default_factory=list)
    total_bytes: int = 0
    weights_bytes: int = 0


def parse(transcript: Transcript) -> OllamaRegistryManifestResult:
    """The layers of a manifest body, or the registry's error."""
    status, value, err = single_body(COMMAND, transcript)
    if isinstance(value, dict) and isinstance(value.get("errors"), list) and value["errors"]:
        first = value["errors"][0] if isinstance(value["errors"][0], dict) else {}
        code = str(first.get("code") or "")
        message = str(first.get("message") or code or "registry error")
        kind = "model_not_found" if code in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN") else "usage"
        return OllamaRegistryManifestResult(http_status=status, error=message, kind=kind)
    if err is not None:
        return OllamaRegistryManifestResult(http_status=status, error=err.error, kind=err.kind)
    if not isinstance(value, dict):
        raise ParseError(COMMAND, "expected a JSON object")
    layers = []
    for n, raw in enumerate(get_list(value, "layers", COMMAND) or [], 1):
        size = raw.get("size") if isinstance(raw, dict) else None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ParseError(COMMAND, f"layer {n} has no size in bytes")
        assert isinstance(raw, dict)
        layers.append(
            Layer(
                media_type=str(raw.get("mediaType") or ""),
                digest=get_str(raw, "digest", COMMAND),
                size=size,
            )
        )
    config = get_dict(value, "config", COMMAND) or {}
    return OllamaRegistryManifestResult(
        http_status=status,
        config_digest=get_str(config, "digest", COMMAND),
        layers=layers,
        total_bytes=sum(x.size for x in layers),
        weights_bytes=sum(x.size for x in layers if x.media_type in WEIGHTS),
    )
