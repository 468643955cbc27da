"""The SQL store's repositories, one module per kind of record."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

BATCH = 5_000


def batches(items: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last may be shorter)."""
    pending = iter(items)
    while batch := list(itertools.islice(pending, size)):
        yield batch
