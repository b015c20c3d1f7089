"""Embedding vectors of an HTTP body, checked (shared by ``ollama_api_embed`` and
``lms_api_embeddings``)."""

from __future__ import annotations

from ..errors import ParseError


def vector(command: str, value: object, where: str) -> list[float]:
    """One embedding: a non-empty list of numbers (``where`` names it in the error)."""
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
    ):
        raise ParseError(command, f"{where} should be a non-empty list of numbers")
    return [float(x) for x in value]


def vectors(command: str, value: object, where: str) -> list[list[float]]:
    """A list of embeddings (``[]`` allowed)."""
    if not isinstance(value, list):
        raise ParseError(command, f"{where} should be a list of embeddings")
    return [vector(command, v, f"{where}[{i}]") for i, v in enumerate(value)]
