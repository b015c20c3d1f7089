"""The incremental interface every streaming parser implements, and the two ways to drive it.

A reader is fed text chunks as they arrive (:meth:`~Reader.feed` yields the events whose
frame is complete), then closed (:meth:`~Reader.close` yields the events of what was left),
then asked for the whole :meth:`~Reader.result`. A parser module's ``stream(chunks)`` is
:func:`drive` over its reader, and its ``parse(transcript)`` is :func:`read_all`.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import Protocol, TypeVar

E_co = TypeVar("E_co", covariant=True)
R_co = TypeVar("R_co", covariant=True)
E = TypeVar("E")
R = TypeVar("R")


class Reader(Protocol[E_co, R_co]):
    """An incremental parser: ``feed`` chunks, ``close``, then ``result``."""

    def feed(self, chunk: str) -> Iterable[E_co]: ...
    def close(self) -> Iterable[E_co]: ...
    def result(self) -> R_co: ...


def drive(reader: Reader[E, R], chunks: Iterable[str]) -> Generator[E, None, R]:
    """Events as each frame completes; the generator returns the reader's result."""
    for chunk in chunks:
        yield from reader.feed(chunk)
    yield from reader.close()
    return reader.result()


def read_all(reader: Reader[E, R], text: str) -> R:
    """The result of a whole text (its events are read and dropped)."""
    for _ in reader.feed(text):
        pass
    for _ in reader.close():
        pass
    return reader.result()
