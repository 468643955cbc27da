"""The SQL store's repositories, one module per kind of record."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

BATCH = 5_000


def batches(items: Iterable[T], size: int | None = None) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (default :data:`BATCH`, read at each call so a test
    can make it small; the last may be shorter)."""
    size = BATCH if size is None else size
    pending = iter(items)
    while batch := list(itertools.islice(pending, size)):
        yield batch


def prefix_batches(keys: Iterable[str], suffix: str) -> Iterator[list[str]]:
    """Distinct ``keys`` in batches of about :data:`BATCH` such that records keyed
    ``key + suffix + …``, read batch by batch and each batch in key order, come in key
    order overall: the keys are sorted as ``key + suffix`` sorts, and a batch never ends
    between a key and one beginning with it and ``suffix`` (a business key may hold the
    slash its task keys add), which may make a batch longer.

    Two keys of different batches then differ inside ``key + suffix`` of both, so every
    record of the first sorts before every record of the second."""
    size, batch, chain = BATCH, list[str](), list[str]()
    for framed in sorted({key + suffix for key in keys}):
        while chain and not framed.startswith(chain[-1]):
            chain.pop()  # the keys framed starts with, nested; contiguous in sorted order
        if len(batch) >= size and not chain:
            yield batch
            batch = []
        batch.append(framed[: len(framed) - len(suffix)])
        chain.append(framed)
    if batch:
        yield batch
