"""What lmsdrive knows about one runtime, as data (see :mod:`lmsdrive.runtimes`)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model_ref import ModelRef

if TYPE_CHECKING:
    from ..backends.base import Backend


@dataclass(frozen=True)
class RuntimeSpec:
    """One runtime: names, configuration variables, hints and model spelling.

    ``read_url(value, variable)`` turns the URL variable's value (``None``: unset) into the
    base URL clients connect to, refusing bad values with a
    :class:`~lmsdrive.errors.ConfigError` naming ``variable``. ``spell(ref, source)`` is the
    name the runtime's commands and API take; ``matches(ref, listed)`` whether a name the
    runtime lists is that model. ``install_places(home, root)`` is where its installers put
    the CLI, system-wide folders under ``root`` (``/`` unless ``LMSDRIVE_INSTALL_ROOT`` says
    otherwise; :func:`lmsdrive.discovery.find_binary` looks there after ``bin_variable`` and
    ``PATH``). ``backend`` is the backend class as ``module:Class``,
    imported only when a backend is made. ``model_store(home)`` is the folder a server on this
    machine keeps its models in (servers on two ports share it: the one-download lock's key);
    ``None``: unknown, the server's URL is the key.
    """

    id: str
    tool: str
    display_name: str
    url_variable: str
    bin_variable: str
    install_places: Callable[[Path, Path], list[Path]]
    token_variables: tuple[str, ...]
    install_hint: str
    start_hint: str
    catalog: str
    model_hint: str
    backend: str
    read_url: Callable[[str | None, str], str]
    spell: Callable[[ModelRef, str], str]
    matches: Callable[[ModelRef, str], bool]
    #: Names ``model_hint``'s ``{example}`` shows (the first one that is not the failed name).
    model_examples: tuple[str, ...] = ()
    model_store: Callable[[Path], Path] | None = None

    @property
    def default_url(self) -> str:
        return self.read_url(None, self.url_variable)

    @property
    def not_running(self) -> str:
        """The message for a server that does not answer (a face adds its next step)."""
        return f"{self.display_name} server is not running."

    def model_not_found(self, model: str, detail: str = "") -> str:
        """The message for a name the catalog does not have; ``model_hint``'s ``{example}``
        is one of ``model_examples`` other than ``model`` (never the name that failed)."""
        tail = f" ({detail})" if detail else ""
        example = next((e for e in self.model_examples if e.lower() != model.lower()), "")
        hint = self.model_hint.replace("{example}", example)
        return f"Model '{model}' was not found in {self.catalog}{tail}. {hint}"

    def model_missing(
        self,
        model: str,
        detail: str = "",
        *,
        unload: bool = False,
        delete: bool = False,
        downloaded: bool | None = None,
    ) -> str:
        """The message for a model the server does not have (for ``unload``: not loaded;
        for ``delete``: not downloaded, nothing to do; else not ``downloaded``, downloaded
        but not loaded, or ``None``: either): unlike :meth:`model_not_found`, not a catalog
        miss."""
        tail = f" ({detail})" if detail else ""
        name = self.display_name
        if unload:
            return f"Model '{model}' is not loaded in {name}{tail}: nothing to unload."
        if delete:
            return f"Model '{model}' is not downloaded in {name}{tail}: nothing to delete."
        if downloaded:
            return f"Model '{model}' is downloaded but not loaded in {name}{tail}: load it first."
        if downloaded is False:
            return (
                f"Model '{model}' is not downloaded in {name}{tail}: download it first, or "
                "check the name against the downloaded models."
            )
        return (
            f"Model '{model}' is not available in {name}{tail}: download and "
            "load it first, or check the name against the downloaded models."
        )

    def backend_class(self) -> Callable[..., Backend]:
        module, _, name = self.backend.partition(":")
        cls: Any = getattr(importlib.import_module(module), name)
        return cls  # type: ignore[no-any-return]
